"""The ChildSegment provider through the SDK's own dynamic-provider server, driven like the engine.

The engine starts `python -m pulumi.dynamic` in the project directory, reads the port from the
first stdout line, sends `Configure` with the whole stack config (secrets already decrypted),
then Check/Diff/Create/Read/Update/Delete with the serialized provider in `__provider`. Here
the same server runs with test-only NSX time budgets (`grpc_host`), and every call has a
deadline of its own.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from antrea_egress.providers.child_segment import ChildSegmentProvider
from nsxsim import LAB, Fault, NsxSimulator
from tests.conftest import nsx_config

# Every test here waits on a provider process over gRPC (test-only NSX timeouts): a hang
# fails within 30 s.
pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parents[3]
URN = "urn:pulumi:staging::antrea-egress::pulumi-python:dynamic/nsx:ChildSegment::prod"
SEGMENT_ID = "egress-staging-tkc-staging01-staging"
PASSWORD = "Grpc-Secret-Pw-7"


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


# A deadline for each gRPC call: well above what the test budgets let a provider call take.
CALL_TIMEOUT = 15.0


class Engine:
    """The provider's gRPC stub, every call with CALL_TIMEOUT as its deadline."""

    def __init__(self, stub: Any) -> None:
        self._stub = stub

    def __getattr__(self, method: str) -> Any:
        return functools.partial(getattr(self._stub, method), timeout=CALL_TIMEOUT)


@pytest.fixture
def nsx() -> Iterator[NsxSimulator]:
    with NsxSimulator(users={"admin": PASSWORD}, realization=["REALIZED"]) as simulator:
        simulator.seed_lab()
        yield simulator


@pytest.fixture
def engine() -> Iterator[Any]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NSXT_")}
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "tests.antrea_egress.providers.grpc_host", "127.0.0.1:0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**environment, "PULUMI_PROJECT": "antrea-egress"},
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().decode().strip())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=10)
    try:
        yield Engine(provider_pb2_grpc.ResourceProviderStub(channel))
    finally:
        channel.close()
        process.terminate()
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()
        process.stdout.close()


def configure(stub: Any, sim: NsxSimulator) -> None:
    config = {**nsx_config(sim), "antrea-egress:natMode": "true"}
    response = stub.Configure(
        provider_pb2.ConfigureRequest(args=struct(config), acceptSecrets=True)
    )
    assert response.acceptSecrets is False  # the engine strips secrets before calling us


def news(provider: str, **changes: Any) -> dict[str, Any]:
    return {
        "__provider": provider,
        "nsx_id": SEGMENT_ID,
        "parent_path": LAB.node_segment_path,
        "vlan": 120,
        "cidr": "10.100.5.128/30",
        "gateway": "10.100.5.129",
        "tags": [{"scope": "antrea-egress/zone", "tag": "staging"}],
        **changes,
    }


def test_lifecycle_over_grpc(engine: Any, nsx: NsxSimulator) -> None:
    provider = serialize_provider(ChildSegmentProvider())
    configure(engine, nsx)

    bad = engine.Check(
        provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news(provider, vlan=0)))
    )
    assert [(f.property, "outside" in f.reason) for f in bad.failures] == [("vlan", True)]
    check = engine.Check(
        provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news(provider)))
    )
    assert list(check.failures) == []

    created = engine.Create(provider_pb2.CreateRequest(urn=URN, properties=check.inputs))
    outs = dict(created.properties)
    assert created.id == SEGMENT_ID
    assert outs["tier1_path"] == LAB.tier1_path
    assert outs["__provider"] == provider
    assert PASSWORD not in str(created.properties)
    binding = nsx.get(outs["binding_map_path"])
    assert binding is not None
    assert binding["vlan_traffic_tag"] == 120

    read = engine.Read(
        provider_pb2.ReadRequest(id=created.id, urn=URN, properties=created.properties)
    )
    assert read.id == SEGMENT_ID
    assert dict(read.inputs)["vlan"] == 120

    unchanged = engine.Diff(
        provider_pb2.DiffRequest(id=created.id, urn=URN, olds=read.properties, news=check.inputs)
    )
    assert unchanged.changes == provider_pb2.DiffResponse.DIFF_NONE

    retag = news(provider, tags=[{"scope": "team", "tag": "payments"}])
    in_place = engine.Diff(
        provider_pb2.DiffRequest(
            id=created.id, urn=URN, olds=created.properties, news=struct(retag)
        )
    )
    assert in_place.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(in_place.replaces) == []
    updated = engine.Update(
        provider_pb2.UpdateRequest(
            id=created.id, urn=URN, olds=created.properties, news=struct(retag)
        )
    )
    assert dict(updated.properties)["binding_map_path"] == outs["binding_map_path"]
    segment = nsx.get(outs["path"])
    assert segment is not None
    assert {"scope": "team", "tag": "payments"} in segment["tags"]

    replace = engine.Diff(
        provider_pb2.DiffRequest(
            id=created.id, urn=URN, olds=updated.properties, news=struct(news(provider, vlan=121))
        )
    )
    assert list(replace.replaces) == ["vlan"]
    assert replace.deleteBeforeReplace is True

    engine.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=updated.properties))
    assert nsx.get(outs["path"]) is None
    gone = engine.Read(
        provider_pb2.ReadRequest(id=created.id, urn=URN, properties=updated.properties)
    )
    assert gone.id == ""


