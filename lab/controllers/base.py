"""A controller double: a thread that reconciles every object of interest a few times a second.

Real controllers watch; polling is simpler and, at the lab's scale (a handful of objects), only
costs a few milliseconds per pass. Errors are kept, not swallowed: a test can assert that a
double never failed, and the lab's logs show why it did.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod

from lab.kube import LabKubeError

log = logging.getLogger(__name__)

RECONCILE_INTERVAL_S = 0.2
TOO_MANY_REQUESTS = 429
NOT_FOUND = 404
PASSING_STATUSES = frozenset({TOO_MANY_REQUESTS, NOT_FOUND})


class PollingController(ABC):
    name = "controller"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.errors: list[str] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except LabKubeError as error:
                # Retried next pass, as a controller requeues: 429, and 404 for an object
                # deleted between this pass's list and its write (the next list lacks it).
                if error.status not in PASSING_STATUSES:
                    self._keep(error)
            except Exception as error:  # kept for the test and the log, never swallowed
                self._keep(error)
            self._stop.wait(RECONCILE_INTERVAL_S)

    def _keep(self, error: Exception) -> None:
        message = f"{self.name}: {type(error).__name__}: {error}"
        if not self.errors or self.errors[-1] != message:
            self.errors.append(message)
            log.warning(message)

    @abstractmethod
    def reconcile(self) -> None:
        """One pass over every object the controller cares about."""


class Clock:
    """Monotonic seconds; a seam for delays the doubles wait out."""

    def now(self) -> float:
        return time.monotonic()
