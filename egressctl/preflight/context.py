"""What the checks of one preflight run share: the configuration, the clients, and the facts
several checks need (the cluster's state, the parent segments, the guest cluster), each looked
up once.

Every client is read-only by construction here: the NSX client only GETs (searches are GETs),
the Kubernetes clients only GET, LIST and create with `dryRun=All`. Settings come from the
stack file's plain values and, for what it keeps encrypted, from the environment variables the
providers also read (NSXT_PASSWORD, KUBECONFIG), as for `egressctl discover`: nothing is
decrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from antrea_egress import naming
from antrea_egress.config import AUTO_SEGMENT, StackConfig, ZoneConfig
from antrea_egress.discovery import (
    CAPI_CLUSTER,
    NAMESPACE,
    DiscoveryError,
    NodeSegmentDiscovery,
    discover_node_segment,
)
from antrea_egress.kube import KubeAccess, KubeClient, KubeError
from antrea_egress.manifests import TKC_API
from antrea_egress.nsx import paths
from antrea_egress.nsx.client import ClientTuning, NsxClient, RetryPolicy
from antrea_egress.nsx.errors import NsxError, NsxSettingsError
from antrea_egress.nsx.settings import NsxSettings
from antrea_egress.providers.parent_segment import read_parent
from egressctl.preflight.model import NotCheckedError

T = TypeVar("T")

# Preflight asks, it does not wait out an outage: two attempts within 20 s per request.
PREFLIGHT_TUNING = ClientTuning(
    request_timeout=20.0,
    connect_timeout=5.0,
    retry=RetryPolicy(max_attempts=2, initial_backoff=0.5, max_backoff=2.0, deadline=20.0),
)
TKCS = f"/apis/{TKC_API}/namespaces/{{namespace}}/tanzukubernetesclusters"
SECRETS = "/api/v1/namespaces/{namespace}/secrets"
# The errors a lookup may end in; they are kept, so a second check asking gets the same answer.
LOOKUP_ERRORS = (NotCheckedError, NsxError, KubeError, DiscoveryError)
# NCP's annotation on a vSphere Namespace naming its Tier-1 (docs/tkc-network-discovery.md §1.4).
NCP_ROUTER_ID = "ncp/router_id"


@dataclass(frozen=True)
class KnownParent:
    """A zone's parent segment as NSX has it, or None while it cannot exist yet."""

    path: str
    segment: dict[str, Any]
    found_by: str  # "configured", or how discovery found it


