"""The firewall change request: rows from a configuration or from stack outputs, three formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from antrea_egress.config import load_stack_file
from egressctl.report import (
    FORMATS,
    KNOWN_AFTER_DEPLOYMENT,
    SOURCE_CONFIGURATION,
    SOURCE_OUTPUTS,
    AuditTrail,
    Format,
    ReportRow,
    rows_from_config,
    rows_from_outputs,
)
from egressctl.report import render_report as render_with_trail

PROJECT_DIR = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
AUDIT = AuditTrail(datetime(2026, 12, 7, 4, 16, 55, tzinfo=UTC), COMMIT)
AUDIT_FIELDS = {"generated_at": "2026-12-07T04:16:55Z", "git_commit": COMMIT}
TIER1 = "/infra/tier-1s/t1_60f55536-121d-40d0-ac48-4cb976decf3d_rtr"
SEGMENT = "/infra/segments/egress-prod-tkc-prod01-prod"

# The committed stacks, as the field procedure sets them up (steps 5 and 6).
EXPECTED = {
    "prod": {
        "cluster": "tkc-prod01",
        "vsphere_namespace": "prod",
        "zone": "prod",
        "namespace": "prod",
        "pod_selector": "app=web",
        "egress_ips": "10.100.5.10-10.100.5.20",
        "assigned_ip": None,
        "cidr": "10.100.5.0/25",
        "gateway": "10.100.5.1",
        "vlan": 110,
        "tier1": None,
        "nat_mode": True,
        "source": SOURCE_CONFIGURATION,
        "namespace_selector": None,
        "pool_size": 11,
        "egresses": 1,
        "free_ips": 10,
    },
    "staging": {
        "cluster": "tkc-staging01",
        "vsphere_namespace": "staging",
        "zone": "staging",
        "namespace": "staging",
        "pod_selector": "app=web",
        "egress_ips": "10.100.5.130",  # start and end are one address
        "assigned_ip": None,
        "cidr": "10.100.5.128/30",
        "gateway": "10.100.5.129",
        "vlan": 120,
        "tier1": None,
        "nat_mode": True,
        "source": SOURCE_CONFIGURATION,
        "namespace_selector": None,
        "pool_size": 1,  # its one address, which its Egress takes
        "egresses": 1,
        "free_ips": 0,
    },
}


def render_report(rows: list[ReportRow], fmt: Format) -> str:
    """The report with the fixed audit trail AUDIT."""
    return render_with_trail(rows, fmt, audit=AUDIT)


def config_rows(stack: str) -> list[ReportRow]:
    config, _ = load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")
    return rows_from_config(config)


def zone_output(**overrides: Any) -> dict[str, Any]:
    """One zone of the `zones` output, shaped as EgressZone's summary (prod, deployed)."""
    return {
        "egressIP": "10.100.5.10",
        "egressNode": "tkc-prod01-worker-1",
        "cidr": "10.100.5.0/25",
        "gateway": "10.100.5.1",
        "vlan": 110,
        "ipRanges": [{"start": "10.100.5.10", "end": "10.100.5.20"}],
        "segmentPath": SEGMENT,
        "tier1Path": TIER1,
        "natMode": True,
        "namespace": "prod",
        "podSelector": {"matchLabels": {"app": "web"}},
        **overrides,
    }


def stack_outputs(zones: dict[str, Any]) -> dict[str, Any]:
    return {
        "cluster": "tkc-prod01",
        "vsphereNamespace": "prod",
        "kubeconfig": "[secret]",
        "nodeSegment": "/infra/segments/vnet_60f55536-121d-40d0-ac48-4cb976decf3d_0",
        "zones": zones,
    }


# --- rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_rows_from_committed_stacks(stack: str) -> None:
    rows = config_rows(stack)

    assert [vars(row) for row in rows] == [EXPECTED[stack]]


def test_rows_from_outputs_know_the_tier1_and_assigned_ip() -> None:
    (row,) = rows_from_outputs(stack_outputs({"prod": zone_output()}))

    assert row == ReportRow(
        cluster="tkc-prod01",
        vsphere_namespace="prod",
        zone="prod",
        namespace="prod",
        pod_selector="app=web",
        egress_ips="10.100.5.10-10.100.5.20 (assigned: 10.100.5.10)",
        assigned_ip="10.100.5.10",
        cidr="10.100.5.0/25",
        gateway="10.100.5.1",
        vlan=110,
        tier1=TIER1,
        nat_mode=True,
        source=SOURCE_OUTPUTS,
    )


