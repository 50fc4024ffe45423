"""An NSX Policy API simulator on https://127.0.0.1 for tests: segments, binding maps, NAT rules.

Importing this package has no side effects; `NsxSimulator(...).start()` serves, and
`python -m nsxsim` runs it as the NSX Manager of the local lab stack. It answers what
terraform-provider-nsxt sends for `nsxt_policy_nat_rule` (see nsxsim/TERRAFORM.md).
"""

from nsxsim.lab import DEFAULT_TZ_PATH, LAB, LAB_STACK, LabSeed, LabStack
from nsxsim.manager import DEFAULT_NSX_VERSION
from nsxsim.messages import Fault, RecordedRequest
from nsxsim.simulator import DEFAULT_USERS, NsxSimulator

__all__ = [
    "DEFAULT_NSX_VERSION",
    "DEFAULT_TZ_PATH",
    "DEFAULT_USERS",
    "LAB",
    "LAB_STACK",
    "Fault",
    "LabSeed",
    "LabStack",
    "NsxSimulator",
    "RecordedRequest",
]
