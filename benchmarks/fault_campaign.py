"""A randomized, seeded fault campaign of the ChildSegment provider against the NSX simulator.

    python -m benchmarks.fault_campaign [--runs 200] [--seed N] [--time-budget 150]

Each run draws a zone (id, parent, VLAN, subnet, tags) and one to three faults from the menu
below at random positions of create and delete, then does what a user does: create; if it
failed, create again without faults; read; delete; if it failed, delete again without faults.
After each step it checks NSX (the simulator's objects, not what the provider says):

- no orphan: after a failed create, nothing beyond what its message names as left (and nothing
  at all when it says it rolled back); after the final delete, nothing of the zone;
- no duplicate: never two segments of the zone, nor two binding maps under its segment or for
  its VLAN on its parent;
- no wrong binding: every binding map of the zone has the zone's VLAN and parent;
- no false success: a create that reported success left the segment and its binding map;
- every error names the NSX error code or the HTTP status (or says NSX gave no answer);
- the password appears in no error, log record or output.

The same seed gives the same runs (each run's plan is printed with `--verbose`). It prints
the figures and exits 1 unless every count of a broken promise is zero and at least
`--min-runs` runs finished within the time budget. Talks only to simulators it starts on
127.0.0.1. `.ci/run` runs it; README "Fault campaign" shows its figures.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from antrea_egress.nsx.client import ClientTuning, RetryPolicy
from antrea_egress.nsx.errors import NsxError
from antrea_egress.providers.child_segment import ChildSegmentProvider
from nsxsim import LAB, Fault, NsxSimulator
from nsxsim.tls import ServerTls

PASSWORD = "Campaign-Pw-3141"
SECOND_PARENT_ID = "vnet_second-parent_0"
SEGMENTS = "/infra/segments"
BINDING_MAPS = "segment-connection-binding-maps"
# Short budgets so a run takes a fraction of a second: at most 4 attempts per request, so a
# fault repeated 4 times outlasts the retries and fails the step.
TUNING = ClientTuning(
    request_timeout=2,
    connect_timeout=2,
    retry=RetryPolicy(max_attempts=4, initial_backoff=0.002, max_backoff=0.01, deadline=3),
    realization_timeout=1,
    realization_first_interval=0.005,
    realization_max_interval=0.02,
    conflict_timeout=0.2,
    conflict_interval=0.01,
)
# How an error names what NSX said: its error code, the HTTP status, or that it said nothing.
_NAMES_THE_ANSWER = re.compile(r"NSX error \d+|HTTP \d{3}|no answer from NSX")

# --- the plan of a run -----------------------------------------------------------------------

CREATE, DELETE = "create", "delete"
# Where a fault can hit: (phase, target). The regex and method are per zone (`_request_of`).
TARGETS: dict[str, tuple[str, ...]] = {
    CREATE: (
        "parent-get",
        "search",
        "segment-patch",
        "map-patch",
        "realization-poll",
        "map-delete",
        "segment-delete",
    ),
    DELETE: ("map-delete", "segment-delete"),
}
# The menu: what NSX (or the network) does to a request.
KINDS = (
    "429",
    "503",
    "500-transient",
    "500-final",
    "drop",
    "drop-answer",
    "slow",
    "412",
    "has-children",
    "realization-error",
)


@dataclass(frozen=True)
class PlannedFault:
    phase: str
    kind: str
    target: str
    times: int
    delay: float = 0.0

    def __str__(self) -> str:
        return f"{self.phase}: {self.kind} on {self.target} x{self.times}"


@dataclass(frozen=True)
class Zone:
    nsx_id: str
    parent_path: str
    vlan: int
    cidr: str
    gateway: str
    tag: str

    @property
    def segment_path(self) -> str:
        return f"{SEGMENTS}/{self.nsx_id}"

    def inputs(self) -> dict[str, Any]:
        return {
            "nsx_id": self.nsx_id,
            "parent_path": self.parent_path,
            "vlan": float(self.vlan),  # as the engine sends numbers
            "cidr": self.cidr,
            "gateway": self.gateway,
            "tags": [{"scope": "antrea-egress/zone", "tag": self.tag}],
        }


@dataclass(frozen=True)
class RunPlan:
    number: int
    zone: Zone
    faults: tuple[PlannedFault, ...]


def plan_run(rng: random.Random, number: int) -> RunPlan:
    return RunPlan(number, _draw_zone(rng, number), _draw_faults(rng))


def _draw_zone(rng: random.Random, number: int) -> Zone:
    name = f"z{number}-{rng.randrange(16**6):06x}"
    prefix = rng.choice((24, 26, 28))
    second, third = rng.randrange(1, 250), rng.randrange(0, 250)
    host = 0 if prefix == 24 else rng.randrange(0, 256 // 2 ** (32 - prefix)) * 2 ** (32 - prefix)
    parent = rng.choice((LAB.node_segment_path, f"{SEGMENTS}/{SECOND_PARENT_ID}"))
    return Zone(
        nsx_id=f"egress-campaign-{name}",
        parent_path=parent,
        vlan=rng.randrange(1, 4095),
        cidr=f"10.{second}.{third}.{host}/{prefix}",
        gateway=f"10.{second}.{third}.{host + 1}",
        tag=name,
    )


def _draw_faults(rng: random.Random) -> tuple[PlannedFault, ...]:
    faults = []
    for _ in range(rng.randint(1, 3)):
        phase = rng.choice((CREATE, CREATE, DELETE))
        target = rng.choice(TARGETS[phase])
        kind = rng.choice(_kinds_for(target))
        times = 1 if kind == "realization-error" else rng.randint(1, 4)
        delay = round(rng.uniform(0.01, 0.08), 3) if kind == "slow" else 0.0
        faults.append(PlannedFault(phase, kind, target, times, delay))
    return tuple(faults)


def _kinds_for(target: str) -> tuple[str, ...]:
    kinds = ["429", "503", "500-transient", "500-final", "drop", "slow"]
    if target.endswith("-patch"):
        kinds += ["412", "drop-answer"]
    if target.endswith("-delete"):
        kinds += ["has-children", "drop-answer"]
    if target == "realization-poll":
        kinds += ["realization-error"]
    return tuple(kinds)


# --- the faults, as the simulator plays them ---------------------------------------------------


def _request_of(zone: Zone, target: str) -> tuple[str, str]:
    """The (path regex, method) of a target's requests for this zone."""
    segment = re.escape(zone.segment_path)
    maps = f"{segment}/{BINDING_MAPS}/"
    return {
        "parent-get": (f"{re.escape(zone.parent_path)}$", "GET"),
        "search": ("/search/query$", "GET"),
        "segment-patch": (f"{segment}$", "PATCH"),
        "map-patch": (maps, "PATCH"),
        "realization-poll": ("/realized-state/realized-entities$", "GET"),
        "segment-delete": (f"{segment}$", "DELETE"),
        "map-delete": (maps, "DELETE"),
    }[target]