def test_nsx_errors_reach_the_engine_with_their_message(engine: Any, nsx: NsxSimulator) -> None:
    provider = serialize_provider(ChildSegmentProvider())
    configure(engine, nsx)
    orphan = news(provider, parent_path="/infra/segments/no-such-parent")
    with pytest.raises(grpc.RpcError) as caught:
        engine.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(orphan)))
    assert caught.value.code() == grpc.StatusCode.UNKNOWN
    assert "/infra/segments/no-such-parent does not exist in NSX" in caught.value.details()
    assert PASSWORD not in caught.value.details()


def test_missing_settings_name_the_keys_over_grpc(engine: Any) -> None:
    provider = serialize_provider(ChildSegmentProvider())
    engine.Configure(provider_pb2.ConfigureRequest(args=struct({})))
    with pytest.raises(grpc.RpcError) as caught:
        engine.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(news(provider))))
    assert "nsxt:host is not set" in caught.value.details()
    assert "NSXT_MANAGER_HOST" in caught.value.details()


def test_check_and_diff_pass_unknown_inputs_through(engine: Any, nsx: NsxSimulator) -> None:
    """In a preview the engine sends not-yet-known inputs as the unknown sentinel, which the
    SDK's host hands to check and diff as `pulumi.output.Unknown` objects (the parent path of
    a new cluster's first preview, for one)."""
    provider = serialize_provider(ChildSegmentProvider())
    configure(engine, nsx)
    unknown = news(provider, parent_path=rpc.UNKNOWN, vlan=rpc.UNKNOWN, tags=rpc.UNKNOWN)
    check = engine.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(unknown)))
    assert list(check.failures) == []
    assert dict(check.inputs)["parent_path"] == rpc.UNKNOWN
    created = engine.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(news(provider))))
    diff = engine.Diff(
        provider_pb2.DiffRequest(
            id=created.id, urn=URN, olds=created.properties, news=struct(unknown)
        )
    )
    assert sorted(diff.replaces) == ["parent_path", "vlan"]
    engine.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties))


def test_a_lasting_delete_conflict_fails_within_the_test_budget(
    engine: Any, nsx: NsxSimulator
) -> None:
    """A delete NSX keeps refusing fails once the test-only conflict budget is spent: the
    provider's error reaches the engine, not the call's deadline (the production budget would
    wait five minutes)."""
    provider = serialize_provider(ChildSegmentProvider())
    configure(engine, nsx)
    created = engine.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(news(provider))))
    segment = dict(created.properties)["path"]
    nsx.add_fault(
        Fault(f"{segment}$", method="DELETE", status=400, error_code=500030, times=1_000_000)
    )
    with pytest.raises(grpc.RpcError) as caught:
        engine.Delete(
            provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties)
        )
    assert caught.value.code() == grpc.StatusCode.UNKNOWN  # not DEADLINE_EXCEEDED
    assert "NSX error 500030" in caught.value.details()
    attempts = [r for r in nsx.requests if r.method == "DELETE" and r.path.endswith(segment)]
    assert len(attempts) > 1  # waited the conflict out for a while, then gave up