def test_outputs_before_assignment_leave_the_ip_unknown() -> None:
    (row,) = rows_from_outputs(stack_outputs({"prod": zone_output(egressIP=None, tier1Path="")}))

    assert row.assigned_ip is None
    assert row.tier1 is None
    assert row.egress_ips == "10.100.5.10-10.100.5.20"


def test_cidr_ranges_several_ranges_and_selector_expressions() -> None:
    zone = zone_output(
        ipRanges=[{"cidr": "10.100.5.16/28"}, {"start": "10.100.5.40", "end": "10.100.5.41"}],
        podSelector={
            "matchLabels": {"tier": "front", "app": "web"},
            "matchExpressions": [
                {"key": "track", "operator": "In", "values": ["stable", "canary"]},
                {"key": "debug", "operator": "NotIn", "values": ["true"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        },
        egressIP=None,
    )

    (row,) = rows_from_outputs(stack_outputs({"prod": zone}))

    assert row.egress_ips == "10.100.5.16/28, 10.100.5.40-10.100.5.41"
    assert row.pod_selector == (
        "app=web,tier=front,track in (stable, canary),debug notin (true),team,!legacy"
    )


def test_an_empty_selector_selects_every_pod_of_the_namespace() -> None:
    (row,) = rows_from_outputs(stack_outputs({"prod": zone_output(podSelector={})}))

    assert row.pod_selector == ""
    assert "| prod | prod | all pods |" in render_report([row], "md")


def test_rows_are_sorted_by_zone() -> None:
    zones = {
        "staging": zone_output(namespace="staging"),
        "batch": zone_output(namespace="batch"),
        "prod": zone_output(),
    }

    rows = rows_from_outputs(stack_outputs(zones))

    assert [row.zone for row in rows] == ["batch", "prod", "staging"]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"vsphereNamespace": "prod", "zones": {}}, "stack outputs: cluster is missing"),
        ({"cluster": "c", "vsphereNamespace": "prod"}, "`zones` is missing"),
        (stack_outputs({"prod": "oops"}), "zones.prod is not a mapping"),
        (stack_outputs({"prod": zone_output(cidr=None)}), "zones.prod.cidr is missing"),
        (stack_outputs({"prod": zone_output(vlan="110")}), "zones.prod.vlan is missing"),
        (stack_outputs({"prod": zone_output(natMode="yes")}), "zones.prod.natMode is missing"),
        (stack_outputs({"prod": zone_output(ipRanges=[])}), "zones.prod.ipRanges is missing"),
        (
            stack_outputs(
                {"prod": zone_output(ipRanges=[{"start": "10.0.0.9", "end": "10.0.0.1"}])}
            ),
            "zones.prod.ipRanges\\[0\\]: start 10.0.0.9 is after end 10.0.0.1",
        ),
        (
            stack_outputs({"prod": zone_output(podSelector=["app=web"])}),
            "zones.prod.podSelector is not a label selector",
        ),
    ],
)
def test_bad_outputs_name_the_output(outputs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rows_from_outputs(outputs)


def test_json_numbers_as_floats_are_accepted() -> None:
    (row,) = rows_from_outputs(stack_outputs({"prod": zone_output(vlan=110.0)}))

    assert row.vlan == 110


# --- formats ---------------------------------------------------------------------------------

PROD_MARKDOWN = """\
# Firewall change request: egress source IPs of tkc-prod01

- Cluster: tkc-prod01 (vSphere Namespace prod)
- Generated from: configuration
- Generated at: 2026-12-07T04:16:55Z
- Git commit: 0123456789abcdef0123456789abcdef01234567

Traffic from the selected pods of each namespace arrives from the listed source IPs, \
which lie in the zone's subnet and are routed over the zone's gateway and VLAN \
(NSX child segment); allow these sources instead of the cluster's node IPs.

| Zone | Namespace | Pods | Source IPs | Pool | Subnet | Gateway | VLAN | Tier-1 | NAT mode |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| prod | prod | app=web | 10.100.5.10-10.100.5.20 | 11 IPs, 1 Egress, 10 free | 10.100.5.0/25 \
| 10.100.5.1 | 110 | known after deployment | yes (NoSNAT rule) |
"""


def test_markdown_of_the_prod_stack() -> None:
    assert render_report(config_rows("prod"), "md") == PROD_MARKDOWN


def test_markdown_of_the_staging_stack() -> None:
    text = render_report(config_rows("staging"), "md")

    assert text.startswith("# Firewall change request: egress source IPs of tkc-staging01\n")
    assert "- Cluster: tkc-staging01 (vSphere Namespace staging)" in text
    assert (
        "| staging | staging | app=web | 10.100.5.130 | 1 IP, 1 Egress, 0 free "
        "| 10.100.5.128/30 "
        f"| 10.100.5.129 | 120 | {KNOWN_AFTER_DEPLOYMENT} | yes (NoSNAT rule) |"
    ) in text


def test_markdown_of_outputs_shows_tier1_and_assigned_ip() -> None:
    rows = rows_from_outputs(stack_outputs({"prod": zone_output(natMode=False)}))

    text = render_report(rows, "md")

    assert "- Generated from: stack outputs" in text
    assert (
        "| prod | prod | app=web | 10.100.5.10-10.100.5.20 (assigned: 10.100.5.10) |  "
        f"| 10.100.5.0/25 | 10.100.5.1 | 110 | {TIER1} | no (routed) |"
    ) in text


def test_markdown_escapes_table_separators() -> None:
    row = config_rows("prod")[0]
    odd = ReportRow(**{**vars(row), "tier1": "/infra/tier-1s/a|b"})

    assert "| /infra/tier-1s/a\\|b |" in render_report([odd], "md")


def test_markdown_without_zones_says_so() -> None:
    assert "No egress zones are configured." in render_report([], "md")


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_csv_of_committed_stacks(stack: str) -> None:
    text = render_report(config_rows(stack), "csv")

    records = list(csv.DictReader(io.StringIO(text)))
    expected = {
        key: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in {**EXPECTED[stack], **AUDIT_FIELDS}.items()
    }
    assert text.splitlines()[0] == ",".join([*EXPECTED[stack], *AUDIT_FIELDS])
    assert records == [expected]


def test_csv_of_outputs_quotes_commas() -> None:
    zone = zone_output(ipRanges=[{"cidr": "10.100.5.16/28"}, {"cidr": "10.100.5.32/28"}])

    text = render_report(rows_from_outputs(stack_outputs({"prod": zone})), "csv")

    (record,) = csv.DictReader(io.StringIO(text))
    assert record["egress_ips"] == "10.100.5.16/28, 10.100.5.32/28 (assigned: 10.100.5.10)"
    assert record["assigned_ip"] == "10.100.5.10"
    assert record["tier1"] == TIER1
    assert record["source"] == "stack outputs"
    assert '"10.100.5.16/28, 10.100.5.32/28 (assigned: 10.100.5.10)"' in text


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_json_of_committed_stacks(stack: str) -> None:
    assert json.loads(render_report(config_rows(stack), "json")) == [
        {**EXPECTED[stack], **AUDIT_FIELDS}
    ]


def test_json_of_outputs() -> None:
    rows = rows_from_outputs(
        stack_outputs({"staging": zone_output(namespace="staging"), "prod": zone_output()})
    )

    records = json.loads(render_report(rows, "json"))

    assert [record["zone"] for record in records] == ["prod", "staging"]
    assert records[0]["assigned_ip"] == "10.100.5.10"
    assert records[0]["tier1"] == TIER1
    assert records[0]["vlan"] == 110
    assert records[0]["nat_mode"] is True


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_is_deterministic_whatever_the_row_order(fmt: Any) -> None:
    rows = config_rows("prod") + config_rows("staging")

    assert render_report(rows, fmt) == render_report(list(reversed(rows)), fmt)
    assert render_report(rows, fmt) == render_report(rows, fmt)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        render_report(config_rows("prod"), "xml")  # type: ignore[arg-type]


# --- single addresses and the audit trail ------------------------------------------------------


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        ([{"start": "10.100.5.10", "end": "10.100.5.10"}], "10.100.5.10"),
        ([{"start": "10.100.5.10", "end": "10.100.5.11"}], "10.100.5.10-10.100.5.11"),
        (
            [{"start": "10.100.5.12", "end": "10.100.5.12"}, {"cidr": "10.100.5.16/28"}],
            "10.100.5.12, 10.100.5.16/28",
        ),
    ],
)
def test_a_range_of_one_address_is_that_address(
    ranges: list[dict[str, str]], expected: str
) -> None:
    (row,) = rows_from_outputs(stack_outputs({"prod": zone_output(ipRanges=ranges)}))

    assert row.egress_ips == f"{expected} (assigned: 10.100.5.10)"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_carries_the_generation_time_and_commit(fmt: Format) -> None:
    berlin = timezone(timedelta(hours=1))
    audit = AuditTrail(datetime(2026, 12, 7, 5, 16, 55, 123456, tzinfo=berlin), COMMIT)

    text = render_with_trail(config_rows("prod"), fmt, audit=audit)

    assert "2026-12-07T04:16:55Z" in text  # in UTC, to the second
    assert COMMIT in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


