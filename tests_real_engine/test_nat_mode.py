"""NAT mode under the real engine, as far as it runs without terraform-provider-nsxt (which the
Go module proxy refuses: docs/real-engine.md §2). The lab's vSphere Namespace uses NAT here
(its VirtualNetwork reports a default SNAT IP), so the stack sets `natMode: true`: the program
must stop before it writes anything, saying what to install, and never let our NSX-T
stand-in (antrea_egress/nsxt_standin.py) reach the real engine.
"""

from __future__ import annotations

import pytest
from pulumi import automation as auto

from lab.lab import Lab, LabOptions
from lab.program import LabProgram
from lab.stack import values

pytestmark = pytest.mark.timeout(600)

# A documentation address (RFC 5737): only a value in the VirtualNetwork's status.
LAB_OPTIONS = LabOptions(snat_ip="203.0.113.10")
INSTALL_HINT = "pulumi_nsxt is not installed in this virtualenv: run `pulumi install`"
SUPERVISOR_KINDS = (
    "/apis/run.tanzu.vmware.com/v1alpha3/tanzukubernetesclusters",
    "/apis/cni.tanzu.vmware.com/v1alpha1/antreaconfigs",
)


@pytest.fixture(scope="module")
def nat_program(lab: Lab, program: LabProgram) -> LabProgram:
    config = values(lab)
    config["antrea-egress:natMode"] = (True, False)
    program.configure(config)
    return program


@pytest.mark.parametrize("operation", ["preview", "up"])
def test_nat_mode_stops_before_any_write_saying_what_to_install(
    lab: Lab, nat_program: LabProgram, operation: str
) -> None:
    lab.nsx.clear_requests()
    with pytest.raises(auto.CommandError) as failed:
        getattr(nat_program.stack(), operation)()
    assert INSTALL_HINT in str(failed.value)
    assert [r for r in lab.nsx.requests if r.method != "GET"] == []
    for kind in SUPERVISOR_KINDS:
        assert lab.supervisor.list(kind) == [], kind
    assert lab.guest.list("/apis/crd.antrea.io/v1beta1/egresses") == []
