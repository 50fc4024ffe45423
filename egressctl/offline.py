"""Run the real program under the Pulumi SDK's mock engine: no CLI, no credentials, no network.

`egressctl render` uses it to show what a stack amounts to, and the tests use it to assert the
graph. The mock monitor is the SDK's own (`pulumi.runtime.mocks.MockMonitor`): the real
runtime, serialization and resource options, with a fake engine answering registrations. We
extend it only to keep the registration requests (parents, providers, dependencies, options),
which `Mocks.new_resource` does not see, and we collect the stack's exports.
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

from antrea_egress.providers.base import UNKNOWN
from antrea_egress.providers.range_history import IpRangeHistory
from antrea_egress.rendering import dynamic_type
from egressctl.project import PROJECT_DIR, PROJECT_NAME, stack_file

SECRET_PLACEHOLDER = "<secret: not read offline>"  # noqa: S105 - a placeholder, by design
RANGE_HISTORY_TYPE = dynamic_type(IpRangeHistory)


@dataclass
class Registration:
    """One resource the program registered (or read), as the engine received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    options: Any  # the RegisterResourceRequest, for options such as replace_with
    read_id: str | None = None

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        # Stack exports: name -> value; secret values wrapped as the engine keeps them.
        self.exports: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(_registration(response.urn, request, request.object))
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        record = _registration(response.urn, request, request.properties)
        record.read_id = request.id
        self.registrations.append(record)
        return response


def _registration(urn: str, request: Any, properties: Any) -> Registration:
    return Registration(
        urn=urn,
        type=request.type,
        name=request.name,
        custom=getattr(request, "custom", True),
        parent=request.parent,
        provider=request.provider,
        dependencies=list(getattr(request, "dependencies", [])),
        inputs=_canonical(rpc.deserialize_properties(properties)),
        options=request,
    )


def _canonical(value: Any) -> Any:
    """Inputs as the program gave them, as far as the engine protocol (protobuf Struct) keeps
    them: numbers arrive as floats (the program has none), and map keys in an order that
    changes from run to run, so every map is sorted by key (render's files must not change
    while the program does not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


class OfflineEngine(pulumi.runtime.Mocks):
    """Answers registrations with the inputs; what only a live system knows stays a placeholder.

    A read whose id is not known yet is answered with no outputs, as the engine skips it.
    Subclasses add outputs per resource type by overriding `outputs`.
    """

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.resource_id == UNKNOWN:
            return args.resource_id, {}
        state = self.outputs(args, dict(args.inputs))
        return args.resource_id or (_resource_id(args) if args.custom else None), state

    def outputs(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any]
    ) -> dict[str, Any]:
        return state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def _resource_id(args: pulumi.runtime.MockResourceArgs) -> str:
    """The id a create returns. pulumi-kubernetes ids an object `<namespace>/<name>`, or
    `<name>` when cluster-scoped (provider/pkg/provider/provider.go fqObjName); the range
    history is id'd by its pool (IpRangeHistoryProvider.create, which needs no network)."""
    if args.typ == RANGE_HISTORY_TYPE:
        return str(args.inputs["pool"])
    metadata = args.inputs.get("metadata") if args.typ.startswith("kubernetes:") else None
    if isinstance(metadata, dict) and metadata.get("name"):
        namespace = metadata.get("namespace")
        return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
    return f"{args.name}-id"


@dataclass
class OfflineRun:
    stack: str
    monitor: RecordingMonitor
    warnings: list[str]

    @property
    def registrations(self) -> list[Registration]:
        return self.monitor.registrations

    @property
    def exports(self) -> dict[str, Any]:
        return self.monitor.exports

    def by_type(self, suffix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.endswith(suffix)]

    def one(self, suffix: str) -> Registration:
        found = self.by_type(suffix)
        if len(found) != 1:
            raise LookupError(
                f"{len(found)} resources of type *{suffix}: {[r.name for r in found]}"
            )
        return found[0]

    def named(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources named {name}: {[r.type for r in found]}")
        return found[0]


def stack_values(stack: str, work_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` mapping of Pulumi.<stack>.yaml as parsed YAML."""
    path = stack_file(stack, work_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path.name} in {work_dir}")
    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


def as_pulumi_config(values: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config values as pulumi.Config holds them (strings; JSON for objects), secret keys.

    Secure values cannot be decrypted offline; they become a placeholder.
    """
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            config[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        elif isinstance(value, Mapping | list):
            config[key] = json.dumps(value)
        else:
            config[key] = str(value)
    return config, secret_keys


def run_offline(
    stack: str,
    *,
    engine: OfflineEngine | None = None,
    values: Mapping[str, Any] | None = None,
    work_dir: Path = PROJECT_DIR,
    preview: bool = False,
) -> OfflineRun:
    """Run `__main__.py` of `work_dir` for `stack` under mocks and record what it declares."""
    fake = engine or OfflineEngine()
    monitor = RecordingMonitor(fake)
    config, secret_keys = as_pulumi_config(
        values if values is not None else stack_values(stack, work_dir)
    )
    warnings: list[str] = []
    saved = settings.SETTINGS
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.reset_options()
    try:
        pulumi.runtime.set_mocks(
            fake, project=PROJECT_NAME, stack=stack, preview=preview, monitor=monitor,
            logger=_collecting_logger(warnings),
        )  # fmt: skip
        pulumi.runtime.set_all_config(config, secret_keys=secret_keys)

        async def program() -> None:
            runpy.run_path(str(work_dir / "__main__.py"), run_name="__main__")
            monitor.exports = await _resolved_exports()

        pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    finally:
        pulumi.runtime.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
        settings.configure(saved)
    return OfflineRun(stack, monitor, warnings)


class _ListHandler(logging.Handler):
    """Keeps the program's warnings (the mock engine logs them) instead of printing them."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self._sink.append(record.getMessage())


def _collecting_logger(sink: list[str]) -> logging.Logger:
    logger = logging.Logger("antrea-egress.offline")  # not registered with logging's manager
    logger.addHandler(_ListHandler(sink))
    return logger


async def _resolved_exports() -> dict[str, Any]:
    """The root stack's `pulumi.export`s (under mocks nothing registers them as outputs)."""
    stack = settings.get_root_resource()
    exports: dict[str, Any] = {}
    for name, value in (getattr(stack, "outputs", None) or {}).items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future(with_unknowns=True)
        exports[name] = rpc.wrap_rpc_secret(resolved) if await output.is_secret() else resolved
    return exports
