"""The live proof (field procedure step 9) against the fake Kubernetes API.

The fake plays the kubelet and, through the probe pod's log, the echo server: what the echo
server would have seen is decided per namespace, as it is by the Egress in a real cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from antrea_egress.kube import KubeAccess, KubeClient
from egressctl.verify import (
    DEFAULT_IMAGE,
    EGRESS_API,
    ProbeResult,
    ZoneProbe,
    check_echo_url,
    cleanup_commands,
    parse_requester_ip,
    probes_from_outputs,
    render_results,
    verify_zones,
)
from tests.fakes.kube_api import FakeKubeApi, PodRun

# Every test here waits on probe pods played by a fake Kubernetes API: a hang fails within 20 s.
pytestmark = pytest.mark.timeout(20)

ECHO_URL = "http://192.168.178.222:88/"
FIELD_IPS = {"prod": "10.100.5.10", "staging": "10.100.5.130"}  # field procedure, step 9
NODE_IP = "10.244.0.34"  # what the echo server sees when the Egress is not applied
PROBE_NAME = re.compile(r"^egress-probe-(?P<zone>[a-z0-9-]+)-[a-z0-9]{5}$")


def zone_output(namespace: str, /, **overrides: Any) -> dict[str, Any]:
    """A zone of the `zones` stack output, shaped as EgressZone's summary."""
    return {
        "egressIP": FIELD_IPS.get(namespace),
        "egressNode": "tkc-prod01-worker-1",
        "cidr": "10.100.5.0/25",
        "gateway": "10.100.5.1",
        "vlan": 110,
        "ipRanges": [{"start": "10.100.5.10", "end": "10.100.5.20"}],
        "segmentPath": f"/infra/segments/egress-{namespace}",
        "tier1Path": "/infra/tier-1s/t1",
        "natMode": True,
        "namespace": namespace,
        "podSelector": {"matchLabels": {"app": "web"}},
        **overrides,
    }


def outputs(*zones: str, **overrides: Any) -> dict[str, Any]:
    return {
        "cluster": "tkc-prod01",
        "vsphereNamespace": "prod",
        "kubeconfig": "[secret]",
        "nodeSegment": "/infra/segments/vnet_0",
        "zones": {zone: zone_output(zone, **overrides) for zone in zones},
    }


def seed_egress(
    api: FakeKubeApi, zone: str, egress_ip: str | None, *, assigned: bool = True
) -> None:
    """The zone's Egress as Antrea reports it (docs/antrea-and-tanzu.md §2.5): once an agent
    holds the IP, egressIP, egressNode and IPAssigned=True; without an IP, status is empty."""
    status: dict[str, Any] = {}
    if egress_ip is not None:
        conditions = [{"type": "IPAllocated", "status": "True", "reason": "Allocated"}]
        if assigned:
            conditions.append({"type": "IPAssigned", "status": "True", "reason": "Assigned"})
        status = {
            "egressIP": egress_ip if assigned else "",
            "egressNode": f"worker-{zone}" if assigned else "",
            "conditions": conditions,
        }
    api.put(
        f"{EGRESS_API}/egress-{zone}",
        {"apiVersion": "crd.antrea.io/v1beta1", "kind": "Egress", "status": status},
    )


def echo_answers(seen: dict[str, str]) -> Any:
    """Probe pods succeed, and their log is the echo server's answer for their namespace."""

    def run_for(pod: dict[str, Any]) -> PodRun:
        return PodRun.succeeds(f"Requester IP: {seen[pod['metadata']['namespace']]}\n")

    return run_for


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as fake:
        yield fake


@pytest.fixture
def kube(api: FakeKubeApi) -> Iterator[KubeClient]:
    with KubeClient(KubeAccess.from_kubeconfig(api.kubeconfig())) as client:
        yield client


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def run(kube: KubeClient, stack: dict[str, Any], **options: Any) -> list[ProbeResult]:
    """verify_zones for the stack's zones against the echo URL; sleeping is never real."""
    options.setdefault("sleep", FakeSleep())
    return verify_zones(kube, probes_from_outputs(stack), ECHO_URL, **options)


def probe_pod_paths(api: FakeKubeApi) -> list[str]:
    return [
        f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}"
        for pod in api.created
        if pod.get("kind") == "Pod"
    ]


def assert_probe_pods_deleted(api: FakeKubeApi) -> None:
    created = probe_pod_paths(api)
    assert created, "no probe pod was created"
    assert sorted(api.deleted) == sorted(created)
    assert not [path for path in api.paths() if "/pods/" in path]


