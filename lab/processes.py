"""Child processes of the lab: started in their own session, logged to a file, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

STOP_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.2


class LabProcessError(RuntimeError):
    """A lab process did not start, or died."""


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LabProcess:
    """One server process; its output goes to `log`, which errors quote."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = log.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - binaries we built, arguments we wrote
            list(argv),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # a group of its own: stopped with everything it forked
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll `ready` until it is true; fail with the end of the log if the process dies or
        time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LabProcessError(
                    f"{self.name} exited with {self._process.returncode} before {what}:\n"
                    f"{self.log_tail()}"
                )
            if _probe(ready):
                return
            time.sleep(POLL_INTERVAL_S)
        raise LabProcessError(f"{self.name}: no {what} after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal_group(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=STOP_TIMEOUT_S)
        self._log_file.close()


def _probe(ready: Callable[[], bool]) -> bool:
    """Any failing probe (refused, TLS not up, 5xx) means: not ready yet."""
    try:
        return ready()
    except Exception:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
