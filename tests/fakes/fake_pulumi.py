"""A fake `pulumi` CLI for the Automation API tests: the SDK's real code drives it.

Installed by `install()` as an executable named `pulumi` (a shell wrapper around this script),
it answers exactly the subcommands `pulumi.automation` issues for egressctl's operations:

* `version`;
* `stack ls --json`, `stack select --stack S`, `stack unselect`,
  `stack output --json [--show-secrets] --stack S`,
  `stack history --json [--show-secrets] --page-size 1 --page 1 --stack S`;
* `preview`, `up`, `refresh`, `destroy` (with whatever flags), which print a human-readable
  run to stdout and send engine events to `--event-log`: over gRPC to the SDK's `Events`
  service when the value is `tcp://host:port` (CLI > 3.205), else as JSON lines to the file.

Anything else fails loudly (exit 2), so an unexpected call such as `stack init` breaks a test.

Every invocation is appended as one JSON line to `$FAKE_PULUMI_LOG`: argv, cwd and the
environment variables in `LOGGED_ENV`. The selected stack persists, as the real CLI keeps it
in ~/.pulumi/workspaces, in a state file beside the log (`select_stack()` sets it for a test,
`selected_stack()` reads it): `stack select` sets it, `stack unselect` clears it, `stack ls
--json` marks it `current`. Behaviour comes from `$FAKE_PULUMI_SCENARIO`:

    ok              the stack exists and nothing changes
    changes         the program changes resources (update, replace, create, delete); the
                    replaced pool is delete-before-replace: its events are delete-replaced,
                    replace, create-replacement
    changes-cbd     the same, the replacement create-before-delete: create-replacement and
                    replace in place, delete-replaced after every other step
    drift           the code matches the state, but a refresh finds NSX/Kubernetes drifted
    status-drift    a refresh finds only an output-only change (an Egress's `status`): the
                    plan after it changes nothing
    no-stack        `error: no stack named 'S' found` for every stack command
    locked-cloud    operations fail with Pulumi Cloud's 409 "update in progress"
    locked-diy      operations fail on a DIY backend's lock file
    fail            operations fail on a resource error (stderr), after printing a secret
                    to stdout the way a careless program print would
    never-deployed  the stack exists but has no outputs and no history
    not-logged-in   every command but `version` fails as the CLI does without credentials
    no-summary      a preview exits 0 without its summary event

`$FAKE_PULUMI_VERSION` overrides the version it reports (default: the SDK's own 3.272.0).
`$FAKE_PULUMI_OUTPUTS` names a JSON file with the stack's outputs, revealed (default: a few
made-up ones); without `--show-secrets` the outputs in `SECRET_OUTPUTS` print as "[secret]".
Error texts are the real CLI's, so the SDK's own error classification is what gets tested.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "v3.272.0"
PROJECT = "antrea-egress"
# The stack's one secret output, revealed only by `stack output --show-secrets`.
SECRET_OUTPUT = "fake-Secret-Kubeconfig-Token-8c1f3e"
# A secret config value, revealed only by `stack history --show-secrets`.
SECRET_CONFIG = "fake-Secret-Nsx-Password-51d7a0"
SECRET_SENTINEL = "[secret]"
SECRET_OUTPUTS = ("kubeconfig",)
NOT_LOGGED_IN = (
    "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
)
LOGGED_ENV = (
    "PULUMI_BACKEND_URL",
    "PULUMI_AUTOMATION_API",
    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK",
    "PULUMI_SKIP_UPDATE_CHECK",
    "PULUMI_HOME",
)
# Flags that take a value (so the value is not mistaken for a subcommand).
_VALUED_FLAGS = frozenset(
    {
        "--stack",
        "--event-log",
        "--color",
        "--exec-kind",
        "--page-size",
        "--page",
        "--message",
        "--parallel",
        "--config-file",
        "--target",
        "--exclude",
        "--replace",
        "--policy-pack",
        "--policy-pack-config",
        "--secrets-provider",
    }
)
_NO_CHANGE_OPS = frozenset({"same", "refresh", "read"})
_SYMBOLS = {"same": " ", "create": "+", "update": "~", "delete": "-", "replace": "+-"}
_FAILED = 255  # what the CLI exits with on any error before 3.226.1


# --- installing and reading (the test side) -----------------------------------------------


def install(directory: Path) -> Path:
    """Write an executable `directory/bin/pulumi` that runs this script; return its path.

    The `bin/pulumi` layout is also what `PulumiCommand(root=directory)` expects.
    """
    executable = directory / "bin" / "pulumi"
    executable.parent.mkdir(parents=True, exist_ok=True)
    executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    executable.chmod(0o755)
    return executable


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    cwd: str
    env: dict[str, str]

    @property
    def words(self) -> list[str]:
        """The subcommand words (`["stack", "select"]`, `["preview"]`), flags left out."""
        return _parse(self.argv).command

    def value(self, flag: str) -> str | None:
        return _parse(self.argv).values.get(flag)

    def has(self, flag: str) -> bool:
        return flag in _parse(self.argv).flags


def read_log(log: Path) -> list[Invocation]:
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [Invocation(**json.loads(line)) for line in lines if line]


# --- the resources of the fake stack ------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    parent_types: tuple[str, ...] = ()

    def urn(self, stack: str) -> str:
        qualified = "$".join((*self.parent_types, self.type))
        return f"urn:pulumi:{stack}::{PROJECT}::{qualified}::{self.name.format(stack=stack)}"


ZONE_TYPE = "antrea-egress:index:EgressZone"
STACK = Resource("pulumi:pulumi:Stack", PROJECT + "-{stack}")
ZONE = Resource(ZONE_TYPE, "web")
SEGMENT = Resource("antrea-egress:nsx:ChildSegment", "web-segment", (ZONE_TYPE,))
POOL = Resource("kubernetes:crd.antrea.io/v1beta1:ExternalIPPool", "web-pool", (ZONE_TYPE,))
EGRESS = Resource("kubernetes:crd.antrea.io/v1beta1:Egress", "web-egress", (ZONE_TYPE,))
NAT_RULE = Resource("antrea-egress:nsx:NoSnatRule", "web-nosnat", (ZONE_TYPE,))
NEW_EGRESS = Resource("kubernetes:crd.antrea.io/v1beta1:Egress", "api-egress", (ZONE_TYPE,))
EXISTING = (STACK, ZONE, SEGMENT, POOL, EGRESS, NAT_RULE)


@dataclass(frozen=True)
class Step:
    op: str
    resource: Resource
    diffs: tuple[str, ...] = ()


# What `preview`/`up` propose when the program changed.
CHANGES_PLAN = (
    Step("same", STACK),
    Step("same", ZONE),
    Step("update", SEGMENT, ("vlan", "subnets")),
    Step("replace", POOL, ("ipRanges",)),
    Step("same", EGRESS),
    Step("delete", NAT_RULE),
    Step("create", NEW_EGRESS),
)
# The stacks that exist (by their last name segment); `stack ls` lists them and the selected
# one, which may have been removed since: selecting it again then fails.
KNOWN_STACKS = ("dev", "staging", "prod")
# What a refresh finds in the `drift` scenario (everything else: same).
DRIFT_OUTCOMES = {
    SEGMENT: Step("update", SEGMENT, ("description",)),  # edited in the NSX UI
    NAT_RULE: Step("delete", NAT_RULE),  # deleted in the NSX UI
    EGRESS: Step("update", EGRESS, ("status",)),  # output-only: the plan after it is `same`
}
# What a refresh finds in the `status-drift` scenario: Antrea moved the Egress to another node.
STATUS_DRIFT_OUTCOMES = {EGRESS: Step("update", EGRESS, ("status",))}
# What a preview proposes after that refresh: put the segment back, recreate the rule.
DRIFT_PLAN = (
    Step("same", STACK),
    Step("same", ZONE),
    Step("update", SEGMENT, ("description",)),
    Step("same", POOL),
    Step("same", EGRESS),
    Step("create", NAT_RULE),
)


def unchanged() -> tuple[Step, ...]:
    return tuple(Step("same", resource) for resource in EXISTING)


# The engine's steps of one replacement; only `replace` is logical (counted in the summary).
REPLACEMENT_STEPS = ("create-replacement", "replace", "delete-replaced")


def step_events(steps: Sequence[Step], *, delete_before_replace: bool) -> list[Step]:
    """The steps as the engine emits them: a `replace` becomes its three steps.

    Delete-before-replace: delete-replaced, replace, create-replacement, in place. Otherwise
    create-replacement and replace in place, and delete-replaced once everything else ran.
    """
    events: list[Step] = []
    deferred: list[Step] = []
    for step in steps:
        if step.op != "replace":
            events.append(step)
            continue
        create = Step("create-replacement", step.resource, step.diffs)
        delete = Step("delete-replaced", step.resource)
        if delete_before_replace:
            events += [delete, step, create]
        else:
            events += [create, step]
            deferred.append(delete)
    return events + deferred


# --- command line -------------------------------------------------------------------------


@dataclass
class Args:
    command: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def _parse(argv: Sequence[str]) -> Args:
    args = Args()
    words = iter(argv)
    for word in words:
        if word in _VALUED_FLAGS:
            args.values[word] = next(words, "")
        elif word.startswith("--") and "=" in word:
            flag, _, value = word.partition("=")
            args.values[flag] = value
        elif word.startswith("-"):
            args.flags.add(word)
        elif len(args.command) < (2 if args.command[:1] == ["stack"] else 1):
            args.command.append(word)
    return args


# --- engine events ------------------------------------------------------------------------


class EventLog:
    """The engine event stream the SDK reads: gRPC (`tcp://`) or a JSON-lines file."""

    def __init__(self, target: str | None) -> None:
        self._target = target
        self._events: list[dict[str, Any]] = []

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        event = {"sequence": len(self._events), "timestamp": int(time.time()), kind: payload}
        self._events.append(event)
        if self._target and not self._target.startswith("tcp://"):
            with Path(self._target).open("a", encoding="utf-8") as file:
                file.write(json.dumps(event) + "\n")

    def close(self) -> None:
        """End the stream as the CLI does: a cancel event, then (gRPC) send and wait."""
        if not self._target:
            return
        self.emit("cancelEvent", {})
        if self._target.startswith("tcp://"):
            _stream_over_grpc(self._target.removeprefix("tcp://"), self._events)


def _stream_over_grpc(address: str, events: list[dict[str, Any]]) -> None:
    """Send the events to the SDK's `pulumirpc.Events/StreamEvents` service, as the CLI does.

    The requests are encoded by hand: importing the SDK's generated stubs would import all of
    `pulumi` (a third of a second per call). The SDK's own servicer decodes them.
    """
    import grpc  # only operations stream events

    requests = (_event_request(event) for event in events)
    # No proxy: the SDK listens on loopback, and a CI proxy variable must not reroute it.
    with grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)]) as channel:
        stream = channel.stream_unary(
            "/pulumirpc.Events/StreamEvents",
            request_serializer=bytes,
            response_deserializer=bytes,  # google.protobuf.Empty
        )
        stream(requests, timeout=30)


def _event_request(event: dict[str, Any]) -> bytes:
    """`EventRequest{string event = 1}` in protobuf wire format: tag, length, UTF-8 JSON."""
    payload = json.dumps(event).encode()
    return b"\x0a" + _varint(len(payload)) + payload


def _varint(number: int) -> bytes:
    encoded = bytearray()
    while number > 0x7F:
        encoded.append((number & 0x7F) | 0x80)
        number >>= 7
    encoded.append(number)
    return bytes(encoded)


def _metadata(op: str, step: Step, stack: str) -> dict[str, Any]:
    urn = step.resource.urn(stack)
    state = {"type": step.resource.type, "urn": urn, "custom": True, "inputs": {}}
    return {
        "op": op,
        "urn": urn,
        "type": step.resource.type,
        "provider": "",
        "old": None if op == "create" else state,
        "new": None if op == "delete" else state,
        "diffs": list(step.diffs),
        "detailedDiff": {name: {"diffKind": "update", "inputDiff": True} for name in step.diffs},
        "logical": op not in ("create-replacement", "delete-replaced"),
    }


def _emit_step(log: EventLog, step: Step, stack: str, *, planning: bool) -> None:
    log.emit(
        "resourcePreEvent", {"metadata": _metadata(step.op, step, stack), "planning": planning}
    )
    log.emit("resOutputsEvent", {"metadata": _metadata(step.op, step, stack), "planning": planning})


def _emit_refresh(log: EventLog, outcome: Step, stack: str, *, planning: bool) -> None:
    # The engine announces a refresh step, then reports its outcome in the outputs event.
    announced = _metadata("refresh", outcome, stack)
    log.emit("resourcePreEvent", {"metadata": announced, "planning": planning})
    outcome_metadata = _metadata(outcome.op, outcome, stack)
    log.emit("resOutputsEvent", {"metadata": outcome_metadata, "planning": planning})


def _emit_summary(log: EventLog, counts: dict[str, int]) -> None:
    log.emit(
        "summaryEvent",
        {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": counts, "PolicyPacks": {}},
    )


# --- the CLI ------------------------------------------------------------------------------


class Fake:
    def __init__(self, args: Args, scenario: str) -> None:
        self.args = args
        self.scenario = scenario
        self.stack = args.values.get("--stack", "")

    def run(self) -> int:
        handlers = {
            ("version",): self.version,
            ("stack", "ls"): self.list_stacks,
            ("stack", "select"): self.select,
            ("stack", "unselect"): self.unselect,
            ("stack", "output"): self.output,
            ("stack", "history"): self.history,
            ("preview",): self.operation,
            ("up",): self.operation,
            ("refresh",): self.operation,
            ("destroy",): self.operation,
        }
        handler = handlers.get(tuple(self.args.command))
        if handler is None:
            return _fail(f"fake pulumi: unsupported command {self.args.command}", code=2)
        if self.stack and self.scenario == "no-stack":
            return _fail(f"error: no stack named '{self.stack}' found")
        if self.scenario == "not-logged-in" and self.args.command != ["version"]:
            return _fail(NOT_LOGGED_IN)
        return handler()

    def version(self) -> int:
        print(os.environ.get("FAKE_PULUMI_VERSION", DEFAULT_VERSION))
        return 0

    def list_stacks(self) -> int:
        current = _read_selection()
        names = sorted({*KNOWN_STACKS, *([current] if current else [])})
        stacks = [
            {
                "name": name,
                "current": name == current,
                "lastUpdate": "2026-05-01T10:01:00.000Z",
                "updateInProgress": False,
                "resourceCount": len(EXISTING),
                "url": f"https://app.pulumi.com/example/{PROJECT}/{name}",
            }
            for name in names
        ]
        print(json.dumps(stacks, indent=4))
        return 0

    def select(self) -> int:
        # Any known stack, also fully qualified (`org/prod`), and the selected one.
        if self.stack.rsplit("/", 1)[-1] not in KNOWN_STACKS and self.stack != _read_selection():
            return _fail(f"error: no stack named '{self.stack}' found")
        _write_selection(self.stack)
        return 0

    def unselect(self) -> int:
        _write_selection(None)
        return 0

    def output(self) -> int:
        if self.scenario == "never-deployed":
            print("{}")
            return 0
        given = os.environ.get("FAKE_PULUMI_OUTPUTS")
        outputs: dict[str, Any] = (
            json.loads(Path(given).read_text(encoding="utf-8"))
            if given
            else {
                "clusterName": "tkc-01",
                "egressIps": {"web": "10.100.5.130"},
                "kubeconfig": SECRET_OUTPUT,
            }
        )
        if "--show-secrets" not in self.args.flags:
            outputs = {
                name: SECRET_SENTINEL if name in SECRET_OUTPUTS else value
                for name, value in outputs.items()
            }
        print(json.dumps(outputs, indent=4))
        return 0

    def history(self) -> int:
        if self.scenario == "never-deployed":
            print("[]")
            return 0
        password: dict[str, Any] = {"secret": True}
        if "--show-secrets" in self.args.flags:
            password["value"] = SECRET_CONFIG
        entry = {
            "kind": "update",
            "startTime": "2026-05-01T10:00:00.000Z",
            "endTime": "2026-05-01T10:01:00.000Z",
            "message": "",
            "environment": {"exec.kind": "auto.local"},
            "config": {
                "antrea-egress:natMode": {"value": "true", "secret": False},
                "nsxt:password": password,
            },
            "result": "succeeded",
            "version": 7,
            "resourceChanges": _last_summary() or {"same": len(EXISTING)},
        }
        print(json.dumps([entry], indent=4))
        return 0

    def operation(self) -> int:
        command = self.args.command[0]
        if self.scenario == "locked-cloud":
            return _fail("error: [409] Conflict: Another update is currently in progress.")
        if self.scenario == "locked-diy":
            return _fail(
                "error: the stack is currently locked by 1 lock(s). Either wait for the other "
                "process(es) to end or delete the lock file with `pulumi cancel`.\n"
                f"  file:///srv/state/.pulumi/locks/organization/{PROJECT}/{self.stack}/"
                "3f1c.json: created by ci@runner-7 (pid 4242) at 2026-05-01T10:00:00Z"
            )
        log = EventLog(self.args.values.get("--event-log"))
        try:
            return self._operate(command, log)
        finally:
            log.close()

    def _operate(self, command: str, log: EventLog) -> int:
        planning = command == "preview"
        print(f"{_HEADINGS[command]} ({self.stack}):")
        log.emit("preludeEvent", {"config": {"nsxt:password": SECRET_SENTINEL}})
        if self.scenario == "fail":
            return self._resource_failure(command, log)
        steps = self._run_steps(command, log, planning=planning)
        counts = dict(Counter(step.op for step in steps))
        print("Resources:")
        for op, count in sorted(counts.items()):
            print(f"    {count} {op}")
        if command == "up":
            print(f'Outputs:\n    clusterName: "tkc-01"\n    kubeconfig : {SECRET_SENTINEL}')
        if not (self.scenario == "no-summary" and planning):
            _emit_summary(log, counts)
        if "--expect-no-changes" in self.args.flags and _has_changes(counts):
            verb = "proposed" if planning else "occurred"
            return _fail(f"error: no changes were expected but changes were {verb}")
        if not planning:
            _save_summary(counts)
        return 0

    def _run_steps(self, command: str, log: EventLog, *, planning: bool) -> tuple[Step, ...]:
        """Emit and print the run's steps; return those the summary counts."""
        outcomes: tuple[Step, ...] = ()
        if command == "refresh" or "--refresh" in self.args.flags:
            outcomes = tuple(self._refresh_outcome(resource) for resource in EXISTING)
            for outcome in outcomes:
                _emit_refresh(log, outcome, self.stack, planning=planning)
        if command == "refresh":
            steps = outcomes  # a refresh counts its outcomes: same, update, delete
        else:
            steps = self._plan(command)
            dbr = self.scenario != "changes-cbd"  # the pool is delete-before-replace
            for step in step_events(steps, delete_before_replace=dbr):
                _emit_step(log, step, self.stack, planning=planning)
        for step in steps:
            self._print_step(step)
        return steps

    def _plan(self, command: str) -> tuple[Step, ...]:
        if command == "destroy":
            return tuple(Step("delete", resource) for resource in reversed(EXISTING))
        if self.scenario in ("changes", "changes-cbd"):
            return CHANGES_PLAN
        if self.scenario == "drift" and "--refresh" in self.args.flags:
            return DRIFT_PLAN
        return unchanged()

    def _refresh_outcome(self, resource: Resource) -> Step:
        if self.scenario == "drift" and resource in DRIFT_OUTCOMES:
            return DRIFT_OUTCOMES[resource]
        if self.scenario == "status-drift" and resource in STATUS_DRIFT_OUTCOMES:
            return STATUS_DRIFT_OUTCOMES[resource]
        return Step("same", resource)

    def _print_step(self, step: Step) -> None:
        symbol = _SYMBOLS.get(step.op, "?")
        print(f"  {symbol} {step.resource.type}: {step.resource.name} ({step.op})")
        print(f"      [urn={step.resource.urn(self.stack)}]")
        for name in step.diffs:
            print(f"    ~ {name}: (changed)")

    def _resource_failure(self, command: str, log: EventLog) -> int:
        failing = Step("update", SEGMENT, ("vlan",))
        log.emit("resourcePreEvent", {"metadata": _metadata("update", failing, self.stack)})
        message = "NSX manager at 127.0.0.1 returned 503 Service Unavailable"
        log.emit(
            "diagnosticEvent",
            {"message": message, "color": "never", "severity": "error"},
        )
        log.emit(
            "resOpFailedEvent",
            {"metadata": _metadata("update", failing, self.stack), "status": 1, "steps": 1},
        )
        # A program that prints what it should not: stdout is the program's, stderr the CLI's.
        print(f"    debug: logging in to NSX with {SECRET_CONFIG}")
        print("Diagnostics:")
        print(f"  {SEGMENT.type} ({SEGMENT.name}):\n    error: {message}")
        return _fail(f"error: {message}\nerror: {command} failed")


