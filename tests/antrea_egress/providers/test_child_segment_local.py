"""ChildSegment check, diff and serialization: everything that must work without NSX."""

from __future__ import annotations

import base64
from typing import Any

import dill
import httpx
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime._serialization import _deserialize, _serialize

from antrea_egress import naming
from antrea_egress.config import StackConfig
from antrea_egress.nsx.errors import NsxApiError
from antrea_egress.providers.base import UNKNOWN
from antrea_egress.providers.child_segment import (
    OFFLINE,
    ChildSegmentError,
    ChildSegmentProvider,
    _is_delete_blocked,
    refuse_vlan_taken,
)
from antrea_egress.providers.child_segment_inputs import (
    ChildSegmentArgs,
    ChildSegmentSpec,
    binding_map_body,
    comparable,
    segment_body,
)
from antrea_egress.rendering import TIER1_PLACEHOLDER, NsxRequest

PARENT = "/infra/segments/vnet_60f55536-121d-40d0-ac48-4cb976decf3d_0"
GOOD: dict[str, Any] = {
    "nsx_id": "egress-test-tkc-test01-prod",
    "parent_path": PARENT,
    "vlan": 110.0,  # the engine sends numbers as floats
    "cidr": "10.100.5.0/25",
    "gateway": "10.100.5.1",
    "tags": [{"scope": "antrea-egress/zone", "tag": "prod"}],
}


def failures(news: dict[str, Any]) -> dict[str, str]:
    result = ChildSegmentProvider().check({}, news)
    return {f.property: f.reason for f in result.failures}


def test_good_inputs_pass_and_numbers_become_ints() -> None:
    result = ChildSegmentProvider().check({}, GOOD)
    assert result.failures == []
    assert result.inputs["vlan"] == 110
    assert isinstance(result.inputs["vlan"], int)


@pytest.mark.parametrize(
    ("change", "prop", "reason"),
    [
        ({"gateway": "10.100.6.1"}, "gateway", "outside 10.100.5.0/25"),
        ({"gateway": "10.100.5.0"}, "gateway", "network address"),
        ({"gateway": "10.100.5.127"}, "gateway", "broadcast address"),
        ({"gateway": "not-an-ip"}, "gateway", "not an IP address"),
        ({"cidr": "10.100.5.1/25"}, "cidr", "host bits"),
        ({"cidr": "10.100.5.0/32"}, "cidr", "prefix length"),
        ({"vlan": 0}, "vlan", "outside 1-4094"),
        ({"vlan": 4095}, "vlan", "outside 1-4094"),
        ({"vlan": 110.5}, "vlan", "integer"),
        ({"vlan": "110"}, "vlan", "integer"),
        ({"nsx_id": "egress/prod"}, "nsx_id", "may contain only"),
        ({"nsx_id": "x" * 256}, "nsx_id", "at most 255"),
        ({"nsx_id": "x" * 200}, "nsx_id", "binding map path"),
        ({"parent_path": "/infra/tier-1s/t1"}, "parent_path", "not a segment policy path"),
        ({"tags": [{"scope": "antrea-egress/managed-by", "tag": "me"}]}, "tags", "reserved"),
        ({"tags": [{"scope": "s" * 129, "tag": "x"}]}, "tags", "scope longer"),
        ({"tags": [{"scope": "s", "tag": "x" * 257}]}, "tags", "tag longer"),
        ({"tags": [{"scope": "s"}]}, "tags", "exactly the keys"),
        ({"description": "d" * 1025}, "description", "1024"),
    ],
)
def test_each_bad_input_fails_on_its_own_property(
    change: dict[str, Any], prop: str, reason: str
) -> None:
    found = failures({**GOOD, **change})
    assert set(found) == {prop}
    assert reason in found[prop]


def test_every_failure_is_reported_at_once() -> None:
    found = failures({**GOOD, "vlan": 5000, "gateway": "10.1.1.1", "nsx_id": "a b"})
    assert set(found) == {"vlan", "gateway", "nsx_id"}


def test_missing_required_inputs() -> None:
    found = failures({})
    assert {"nsx_id", "parent_path", "vlan", "cidr", "gateway"} <= set(found)


def test_an_empty_or_missing_required_input_is_required_and_nothing_else() -> None:
    props = {key: value for key, value in GOOD.items() if key != "vlan"}
    result = ChildSegmentProvider().check({}, {**props, "nsx_id": "", "parent_path": ""})
    assert [(f.property, f.reason) for f in result.failures] == [
        ("nsx_id", "nsx_id is required"),
        ("parent_path", "parent_path is required"),
        ("vlan", "vlan is required"),
    ]


