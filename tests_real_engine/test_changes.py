"""The changes users make to a deployed stack, each previewed and then applied under the real
engine: what the engine's preview plans per resource, and what NSX and the API servers hold
afterwards. The tests run in file order on one lab and one stack, each starting from the state
the previous one left.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from antrea_egress import naming
from lab.lab import Lab
from lab.program import LabProgram
from lab.stack import CLUSTER, ZONES, values, zone
from tests_real_engine.steps import Steps, operate

pytestmark = pytest.mark.timeout(900)

ANTREA = "/apis/crd.antrea.io/v1beta1"


class Stack:
    """The lab stack's config as the user edits it, and the last up's outputs."""

    def __init__(self, lab: Lab, program: LabProgram) -> None:
        self.lab = lab
        self.program = program
        self.config: dict[str, tuple[Any, bool]] = values(lab)

    @property
    def zones(self) -> list[dict[str, Any]]:
        zones: list[dict[str, Any]] = self.config["antrea-egress:zones"][0]
        return zones

    def zone(self, name: str) -> dict[str, Any]:
        return next(z for z in self.zones if z["name"] == name)

    def apply(self, edit: Any) -> tuple[Steps, Steps]:
        """Edit the config, then preview and up: the engine's steps of each."""
        edited = copy.deepcopy(self.config)
        edit(edited["antrea-egress:zones"][0])
        self.config = edited
        self.program.configure(self.config)
        stack = self.program.stack()
        _, preview = operate(stack.preview)
        result, up = operate(stack.up)
        assert result.summary.result == "succeeded"
        return preview, up

    def egress(self, name: str) -> dict[str, Any]:
        found = self.lab.guest.get(f"{ANTREA}/egresses/{naming.egress_name(name)}")
        assert found is not None, name
        return found

    def pool(self, name: str) -> dict[str, Any] | None:
        return self.lab.guest.get(f"{ANTREA}/externalippools/{naming.external_ip_pool_name(name)}")

    def exported(self, name: str) -> dict[str, Any]:
        zones: dict[str, Any] = self.program.stack().outputs()["zones"].value
        return dict(zones[name])


@pytest.fixture(scope="module")
def stack(lab: Lab, program: LabProgram) -> Stack:
    result = program.stack().up()
    assert result.summary.result == "succeeded"
    return Stack(lab, program)


def test_appending_a_range_updates_the_pool_in_place_and_keeps_the_ip(stack: Stack) -> None:
    before = stack.egress("payments")
    preview, _ = stack.apply(
        lambda zones: next(z for z in zones if z["name"] == "payments")["ipRanges"].append(
            {"start": "10.100.5.30", "end": "10.100.5.40"}
        )
    )
    assert preview.changed() == {
        "payments-ranges": ["update"],
        "payments-pool": ["update"],
    }
    pool = stack.pool("payments")
    assert pool is not None
    assert len(pool["spec"]["ipRanges"]) == 2
    after = stack.egress("payments")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["egressIP"] == before["status"]["egressIP"]


def test_editing_a_range_replaces_pool_and_egress_deleting_first(stack: Stack, lab: Lab) -> None:
    before = stack.egress("payments")
    reviews = len(lab.webhook.reviews)

    def edit(zones: list[dict[str, Any]]) -> None:
        zone_ = next(z for z in zones if z["name"] == "payments")
        zone_["ipRanges"] = [{"start": "10.100.5.50", "end": "10.100.5.60"}]

    preview, up = stack.apply(edit)
    replaced = {"create-replacement", "delete-replaced", "replace"}
    for name in ("payments-ranges", "payments-pool", "payments-egress"):
        assert set(preview.ops_of(name)) == replaced, name
    after = stack.egress("payments")
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["status"]["egressIP"] == "10.100.5.50"
    assert stack.exported("payments")["egressIP"] == "10.100.5.50"
    # Antrea's webhook never saw an edit of an existing range, not even in the preview: the
    # program wrote only the new pool; the one other write is the garbage collector removing
    # the old pool's foreground-deletion finalizer (ranges untouched).
    new_reviews = lab.webhook.reviews[reviews:]
    assert all(r.allowed for r in new_reviews)
    assert [r.operation for r in new_reviews if r.user == "kubernetes-admin"] == ["CREATE"]
    assert all(r.old_ranges == r.new_ranges for r in new_reviews if r.operation == "UPDATE")
    assert up.ops_of("payments-segment") == ["same"]


def test_changing_the_node_selector_updates_the_pool_in_place(stack: Stack) -> None:
    def edit(zones: list[dict[str, Any]]) -> None:
        next(z for z in zones if z["name"] == "reporting")["nodeSelector"] = {
            "kubernetes.io/os": "linux"
        }

    before = stack.egress("reporting")
    preview, _ = stack.apply(edit)
    assert preview.changed() == {"reporting-pool": ["update"]}
    pool = stack.pool("reporting")
    assert pool is not None
    assert pool["spec"]["nodeSelector"] == {"matchLabels": {"kubernetes.io/os": "linux"}}
    assert stack.egress("reporting")["metadata"]["uid"] == before["metadata"]["uid"]


