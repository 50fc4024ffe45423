"""Wall clock and NSX requests of preview, up, a no-change up, refresh and destroy under the
real Pulumi engine, in the loopback lab, for several zone counts.

    python -m benchmarks.real_engine [--zones 1 5 20] [--latency-ms 20] [--realize-after 1.0]

The NSX simulator plays a realistic manager: every answer takes `--latency-ms`, and a write is
realized `--realize-after` seconds after it was made. Beside `up` it prints the floor that the
NSX critical path allows: the SDK's dynamic-provider host serves at most four calls at once (a
thread pool of four workers in pulumi/dynamic/__main__.py), so the child segments are created
in waves of four, and no create ends before its requests, its realization and one poll per
object. Everything else in the table (the cluster's readiness, the Egress IPs, the engine
itself) is the lab's and the engine's. Needs the real-engine toolchain (tools/build-engine).
Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.lab import Lab, LabOptions
from lab.program import LabProgram
from lab.stack import numbered_zones, values

DYNAMIC_PROVIDER_WORKERS = 4
# A child segment's create before its first poll: the parent read, one search for a binding
# map on the VLAN, the segment and the binding-map PATCH; then one realization poll per object.
REQUESTS_BEFORE_POLLS = 4
POLLS_AT_LEAST = 2
WRITE_METHODS = frozenset({"PATCH", "PUT", "POST", "DELETE"})
REALIZATION = "realized-entities"
STACK_NAME = "lab-benchmark"  # a lab stack: the program treats it as one


@dataclass(frozen=True)
class Row:
    zones: int
    operation: str
    seconds: float
    requests: int
    writes: int
    polls: int
    floor_seconds: float | None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--zones", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--realize-after", type=float, default=1.0)
    options = parser.parse_args(argv)
    latency = options.latency_ms / 1000
    rows: list[Row] = []
    for count in options.zones:
        rows += measure(count, latency, options.realize_after)
        print_table(rows, options.latency_ms, options.realize_after)  # progress: a long run
    return 0


def create_floor(zones: int, latency: float, realize_after: float) -> float:
    """The NSX critical path of creating `zones` child segments through the provider host."""
    one = (REQUESTS_BEFORE_POLLS + POLLS_AT_LEAST) * latency + realize_after
    return math.ceil(zones / DYNAMIC_PROVIDER_WORKERS) * one


def measure(zones: int, latency: float, realize_after: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="antrea-egress-bench-") as work:
        options = LabOptions(nsx_latency_s=latency, nsx_realization_delay_s=realize_after)
        with Lab(Path(work) / "lab", options) as lab:
            program = LabProgram(lab.toolchain, Path(work) / "program", stack_name=STACK_NAME)
            config = values(lab)
            config["antrea-egress:zones"] = (numbered_zones(zones), False)
            program.configure(config)
            stack = program.stack()
            steps: list[tuple[str, Callable[[], Any], float | None]] = [
                ("preview (new stack)", stack.preview, None),
                ("up", stack.up, create_floor(zones, latency, realize_after)),
                ("up (no change)", stack.up, None),
                ("refresh", stack.refresh, None),
                ("destroy", stack.destroy, None),
            ]
            rows = [timed(lab, zones, name, call, floor) for name, call, floor in steps]
            errors = lab.double_errors()
            if errors:
                raise SystemExit(f"a controller double failed: {errors}")
            return rows


def timed(
    lab: Lab, zones: int, operation: str, call: Callable[[], Any], floor: float | None
) -> Row:
    lab.nsx.clear_requests()
    started = time.monotonic()
    call()
    elapsed = time.monotonic() - started
    requests = lab.nsx.requests
    return Row(
        zones=zones,
        operation=operation,
        seconds=elapsed,
        requests=len(requests),
        writes=sum(request.method in WRITE_METHODS for request in requests),
        polls=sum(REALIZATION in request.path for request in requests),
        floor_seconds=floor,
    )


def print_table(rows: list[Row], latency_ms: float, realize_after: float) -> None:
    print(f"\nNSX answers in {latency_ms:.0f} ms, realizes a write {realize_after:.1f} s after it")
    print("| zones | operation | wall clock (s) | NSX requests | writes | polls | NSX floor (s) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for row in rows:
        floor = f"{row.floor_seconds:.1f}" if row.floor_seconds is not None else "-"
        print(
            f"| {row.zones} | {row.operation} | {row.seconds:.1f} | {row.requests} | "
            f"{row.writes} | {row.polls} | {floor} |",
            flush=True,
        )


if __name__ == "__main__":
    raise SystemExit(main())