def test_inputs_at_nsx_limits_pass() -> None:
    # An id of 160 characters makes the binding map path under PARENT exactly 255 long.
    nsx_id = "x" * 160
    assert len(naming.binding_map_path(nsx_id, PARENT)) == 255
    tags = [{"scope": "s" * 128, "tag": "x" * 256}]
    assert failures({**GOOD, "nsx_id": nsx_id, "tags": tags, "description": "d" * 1024}) == {}


def test_tags_up_to_the_limit_less_the_reserved_one() -> None:
    def tags(count: int) -> list[dict[str, str]]:
        return [{"scope": "s", "tag": str(number)} for number in range(count)]

    assert failures({**GOOD, "tags": tags(naming.NSX_MAX_TAGS - 1)}) == {}
    assert failures({**GOOD, "tags": tags(naming.NSX_MAX_TAGS)}) == {
        "tags": f"at most {naming.NSX_MAX_TAGS - 1} tags (one is reserved)"
    }


@pytest.mark.parametrize("tags", ["x", {"scope": "s", "tag": "t"}])
def test_tags_that_are_not_a_list_are_refused_as_such(tags: object) -> None:
    assert failures({**GOOD, "tags": tags}) == {"tags": "tags must be a list of {scope, tag}"}


def test_tags_unknown_during_preview_are_not_judged() -> None:
    assert failures({**GOOD, "tags": UNKNOWN}) == {}


def test_a_null_description_or_tags_is_none_given() -> None:
    # A null description or tags count as none (check() drops them from the inputs).
    spec = ChildSegmentSpec.from_props({**GOOD, "description": None, "tags": None})
    assert (spec.description, spec.tags) == ("", ())


def test_a_malformed_tag_is_named_by_its_index() -> None:
    found = failures({**GOOD, "tags": [{"scope": "s", "tag": "t"}, {"scope": "s"}]})
    assert found == {"tags": "tags[1]: must be an object with exactly the keys scope and tag"}


def test_create_refuses_bad_props_naming_each_property() -> None:
    with pytest.raises(ChildSegmentError) as info:
        ChildSegmentSpec.from_props({**GOOD, "vlan": 5000, "nsx_id": "a b"})
    assert str(info.value) == (
        "nsx_id: NSX id 'a b' may contain only letters, digits, '.', '_' and '-', and must "
        "start with a letter or digit; vlan: VLAN 5000 is outside 1-4094"
    )


def test_create_refuses_a_subnet_not_known_yet_naming_both_properties() -> None:
    # check() lets unknown values through (preview); create must not send them to NSX.
    with pytest.raises(ChildSegmentError) as info:
        ChildSegmentSpec.from_props({**GOOD, "cidr": UNKNOWN, "gateway": UNKNOWN})
    assert str(info.value) == (
        f"cidr: {UNKNOWN!r} is not a CIDR such as 10.100.5.0/25; "
        f"gateway: {UNKNOWN!r} is not an IP address"
    )


def test_without_description_and_tags_the_spec_has_empty_ones() -> None:
    props = {key: value for key, value in GOOD.items() if key != "tags"}
    spec = ChildSegmentSpec.from_props(props)
    assert (spec.description, spec.tags) == ("", ())


def test_unknown_values_during_preview_are_not_judged() -> None:
    assert failures({**GOOD, "parent_path": UNKNOWN, "vlan": UNKNOWN}) == {}


@pytest.mark.parametrize("unknown", ["cidr", "gateway"])
def test_a_subnet_half_unknown_during_preview_is_not_judged(unknown: str) -> None:
    assert failures({**GOOD, unknown: UNKNOWN}) == {}


def test_check_makes_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise AssertionError(f"network call {request.url}")

    monkeypatch.setattr(ChildSegmentProvider, "transport", httpx.MockTransport(refuse))
    provider = ChildSegmentProvider()
    checked = provider.check({}, GOOD)
    diff = provider.diff("id", {**GOOD, "vlan": 110}, GOOD)
    assert (checked.failures, checked.inputs["vlan"]) == ([], 110)
    assert diff.changes is False
    assert seen == []


OLDS = {
    **GOOD,
    "vlan": 110,
    "path": "/infra/segments/egress-test-tkc-test01-prod",
    "binding_map_path": "/infra/segments/egress-test-tkc-test01-prod/x/bm",
    "tier1_path": "/infra/tier-1s/t1",
    "transport_zone_path": "/infra/tz",
    "network": "10.100.5.0/25",
    "__provider": "old-serialization",
}