# --- probes from the outputs -----------------------------------------------------------------


def test_probes_from_outputs() -> None:
    stack = outputs("staging", "prod")
    stack["zones"]["batch"] = zone_output(
        "batch-jobs", podSelector={"matchLabels": {"app": "batch", "tier": "worker"}}
    )
    stack["zones"]["all"] = zone_output("shared", podSelector={})

    probes = probes_from_outputs(stack)

    assert probes == [
        ZoneProbe("all", "shared", {}, "egress-all"),
        ZoneProbe("batch", "batch-jobs", {"app": "batch", "tier": "worker"}, "egress-batch"),
        ZoneProbe("prod", "prod", {"app": "web"}, "egress-prod"),
        ZoneProbe("staging", "staging", {"app": "web"}, "egress-staging"),
    ]


def test_a_plain_label_map_selector_is_accepted() -> None:
    (probe,) = probes_from_outputs(outputs("prod", podSelector={"app": "web"}))

    assert probe.pod_labels == {"app": "web"}


def test_match_expressions_are_refused_naming_the_zone() -> None:
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "track", "operator": "In", "values": ["stable"]}],
    }

    with pytest.raises(ValueError, match="zone prod: its podSelector has matchExpressions"):
        probes_from_outputs(outputs("prod", podSelector=selector))


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ({"cluster": "c"}, "`zones` is missing"),
        (outputs("prod", namespace=None), "zones.prod.namespace is missing"),
        (outputs("prod", podSelector="app=web"), "zones.prod.podSelector is not"),
    ],
)
def test_bad_outputs_are_refused(stack: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        probes_from_outputs(stack)


# --- verification ----------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["prod", "staging"])
def test_field_procedure_ips_pass(api: FakeKubeApi, kube: KubeClient, zone: str) -> None:
    seed_egress(api, zone, FIELD_IPS[zone])
    api.play_pods(echo_answers(FIELD_IPS))

    results = run(kube, outputs(zone))

    assert results == [
        ProbeResult(
            zone,
            FIELD_IPS[zone],
            FIELD_IPS[zone],
            True,
            f"the echo server saw {FIELD_IPS[zone]}, the IP of Egress egress-{zone}",
        )
    ]
    assert_probe_pods_deleted(api)


def test_both_zones_in_one_run(api: FakeKubeApi, kube: KubeClient) -> None:
    for zone, ip in FIELD_IPS.items():
        seed_egress(api, zone, ip)
    api.play_pods(echo_answers(FIELD_IPS))

    results = run(kube, outputs("staging", "prod"))

    assert [(r.zone, r.seen_ip, r.passed) for r in results] == [
        ("prod", "10.100.5.10", True),
        ("staging", "10.100.5.130", True),
    ]
    assert len(api.deleted) == 2
    assert_probe_pods_deleted(api)


def test_the_probe_pod_is_selected_by_the_egress_and_runs_curl(
    api: FakeKubeApi, kube: KubeClient
) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(echo_answers(FIELD_IPS))

    run(kube, outputs("prod"), timeout=45)

    (pod,) = api.created
    metadata, spec = pod["metadata"], pod["spec"]
    match = PROBE_NAME.match(metadata["name"])
    assert match is not None
    assert match.group("zone") == "prod"
    assert metadata["namespace"] == "prod"
    assert metadata["labels"] == {"app": "web", "app.kubernetes.io/name": "egressctl-probe"}
    assert spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 45
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["image"] == DEFAULT_IMAGE
    assert container["command"] == ["curl", "-sS", "--max-time", "10", ECHO_URL]
    assert container["resources"]["limits"] == {"cpu": "100m", "memory": "32Mi"}
    # The POST went to the zone's namespace, and only the Kubernetes API was contacted.
    assert ("POST", "/api/v1/namespaces/prod/pods") in [(r.method, r.path) for r in api.requests]
    assert {r.path.split("/")[1] for r in api.requests} == {"api", "apis"}


def test_zone_labels_win_over_the_probe_label(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(echo_answers(FIELD_IPS))
    selector = {"matchLabels": {"app.kubernetes.io/name": "web"}}

    (result,) = run(kube, outputs("prod", podSelector=selector))

    assert result.passed
    assert api.created[0]["metadata"]["labels"] == {"app.kubernetes.io/name": "web"}


def test_probe_names_are_unique(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(echo_answers(FIELD_IPS))
    for _ in range(3):
        run(kube, outputs("prod"))

    assert len({pod["metadata"]["name"] for pod in api.created}) == 3


def test_a_node_ip_is_a_failure(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(echo_answers({"prod": NODE_IP}))

    (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert (result.expected_ip, result.seen_ip) == ("10.100.5.10", NODE_IP)
    assert f"saw {NODE_IP}, but Egress egress-prod has 10.100.5.10" in result.detail
    assert_probe_pods_deleted(api)


def test_a_pod_that_never_finishes_times_out(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(PodRun.never_finishes())
    sleep = FakeSleep()

    (result,) = run(
        kube,
        outputs("prod"),
        timeout=0.3,
        poll_interval=0.1,
        sleep=sleep,
    )

    assert not result.passed
    assert result.seen_ip is None
    assert result.expected_ip == "10.100.5.10"
    assert re.search(r"did not finish within 0.3s \(still Running\)", result.detail)
    assert sum(sleep.calls) == pytest.approx(0.3)
    assert_probe_pods_deleted(api)


def test_a_pod_that_cannot_pull_its_image_says_so(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(PodRun.stays_pending("ImagePullBackOff"))

    (result,) = run(kube, outputs("prod"), timeout=2)

    assert not result.passed
    assert "did not finish within 2s (still Pending, ImagePullBackOff)" in result.detail
    assert_probe_pods_deleted(api)


def test_the_wait_polls_until_the_pod_completes(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(PodRun.succeeds("Requester IP: 10.100.5.10\n", running_reads=4))
    sleep = FakeSleep()

    (result,) = run(kube, outputs("prod"), poll_interval=2.0, sleep=sleep)

    assert result.passed
    assert sleep.calls == [2.0] * 4  # Running four times, then Succeeded


def test_an_egress_without_an_ip_is_a_failure(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", None)
    api.play_pods(echo_answers({"prod": NODE_IP}))

    (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert result.expected_ip is None
    assert result.seen_ip == NODE_IP
    assert "Egress egress-prod has no assigned IP" in result.detail
    assert_probe_pods_deleted(api)


def test_an_egress_allocated_but_not_assigned_is_a_failure(
    api: FakeKubeApi, kube: KubeClient
) -> None:
    """antrea-controller writes `egressIP: ""` with IPAllocated before any Node holds it."""
    seed_egress(api, "prod", "10.100.5.10", assigned=False)
    api.play_pods(echo_answers({"prod": NODE_IP}))

    (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert result.expected_ip is None
    assert "IPAssigned condition is not True" in result.detail


def test_a_missing_egress_is_a_failure(api: FakeKubeApi, kube: KubeClient) -> None:
    api.play_pods(echo_answers(FIELD_IPS))

    (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert "Egress egress-prod not found" in result.detail
    assert_probe_pods_deleted(api)


def test_a_failed_pod_is_a_failure_with_curls_message(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    curl_error = "curl: (28) Connection timed out after 10002 milliseconds\n"
    api.play_pods(PodRun.fails(curl_error))

    (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert result.seen_ip is None
    assert "probe pod failed (exit code 28): curl: (28) Connection timed out" in result.detail
    assert_probe_pods_deleted(api)


def test_a_pod_past_its_deadline_names_the_reason(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(PodRun.killed("DeadlineExceeded"))

    (result,) = run(kube, outputs("prod"))

    assert "probe pod failed (DeadlineExceeded): (no output)" in result.detail
    assert_probe_pods_deleted(api)


def test_an_unparsable_answer_is_a_failure(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(PodRun.succeeds("<html>502 Bad Gateway</html>\n"))

    (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert result.seen_ip is None
    assert "no single 'Requester IP: <address>' line" in result.detail
    assert "502 Bad Gateway" in result.detail
    assert_probe_pods_deleted(api)


def test_api_errors_are_failures_not_exceptions(api: FakeKubeApi) -> None:
    access = KubeAccess.from_kubeconfig(api.kubeconfig(token="expired"))
    with KubeClient(access) as kube:
        (result,) = run(kube, outputs("prod"))

    assert not result.passed
    assert "HTTP 401" in result.detail
    assert "cannot read Egress egress-prod" in result.detail
    assert "the probe pod could not be deleted" in result.detail
    assert [r.method for r in api.requests] == ["POST", "GET", "DELETE"]
    assert result.leftover_namespace == "prod"
    assert cleanup_commands([result]) == [
        "kubectl -n prod delete pod -l app.kubernetes.io/name=egressctl-probe"
    ]


def test_cleanup_commands_one_per_namespace_with_the_kubeconfig() -> None:
    def result(zone: str, leftover: str | None) -> ProbeResult:
        return ProbeResult(zone, None, None, False, "x", leftover_namespace=leftover)

    results = [result("b", "team b"), result("a", "prod"), result("c", None), result("d", "prod")]

    assert cleanup_commands(results, "/home/me/guest config") == [
        "kubectl -n prod delete pod -l app.kubernetes.io/name=egressctl-probe "
        "--kubeconfig '/home/me/guest config'",
        "kubectl -n 'team b' delete pod -l app.kubernetes.io/name=egressctl-probe "
        "--kubeconfig '/home/me/guest config'",
    ]
    assert cleanup_commands([result("c", None)]) == []


def test_deleted_probe_pods_leave_nothing_to_clean_up(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(echo_answers(FIELD_IPS))

    (result,) = run(kube, outputs("prod"))

    assert result.leftover_namespace is None


def test_the_probe_pod_is_deleted_when_interrupted(api: FakeKubeApi, kube: KubeClient) -> None:
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(PodRun.never_finishes())

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(kube, outputs("prod"), sleep=interrupted)

    assert_probe_pods_deleted(api)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "-K/etc/passwd",
        "http://echo /",
        "http://echo/\n",
        "file:///etc/passwd",
        "gopher://echo:70/",
        "echo:88",
        "//echo:88/",
        "http://",
        "https://:88/",
        "http://echo:99999/",
    ],
)
def test_an_unusable_echo_url_is_refused_before_anything_runs(
    api: FakeKubeApi, kube: KubeClient, url: str
) -> None:
    with pytest.raises(ValueError, match="echo URL"):
        verify_zones(kube, probes_from_outputs(outputs("prod")), url)

    assert api.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://192.168.178.222:88",
        "http://192.168.178.222:88/",
        "https://echo.example/ip?format=text",
        "HTTP://[2001:db8::1]:88/",
        "http://user@echo.example/",
    ],
)
def test_http_and_https_urls_with_a_host_are_accepted(
    api: FakeKubeApi, kube: KubeClient, url: str
) -> None:
    check_echo_url(url)  # no ValueError, and the probe pod curls exactly that URL
    seed_egress(api, "prod", FIELD_IPS["prod"])
    api.play_pods(echo_answers(FIELD_IPS))
    (result,) = verify_zones(kube, probes_from_outputs(outputs("prod")), url)
    assert result.passed
    (pod,) = api.created
    assert pod["spec"]["containers"][0]["command"][-1] == url


def test_no_probes_no_requests(api: FakeKubeApi, kube: KubeClient) -> None:
    assert verify_zones(kube, [], ECHO_URL) == []
    assert api.requests == []


# --- the echo server's answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("Requester IP: 10.100.5.10\n", "10.100.5.10"),
        ("Requester IP: 10.100.5.10\r\n", "10.100.5.10"),
        ("Requester IP: 2001:db8::10\n", "2001:db8::10"),
        ("Requester IP: ::ffff:10.100.5.130\n", "10.100.5.130"),
        ("Requester IP: 10.100.5.10\nRequester IP: 10.100.5.10\n", "10.100.5.10"),
        ("Requester IP: 10.100.5.10\nRequester IP: 10.100.5.11\n", None),
        ("Requester IP: 999.100.5.10\n", None),
        ("Requester IP: 10.100.5.10 via proxy\n", None),
        ('{"requester_ip":"10.100.5.10"}', None),
        ("requester ip: 10.100.5.10\n", None),
        ("", None),
    ],
)
def test_parse_requester_ip(log: str, expected: str | None) -> None:
    assert parse_requester_ip(log) == expected


# --- rendering -------------------------------------------------------------------------------


def test_render_results_shows_pass_and_fail_verbatim() -> None:
    results = [
        ProbeResult("prod", "10.100.5.10", "10.100.5.10", True, "the echo server saw it"),
        ProbeResult("staging", "10.100.5.130", None, False, "log: [bold]curl: (7)[/bold]"),
    ]
    console = Console(record=True, width=200, color_system=None)

    console.print(render_results(results))

    text = console.export_text()
    assert re.search(r"prod .*10\.100\.5\.10 .*10\.100\.5\.10 .*PASS", text)
    assert re.search(r"staging .*10\.100\.5\.130 .*- .*FAIL .*\[bold\]curl: \(7\)\[/bold\]", text)
