"""Running the check table: what a check that cannot look, or cannot tell whether it applies,
reports."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress.kube import KubeError
from egressctl.preflight.checks import run_checks
from egressctl.preflight.model import Check, NotCheckedError, Outcome, Status, System, passed
from tests.egressctl.preflight.world import World


def raises(error: Exception) -> Any:
    def run(_ctx: Any) -> Outcome:
        raise error

    return run


def test_a_check_that_cannot_look_fails_saying_why(site: World) -> None:
    checks = (
        Check("a", System.NSX, "a", raises(NotCheckedError("no NSX settings", "set them"))),
        Check("b", System.GUEST, "b", raises(KubeError("GET /x failed: HTTP 403: forbidden"))),
    )
    with site.context() as ctx:
        report = run_checks(ctx, checks)
    assert [(r.id, r.status, r.outcome.evidence, r.outcome.fix) for r in report.results] == [
        ("a", Status.FAIL, "not checked: no NSX settings", "set them"),
        ("b", Status.FAIL, "GET /x failed: HTTP 403: forbidden", "see the message"),
    ]
    assert int(report.exit_code) == 1


def test_waiting_checks_are_listed_and_do_not_fail(site: World) -> None:
    checks = (
        Check(
            "later",
            System.GUEST,
            "later",
            raises(AssertionError("must not run")),
            lambda _: "not yet",
        ),
        Check("now", System.NSX, "now", lambda _: passed("fine"), lambda _: None),
    )
    with site.context() as ctx:
        report = run_checks(ctx, checks)
    assert [w.id for w in report.waiting] == ["later"]
    assert [r.id for r in report.results] == ["now"]
    assert int(report.exit_code) == 0


def test_a_check_whose_applicability_cannot_be_told_runs(site: World) -> None:
    checks = (
        Check(
            "c",
            System.SUPERVISOR,
            "c",
            lambda _: passed("ran"),
            raises(KubeError("GET /api/v1/namespaces/test failed: HTTP 401")),
        ),
    )
    with site.context() as ctx:
        report = run_checks(ctx, checks)
    assert [r.outcome.evidence for r in report.results] == ["ran"]


def test_a_lookup_is_made_once_and_its_failure_kept(site: World) -> None:
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise KubeError("refused")

    with site.context() as ctx:
        for _ in range(2):
            with pytest.raises(KubeError, match="refused"):
                ctx.once("x", failing)
    assert calls == [1]


def test_an_answer_of_an_unforeseen_shape_fails_only_its_check(site: World) -> None:
    checks = (
        Check("odd", System.NSX, "odd", raises(KeyError("node_version"))),
        Check("fine", System.NSX, "fine", lambda _: passed("ok")),
    )
    with site.context() as ctx:
        report = run_checks(ctx, checks)
    assert [(r.id, r.status) for r in report.results] == [
        ("odd", Status.FAIL),
        ("fine", Status.PASS),
    ]
    assert report.results[0].outcome.evidence == "unexpected answer: KeyError: 'node_version'"