def test_unchanged_diff_ignores_outputs_floats_and_the_provider_blob() -> None:
    news = {**GOOD, "__provider": "new-serialization"}
    result = ChildSegmentProvider().diff("id", OLDS, news)
    assert result.changes is False
    assert result.replaces == []


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"vlan": 120.0}, ["vlan"]),
        ({"parent_path": "/infra/segments/other"}, ["parent_path"]),
        ({"cidr": "10.100.6.0/25", "gateway": "10.100.6.1"}, ["cidr", "gateway"]),
        ({"nsx_id": "egress-other"}, ["nsx_id"]),
    ],
)
def test_identity_changes_replace_deleting_first(
    change: dict[str, Any], replaces: list[str]
) -> None:
    result = ChildSegmentProvider().diff("id", OLDS, {**GOOD, **change})
    assert result.changes is True
    assert sorted(result.replaces or []) == sorted(replaces)
    assert result.delete_before_replace is True


@pytest.mark.parametrize(
    "change",
    [{"tags": [{"scope": "team", "tag": "payments"}]}, {"description": "owned by payments"}],
)
def test_tags_and_description_update_in_place(change: dict[str, Any]) -> None:
    result = ChildSegmentProvider().diff("id", OLDS, {**GOOD, **change})
    assert result.changes is True
    assert result.replaces == []


def roundtrip(provider: ChildSegmentProvider) -> tuple[ChildSegmentProvider, str]:
    serialized, _ = _serialize(True, serialize_provider, provider)
    restored = _deserialize(lambda: dill.loads(base64.b64decode(serialized)))
    return restored, serialized


def test_serialization_is_deterministic_and_by_reference() -> None:
    restored, first = roundtrip(ChildSegmentProvider())
    assert isinstance(restored, ChildSegmentProvider)
    assert serialize_provider(ChildSegmentProvider()) == first
    assert b"antrea_egress.providers.child_segment" in base64.b64decode(first)
    assert len(base64.b64decode(first)) < 400  # a class reference, not pickled code


def test_configured_provider_serializes_without_credentials() -> None:
    provider = ChildSegmentProvider()
    secret = "Sup3r-Secret-Pw"
    provider.configure(
        ConfigureRequest(
            Config(
                {"nsxt:host": "127.0.0.1:1", "nsxt:username": "admin", "nsxt:password": secret},
                "antrea-egress",
            )
        )
    )
    restored, serialized = roundtrip(provider)
    assert secret not in base64.b64decode(serialized).decode("latin-1")
    assert "127.0.0.1" not in base64.b64decode(serialized).decode("latin-1")
    assert serialized == serialize_provider(ChildSegmentProvider())
    assert restored._config == {}


@pytest.mark.parametrize(
    ("key", "value", "compared"),
    [
        ("vlan", 110.0, 110),  # the engine sends numbers as floats
        ("vlan", 110.5, 110.5),
        ("cidr", 110.0, 110.0),  # only the VLAN is an integer
        ("description", None, ""),
        ("gateway", None, None),
        ("tags", None, []),
        (
            "tags",
            [{"scope": "b", "tag": "2"}, {"scope": "a", "tag": "1"}],
            [("a", "1"), ("b", "2")],
        ),
        ("tags", [{"tag": "x"}, {"scope": "s"}], [("", "x"), ("s", "")]),
        ("vlan", UNKNOWN, UNKNOWN),
        ("tags", UNKNOWN, UNKNOWN),  # not a list to sort yet: it equals nothing known
    ],
)
def test_values_are_compared_as_nsx_keeps_them(key: str, value: Any, compared: Any) -> None:
    result = comparable(key, value)
    assert result == compared
    assert type(result) is type(compared)


def api_error(status: int, code: int | None, message: str) -> NsxApiError:
    return NsxApiError("DELETE", "/policy/api/v1/infra/segments/s", status, code, message)


@pytest.mark.parametrize(
    ("error", "blocked"),
    [
        (api_error(400, 500030, "cannot be deleted"), True),
        (api_error(400, 503040, "ports attached"), True),
        (api_error(400, 500041, "Segment has children"), True),  # known by its text only
        (api_error(400, 500041, "The object is still being referenced"), True),
        (api_error(400, 500012, "The path is invalid"), False),
        (api_error(500, 100, "Segment has children"), False),  # text alone: only on a 400
        (api_error(409, None, "attached"), False),
    ],
)
def test_which_delete_refusals_clear_by_themselves(error: NsxApiError, blocked: bool) -> None:
    assert _is_delete_blocked(error) is blocked


