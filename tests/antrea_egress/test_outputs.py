"""The `zones` stack output: one serialisation, one parser, and they agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from antrea_egress.config import AppliedTo, Bandwidth, LabelSelector, load_stack_file
from antrea_egress.outputs import OUTPUT_ZONES, read_zone_summaries, zone_summary
from tests.pulumi_harness import ROOT

# What pipelines, `egressctl report` and `verify` read from deployed stacks: never renamed.
ZONE_OUTPUT_KEYS = [
    "egressIP", "egressNode", "cidr", "gateway", "vlan", "ipRanges", "segmentPath", "tier1Path",
    "natMode", "namespace", "namespaceSelector", "podSelector", "bandwidth", "capacity",
]  # fmt: skip


@pytest.mark.parametrize("stack", ["prod", "staging", "lab"])
def test_a_summary_read_back_from_its_output_is_the_same_summary(stack: str) -> None:
    config, _ = load_stack_file(ROOT / Path(f"Pulumi.{stack}.yaml"))
    summaries = {
        zone.name: zone_summary(
            zone,
            nat_mode=config.nat_mode,
            egress_ip="10.100.5.10",
            egress_node="node-1",
            segment_path=f"/infra/segments/egress-{zone.name}",
            tier1_path="/infra/tier-1s/t1",
        )
        for zone in config.zones
    }

    outputs = {OUTPUT_ZONES: {name: summary.to_output() for name, summary in summaries.items()}}

    assert read_zone_summaries(outputs) == summaries
    assert all(list(output) == ZONE_OUTPUT_KEYS for output in outputs[OUTPUT_ZONES].values())


def test_values_known_only_once_deployed_may_be_unknown() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    summary = zone_summary(
        config.zones[0],
        nat_mode=True,
        egress_ip=None,
        egress_node=None,
        segment_path=None,
        tier1_path=None,
    )

    (read,) = read_zone_summaries({OUTPUT_ZONES: {"prod": summary.to_output()}}).values()

    assert read == summary


def test_a_bandwidth_limit_is_written_and_read_back() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    zone = config.zones[0].model_copy(update={"bandwidth": Bandwidth(rate="100M", burst="200M")})
    summary = zone_summary(
        zone, nat_mode=True, egress_ip=None, egress_node=None, segment_path=None, tier1_path=None
    )

    output = summary.to_output()
    (read,) = read_zone_summaries({OUTPUT_ZONES: {"prod": output}}).values()

    assert output["bandwidth"] == {"rate": "100M", "burst": "200M"}
    assert read == summary


def test_a_stack_deployed_before_the_bandwidth_key_reads_as_unlimited() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    summary = zone_summary(
        config.zones[0],
        nat_mode=True,
        egress_ip=None,
        egress_node=None,
        segment_path=None,
        tier1_path=None,
    )
    output = summary.to_output()
    del output["bandwidth"]

    (read,) = read_zone_summaries({OUTPUT_ZONES: {"prod": output}}).values()

    assert read.bandwidth is None


def test_a_bad_bandwidth_output_is_named() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    output = zone_summary(
        config.zones[0],
        nat_mode=True,
        egress_ip=None,
        egress_node=None,
        segment_path=None,
        tier1_path=None,
    ).to_output()
    output["bandwidth"] = {"rate": "fast", "burst": "1M"}

    with pytest.raises(ValueError, match=r"stack outputs: zones\.prod\.bandwidth: .*'fast'"):
        read_zone_summaries({OUTPUT_ZONES: {"prod": output}})


def test_a_namespace_selector_is_written_and_read_back_instead_of_the_namespace() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    selector = LabelSelector(match_labels={"team": "payments"})
    zone = config.zones[0].model_copy(update={"applied_to": AppliedTo(namespace_selector=selector)})
    summary = zone_summary(
        zone, nat_mode=True, egress_ip=None, egress_node=None, segment_path=None, tier1_path=None
    )

    output = summary.to_output()
    (read,) = read_zone_summaries({OUTPUT_ZONES: {"prod": output}}).values()

    assert (output["namespace"], output["namespaceSelector"]) == (
        None,
        {"matchLabels": {"team": "payments"}},
    )
    assert read == summary
    assert read.applied_to == zone.applied_to


def test_an_output_with_both_namespace_and_selector_is_refused() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    output = zone_summary(
        config.zones[0],
        nat_mode=True,
        egress_ip=None,
        egress_node=None,
        segment_path=None,
        tier1_path=None,
    ).to_output()
    output["namespaceSelector"] = {"matchLabels": {"team": "payments"}}

    with pytest.raises(ValueError, match=r"zones\.prod has both namespace and namespaceSelector"):
        read_zone_summaries({OUTPUT_ZONES: {"prod": output}})


def test_the_pool_capacity_is_written_and_a_wrong_one_is_refused() -> None:
    config, _ = load_stack_file(ROOT / "Pulumi.prod.yaml")
    output = zone_summary(
        config.zones[0],
        nat_mode=True,
        egress_ip=None,
        egress_node=None,
        segment_path=None,
        tier1_path=None,
    ).to_output()

    assert output["capacity"] == {"size": 11, "egresses": 1, "free": 10}
    output["capacity"] = {"size": 11, "egresses": 1, "free": 11}
    with pytest.raises(ValueError, match=r"zones\.prod\.capacity\.free is not size less egresses"):
        read_zone_summaries({OUTPUT_ZONES: {"prod": output}})
    output["capacity"] = None  # a stack deployed before capacity was written
    (read,) = read_zone_summaries({OUTPUT_ZONES: {"prod": output}}).values()
    assert read.capacity is None