_HEADINGS = {
    "preview": "Previewing update",
    "up": "Updating",
    "refresh": "Refreshing",
    "destroy": "Destroying",
}


def _has_changes(counts: dict[str, int]) -> bool:
    return any(count for op, count in counts.items() if op not in _NO_CHANGE_OPS)


def _fail(message: str, *, code: int = _FAILED) -> int:
    print(message, file=sys.stderr)
    return code


# The last operation's counts, for `stack history` (each invocation is a new process).
def _summary_file() -> Path | None:
    log = os.environ.get("FAKE_PULUMI_LOG")
    return Path(log).with_suffix(".last-summary.json") if log else None


def _save_summary(counts: dict[str, int]) -> None:
    path = _summary_file()
    if path is not None:
        path.write_text(json.dumps(counts), encoding="utf-8")


def _last_summary() -> dict[str, int] | None:
    path = _summary_file()
    if path is None or not path.exists():
        return None
    counts: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))
    return counts


# The selected stack, as ~/.pulumi/workspaces keeps it (each invocation is a new process).
def _selection_file(log: Path) -> Path:
    return log.with_suffix(".workspace.json")


def select_stack(log: Path, stack: str | None) -> None:
    """For a test: the stack the user had selected before (None: none)."""
    path = _selection_file(log)
    if stack is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(json.dumps({"stack": stack}), encoding="utf-8")


def selected_stack(log: Path) -> str | None:
    """The stack selected now, as `pulumi stack ls` would mark it."""
    path = _selection_file(log)
    if not path.exists():
        return None
    stack = json.loads(path.read_text(encoding="utf-8")).get("stack")
    return str(stack) if stack else None


def _read_selection() -> str | None:
    log = os.environ.get("FAKE_PULUMI_LOG")
    return selected_stack(Path(log)) if log else None


def _write_selection(stack: str | None) -> None:
    log = os.environ.get("FAKE_PULUMI_LOG")
    if log:
        select_stack(Path(log), stack)


def _record(argv: Sequence[str]) -> None:
    log = os.environ.get("FAKE_PULUMI_LOG")
    if not log:
        return
    env = {name: os.environ[name] for name in LOGGED_ENV if name in os.environ}
    entry = {"argv": list(argv), "cwd": str(Path.cwd()), "env": env}
    with Path(log).open("a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")


def main(argv: Sequence[str]) -> int:
    _record(argv)
    args = _parse(argv)
    return Fake(args, os.environ.get("FAKE_PULUMI_SCENARIO", "ok")).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
