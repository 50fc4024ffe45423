"""A controller double keeps its errors, except those a real controller requeues."""

from __future__ import annotations

import pytest

from lab.controllers.base import PollingController
from lab.kube import LabKubeError

pytestmark = pytest.mark.timeout(10)


class OnePass(PollingController):
    name = "one-pass"

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def reconcile(self) -> None:
        self._stop.set()  # one pass only
        raise self.error


@pytest.mark.parametrize("status", [404, 429])
def test_an_object_gone_or_a_busy_server_is_retried_not_kept(status: int) -> None:
    controller = OnePass(LabKubeError(status, "gone or busy"))
    controller._run()
    assert controller.errors == []


def test_other_errors_are_kept_naming_the_controller() -> None:
    controller = OnePass(LabKubeError(422, "invalid"))
    controller._run()
    assert controller.errors == ["one-pass: LabKubeError: HTTP 422: invalid"]
