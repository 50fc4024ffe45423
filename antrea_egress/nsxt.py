"""The NSX-T SDK: the generated `pulumi_nsxt` when installed, else our stand-in.

Import `Provider` and `PolicyNatRule` from here, never from pulumi_nsxt directly, so that
there is exactly one place that decides.
"""

from __future__ import annotations

try:
    from pulumi_nsxt import PolicyNatRule, Provider  # type: ignore[import-not-found,unused-ignore]

    USING_STANDIN = False
except ImportError:
    from antrea_egress.nsxt_standin import PolicyNatRule, Provider

    USING_STANDIN = True

__all__ = ["USING_STANDIN", "PolicyNatRule", "Provider"]