def _install(sim: NsxSimulator, zone: Zone, planned: PlannedFault, rng: random.Random) -> None:
    if planned.kind == "realization-error":
        which = rng.choice((f"{re.escape(zone.segment_path)}$", f"/{BINDING_MAPS}/"))
        sim.set_realization(which, ["UNREALIZED", "ERROR"], alarm="injected realization failure")
        return
    regex, method = _request_of(zone, planned.target)
    answers: dict[str, dict[str, Any]] = {
        "429": {"status": 429, "headers": {"Retry-After": "0"}},
        "503": {"status": 503},
        "500-transient": {"status": 500, "error_code": 607},
        "500-final": {"status": 500, "error_code": 100},
        "drop": {"drop": True},
        "drop-answer": {"drop_answer": True},
        "slow": {"delay": planned.delay},
        "412": {"status": 412, "error_code": 604},
        "has-children": {"status": 400, "error_code": 500030},
    }
    sim.add_fault(Fault(regex, method=method, times=planned.times, **answers[planned.kind]))


def _clear(sim: NsxSimulator) -> None:
    sim.clear_faults()
    sim.set_realization(".", ["REALIZED"])


# --- what NSX holds --------------------------------------------------------------------------


@dataclass
class Tally:
    runs: int = 0
    orphans: int = 0
    duplicates: int = 0
    false_successes: int = 0
    wrong_bindings: int = 0
    unnamed_errors: int = 0
    leaked_secrets: int = 0
    unconverged: int = 0
    failed_creates: int = 0
    failed_deletes: int = 0
    faults: int = 0
    problems: list[str] = field(default_factory=list)

    BROKEN = (
        "orphans",
        "duplicates",
        "false_successes",
        "wrong_bindings",
        "unnamed_errors",
        "leaked_secrets",
        "unconverged",
    )

    def broken(self, what: str, run: RunPlan, detail: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        self.problems.append(f"run {run.number} ({', '.join(map(str, run.faults))}): {detail}")

    @property
    def clean(self) -> bool:
        return all(getattr(self, name) == 0 for name in self.BROKEN)


def _zone_objects(sim: NsxSimulator, zone: Zone) -> tuple[list[str], list[dict[str, Any]]]:
    """The zone's segments (by its tag, wherever they are) and the binding maps that are its:
    under its segment, or binding its VLAN to its parent from a segment of its id."""
    objects = sim.objects(SEGMENTS, include_marked=False)
    segments = [
        path
        for path, body in objects.items()
        if body.get("resource_type") == "Segment"
        and {"scope": "antrea-egress/zone", "tag": zone.tag} in (body.get("tags") or [])
    ]
    maps = [
        body
        for path, body in objects.items()
        if body.get("resource_type") == "SegmentConnectionBindingMap"
        and path.startswith(f"{zone.segment_path}/")
    ]
    return segments, maps


def _check_shape(tally: Tally, run: RunPlan, sim: NsxSimulator, when: str) -> None:
    segments, maps = _zone_objects(sim, run.zone)
    if len(segments) > 1 or len(maps) > 1:
        tally.broken("duplicates", run, f"{when}: segments {segments}, maps {len(maps)}")
    for binding in maps:
        if (binding.get("vlan_traffic_tag"), binding.get("segment_path")) != (
            run.zone.vlan,
            run.zone.parent_path,
        ):
            tally.broken("wrong_bindings", run, f"{when}: {binding.get('path')}")


def _check_error(tally: Tally, run: RunPlan, error: Exception) -> None:
    text = str(error)
    if not _NAMES_THE_ANSWER.search(text):
        tally.broken("unnamed_errors", run, text)
    if PASSWORD in text:
        tally.broken("leaked_secrets", run, "the password in an error")


def _check_failed_create(tally: Tally, run: RunPlan, sim: NsxSimulator, error: Exception) -> None:
    """What a failed create left must be what its message says it left."""
    segments, maps = _zone_objects(sim, run.zone)
    text = str(error)
    left = [*segments, *(str(m.get("path")) for m in maps)]
    if not left:
        return
    if "nothing left in NSX" in text:
        tally.broken("orphans", run, f"create said it rolled back, yet NSX holds {left}")
    elif "may still hold" not in text or any(f"{path} " not in f"{text} " for path in left):
        tally.broken("orphans", run, f"create left {left} without saying so: {text}")


# --- a run -----------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


@contextlib.contextmanager
def _captured_logs() -> Iterator[_Records]:
    records = _Records()
    logger = logging.getLogger("antrea_egress")
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)