def test_adding_a_zone_creates_only_its_objects(stack: Stack, lab: Lab) -> None:
    def edit(zones: list[dict[str, Any]]) -> None:
        extra = zone("reporting")
        extra.update(
            name="audit",
            vlan=130,
            cidr="10.100.6.0/26",
            gateway="10.100.6.1",
            ipRanges=[{"start": "10.100.6.10", "end": "10.100.6.12"}],
            appliedTo={"namespace": "audit", "podSelector": {"app": "audit"}},
        )
        zones.append(extra)

    preview, _ = stack.apply(edit)
    assert set(preview.changed()) == {
        "audit", "audit-segment", "audit-ranges", "audit-pool", "audit-egress",
    }  # fmt: skip
    assert all(ops == ["create"] for ops in preview.changed().values())
    segment_id = naming.child_segment_id(lab.namespace, CLUSTER, "audit")
    assert lab.nsx.get(f"/infra/segments/{segment_id}") is not None
    assert stack.exported("audit")["egressIP"] == "10.100.6.10"


def test_removing_a_zone_deletes_everything_of_it_binding_map_first(stack: Stack, lab: Lab) -> None:
    lab.nsx.clear_requests()
    preview, _ = stack.apply(
        lambda zones: zones.remove(next(z for z in zones if z["name"] == "audit"))
    )
    assert set(preview.changed()) == {
        "audit", "audit-segment", "audit-ranges", "audit-pool", "audit-egress",
    }  # fmt: skip
    assert all(ops == ["delete"] for ops in preview.changed().values())
    segment_id = naming.child_segment_id(lab.namespace, CLUSTER, "audit")
    segment = f"/infra/segments/{segment_id}"
    assert lab.nsx.get(segment) is None
    assert lab.nsx.objects(segment) == {}
    deletes = [r.path for r in lab.nsx.requests if r.method == "DELETE"]
    assert len(deletes) == 2
    assert "/segment-connection-binding-maps/" in deletes[0]
    assert deletes[1].endswith(segment)
    assert stack.pool("audit") is None
    assert "audit" not in stack.program.stack().outputs()["zones"].value


def test_changing_a_vlan_replaces_the_child_segment_deleting_first(stack: Stack, lab: Lab) -> None:
    preview, _ = stack.apply(
        lambda zones: next(z for z in zones if z["name"] == "reporting").update(vlan=121)
    )
    assert set(preview.ops_of("reporting-segment")) == {
        "create-replacement", "delete-replaced", "replace",
    }  # fmt: skip
    # The pool's subnetInfo carries the VLAN too; the Egress and the rest stay.
    assert set(preview.changed()) == {"reporting-segment", "reporting-pool"}
    assert preview.ops_of("reporting-pool") == ["update"]
    segment_id = naming.child_segment_id(lab.namespace, CLUSTER, "reporting")
    maps = lab.nsx.objects(f"/infra/segments/{segment_id}/segment-connection-binding-maps")
    assert [m["vlan_traffic_tag"] for m in maps.values()] == [121]
    assert stack.exported("reporting")["vlan"] == 121
    assert set(ZONES) <= set(stack.program.stack().outputs()["zones"].value)


def test_a_new_description_and_tags_update_the_segment_in_place(stack: Stack, lab: Lab) -> None:
    """What an upgrade of antrea-egress that words a segment's description or tags differently
    does: the state holds the old words (written here into the checkpoint, as the old version
    left it), the program the new ones."""
    segment_id = naming.child_segment_id(lab.namespace, CLUSTER, "payments")
    segment = f"/infra/segments/{segment_id}"
    before = lab.nsx.get(segment)
    assert before is not None
    pulumi_stack = stack.program.stack()
    state = pulumi_stack.export_stack()
    assert state.deployment is not None
    resource = next(
        r for r in state.deployment["resources"] if r["urn"].endswith("::payments-segment")
    )
    for props in (resource["inputs"], resource["outputs"]):
        props["description"] = "written by an older version"
        props["tags"] = [*props["tags"], {"scope": "antrea-egress/retired", "tag": "yes"}]
    pulumi_stack.import_stack(state)
    lab.nsx.clear_requests()

    _, preview = operate(pulumi_stack.preview)
    result, up = operate(pulumi_stack.up)

    assert result.summary.result == "succeeded"
    assert preview.changed() == {"payments-segment": ["update"]}
    assert up.changed() == {"payments-segment": ["update"]}
    after = lab.nsx.get(segment)
    assert after is not None
    assert after["unique_id"] == before["unique_id"]  # the same segment, updated in place
    assert after["description"] == before["description"]
    assert {t["scope"] for t in after["tags"]} == {t["scope"] for t in before["tags"]}
    assert not [r for r in lab.nsx.requests if r.method == "DELETE"]
    # The binding map carries the tags too, so it is written again, with its VLAN unchanged.
    maps = lab.nsx.objects(f"{segment}/segment-connection-binding-maps")
    assert [m["vlan_traffic_tag"] for m in maps.values()] == [ZONES["payments"][0]]