def test_a_zone_makes_the_args_of_its_child_segment() -> None:
    stack = StackConfig.model_validate(
        {
            "cluster": {"name": "tkc-prod01", "vsphereNamespace": "prod", "manage": False},
            "zones": [
                {"name": "payments", "vlan": 110, "cidr": "10.100.5.0/25",
                 "gateway": "10.100.5.1", "ipRanges": [{"cidr": "10.100.5.16/28"}],
                 "appliedTo": {"namespace": "prod"}},
            ],
        }
    )  # fmt: skip
    args = ChildSegmentArgs.of_zone(stack.cluster, stack.zones[0], parent_path="/infra/segments/p")
    assert args == ChildSegmentArgs(
        nsx_id="egress-prod-tkc-prod01-payments",
        parent_path="/infra/segments/p",
        vlan=110,
        cidr="10.100.5.0/25",
        gateway="10.100.5.1",
        description="Antrea egress zone payments of prod/tkc-prod01",
        tags=[
            {"scope": "antrea-egress/cluster", "tag": "prod/tkc-prod01"},
            {"scope": "antrea-egress/zone", "tag": "payments"},
        ],
    )


SPEC = ChildSegmentSpec.from_props(
    {**GOOD, "description": "d", "tags": [{"scope": "s", "tag": "t"}]}
)
MANAGED = {"scope": "antrea-egress/managed-by", "tag": "pulumi"}


@pytest.mark.parametrize(
    "transport_zone", ["/infra/sites/default/enforcement-points/default/transport-zones/tz", None]
)
def test_the_segment_body_is_the_whole_segment(transport_zone: str | None) -> None:
    parent = {"connectivity_path": "/infra/tier-1s/t1", "transport_zone_path": transport_zone}
    expected = {
        "resource_type": "Segment",
        "display_name": SPEC.nsx_id,
        "description": "d",
        "connectivity_path": "/infra/tier-1s/t1",
        "subnets": [{"gateway_address": "10.100.5.1/25"}],
        "tags": [MANAGED, {"scope": "s", "tag": "t"}],
    }
    if transport_zone:
        expected["transport_zone_path"] = transport_zone
    assert segment_body(SPEC, parent) == expected


def test_the_binding_map_body_carries_every_field() -> None:
    assert binding_map_body(SPEC) == {
        "resource_type": "SegmentConnectionBindingMap",
        "display_name": f"bm-{SPEC.parent_path.rsplit('/', 1)[1]}",
        "segment_path": SPEC.parent_path,
        "vlan_traffic_tag": SPEC.vlan,
        "tags": [MANAGED, {"scope": "s", "tag": "t"}],
    }


# --- egressctl render: what the resource shows offline ---------------------------------------


def test_offline_outputs_are_what_create_gives_where_known_without_nsx() -> None:
    state = {**GOOD, "path": None, "tier1_path": None, "network": None}
    assert OFFLINE.outputs(state, None) == {
        **GOOD,
        "path": "/infra/segments/egress-test-tkc-test01-prod",
        "tier1_path": TIER1_PLACEHOLDER,  # the parent's, known only to NSX
        "network": "10.100.5.0/25",
    }


def test_offline_requests_are_the_two_patches_of_create_for_their_resource() -> None:
    segment = "/infra/segments/egress-test-tkc-test01-prod"
    spec = ChildSegmentSpec.from_props(GOOD)
    parent = {
        "connectivity_path": f"<connectivity_path of {PARENT}>",
        "transport_zone_path": f"<transport_zone_path of {PARENT}>",
    }
    assert OFFLINE.requests("prod-segment", GOOD) == [
        NsxRequest("prod-segment", "PATCH", f"/policy/api/v1{segment}", segment_body(spec, parent)),
        NsxRequest(
            "prod-segment",
            "PATCH",
            f"/policy/api/v1{spec.binding_map_path}",
            binding_map_body(spec),
        ),
    ]


def test_a_vlan_taken_by_a_binding_map_described_in_part_still_names_the_vlan_and_parent() -> None:
    # A search hit carries what NSX indexed; without its paths the message says "?" for them.
    with pytest.raises(ChildSegmentError) as caught:
        refuse_vlan_taken({"vlan_traffic_tag": 110}, ChildSegmentSpec.from_props(GOOD))
    assert str(caught.value) == (
        f"VLAN 110 is already bound to {PARENT} by the child segment ? (binding map ?); "
        "children of one parent need different VLANs"
    )