def _provider(sim: NsxSimulator) -> ChildSegmentProvider:
    provider = ChildSegmentProvider()
    provider.configure(ConfigureRequest(Config(sim.nsxt_config(), "antrea-egress")))
    return provider


def _attempt(action: Callable[[], Any]) -> tuple[Any, NsxError | None]:
    try:
        return action(), None
    except NsxError as error:
        return None, error


@dataclass
class _Run:
    """One run's simulator and provider, and where it reports what broke."""

    plan: RunPlan
    tally: Tally
    sim: NsxSimulator
    provider: ChildSegmentProvider
    rng: random.Random

    def create(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        plan, tally, sim, provider = self.plan, self.tally, self.sim, self.provider
        created, error = _attempt(lambda: provider.create(inputs))
        _check_shape(tally, plan, sim, "after create")
        if error is not None:
            tally.failed_creates += 1
            _check_error(tally, plan, error)
            _check_failed_create(tally, plan, sim, error)
            _clear(sim)
            created, error = _attempt(lambda: provider.create(inputs))  # the next `pulumi up`
            _check_shape(tally, plan, sim, "after the second create")
            if error is not None:
                tally.broken("unconverged", plan, f"create again without faults: {error}")
                return None
        segments, maps = _zone_objects(sim, plan.zone)
        if segments != [plan.zone.segment_path] or len(maps) != 1:
            tally.broken("false_successes", plan, f"create succeeded, NSX holds {segments}, {maps}")
        outs = dict(created.outs or {})
        if PASSWORD in repr(outs):
            tally.broken("leaked_secrets", plan, "the password in the outputs")
        return outs

    def read_and_delete(self, outs: dict[str, Any]) -> None:
        plan, tally, sim, provider = self.plan, self.tally, self.sim, self.provider
        zone = plan.zone
        read = provider.read(zone.nsx_id, outs)
        if read.id != zone.nsx_id or (read.inputs or {}).get("vlan") != zone.vlan:
            tally.broken("unconverged", plan, f"read after create: {read.id} {read.inputs}")
        _clear(sim)
        for planned in (f for f in plan.faults if f.phase == DELETE):
            _install(sim, zone, planned, self.rng)
        _, error = _attempt(lambda: provider.delete(zone.nsx_id, outs))
        _check_shape(tally, plan, sim, "after delete")
        if error is not None:
            tally.failed_deletes += 1
            _check_error(tally, plan, error)
            _clear(sim)
            _, error = _attempt(lambda: provider.delete(zone.nsx_id, outs))  # destroy again
            if error is not None:
                tally.broken("unconverged", plan, f"delete again without faults: {error}")
        segments, maps = _zone_objects(sim, zone)
        if segments or maps:
            tally.broken("orphans", plan, f"after delete NSX holds {segments}, {len(maps)} map(s)")


def run_once(plan: RunPlan, tally: Tally, tls: ServerTls, rng: random.Random) -> None:
    zone = plan.zone
    sim = NsxSimulator(users={"admin": PASSWORD}, tls=tls)
    with sim, _captured_logs() as logs:
        sim.seed_lab()
        sim.seed_segment(SECOND_PARENT_ID, connectivity_path=LAB.tier1_path)
        provider = _provider(sim)
        inputs = dict(provider.check({}, zone.inputs()).inputs)
        for planned in (f for f in plan.faults if f.phase == CREATE):
            _install(sim, zone, planned, rng)
        run = _Run(plan, tally, sim, provider, rng)
        outs = run.create(inputs)
        if outs is not None:
            run.read_and_delete(outs)
        tally.runs += 1
        tally.faults += len(plan.faults)
        if any(PASSWORD in text for text in logs.texts):
            tally.broken("leaked_secrets", plan, "the password in a log record")


# --- the campaign ----------------------------------------------------------------------------


@contextlib.contextmanager
def _campaign_tuning() -> Iterator[None]:
    saved = ChildSegmentProvider.tuning, ChildSegmentProvider.environ
    ChildSegmentProvider.tuning, ChildSegmentProvider.environ = TUNING, {}
    try:
        yield
    finally:
        ChildSegmentProvider.tuning, ChildSegmentProvider.environ = saved


def campaign(
    runs: int,
    seed: int,
    time_budget: float,
    *,
    on_run: Callable[[RunPlan], None] | None = None,
) -> Tally:
    """Up to `runs` runs from `seed`, starting none after `time_budget` seconds."""
    rng = random.Random(seed)
    tally = Tally()
    tls = ServerTls()  # one CA for every simulator: issuing certificates is the slow part
    started = time.monotonic()
    # The provider's retries and rollbacks warn on purpose; the campaign reads them itself.
    quiet = logging.getLogger("antrea_egress")
    propagate = quiet.propagate
    quiet.propagate = False
    try:
        with _campaign_tuning():
            for number in range(1, runs + 1):
                if time.monotonic() - started > time_budget:
                    break
                plan = plan_run(rng, number)
                if on_run is not None:
                    on_run(plan)
                run_once(plan, tally, tls, random.Random(rng.random()))
    finally:
        quiet.propagate = propagate
    return tally


def render(tally: Tally, seed: int, seconds: float) -> str:
    lines = [
        f"NSX fault campaign: seed {seed}, {tally.runs} runs, {tally.faults} faults, "
        f"{seconds:.0f} s",
        f"  runs {tally.runs}, orphans {tally.orphans}, duplicates {tally.duplicates}, "
        f"false successes {tally.false_successes}",
        f"  wrong bindings {tally.wrong_bindings}, errors without NSX code or HTTP status "
        f"{tally.unnamed_errors}, password leaks {tally.leaked_secrets}, not converged "
        f"{tally.unconverged}",
        f"  (creates that failed and were run again: {tally.failed_creates}; deletes: "
        f"{tally.failed_deletes})",
    ]
    lines += [f"  BROKEN {problem}" for problem in tally.problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--min-runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20260406)
    parser.add_argument("--time-budget", type=float, default=150.0, help="seconds")
    parser.add_argument("--verbose", action="store_true", help="print each run's plan")
    args = parser.parse_args(argv)

    def show(plan: RunPlan) -> None:
        if args.verbose:
            print(f"run {plan.number}: {plan.zone.nsx_id}; " + "; ".join(map(str, plan.faults)))

    started = time.monotonic()
    tally = campaign(args.runs, args.seed, args.time_budget, on_run=show)
    print(render(tally, args.seed, time.monotonic() - started))
    if tally.runs < args.min_runs:
        print(f"only {tally.runs} runs within {args.time_budget:g} s; {args.min_runs} needed")
        return 1
    return 0 if tally.clean else 1


if __name__ == "__main__":
    sys.exit(main())
