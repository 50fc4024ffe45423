"""An NSX Policy API simulator on https://127.0.0.1 for tests: segments, binding maps, NAT rules.

Importing this package has no side effects; `NsxSimulator(...).start()` serves.
"""

from nsxsim.lab import DEFAULT_TZ_PATH, LAB, LabSeed
from nsxsim.messages import Fault, RecordedRequest
from nsxsim.simulator import DEFAULT_USERS, NsxSimulator

__all__ = [
    "DEFAULT_TZ_PATH",
    "DEFAULT_USERS",
    "LAB",
    "Fault",
    "LabSeed",
    "NsxSimulator",
    "RecordedRequest",
]
