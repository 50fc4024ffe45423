"""Count the NSX requests each ChildSegment lifecycle step makes, against the simulator.

    python -m benchmarks.child_segment_requests [--realization-polls N]
    python -m benchmarks.child_segment_requests --realization-floor

Prints one row per step and checks the request budget:
create <= 1 parent read + 1 VLAN-binding lookup + 2 writes + realization polls;
unchanged diff = 0; read <= 2; delete <= 2 writes. Exits 1 if a budget is exceeded.

`--realization-floor` times create, with the production time budgets, against a manager that
answers every request in 20 ms and realizes each write T seconds after it (T = 0.3, 1.2, 5).
The floor is what no client can beat: the requests before the first poll, then T, then one
poll per object. Budget: create within 1.5 times the floor, at most 8 polls per object.
Talks only to the simulator it starts on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from antrea_egress.nsx.client import ClientTuning
from antrea_egress.providers.child_segment import ChildSegmentProvider
from nsxsim import LAB, Fault, NsxSimulator

WRITE_METHODS = frozenset({"PATCH", "PUT", "POST", "DELETE"})
REALIZATION = "realized-entities"
REALIZATION_TIMES = (0.3, 1.2, 5.0)
LATENCY = 0.02  # seconds per request, the manager of the measurement
FLOOR_FACTOR = 1.5
MAX_POLLS_PER_OBJECT = 8
NEWS: dict[str, Any] = {
    "nsx_id": "egress-test-tkc-test01-prod",
    "parent_path": LAB.node_segment_path,
    "vlan": 110,
    "cidr": "10.100.5.0/25",
    "gateway": "10.100.5.1",
    "tags": [{"scope": "antrea-egress/zone", "tag": "prod"}],
}


@dataclass(frozen=True)
class StepCount:
    step: str
    total: int
    reads: int
    writes: int
    polls: int
    millis: float
    budget: str
    within_budget: bool


def classify(sim: NsxSimulator) -> Counter[str]:
    counts: Counter[str] = Counter()
    for request in sim.requests:
        if REALIZATION in request.path:
            counts["polls"] += 1
        elif request.method in WRITE_METHODS:
            counts["writes"] += 1
        else:
            counts["reads"] += 1
    return counts


def measure(
    sim: NsxSimulator,
    step: str,
    action: Callable[[], Any],
    budget: Callable[[Counter[str]], bool],
    budget_text: str,
) -> tuple[StepCount, Any]:
    sim.clear_requests()
    started = time.perf_counter()
    result = action()
    millis = (time.perf_counter() - started) * 1000
    counts = classify(sim)
    total = sum(counts.values())
    row = StepCount(
        step,
        total,
        counts["reads"],
        counts["writes"],
        counts["polls"],
        millis,
        budget_text,
        budget(counts),
    )
    return row, result


def configured(sim: NsxSimulator) -> ChildSegmentProvider:
    ChildSegmentProvider.environ = {}
    provider = ChildSegmentProvider()
    provider.configure(ConfigureRequest(Config(sim.nsxt_config(), "antrea-egress")))
    return provider


def run(realization_polls: int) -> list[StepCount]:
    states = ["UNREALIZED"] * realization_polls + ["REALIZED"]
    tuning = ClientTuning(realization_first_interval=0.01, realization_max_interval=0.01)
    ChildSegmentProvider.tuning = tuning
    with NsxSimulator(realization=states) as sim:
        sim.seed_lab()
        provider = configured(sim)
        news = provider.check({}, NEWS).inputs
        rows = []
        row, created = measure(
            sim,
            "create",
            lambda: provider.create(news),
            lambda c: c["reads"] <= 2 and c["writes"] <= 2,
            "<= 1 parent read + 1 lookup + 2 writes + polls",
        )
        rows.append(row)
        outs = created.outs
        row, _ = measure(
            sim,
            "diff (unchanged)",
            lambda: provider.diff(created.id, outs, news),
            lambda c: sum(c.values()) == 0,
            "0 requests",
        )
        rows.append(row)
        row, _ = measure(
            sim,
            "read (refresh)",
            lambda: provider.read(created.id, outs),
            lambda c: sum(c.values()) <= 2,
            "<= 2 requests",
        )
        rows.append(row)
        retagged = {**news, "tags": [*news["tags"], {"scope": "team", "tag": "payments"}]}
        row, updated = measure(
            sim,
            "update (tags)",
            lambda: provider.update(created.id, outs, retagged),
            lambda c: c["writes"] <= 2 and c["reads"] == 0,
            "<= 2 writes",
        )
        rows.append(row)
        row, _ = measure(
            sim,
            "delete",
            lambda: provider.delete(created.id, updated.outs),
            lambda c: c["writes"] <= 2,
            "<= 2 writes",
        )
        rows.append(row)
    return rows


def render(rows: list[StepCount], realization_polls: int) -> str:
    lines = [
        f"NSX requests per ChildSegment step (simulator, {realization_polls} UNREALIZED poll(s) "
        "before REALIZED)",
        "",
        "| step | requests | reads | writes | realization polls | ms | budget | within |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.step} | {r.total} | {r.reads} | {r.writes} | {r.polls} | {r.millis:.0f} | "
            f"{r.budget} | {'yes' if r.within_budget else 'NO'} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class FloorRow:
    realization_time: float
    create_seconds: float
    floor_seconds: float
    max_polls: int

    @property
    def ratio(self) -> float:
        return self.create_seconds / self.floor_seconds

    @property
    def within_budget(self) -> bool:
        return self.ratio <= FLOOR_FACTOR and self.max_polls <= MAX_POLLS_PER_OBJECT


def time_create(realization_time: float, latency: float = LATENCY) -> FloorRow:
    """One create with the production tuning against a manager of `latency` per request that
    realizes each write `realization_time` seconds after it."""
    ChildSegmentProvider.tuning = ClientTuning()
    with NsxSimulator(realization_delay=realization_time) as sim:
        sim.seed_lab()
        provider = configured(sim)
        news = provider.check({}, NEWS).inputs
        sim.add_fault(Fault(path_regex="", delay=latency, times=1_000_000))  # every request
        sim.clear_requests()
        started = time.perf_counter()
        provider.create(news)
        seconds = time.perf_counter() - started
        requests = sim.requests
    polls = Counter(r.query["intent_path"] for r in requests if REALIZATION in r.path)
    before_polls = sum(1 for r in requests if REALIZATION not in r.path)
    floor = before_polls * latency + realization_time + len(polls) * latency
    return FloorRow(realization_time, seconds, floor, max(polls.values()))


def render_floor(rows: list[FloorRow]) -> str:
    lines = [
        f"ChildSegment create against a manager answering in {LATENCY * 1000:.0f} ms that "
        "realizes each write T s after it (production time budgets)",
        "",
        "| T (s) | create (s) | floor (s) | create / floor | polls per object (max) | within |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.realization_time:g} | {r.create_seconds:.2f} | {r.floor_seconds:.2f} | "
            f"{r.ratio:.2f} | {r.max_polls} | {'yes' if r.within_budget else 'NO'} |"
        )
    lines.append("")
    lines.append(
        f"Budget: create / floor <= {FLOOR_FACTOR}, at most {MAX_POLLS_PER_OBJECT} polls per "
        "object. Floor: the requests before the first poll, then T, then one poll per object."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--realization-polls", type=int, default=1)
    parser.add_argument(
        "--realization-floor",
        action="store_true",
        help="time create against a manager that realizes after T = 0.3, 1.2 and 5 s",
    )
    args = parser.parse_args(argv)
    if args.realization_floor:
        floor_rows = [time_create(t) for t in REALIZATION_TIMES]
        print(render_floor(floor_rows))
        return 0 if all(r.within_budget for r in floor_rows) else 1
    rows = run(args.realization_polls)
    print(render(rows, args.realization_polls))
    return 0 if all(r.within_budget for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
