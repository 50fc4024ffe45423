"""Real API servers on loopback: one etcd, a Supervisor and a guest kube-apiserver, each with a
kube-controller-manager for namespace deletion, garbage collection, Deployments and
ReplicaSets.

Everything listens on 127.0.0.1 at ports the OS picks; certificates and credentials are made
for each run. The Supervisor's admin authenticates with a bearer token (as a `kubectl vsphere
login` kubeconfig does), the guest's with a client certificate in `system:masters` (as the
Cluster API admin kubeconfig does), so both kinds of secret pass through the program.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lab.kube import Credentials, LabKube
from lab.processes import LabProcess, free_port
from lab.toolchain import Toolchain

STARTUP_TIMEOUT_S = 120.0
# The service range is local to each API server; nothing routes to it.
SERVICE_CIDR = "10.0.0.0/24"
ADMIN_GROUP = "system:masters"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


@dataclass(frozen=True)
class ApiServer:
    name: str
    credentials: Credentials
    kubeconfig: str  # a complete kubeconfig for this server, with its admin credentials

    def client(self) -> LabKube:
        return LabKube(self.credentials)


class ControlPlane:
    """Start with `start()`, stop with `stop()` (or use it as a context manager)."""

    def __init__(self, toolchain: Toolchain, work_dir: Path) -> None:
        self._toolchain = toolchain
        self._dir = work_dir
        self._processes: list[LabProcess] = []
        self._ca = trustme.CA()
        self.supervisor: ApiServer
        self.guest: ApiServer

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def ca_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    @property
    def processes(self) -> list[LabProcess]:
        return list(self._processes)

    def start(self) -> None:
        """Everything at once; see `start_api_servers` for a lab with its own CRDs."""
        self.start_api_servers()
        self.start_controller_managers()

    def start_api_servers(self) -> None:
        try:
            etcd_url = self._start_etcd()
            self._write_service_account_key()
            self.supervisor = self._start_api_server("supervisor", etcd_url, token_auth=True)
            self.guest = self._start_api_server("guest", etcd_url, token_auth=False)
        except BaseException:
            self.stop()
            raise

    def start_controller_managers(self) -> None:
        """Start them once the CRDs are in, as in a real cluster, whose CRDs predate the objects
        deleted: the garbage collector learns of resource types only by rediscovering them
        every 30 s (`syncPeriod` in cmd/kube-controller-manager/app/core.go, Kubernetes
        v1.34), so a CR of a younger CRD waits up to 30 s for its foreground deletion."""
        try:
            for server in (self.supervisor, self.guest):
                self._start_controller_manager(server)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()

    def issue_server_cert(self, pki_name: str) -> tuple[Path, Path]:
        """A serving certificate for 127.0.0.1 signed by the lab CA (for webhooks)."""
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        return self._write_pair(pki_name, cert)

    # --- processes ---------------------------------------------------------------------

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        etcd = self._spawn(
            "etcd",
            [
                str(self._toolchain.binary("etcd")),
                "--name=lab",
                f"--data-dir={self._dir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=lab={peer_url}",
                "--log-level=warn",
                # A throwaway store: durability buys nothing and costs seconds per write burst.
                "--unsafe-no-fsync",
            ],
        )
        etcd.wait_until(
            lambda: httpx.get(f"{client_url}/health", timeout=2).json().get("health") == "true",
            timeout=STARTUP_TIMEOUT_S,
            what="healthy etcd",
        )
        return client_url

    def _write_service_account_key(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        pki = self._dir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        (pki / "sa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        (pki / "sa.pub").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def _start_api_server(self, name: str, etcd_url: str, *, token_auth: bool) -> ApiServer:
        port = free_port()
        pki = self._dir / "pki"
        serving_cert, serving_key = self._write_pair(
            f"{name}-serving", self._ca.issue_cert("127.0.0.1", "localhost")
        )
        (pki / "client-ca.crt").write_bytes(self.ca_pem)
        argv = [
            str(self._toolchain.binary("kube-apiserver")),
            f"--etcd-servers={etcd_url}",
            f"--etcd-prefix=/{name}",  # two clusters, one etcd
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--tls-cert-file={serving_cert}",
            f"--tls-private-key-file={serving_key}",
            f"--client-ca-file={pki / 'client-ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            "--disable-admission-plugins=ServiceAccount",
            f"--service-account-issuer=https://127.0.0.1:{port}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--cert-dir={pki / name}",
        ]
        server_url = f"https://127.0.0.1:{port}"
        if token_auth:
            token = secrets.token_urlsafe(24)
            tokens = pki / f"{name}-tokens.csv"
            tokens.write_text(f'{token},lab-admin,lab-admin,"{ADMIN_GROUP}"\n')
            tokens.chmod(0o600)
            argv.append(f"--token-auth-file={tokens}")
            credentials = Credentials(server_url, self.ca_pem, token=token)
            user: dict[str, str] = {"token": token}
        else:
            cert_file, key_file = self._write_pair(
                f"{name}-admin",
                self._ca.issue_cert(
                    "kubernetes-admin",
                    common_name="kubernetes-admin",
                    organization_name=ADMIN_GROUP,
                ),
            )
            credentials = Credentials(
                server_url,
                self.ca_pem,
                client_cert_file=str(cert_file),
                client_key_file=str(key_file),
            )
            user = {
                "client-certificate-data": _b64(cert_file.read_bytes()),
                "client-key-data": _b64(key_file.read_bytes()),
            }
        process = self._spawn(f"kube-apiserver-{name}", argv)
        server = ApiServer(name, credentials, _kubeconfig(name, server_url, self.ca_pem, user))
        probe = server.client()
        try:
            process.wait_until(
                lambda: probe.text("/readyz") == "ok",
                timeout=STARTUP_TIMEOUT_S,
                what=f"ready API server {name}",
            )
        finally:
            probe.close()
        return server

    def _start_controller_manager(self, server: ApiServer) -> None:
        # Its own identity, as a cluster's controller manager has: what it writes (the garbage
        # collector removing a deletion finalizer, say) is then told apart from the program.
        cert_file, key_file = self._write_pair(
            f"{server.name}-controller-manager",
            self._ca.issue_cert(
                "kube-controller-manager",  # a SAN; Kubernetes takes the user from the CN
                common_name=CONTROLLER_MANAGER_USER,
                organization_name=ADMIN_GROUP,
            ),
        )
        user = {
            "client-certificate-data": _b64(cert_file.read_bytes()),
            "client-key-data": _b64(key_file.read_bytes()),
        }
        kubeconfig = self._dir / f"{server.name}-controller-manager.kubeconfig"
        kubeconfig.write_text(
            _kubeconfig(server.name, server.credentials.server, self.ca_pem, user)
        )
        kubeconfig.chmod(0o600)
        self._spawn(
            f"kube-controller-manager-{server.name}",
            [
                str(self._toolchain.binary("kube-controller-manager")),
                f"--kubeconfig={kubeconfig}",
                "--controllers=namespace,garbagecollector,deployment,replicaset",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
            ],
        )

    def _spawn(self, name: str, argv: list[str]) -> LabProcess:
        # Nothing of the caller's environment: no proxy settings, no KUBECONFIG.
        process = LabProcess(name, argv, self._dir / "logs" / f"{name}.log", env=MINIMAL_ENV)
        self._processes.append(process)
        return process

    def _write_pair(self, name: str, cert: trustme.LeafCert) -> tuple[Path, Path]:
        pki = self._dir / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = pki / f"{name}.crt", pki / f"{name}.key"
        cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        key_file.write_bytes(cert.private_key_pem.bytes())
        key_file.chmod(0o600)
        return cert_file, key_file


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kubeconfig(name: str, server: str, ca_pem: bytes, user: dict[str, str]) -> str:
    context = f"admin@{name}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [
                {
                    "name": name,
                    "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)},
                }
            ],
            "users": [{"name": f"{name}-admin", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": name, "user": f"{name}-admin"}}],
        },
        sort_keys=False,
    )
