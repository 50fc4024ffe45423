"""The SDK's dynamic-provider host as the engine starts it, with test-only NSX time budgets.

    python -m tests.antrea_egress.providers.grpc_host

The engine runs `python -m pulumi.dynamic`; this runs the same module after shrinking the
NSX client's time budgets (a class attribute of the providers, never pickled: the serialized
provider is a class reference), so a provider that waits on NSX for something that never comes
fails in seconds instead of after the production five minutes.
"""

from __future__ import annotations

import runpy

from antrea_egress.nsx.client import ClientTuning, RetryPolicy
from antrea_egress.providers.base import NsxProvider

TEST_TUNING = ClientTuning(
    request_timeout=5,
    connect_timeout=2,
    retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, deadline=5),
    realization_timeout=5,
    realization_first_interval=0.01,
    realization_max_interval=0.05,
    conflict_timeout=1,
    conflict_interval=0.05,
)

if __name__ == "__main__":
    NsxProvider.tuning = TEST_TUNING
    runpy.run_module("pulumi.dynamic", run_name="__main__")
