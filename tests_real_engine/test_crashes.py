"""The engine killed (SIGKILL, with every plugin it started, as when a CI runner dies) during
`up`, at three points; then what the README tells the user to do: `pulumi cancel` (the dead
run's lock), `pulumi refresh --clear-pending-creates`, then `pulumi up`. It must converge with
nothing orphaned or doubled in NSX or the guest cluster.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, ZONES
from nsxsim.messages import Fault

pytestmark = [
    pytest.mark.timeout(900),
    # The inline program's coroutine is abandoned when its engine dies mid-run: expected here.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ANTREA = "/apis/crd.antrea.io/v1beta1"
KILL_WAIT_S = 120.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    result = []
    for child in _children(pid):
        result += [child, *_descendants(child)]
    return result


def _engine_pid() -> int | None:
    for pid in _children(os.getpid()):
        try:
            if Path(f"/proc/{pid}/exe").resolve().name == "pulumi":
                return pid
        except OSError:
            continue
    return None


def up_killed_when(lab: Lab, program: LabProgram, moment: Callable[[], bool]) -> None:
    """Run `up`, and SIGKILL the engine and everything it started once `moment()` holds."""
    lab.nsx.clear_requests()  # moments are read from this run's requests only
    failure: list[BaseException] = []

    def run() -> None:
        try:
            program.stack().up()
        except BaseException as error:  # whatever the dead engine left the SDK to raise
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + KILL_WAIT_S
    while not moment():
        assert time.monotonic() < deadline, "the moment to kill the engine never came"
        assert thread.is_alive(), "up finished before the moment to kill it"
        time.sleep(0.05)
    engine = _engine_pid()
    assert engine is not None
    for pid in [engine, *_descendants(engine)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    thread.join(timeout=60)
    assert not thread.is_alive(), "up did not return after its engine was killed"
    assert failure, "up did not fail although its engine was killed"


def recover(program: LabProgram) -> None:
    """The README's recovery: release the dead run's lock, drop its pending creates from the
    state, then up again."""
    stack = program.stack()
    stack.cancel()
    stack.refresh(clear_pending_creates=True)
    assert stack.up().summary.result == "succeeded"


def assert_converged(lab: Lab, program: LabProgram) -> None:
    """Exactly one segment and one binding map per zone, with the zone's VLAN; one pool and
    one Egress per zone, whose IP is the one exported; nothing else of ours."""
    ours = {
        path: obj
        for path, obj in lab.nsx.objects("/infra/segments").items()
        if path.startswith("/infra/segments/egress-")
    }
    segments = {p for p in ours if p.count("/") == 3}
    expected = {
        f"/infra/segments/{naming.child_segment_id(lab.namespace, CLUSTER, z)}" for z in ZONES
    }
    assert segments == expected
    for zone, (vlan, *_) in ZONES.items():
        segment = f"/infra/segments/{naming.child_segment_id(lab.namespace, CLUSTER, zone)}"
        maps = lab.nsx.objects(f"{segment}/segment-connection-binding-maps")
        assert [m["vlan_traffic_tag"] for m in maps.values()] == [vlan], zone
    pools = {p["metadata"]["name"] for p in lab.guest.list(f"{ANTREA}/externalippools")}
    assert pools == {naming.external_ip_pool_name(z) for z in ZONES}
    exported: dict[str, Any] = program.stack().outputs()["zones"].value
    for egress in lab.guest.list(f"{ANTREA}/egresses"):
        zone = egress["metadata"]["labels"]["antrea-egress/zone"]
        assert egress["status"]["egressIP"] == exported[zone]["egressIP"]
    assert len(lab.guest.list(f"{ANTREA}/egresses")) == len(ZONES)


def _written(lab: Lab, fragment: str) -> Callable[[], bool]:
    return lambda: any(r.method == "PATCH" and fragment in r.path for r in lab.nsx.requests)


def destroy(program: LabProgram) -> None:
    assert program.stack().destroy().summary.result == "succeeded"


def test_killed_after_the_segment_before_its_binding_map(program: LabProgram, lab: Lab) -> None:
    lab.nsx.add_fault(Fault(r"/segment-connection-binding-maps/", method="PATCH", delay=5.0))
    segment_id = naming.child_segment_id(lab.namespace, CLUSTER, "payments")
    up_killed_when(lab, program, _written(lab, f"/infra/segments/{segment_id}"))
    lab.nsx.clear_faults()
    recover(program)
    assert_converged(lab, program)
    destroy(program)


def test_killed_after_the_binding_map(program: LabProgram, lab: Lab) -> None:
    lab.nsx.set_realization(r"/segment-connection-binding-maps/", ["UNREALIZED"] * 5 + ["REALIZED"])
    up_killed_when(lab, program, _written(lab, "/segment-connection-binding-maps/"))
    lab.nsx.set_realization(r".*", ["REALIZED"])
    recover(program)
    assert_converged(lab, program)
    destroy(program)


def test_killed_while_waiting_for_an_egress_ip(program: LabProgram, lab: Lab) -> None:
    lab.antrea_double.assign_delay_s = 30.0
    egress = f"{ANTREA}/egresses/{naming.egress_name('payments')}"
    up_killed_when(lab, program, lambda: lab.guest.get(egress) is not None)
    lab.antrea_double.assign_delay_s = 0.5
    recover(program)
    assert_converged(lab, program)
    destroy(program)
