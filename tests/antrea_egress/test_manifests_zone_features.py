"""How Antrea and the AntreaConfig spell the zone features: a bandwidth limit."""

from __future__ import annotations

from typing import Any

import pytest

from antrea_egress import manifests
from tests.antrea_egress.test_manifests import stack, zone_with
from tests.crd_schemas import ANTREA_CONFIG, EGRESSES, openapi_schema, pruned_fields, schema_errors

LIMIT = {"rate": "100M", "burst": "200M"}


# --- bandwidth -------------------------------------------------------------------------------


@pytest.mark.parametrize("crd", EGRESSES)
def test_a_zone_bandwidth_is_the_egress_bandwidth_and_fits_both_antrea_crds(crd: str) -> None:
    egress = manifests.egress(zone_with(bandwidth=LIMIT))

    assert egress["spec"]["bandwidth"] == LIMIT
    assert schema_errors(egress, crd, "v1beta1") == []
    assert pruned_fields(egress, openapi_schema(crd, "v1beta1")) == []


def test_an_egress_without_a_limit_has_no_bandwidth() -> None:
    assert "bandwidth" not in manifests.egress(stack("prod").zones[0])["spec"]


def test_traffic_shaping_turns_the_gate_on_in_the_antrea_config() -> None:
    cluster = stack("prod").cluster

    shaped = manifests.antrea_config(cluster, traffic_shaping=True)
    plain = manifests.antrea_config(cluster)

    assert shaped["spec"]["antrea"]["config"]["featureGates"] == {
        "NodePortLocal": True,
        "EgressSeparateSubnet": True,
        "EgressTrafficShaping": True,
    }
    assert "EgressTrafficShaping" not in plain["spec"]["antrea"]["config"]["featureGates"]


def test_the_last_public_antrea_config_crd_would_prune_the_traffic_shaping_gate_too() -> None:
    config = manifests.antrea_config(stack("prod").cluster, traffic_shaping=True)

    assert "spec.antrea.config.featureGates.EgressTrafficShaping" in pruned_fields(
        config, openapi_schema(ANTREA_CONFIG, "v1alpha1")
    )


def _kept_spec(**gates: bool) -> dict[str, Any]:
    return {
        "antrea": {"config": {"featureGates": {"EgressSeparateSubnet": True, **gates}}},
        manifests.ANTREA_NSX_BLOCK: {"enable": True},
    }


def test_a_dropped_traffic_shaping_gate_stops_the_cluster_when_a_zone_needs_it() -> None:
    cluster = stack("prod").cluster

    with pytest.raises(
        manifests.AntreaConfigPrunedError,
        match=r"dropped spec\.antrea\.config\.featureGates\.EgressTrafficShaping ",
    ):
        manifests.check_antrea_config_kept(cluster, _kept_spec(), traffic_shaping=True)
    kept = _kept_spec(EgressTrafficShaping=True)
    assert manifests.check_antrea_config_kept(cluster, kept, traffic_shaping=True) == "kept"
    assert manifests.check_antrea_config_kept(cluster, _kept_spec()) == "kept"


# --- several namespaces ----------------------------------------------------------------------

TEAMS = {
    "matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["qa", "staging"]}
    ]
}


@pytest.mark.parametrize("crd", EGRESSES)
def test_a_namespace_selector_is_the_egress_namespace_selector(crd: str) -> None:
    zone = zone_with(appliedTo={"namespaceSelector": TEAMS, "podSelector": {"app": "web"}})

    egress = manifests.egress(zone)

    assert egress["spec"]["appliedTo"] == {
        "namespaceSelector": TEAMS,
        "podSelector": {"matchLabels": {"app": "web"}},
    }
    assert schema_errors(egress, crd, "v1beta1") == []
    assert pruned_fields(egress, openapi_schema(crd, "v1beta1")) == []


def test_an_empty_namespace_selector_takes_every_namespace() -> None:
    zone = zone_with(appliedTo={"namespaceSelector": {}, "podSelector": {"app": "web"}})

    assert manifests.egress(zone)["spec"]["appliedTo"]["namespaceSelector"] == {}


def test_demo_workloads_need_the_zone_namespace() -> None:
    zone = zone_with(appliedTo={"namespaceSelector": TEAMS})

    with pytest.raises(ValueError, match=r"demo workloads need appliedTo\.namespace"):
        manifests.demo_namespace(zone)
