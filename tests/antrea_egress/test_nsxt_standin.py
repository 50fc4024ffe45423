"""The NSX-T stand-in: the real schema's token and input names, and only under mocks."""

from __future__ import annotations

import json

import pytest

from antrea_egress import nsxt, nsxt_standin
from tests.crd_schemas import SCHEMAS
from tests.pulumi_harness import run_program

# An excerpt of the provider's package schema; provenance in schemas/pulumi-nsxt/README.md.
SCHEMA = SCHEMAS / "pulumi-nsxt" / "pulumi-nsxt-schema-excerpt.json"


def test_the_real_sdk_is_preferred_when_installed() -> None:
    try:
        import pulumi_nsxt  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        assert nsxt.USING_STANDIN is True
        assert nsxt.PolicyNatRule is nsxt_standin.PolicyNatRule
    else:  # pragma: no cover - only where `pulumi install` generated the SDK
        assert nsxt.USING_STANDIN is False


def test_the_stand_in_refuses_a_real_engine() -> None:
    with pytest.raises(RuntimeError, match="run `pulumi install`"):
        nsxt_standin.Provider("nsx", host="127.0.0.1")


def test_the_registered_rule_uses_the_provider_schemas_token_and_inputs() -> None:
    schema = json.loads(SCHEMA.read_text())
    resource = schema["resources"][nsxt_standin.POLICY_NAT_RULE_TYPE]
    rule = run_program("prod").one(nsxt_standin.POLICY_NAT_RULE_TYPE)
    assert set(rule.inputs) <= set(resource["inputProperties"])
    assert set(resource["requiredInputs"]) <= set(rule.inputs)
    provider_config = set(schema["config"]["variables"])
    provider = run_program("prod").named("nsx")
    assert set(provider.inputs) - {"version"} <= provider_config
