"""The probe pod of `egressctl verify`: what it is, how it runs, and what it saw.

A bare pod that a zone's Egress selects runs curl once against the echo server outside NSX;
the echo server answers `Requester IP: <ip>`, the address the pod's traffic left the cluster
with. Only the given KubeClient is contacted.
"""

from __future__ import annotations

import ipaddress
import math
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from antrea_egress.kube import KubeClient, KubeError

DEFAULT_IMAGE: Final = "curlimages/curl:8.11.1"
PROBE_LABEL: Final = ("app.kubernetes.io/name", "egressctl-probe")
PROBE_CONTAINER: Final = "probe"
CURL_MAX_TIME_SECONDS: Final = 10

# curlimages/curl runs as curl_user, uid 100. The kubelet can verify runAsNonRoot only for a
# numeric user, so the uid is set explicitly (and the restricted Pod Security level is met).
_PROBE_UID: Final = 100
_NAME_SUFFIX_LENGTH: Final = 5
_NAME_ALPHABET: Final = string.ascii_lowercase + string.digits
_EXCERPT_LENGTH: Final = 200
_TERMINAL_PHASES: Final = frozenset({"Succeeded", "Failed"})
# Only what an address can contain, so a line such as "Requester IP: 10.0.0.1 via proxy" is
# not half-read; ipaddress then decides whether it is a valid IPv4 or IPv6 address.
_REQUESTER_IP: Final = re.compile(r"Requester IP: (?P<ip>[0-9A-Fa-f:.]+)")


@dataclass(frozen=True)
class ZoneProbe:
    """What a probe for one zone needs: where to run and which labels the Egress selects."""

    zone: str
    namespace: str
    pod_labels: dict[str, str]
    egress_name: str


@dataclass(frozen=True)
class ProbeSettings:
    """How a probe runs: the echo server, its time budget, its image."""

    echo_url: str
    timeout: float
    poll_interval: float
    image: str
    sleep: Callable[[float], None]


# --- the probe pod -------------------------------------------------------------------------


def probe_pod_name(zone: str) -> str:
    """Unique per run, so concurrent or left-over probes never collide."""
    suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(_NAME_SUFFIX_LENGTH))
    return f"egress-probe-{zone}-{suffix}"


def probe_pod(
    probe: ZoneProbe, name: str, echo_url: str, *, image: str, deadline_seconds: int
) -> dict[str, Any]:
    """A bare pod that the zone's Egress selects and that curls the echo server once.

    It carries the zone's pod labels (e.g. app=web), yet the workload's Deployment does not
    adopt it: a Deployment's ReplicaSets select on their pod-template-hash label too, which
    this pod lacks. Services selecting the same labels would send it traffic while it runs,
    so a readiness probe that never succeeds keeps it out of their endpoints.
    """
    # The zone's labels win over ours: if a selector uses app.kubernetes.io/name itself, the
    # Egress must still select the probe.
    labels = {PROBE_LABEL[0]: PROBE_LABEL[1], **probe.pod_labels}
    container = {
        "name": PROBE_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["curl", "-sS", "--max-time", str(CURL_MAX_TIME_SECONDS), echo_url],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "32Mi"},
        },
        "readinessProbe": {"exec": {"command": ["false"]}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": probe.namespace, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            # Bounds the pod's life even if this process dies before it deletes the pod.
            "activeDeadlineSeconds": deadline_seconds,
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,  # curl needs no API access
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": _PROBE_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
        },
    }


def parse_requester_ip(log: str) -> str | None:
    """The address of the echo server's `Requester IP: <ip>` line; None unless exactly one.

    An IPv4-mapped IPv6 address (a dual-stack server's view of an IPv4 client) is reported
    as the IPv4 address, so it compares equal to the Egress IP.
    """
    found: set[str] = set()
    for line in log.splitlines():
        match = _REQUESTER_IP.fullmatch(line.strip())
        if match is None:
            continue
        address = normalized(match.group("ip"))
        if address is None:
            return None
        found.add(address)
    return found.pop() if len(found) == 1 else None


