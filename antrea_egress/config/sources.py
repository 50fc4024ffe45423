"""The sources of configuration: the running program's config, and stack files.

Only `runtime_config` touches the running program's config; everything else works on plain
data.
"""

from __future__ import annotations

import re
from typing import Any, Final

import pulumi
import pulumi.runtime.config
import yaml

from antrea_egress.config.keys import (
    ACCESS_FLAG_KEYS,
    CONFIG_NAMESPACE,
    KEY_SUPERVISOR_CONTEXT,
    SECURE,
    STACK_KEYS,
)

# Stands in for a secret value: no check may see, or echo, the plain text.
_SECRET_VALUE: Final = "<secret: not read>"  # noqa: S105 - a placeholder, by design


def runtime_config() -> dict[str, Any]:
    """Every configured key of the running program, with its value; secret values masked.

    pulumi.Config only looks keys up by name, so the key list comes from the runtime's maps:
    under the Pulumi CLI the language host hands the program the whole stack config in
    PULUMI_CONFIG and loads it, with the secret keys, through set_all_config
    (sdk/python/cmd/pulumi-language-python-exec in pulumi/pulumi); inline Automation API
    programs and the mock engine call set_all_config themselves. The keys the program reads
    are looked up by name too, for a PULUMI_CONFIG_<KEY> variable. A secret value becomes the
    stack file's `{secure: ...}` form, so it is refused where plain text belongs exactly as
    in a stack file, and never reaches a message.
    """
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())
    keys |= {f"{CONFIG_NAMESPACE}:{name}" for name in STACK_KEYS}
    keys |= {KEY_SUPERVISOR_CONTEXT, *ACCESS_FLAG_KEYS}
    secret_keys = set(pulumi.runtime.get_config_secret_keys_env())
    raw: dict[str, Any] = {}
    for key in sorted(keys):
        value = pulumi.runtime.config.get_config(key)
        if value is None:
            continue
        secret = key in secret_keys or pulumi.runtime.is_config_secret(key)
        raw[key] = {SECURE: _SECRET_VALUE} if secret else value
    return raw


class _StackFileLoader(yaml.SafeLoader):
    """Stack files read as the Pulumi CLI reads them: only YAML 1.2 booleans are booleans.

    The CLI parses Pulumi.<stack>.yaml with Go's gopkg.in/yaml.v3, which resolves only
    true/True/TRUE and false/False/FALSE to booleans (its resolve.go) and hands config values
    to the program untyped, so `yes`, `no`, `on` and `off` arrive as strings. PyYAML's safe
    loader follows YAML 1.1 and would make booleans of them: offline checks would accept
    what the deployed program refuses.
    """


_YAML_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_StackFileLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _YAML_BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StackFileLoader.add_implicit_resolver(
    _YAML_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_stack_yaml(text: str) -> Any:
    """A stack file's YAML document, its scalars typed as the Pulumi CLI types them."""
    loader = _StackFileLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
