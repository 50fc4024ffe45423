"""NSX connection settings, read from the NSX-T provider's own config keys.

One set of `nsxt:*` stack settings serves both the bridged NSX-T provider (NoSNAT rules) and our
ChildSegment provider. When a key is not in the stack config, the environment variable that
terraform-provider-nsxt reads is used instead. There is deliberately no default host: a client
never talks to an address nobody configured.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from antrea_egress.booleans import parse_boolean
from antrea_egress.nsx.errors import NsxSettingsError


@dataclass(frozen=True)
class SettingKey:
    config_key: str
    env_var: str | None

    def describe(self) -> str:
        env = f" or the environment variable {self.env_var}" if self.env_var else ""
        return f"stack config {self.config_key}{env}"


HOST = SettingKey("nsxt:host", "NSXT_MANAGER_HOST")
USERNAME = SettingKey("nsxt:username", "NSXT_USERNAME")
PASSWORD = SettingKey("nsxt:password", "NSXT_PASSWORD")
ALLOW_UNVERIFIED_SSL = SettingKey("nsxt:allowUnverifiedSsl", "NSXT_ALLOW_UNVERIFIED_SSL")
CA_FILE = SettingKey("nsxt:caFile", "NSXT_CA_FILE")
# terraform-provider-nsxt documents no environment variable for session auth.
SESSION_AUTH = SettingKey("nsxt:sessionAuth", None)

ALL_KEYS = (HOST, USERNAME, PASSWORD, ALLOW_UNVERIFIED_SSL, CA_FILE, SESSION_AUTH)


@dataclass(frozen=True)
class NsxSettings:
    """Resolved, validated settings. The password never appears in repr() or messages."""

    base_url: str
    username: str
    password: str = field(repr=False)
    verify_tls: bool = True
    ca_file: str | None = None
    session_auth: bool = False

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx's `verify=` takes; built per client because SSL contexts don't pickle."""
        if not self.verify_tls:
            return False
        return ssl.create_default_context(cafile=self.ca_file)

    @classmethod
    def resolve(cls, config: Callable[[str], Any], environ: Mapping[str, str]) -> NsxSettings:
        """Read every setting; all problems are reported together, each naming its key."""
        found = {key: _lookup(key, config, environ) for key in ALL_KEYS}
        raw = {key: value for key, (value, _) in found.items()}
        problems: list[str] = []

        def required(key: SettingKey) -> str:
            value = raw[key]
            if value is None or str(value).strip() == "":
                problems.append(f"{key.config_key} is not set: set {key.describe()}")
                return ""
            return str(value)

        host = required(HOST)
        base_url = _base_url(host, problems) if host else ""
        username = required(USERNAME)
        password = required(PASSWORD)
        allow_unverified = _boolean(found[ALLOW_UNVERIFIED_SSL], problems)
        session_auth = _boolean(found[SESSION_AUTH], problems)
        ca_file = _ca_file(raw[CA_FILE], problems)
        if problems:
            raise NsxSettingsError("NSX connection settings: " + "; ".join(problems))
        return cls(
            base_url=base_url,
            username=username,
            password=password,
            verify_tls=not allow_unverified,
            ca_file=ca_file,
            session_auth=session_auth,
        )


def _lookup(
    key: SettingKey, config: Callable[[str], Any], environ: Mapping[str, str]
) -> tuple[Any, str]:
    """The value and where it came from: the stack key, or its environment variable."""
    value = config(key.config_key)
    if value is None and key.env_var:
        # Like terraform-provider-nsxt, whose schema.EnvDefaultFunc (terraform-plugin-sdk
        # helper/schema/schema.go) takes an empty variable for an unset one.
        return environ.get(key.env_var) or None, key.env_var
    return value, key.config_key


def _base_url(host: str, problems: list[str]) -> str:
    """Accept `host`, `host:port` or an https URL; refuse anything that is not plain https."""
    text = host.strip().rstrip("/")
    url = urlsplit(text if "://" in text else f"https://{text}")
    if url.scheme != "https":
        problems.append(f"{HOST.config_key}: {host!r} must use https (NSX serves its API on https)")
        return ""
    if url.username or url.password:
        problems.append(
            f"{HOST.config_key}: put credentials in nsxt:username/nsxt:password, not in the host"
        )
        return ""
    if url.path or url.query or url.fragment or not url.hostname:
        problems.append(
            f"{HOST.config_key}: {host!r} must be a host, host:port or https://host[:port]"
        )
        return ""
    try:
        _ = url.port
    except ValueError:
        problems.append(f"{HOST.config_key}: {host!r} has an invalid port")
        return ""
    return f"https://{url.netloc}"


def _boolean(found: tuple[Any, str], problems: list[str]) -> bool:
    """Unset is false; otherwise true or false exactly as the stack config takes them."""
    value, source = found
    if value is None:
        return False
    try:
        return parse_boolean(value)
    except ValueError as error:
        problems.append(f"{source}: {error}")
        return False


def _ca_file(value: Any, problems: list[str]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        problems.append(f"{CA_FILE.config_key}: no such file {str(path)!r}")
        return None
    return str(path)
