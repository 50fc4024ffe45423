"""The whole lab: the NSX simulator, the loopback API servers, their CRDs, the admission webhook
and the controller doubles, started together and stopped together."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lab import crds
from lab.control_plane import ControlPlane
from lab.controllers.antrea import AntreaDouble
from lab.controllers.base import PollingController
from lab.controllers.capi import DEFAULT_WORKERS_DELAY_S, CapiDouble
from lab.controllers.nodes import NodeAgentsDouble
from lab.controllers.supervisor import SupervisorDouble, SupervisorSettings
from lab.controllers.tkr_resolver import TkrResolverWebhook
from lab.controllers.webhook import AdmissionWebhook
from lab.kube import LabKube
from lab.toolchain import Toolchain, locate
from nsxsim import LAB, NsxSimulator

ADMISSION_WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
MUTATING_WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


@dataclass(frozen=True)
class LabOptions:
    antrea_config_schema: crds.AntreaConfigSchema = "keeps"
    antrea_version: Literal["2.x", "1.15"] = "2.x"
    # The vSphere Namespace's SNAT IP when it uses NAT; None: a routed namespace.
    snat_ip: str | None = None
    ready_delay_s: float = 1.0
    # How long a Cluster API Cluster's workers take after its control plane.
    workers_delay_s: float = DEFAULT_WORKERS_DELAY_S
    # A manager as slow as a real one: every NSX answer this late (0: at once) ...
    nsx_latency_s: float = 0.0
    # ... and a write realized this long after it (None: on the simulator's realization states).
    nsx_realization_delay_s: float | None = None


class Lab:
    """`with Lab(work_dir) as lab:` everything runs; leaving the block stops it all."""

    namespace = LAB.namespace

    def __init__(self, work_dir: Path, options: LabOptions | None = None) -> None:
        self.work_dir = work_dir
        self.options = options or LabOptions()
        self._exit = ExitStack()
        self.toolchain: Toolchain
        self.nsx: NsxSimulator
        self.control_plane: ControlPlane
        self.supervisor: LabKube
        self.guest: LabKube
        self.webhook: AdmissionWebhook
        self.doubles: list[PollingController] = []
        self.supervisor_double: SupervisorDouble
        self.capi_double: CapiDouble
        self.tkr_resolver: TkrResolverWebhook
        self.antrea_double: AntreaDouble
        self.node_agents_double: NodeAgentsDouble

    def __enter__(self) -> Lab:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        self.toolchain = locate()
        self.nsx = self._exit.enter_context(
            NsxSimulator(
                latency=self.options.nsx_latency_s,
                realization_delay=self.options.nsx_realization_delay_s,
            )
        )
        self.nsx.seed_lab()
        self.control_plane = ControlPlane(self.toolchain, self.work_dir / "control-plane")
        self._exit.callback(self.control_plane.stop)
        self.control_plane.start_api_servers()
        self.supervisor = self.control_plane.supervisor.client()
        self.guest = self.control_plane.guest.client()
        self._exit.callback(self.supervisor.close)
        self._exit.callback(self.guest.close)
        crds.install(
            self.supervisor,
            [crds.load(name) for name in crds.SUPERVISOR_CRDS]
            + [crds.antrea_config_crd(self.options.antrea_config_schema)],
        )
        crds.install(
            self.guest, [crds.load(name) for name in crds.ANTREA_CRDS[self.options.antrea_version]]
        )
        self.control_plane.start_controller_managers()  # after the CRDs: see its docstring
        self.supervisor.create(
            "/api/v1/namespaces", {"metadata": {"name": self.namespace}, "apiVersion": "v1"}
        )
        self._start_webhook()
        self._start_tkr_resolver()
        self._start_doubles()

    def _start_webhook(self) -> None:
        cert, key = self.control_plane.issue_server_cert("antrea-webhook")
        self.webhook = AdmissionWebhook(
            cert, key, lambda: self.guest.list("/apis/crd.antrea.io/v1beta1/externalippools")
        )
        self.webhook.start()
        self._exit.callback(self.webhook.stop)
        self.guest.create(ADMISSION_WEBHOOKS, self.webhook.configuration(self.control_plane.ca_pem))

    def _start_tkr_resolver(self) -> None:
        """The Supervisor's mutating webhook on Clusters, before anything creates one."""
        cert, key = self.control_plane.issue_server_cert("tkr-resolver")
        self.tkr_resolver = TkrResolverWebhook(cert, key)
        self.tkr_resolver.start()
        self._exit.callback(self.tkr_resolver.stop)
        self.supervisor.create(
            MUTATING_WEBHOOKS, self.tkr_resolver.configuration(self.control_plane.ca_pem)
        )

    def _start_doubles(self) -> None:
        settings = SupervisorSettings(
            guest_kubeconfig=self.control_plane.guest.kubeconfig,
            node_segment_unique_id=LAB.node_segment_unique_id,
            snat_ip=self.options.snat_ip,
            ready_delay_s=self.options.ready_delay_s,
        )
        self.supervisor_double = SupervisorDouble(self.supervisor, self.guest, settings)
        self.capi_double = CapiDouble(
            self.supervisor, self.guest, settings, workers_delay_s=self.options.workers_delay_s
        )
        self.antrea_double = AntreaDouble(self.guest)
        self.node_agents_double = NodeAgentsDouble(self.guest)
        self.doubles = [
            self.supervisor_double,
            self.capi_double,
            self.antrea_double,
            self.node_agents_double,
        ]
        for double in self.doubles:
            double.start()
            self._exit.callback(double.stop)

    def double_errors(self) -> list[str]:
        return [error for double in self.doubles for error in double.errors]

    # --- what the program is pointed at ----------------------------------------------

    def access_config(self) -> dict[str, tuple[Any, bool]]:
        """The non-project stack keys: (value, secret)."""
        return {
            "kubernetes:context": ("admin@supervisor", False),
            "kubernetes:kubeconfig": (self.control_plane.supervisor.kubeconfig, True),
            **{
                key: (value, key == "nsxt:password")
                for key, value in self.nsx.nsxt_config().items()
            },
        }