def normalized(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def check_echo_url(url: str) -> None:
    """Raise ValueError unless `url` is an http(s) URL with a host, fit to hand to curl.

    The URL becomes curl's argument in the probe pod: anything else could be read as an
    option (`-K/etc/passwd`) or speak another of curl's protocols (`file://`, `gopher://`).
    """
    problem = _echo_url_problem(url)
    if problem is not None:
        raise ValueError(f"echo URL {url!r} is not usable: {problem}; give e.g. {ECHO_URL_EXAMPLE}")


ECHO_URL_EXAMPLE: Final = "http://192.168.178.222:88/"
_ECHO_URL_SCHEMES: Final = ("http", "https")


def _echo_url_problem(url: str) -> str | None:
    if not url:
        return "it is empty"
    if " " in url or not url.isprintable():
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError as error:
        return f"it is not a URL ({error})"
    if parts.scheme.lower() not in _ECHO_URL_SCHEMES:
        return "only http:// and https:// URLs are allowed"
    if not parts.hostname:
        return "it names no host"
    return None


# --- running it ---------------------------------------------------------------------------


def observe(
    kube: KubeClient, probe: ZoneProbe, path: str, settings: ProbeSettings
) -> tuple[str | None, str | None]:
    """The IP the echo server saw from the probe pod, or None and why not."""
    collection, name = path.rsplit("/", 1)
    pod = probe_pod(
        probe,
        name,
        settings.echo_url,
        image=settings.image,
        deadline_seconds=max(1, math.ceil(settings.timeout)),
    )
    try:
        kube.create(collection, pod)
        phase, reason = _wait_for_completion(kube, path, settings)
        if phase == "Failed":
            because = f" ({reason})" if reason else ""
            return None, f"probe pod failed{because}: {_excerpt(_log_if_any(kube, path))}"
        if phase != "Succeeded":
            state = f"{phase}, {reason}" if reason else phase
            return None, (
                f"probe pod {probe.namespace}/{name} did not finish within "
                f"{settings.timeout:g}s (still {state})"
            )
        log = kube.text(f"{path}/log", params={"container": PROBE_CONTAINER})
    except KubeError as error:
        return None, f"probe pod {probe.namespace}/{name}: {error}"
    seen_ip = parse_requester_ip(log)
    if seen_ip is None:
        return (
            None,
            f"no single 'Requester IP: <address>' line in the probe's output: {_excerpt(log)}",
        )
    return seen_ip, None


def _log_if_any(kube: KubeClient, path: str) -> str:
    """A failed pod's log, for the detail; a container that never started has none."""
    try:
        return kube.text(f"{path}/log", params={"container": PROBE_CONTAINER})
    except KubeError:
        return ""


def _wait_for_completion(
    kube: KubeClient, path: str, settings: ProbeSettings
) -> tuple[str, str | None]:
    """The pod's last phase and why it is there; a phase not terminal means it timed out.

    Time is the larger of the wall clock and the time slept, so an injected `sleep` that
    returns at once still ends the wait.
    """
    started = time.monotonic()
    slept = 0.0
    while True:
        status = kube.get(path).get("status") or {}
        phase = str(status.get("phase") or "Pending")
        remaining = settings.timeout - max(slept, time.monotonic() - started)
        if phase in _TERMINAL_PHASES or remaining <= 0:
            return phase, _pod_reason(status)
        pause = min(settings.poll_interval, remaining)
        settings.sleep(pause)
        slept += pause


def _pod_reason(status: Mapping[str, Any]) -> str | None:
    """The pod's reason (DeadlineExceeded), else its container's: a non-zero exit code, or
    why it is still waiting (ImagePullBackOff, where the curl image cannot be pulled)."""
    if status.get("reason"):
        return str(status["reason"])
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        terminated = state.get("terminated") or {}
        if terminated.get("exitCode") not in (None, 0):
            return f"exit code {terminated['exitCode']}"
        waiting = state.get("waiting") or {}
        if waiting.get("reason"):
            return str(waiting["reason"])
    return None


def delete_pod(kube: KubeClient, path: str) -> str | None:
    """Delete the probe pod (a pod never created or already gone is fine); why it failed."""
    try:
        kube.delete(path)
    except KubeError as error:
        return f"the probe pod could not be deleted, remove it by hand: {error}"
    return None


def _excerpt(log: str) -> str:
    text = " ".join(log.split())
    if not text:
        return "(no output)"
    return text if len(text) <= _EXCERPT_LENGTH else text[: _EXCERPT_LENGTH - 1] + "…"