class PreflightContext:
    """`with PreflightContext(...) as ctx:` every client opened is closed at the end."""

    def __init__(
        self,
        stack: str,
        config: StackConfig,
        settings: Callable[[str], Any],
        environ: Mapping[str, str],
        *,
        nsx_tuning: ClientTuning = PREFLIGHT_TUNING,
    ) -> None:
        self.stack = stack
        self.config = config
        self._settings = settings
        self._environ = environ
        self._nsx_tuning = nsx_tuning
        self._exit = ExitStack()
        self._memo: dict[str, tuple[Any, BaseException | None]] = {}

    def __enter__(self) -> PreflightContext:
        return self

    def __exit__(self, *_: object) -> None:
        self._exit.close()

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` the first time, the same value (or error) every later time."""
        if key not in self._memo:
            try:
                self._memo[key] = (compute(), None)
            except LOOKUP_ERRORS as error:
                self._memo[key] = (None, error)
        value, failure = self._memo[key]
        if failure is not None:
            raise failure
        return value  # type: ignore[no-any-return]

    @property
    def cluster_name(self) -> str:
        return self.config.cluster.name

    @property
    def namespace(self) -> str:
        return self.config.cluster.vsphere_namespace

    # --- NSX -------------------------------------------------------------------------------

    @property
    def nsx(self) -> NsxClient:
        return self.once("nsx", self._open_nsx)

    def _open_nsx(self) -> NsxClient:
        try:
            settings = NsxSettings.resolve(self._settings, self._environ)
        except NsxSettingsError as error:
            raise NotCheckedError(str(error), "set the nsxt:* keys named above") from error
        return self._exit.enter_context(NsxClient(settings, tuning=self._nsx_tuning))

    def nsx_settings(self) -> NsxSettings:
        return self.once("nsx-settings", lambda: NsxSettings.resolve(self._settings, self._environ))

    def node_version(self) -> dict[str, Any]:
        """`GET /api/v1/node/version`: the first request, so it also proves TLS and login."""
        return self.once("node-version", self._node_version)

    def _node_version(self) -> dict[str, Any]:
        return dict(self.nsx.request("GET", paths.NODE_VERSION).json())

    def segments(self) -> list[dict[str, Any]]:
        """Every segment NSX lists (paged)."""
        return self.once("segments", lambda: self.nsx.list_objects(paths.SEGMENTS))

    # --- Supervisor --------------------------------------------------------------------------

    @property
    def supervisor(self) -> KubeClient:
        return self.once("supervisor", self._open_supervisor)

    def supervisor_access(self) -> KubeAccess:
        return self.once("supervisor-access", self._supervisor_access)

    def _supervisor_access(self) -> KubeAccess:
        try:
            return KubeAccess.resolve(self._settings, self._environ)
        except (KubeError, OSError, ValueError, KeyError, TypeError) as error:
            raise NotCheckedError(
                f"no usable Supervisor kubeconfig: {type(error).__name__}: {error}",
                "set kubernetes:kubeconfig (or KUBECONFIG) and kubernetes:context",
            ) from error

    def _open_supervisor(self) -> KubeClient:
        return self._exit.enter_context(KubeClient(self.supervisor_access()))

    def namespace_object(self) -> dict[str, Any]:
        return self.once(
            "namespace", lambda: self.supervisor.get(NAMESPACE.format(namespace=self.namespace))
        )

    def tkc(self) -> dict[str, Any] | None:
        path = f"{TKCS.format(namespace=self.namespace)}/{self.cluster_name}"
        return self.once("tkc", lambda: self.supervisor.get_optional(path))

    def capi_cluster(self) -> dict[str, Any] | None:
        path = CAPI_CLUSTER.format(namespace=self.namespace, name=self.cluster_name)
        return self.once("capi-cluster", lambda: self.supervisor.get_optional(path))

    def cluster_exists(self) -> bool:
        """Whether the cluster is there: its TKC, or (for a cluster made otherwise) the Cluster
        API Cluster. A managed cluster before its first `up` has neither."""
        return self.tkc() is not None or self.capi_cluster() is not None

    def discovery(self) -> NodeSegmentDiscovery | None:
        """What node-segment discovery finds now; None while the cluster does not exist."""
        return self.once("discovery", self._discover)

    def _discover(self) -> NodeSegmentDiscovery | None:
        if not self.cluster_exists():
            return None
        return discover_node_segment(self.supervisor, self.nsx, self.namespace, self.cluster_name)

    # --- parent segments -----------------------------------------------------------------

    def parent_paths(self) -> list[str]:
        """Every parent segment the zones use ("auto": the cluster's node segment), in order."""
        found = [self.config.effective_parent(zone) for zone in self.config.zones]
        return list(dict.fromkeys(found or [self.config.cluster.node_segment]))

    def parent(self, configured: str) -> KnownParent | None:
        """The parent behind a configured path or "auto"; None while it cannot exist yet (the
        node segment of a cluster that is not created)."""
        return self.once(f"parent:{configured}", lambda: self._parent(configured))

    def _parent(self, configured: str) -> KnownParent | None:
        if configured != AUTO_SEGMENT:
            return KnownParent(configured, read_parent(self.nsx, configured), "configured")
        found = self.discovery()
        if found is None:
            return None
        candidate = found.segment  # DiscoveryError unless exactly one
        segment = read_parent(self.nsx, candidate.path)
        return KnownParent(candidate.path, segment, f"discovered by {candidate.found_by}")

    def zone_parent(self, zone: ZoneConfig) -> KnownParent | None:
        return self.parent(self.config.effective_parent(zone))

    def tier1(self) -> tuple[str, str] | None:
        """The namespace's Tier-1 and how it is known: from a parent segment, else from the
        namespace's `ncp/router_id` annotation (UNCONFIRMED that it is the Tier-1's policy id;
        the check supervisor-router-id compares them once both are known)."""
        return self.once("tier1", self._tier1)

    def _tier1(self) -> tuple[str, str] | None:
        for configured in self.parent_paths():
            known = self.parent(configured)
            if known is not None:
                return str(known.segment["connectivity_path"]), f"parent segment {known.path}"
        router_id = self.router_id()
        if router_id and self.nsx.get_optional(paths.tier1_path(router_id)) is not None:
            return paths.tier1_path(router_id), f"namespace annotation {NCP_ROUTER_ID}={router_id}"
        return None

    def router_id(self) -> str | None:
        annotations = self.namespace_object()["metadata"].get("annotations") or {}
        value = annotations.get(NCP_ROUTER_ID)
        return str(value) if value else None

    # --- guest cluster -------------------------------------------------------------------

    def guest(self) -> KubeClient | None:
        """A client of the guest cluster from its kubeconfig Secret; None while the cluster does
        not exist."""
        return self.once("guest", self._open_guest)

    def _open_guest(self) -> KubeClient | None:
        if not self.cluster_exists():
            return None
        return self._exit.enter_context(KubeClient(self.guest_access()))

    def guest_access(self) -> KubeAccess:
        return self.once("guest-access", self._guest_access)

    def _guest_access(self) -> KubeAccess:
        try:
            return KubeAccess.from_kubeconfig(self.guest_kubeconfig())
        except (
            KubeError,
            yaml.YAMLError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as error:
            # Not the parser's message: it may quote a line of the kubeconfig, a key included.
            raise NotCheckedError(
                f"the kubeconfig in Secret {self.kubeconfig_secret_name} is not usable "
                f"({type(error).__name__})",
                "check the Secret's `value` key on the Supervisor",
            ) from error

    @property
    def kubeconfig_secret_name(self) -> str:
        return f"{self.namespace}/{naming.kubeconfig_secret_name(self.cluster_name)}"

    def guest_kubeconfig(self) -> str:
        """The kubeconfig the program reads: Secret `<cluster>-kubeconfig`, key `value`."""
        return self.once("guest-kubeconfig", self._read_guest_kubeconfig)

    def _read_guest_kubeconfig(self) -> str:
        name = naming.kubeconfig_secret_name(self.cluster_name)
        secret = self.supervisor.get_optional(f"{SECRETS.format(namespace=self.namespace)}/{name}")
        if secret is None:
            raise NotCheckedError(
                f"no Secret {self.kubeconfig_secret_name} on the Supervisor",
                "wait until the cluster is Ready (the Supervisor writes the Secret), or check "
                "cluster.name and cluster.vsphereNamespace",
            )
        value = (secret.get("data") or {}).get(naming.KUBECONFIG_SECRET_KEY)
        if not value:
            raise NotCheckedError(
                f"Secret {self.kubeconfig_secret_name} has no key "
                f"{naming.KUBECONFIG_SECRET_KEY!r} (keys: {sorted(secret.get('data') or {})})",
                "report this: the program reads the guest kubeconfig from that key "
                "(naming.KUBECONFIG_SECRET_KEY)",
            )
        try:
            return base64.b64decode(value, validate=True).decode()
        except ValueError as error:  # not base64, or not text
            raise NotCheckedError(
                f"Secret {self.kubeconfig_secret_name} key {naming.KUBECONFIG_SECRET_KEY!r} is "
                f"not a base64-encoded kubeconfig ({type(error).__name__})",
                "check the Secret on the Supervisor",
            ) from error
