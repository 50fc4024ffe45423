"""The fault campaign: reproducible, clean on the provider as it is, and able to fail.

`.ci/run` runs the full campaign (`python -m benchmarks.fault_campaign`); here a short one,
and the campaign's checks against providers broken on purpose, so its zeros mean something.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from antrea_egress.providers import child_segment
from antrea_egress.providers.child_segment import ChildSegmentError, ChildSegmentProvider
from benchmarks import fault_campaign
from benchmarks.fault_campaign import (
    CREATE,
    PASSWORD,
    PlannedFault,
    RunPlan,
    Tally,
    Zone,
    campaign,
    plan_run,
    run_once,
)
from nsxsim import LAB
from nsxsim.tls import ServerTls

pytestmark = pytest.mark.timeout(60)  # simulators and retries; a short campaign takes seconds

ZONE = Zone(
    nsx_id="egress-campaign-test",
    parent_path=LAB.node_segment_path,
    vlan=123,
    cidr="10.9.8.0/28",
    gateway="10.9.8.1",
    tag="test",
)


@pytest.fixture(scope="module")
def tls() -> ServerTls:
    return ServerTls()


def one_run(tls: ServerTls, *faults: PlannedFault) -> Tally:
    tally = Tally()
    with fault_campaign._campaign_tuning():
        run_once(RunPlan(1, ZONE, faults), tally, tls, random.Random(1))
    return tally


def test_the_same_seed_plans_the_same_runs() -> None:
    first = [plan_run(random.Random(7), n) for n in range(1, 30)]
    again = [plan_run(random.Random(7), n) for n in range(1, 30)]
    other = [plan_run(random.Random(8), n) for n in range(1, 30)]
    assert first == again
    assert first != other
    assert all(1 <= len(plan.faults) <= 3 for plan in first)


def test_a_short_campaign_is_clean() -> None:
    tally = campaign(runs=25, seed=12, time_budget=50)
    assert tally.runs == 25
    assert tally.clean, tally.problems
    assert tally.failed_creates > 0  # the faults really did bite


def test_a_create_that_leaves_what_it_claims_to_have_rolled_back_is_an_orphan(
    tls: ServerTls, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rollback(_nsx: Any, spec: Any, _sent: Any, cause: Any) -> ChildSegmentError:
        return ChildSegmentError(f"creating {spec.segment_path} failed and was rolled back "
                                 f"(nothing left in NSX): {cause}")  # fmt: skip

    monkeypatch.setattr(child_segment, "_rolled_back", no_rollback)
    tally = one_run(tls, PlannedFault(CREATE, "500-final", "map-patch", 1))
    assert tally.orphans == 1
    assert not tally.clean


def test_a_create_that_reports_success_without_its_binding_map_is_a_false_success(
    tls: ServerTls, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = ChildSegmentProvider.create

    def forgetful(self: ChildSegmentProvider, props: dict[str, Any]) -> Any:
        result = real_create(self, props)
        with self._nsx() as nsx:
            nsx.delete(dict(result.outs or {})["binding_map_path"])
        return result

    monkeypatch.setattr(ChildSegmentProvider, "create", forgetful)
    tally = one_run(tls, PlannedFault(CREATE, "slow", "search", 1, delay=0.01))
    assert tally.false_successes == 1


@pytest.mark.parametrize(
    ("message", "broken"),
    [("something went wrong", "unnamed_errors"), (f"HTTP 500 for {PASSWORD}", "leaked_secrets")],
)
def test_an_error_must_name_nsx_answer_and_never_the_password(
    tls: ServerTls, monkeypatch: pytest.MonkeyPatch, message: str, broken: str
) -> None:
    calls: list[int] = []
    real_create = ChildSegmentProvider.create

    def failing_once(self: ChildSegmentProvider, props: dict[str, Any]) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ChildSegmentError(message)
        return real_create(self, props)

    monkeypatch.setattr(ChildSegmentProvider, "create", failing_once)
    tally = one_run(tls, PlannedFault(CREATE, "slow", "search", 1, delay=0.01))
    assert getattr(tally, broken) == 1


def test_a_delete_that_leaves_the_segment_is_an_orphan(
    tls: ServerTls, monkeypatch: pytest.MonkeyPatch
) -> None:
    def map_only(self: ChildSegmentProvider, _id: str, props: dict[str, Any]) -> None:
        with self._nsx() as nsx:
            nsx.delete(props["binding_map_path"])

    monkeypatch.setattr(ChildSegmentProvider, "delete", map_only)
    tally = one_run(tls, PlannedFault(CREATE, "slow", "search", 1, delay=0.01))
    assert tally.orphans == 1


def test_main_prints_the_figures_and_fails_below_the_minimum_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fault_campaign.main(["--runs", "3", "--min-runs", "3", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "runs 3, orphans 0, duplicates 0, false successes 0" in out
    assert fault_campaign.main(["--runs", "3", "--min-runs", "4", "--seed", "5"]) == 1
    assert "only 3 runs" in capsys.readouterr().out