def test_markdown_names_the_generation_time_and_commit() -> None:
    text = render_report(config_rows("prod"), "md")

    assert "- Generated at: 2026-12-07T04:16:55Z\n- Git commit: " + COMMIT + "\n" in text


def test_machine_formats_carry_the_trail_on_every_row() -> None:
    rows = config_rows("prod") + config_rows("staging")

    records = json.loads(render_report(rows, "json"))
    csv_records = list(csv.DictReader(io.StringIO(render_report(rows, "csv"))))

    for record in [*records, *csv_records]:
        assert {key: record[key] for key in AUDIT_FIELDS} == AUDIT_FIELDS
    assert len(records) == len(csv_records) == 2


def test_a_generation_time_without_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a timezone"):
        AuditTrail(datetime(2026, 12, 7, 4, 16, 55), COMMIT)  # no tzinfo: the point


# --- a zone of several namespaces -------------------------------------------------------------

TEAMS = {
    "matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["qa", "staging"]}
    ]
}


def test_a_zone_of_several_namespaces_shows_its_selector_in_every_format() -> None:
    rows = rows_from_outputs(
        stack_outputs({"prod": zone_output(namespace=None, namespaceSelector=TEAMS)})
    )
    (row,) = rows

    assert (row.namespace, row.namespace_selector) == (
        None,
        "kubernetes.io/metadata.name in (qa, staging)",
    )
    assert (
        "| prod | namespaces kubernetes.io/metadata.name in (qa, staging) | app=web |"
        in render_report(rows, "md")
    )
    header, line = render_report(rows, "csv").splitlines()
    record = dict(zip(header.split(","), next(csv.reader([line])), strict=True))
    assert (record["namespace"], record["namespace_selector"]) == (
        "",
        "kubernetes.io/metadata.name in (qa, staging)",
    )


