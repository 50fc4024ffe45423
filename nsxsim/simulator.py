"""`NsxSimulator`: the public face that tests drive (start/stop, seeding, faults, inspection)."""

from __future__ import annotations

import dataclasses
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from nsxsim.app import SimulatorApp
from nsxsim.kinds import PORT, SEGMENT, TIER1, segment_path, tier1_path
from nsxsim.lab import DEFAULT_TZ_PATH, LAB
from nsxsim.manager import DEFAULT_NSX_VERSION
from nsxsim.messages import Fault, RecordedRequest
from nsxsim.server import HOST, SimHttpServer
from nsxsim.state import DEFAULT_REALIZATION, REALIZATION_STATES, Store
from nsxsim.tls import ServerTls

DEFAULT_USERS: Mapping[str, str] = {"admin": "Sim-Passw0rd!"}
# stop() waits up to one poll interval for serve_forever to notice; keep teardown fast.
_POLL_INTERVAL = 0.01
_JOIN_TIMEOUT = 5.0


class NsxSimulator:
    """An NSX Policy API look-alike on https://127.0.0.1:<port>, one lock around all state."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        realization: list[str] | None = None,
        purge_delay: float = 0.0,
        realization_delay: float | None = None,
        latency: float = 0.0,
        rate_limit_per_second: int | None = None,
        nsx_version: str = DEFAULT_NSX_VERSION,
        tls: ServerTls | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        accounts = dict(users if users is not None else DEFAULT_USERS)
        if not accounts:
            raise ValueError("at least one user is required")
        sequence = list(realization if realization is not None else DEFAULT_REALIZATION)
        if not sequence or any(state not in REALIZATION_STATES for state in sequence):
            raise ValueError(f"realization must be a non-empty list of {REALIZATION_STATES}")
        self.username, self.password = next(iter(accounts.items()))
        self._store = Store(
            realization=sequence,
            purge_delay=purge_delay,
            realization_delay=realization_delay,
            clock=clock,  # purges, realization delays, the rate limit; tests pass a fake one
        )
        self._app = SimulatorApp(
            store=self._store,
            users=accounts,
            rate_limit_per_second=rate_limit_per_second,
            nsx_version=nsx_version,
            sleep=sleep,  # fault delays and the latency
            clock=clock,
            latency=latency,  # seconds added to every answer: a manager as slow as a real one
        )
        self._lock = self._app.lock
        # A caller-made ServerTls lets a lab manager keep its CA across restarts.
        self._tls = tls if tls is not None else ServerTls()
        self.ca_file = self._tls.ca_file
        self.thumbprint = self._tls.thumbprint  # SHA-256 of the server certificate (hex)
        self._server: SimHttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, port: int = 0) -> NsxSimulator:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server = SimHttpServer(self._app, self._tls.context, port)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"nsxsim-{server.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)
        self._server = self._thread = None

    def __enter__(self) -> NsxSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return self._server.port

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    def nsxt_config(self) -> dict[str, str]:
        """The `nsxt:` stack keys that point a client at this simulator, and nowhere else."""
        return {
            "nsxt:host": self.host,
            "nsxt:username": self.username,
            "nsxt:password": self.password,
            "nsxt:caFile": self.ca_file,
        }

    @property
    def base_url(self) -> str:
        return f"https://{self.host}"

    @property
    def nsx_version(self) -> str:
        """What `GET /api/v1/node/version` answers (node_version and product_version)."""
        return self._app.nsx_version

    @property
    def ca_pem(self) -> bytes:
        return self._tls.ca_pem

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the simulator CA (httpx 0.28 deprecates verify=<path>)."""
        return ssl.create_default_context(cafile=self.ca_file)

    # --- seeding -------------------------------------------------------------------------------

    def seed_tier1(self, t1_id: str, *, tags: list[dict[str, str]] | None = None) -> str:
        path = tier1_path(t1_id)
        fields: dict[str, Any] = {
            "resource_type": TIER1,
            "tags": list(tags or []),
            "route_advertisement_types": ["TIER1_CONNECTED", "TIER1_NAT"],
            "ha_mode": "ACTIVE_STANDBY",
        }
        with self._lock:
            self._store.remove(path)
            self._store.seed(path, fields)
        return path

    def seed_segment(
        self,
        seg_id: str,
        *,
        connectivity_path: str | None,
        transport_zone_path: str = DEFAULT_TZ_PATH,
        gateway_address: str = "10.244.0.1/28",
        tags: list[dict[str, str]] | None = None,
        unique_id: str | None = None,
        ports: int = 0,
    ) -> str:
        path = segment_path(seg_id)
        fields: dict[str, Any] = {
            "resource_type": SEGMENT,
            "transport_zone_path": transport_zone_path,
            "subnets": [{"gateway_address": gateway_address}],
            "tags": list(tags or []),
        }
        if connectivity_path is not None:
            fields["connectivity_path"] = connectivity_path
        with self._lock:
            self._store.remove(path)
            self._store.seed(path, fields, unique_id=unique_id)
            for index in range(ports):
                self._seed_port(path, index)
        return path

    def _seed_port(self, segment: str, index: int) -> None:
        attachment = {"id": str(uuid.uuid4()), "type": "PARENT", "traffic_tag": 0}
        fields = {"resource_type": PORT, "attachment": attachment, "admin_state": "UP"}
        self._store.seed(f"{segment}/ports/vif-port-{index}", fields)

    def seed_lab(self) -> None:
        """The field-procedure lab: the cluster's Tier-1 and its node segment (see LAB)."""
        self.seed_tier1(LAB.tier1_id, tags=LAB.tier1_tag_dicts())
        self.seed_segment(
            LAB.node_segment_id,
            connectivity_path=LAB.tier1_path,
            transport_zone_path=LAB.transport_zone_path,
            gateway_address=LAB.node_segment_gateway,
            tags=LAB.node_segment_tag_dicts(),
            unique_id=LAB.node_segment_unique_id,
            ports=LAB.node_segment_ports,
        )

    # --- inspection and out-of-band changes ----------------------------------------------------

    def get(self, policy_path: str) -> dict[str, Any] | None:
        with self._lock:
            return self._store.get(policy_path)

    def objects(
        self, prefix: str = "/infra", *, include_marked: bool = False
    ) -> dict[str, dict[str, Any]]:
        with self._lock:
            return self._store.objects(prefix, include_marked=include_marked)

    def modify(self, policy_path: str, **fields: Any) -> None:
        with self._lock:
            self._store.modify(policy_path, fields)

    def remove(self, policy_path: str) -> None:
        with self._lock:
            self._store.remove(policy_path)

    def set_realization(
        self, path_regex: str, states: list[str], *, alarm: str | None = None
    ) -> None:
        with self._lock:
            self._store.set_realization(path_regex, states, alarm)

    @property
    def purge_delay(self) -> float:
        with self._lock:
            return self._store.purge_delay

    @purge_delay.setter
    def purge_delay(self, seconds: float) -> None:
        with self._lock:
            self._store.purge_delay = seconds

    # --- faults, sessions, limits, request log -------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        # A private copy: the simulator counts `times` down without touching the caller's object.
        with self._lock:
            self._app.faults.append(dataclasses.replace(fault, headers=dict(fault.headers)))

    def clear_faults(self) -> None:
        with self._lock:
            self._app.faults.clear()

    def expire_sessions(self) -> None:
        with self._lock:
            self._app.sessions.expire_all()

    @property
    def rate_limit_per_second(self) -> int | None:
        with self._lock:
            return self._app.rate_limit_per_second

    @rate_limit_per_second.setter
    def rate_limit_per_second(self, limit: int | None) -> None:
        with self._lock:
            self._app.rate_limit_per_second = limit

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in completion order."""
        with self._lock:
            return list(self._app.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._app.requests.clear()
