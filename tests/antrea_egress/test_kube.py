"""The minimal Kubernetes client: kubeconfig forms, auth, errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from antrea_egress.kube import (
    KubeAccess,
    KubeClient,
    KubeError,
    KubeNotFoundError,
    cluster_fingerprint,
)
from tests.fakes.kube_api import FakeKubeApi

# Every test here waits on a fake Kubernetes API server: a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as fake:
        yield fake


def test_token_kubeconfig_reaches_the_api(api: FakeKubeApi) -> None:
    api.put("/api/v1/namespaces/test", {"kind": "Namespace"})
    with KubeClient(KubeAccess.from_kubeconfig(api.kubeconfig())) as client:
        assert client.get("/api/v1/namespaces/test")["metadata"]["name"] == "test"
        assert client.get_optional("/api/v1/namespaces/nope") is None
        with pytest.raises(KubeNotFoundError):
            client.get("/api/v1/namespaces/nope")


def test_wrong_token_is_an_error_naming_the_request(api: FakeKubeApi) -> None:
    with (
        KubeClient(KubeAccess.from_kubeconfig(api.kubeconfig(token="wrong"))) as client,
        pytest.raises(KubeError, match="GET /api/v1/namespaces failed: HTTP 401"),
    ):
        client.list("/api/v1/namespaces")


def test_untrusted_server_is_refused() -> None:
    with FakeKubeApi() as api:
        document = json.loads(api.kubeconfig())
        other_ca = trustme.CA().cert_pem.bytes()
        document["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
            other_ca
        ).decode()
        with (
            KubeClient(KubeAccess.from_kubeconfig(json.dumps(document))) as client,
            pytest.raises(KubeError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.list("/api/v1/namespaces")


def kubeconfig_with_user(user: dict[str, object], *, context: str = "c") -> str:
    return json.dumps(
        {
            "current-context": context,
            "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1/"}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": "k", "user": "u"}}],
        }
    )


def test_client_certificate_and_ca_files(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    access = KubeAccess.from_kubeconfig(
        kubeconfig_with_user({"client-certificate": str(cert), "client-key": str(key)})
    )
    assert (access.client_cert, access.client_key, access.server) == (
        b"CERT",
        b"KEY",
        "https://127.0.0.1:1",
    )
    assert "CERT" not in repr(access)


def test_exec_plugins_are_refused_with_advice() -> None:
    with pytest.raises(KubeError, match="exec/auth-provider"):
        KubeAccess.from_kubeconfig(kubeconfig_with_user({"exec": {"command": "kubectl-vsphere"}}))


def test_unknown_context_and_no_current_context() -> None:
    with pytest.raises(KubeError, match="no context named 'other'"):
        KubeAccess.from_kubeconfig(kubeconfig_with_user({"token": "t"}), "other")
    document = json.loads(kubeconfig_with_user({"token": "t"}))
    del document["current-context"]
    with pytest.raises(KubeError, match="kubernetes:context"):
        KubeAccess.from_kubeconfig(json.dumps(document))


def test_resolve_prefers_stack_config_then_kubeconfig_env(tmp_path: Path) -> None:
    from_env = tmp_path / "config"
    from_env.write_text(kubeconfig_with_user({"token": "from-env"}))
    by_path = KubeAccess.resolve({"kubernetes:kubeconfig": str(from_env)}.get, {})
    assert by_path.token == "from-env"
    inline = KubeAccess.resolve(
        {"kubernetes:kubeconfig": kubeconfig_with_user({"token": "inline"})}.get,
        {"KUBECONFIG": str(from_env)},
    )
    assert inline.token == "inline"
    assert KubeAccess.resolve(lambda _: None, {"KUBECONFIG": str(from_env)}).token == "from-env"
    with pytest.raises(KubeError, match="KUBECONFIG"):
        KubeAccess.resolve(lambda _: None, {"KUBECONFIG": str(tmp_path / "missing")})


def test_relative_paths_start_at_the_kubeconfig_directory(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(b"CA")
    document = json.loads(kubeconfig_with_user({"token": "t"}))
    document["clusters"][0]["cluster"]["certificate-authority"] = "certs/ca.pem"
    config = tmp_path / "config"
    config.write_text(json.dumps(document))
    access = KubeAccess.resolve({"kubernetes:kubeconfig": str(config)}.get, {})
    assert access.ca_data == b"CA"


def _kubeconfig(server: str, ca: bytes, client_cert: bytes) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "admin@guest",
            "contexts": [{"name": "admin@guest", "context": {"cluster": "g", "user": "admin"}}],
            "clusters": [
                {
                    "name": "g",
                    "cluster": {
                        "server": server,
                        "certificate-authority-data": base64.b64encode(ca).decode(),
                    },
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {"client-certificate-data": base64.b64encode(client_cert).decode()},
                }
            ],
        }
    )


def test_a_cluster_fingerprint_survives_rotated_credentials_not_a_rebuild() -> None:
    original = cluster_fingerprint(_kubeconfig("https://10.0.0.2:6443", b"CA-1", b"cert-1"))
    rotated = cluster_fingerprint(_kubeconfig("https://10.0.0.2:6443", b"CA-1", b"cert-2"))
    rebuilt = cluster_fingerprint(_kubeconfig("https://10.0.0.2:6443", b"CA-2", b"cert-3"))
    moved = cluster_fingerprint(_kubeconfig("https://10.0.0.9:6443", b"CA-1", b"cert-1"))
    assert original == rotated
    assert len({original, rebuilt, moved}) == 3
    assert "CA-1" not in original and len(original) == 16


def test_dry_run_create_asks_for_a_dry_run_and_stores_nothing(api: FakeKubeApi) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}}
    with KubeClient(KubeAccess.from_kubeconfig(api.kubeconfig())) as client:
        answer = client.dry_run_create("/api/v1/namespaces/test/configmaps", body)
    assert answer["metadata"]["name"] == "probe"
    assert api.requests[-1].query == {"dryRun": "All", "fieldValidation": "Ignore"}
    assert api.created == [] and api.paths() == []