def test_an_empty_namespace_selector_is_every_namespace() -> None:
    rows = rows_from_outputs(
        stack_outputs({"prod": zone_output(namespace=None, namespaceSelector={})})
    )

    assert "| prod | every namespace | app=web |" in render_report(rows, "md")


# --- capacity ---------------------------------------------------------------------------------


def test_the_pool_capacity_from_the_outputs_reaches_every_format() -> None:
    capacity = {"size": 11, "egresses": 1, "free": 10}
    rows = rows_from_outputs(stack_outputs({"prod": zone_output(capacity=capacity)}))

    assert "| 10.100.5.10-10.100.5.20 (assigned: 10.100.5.10) | 11 IPs, 1 Egress, 10 free |" in (
        render_report(rows, "md")
    )
    (record,) = json.loads(render_report(rows, "json"))
    assert (record["pool_size"], record["egresses"], record["free_ips"]) == (11, 1, 10)


def test_outputs_without_capacity_leave_the_pool_cell_empty() -> None:
    """A stack deployed before the key existed."""
    (row,) = rows_from_outputs(stack_outputs({"prod": zone_output()}))

    assert (row.pool_size, row.egresses, row.free_ips) == (None, None, None)
    assert "| 10.100.5.10-10.100.5.20 (assigned: 10.100.5.10) |  | 10.100.5.0/25 |" in (
        render_report([row], "md")
    )
