"""Replays what terraform-provider-nsxt sends for the lab's NO_SNAT rule (nsxsim/TERRAFORM.md).

`TerraformNsxt` builds each request as the provider's two HTTP clients do: go-vmware-nsxt for
`POST /api/session/create` at configure time, and the vAPI REST connector (HTTP Basic plus the
session's `Cookie` and `X-XSRF-TOKEN`) for the version check and the NAT rule itself.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from nsxsim import DEFAULT_NSX_VERSION, LAB, LAB_STACK, NsxSimulator
from tests.nsxsim.conftest import api, expect_error

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

RULE_ID = LAB_STACK.no_snat_rule_id()
RULE_PATH = api(f"{LAB.tier1_path}/nat/USER/nat-rules/{RULE_ID}")
VERSION_PATH = "/api/v1/node/version"
SESSION_PATH = "/api/session/create"
# go-vmware-nsxt keeps the first Set-Cookie value's JSESSIONID up to its ';' as the Cookie.
_COOKIE_RE = re.compile(r"JSESSIONID=.*?;")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TerraformNsxt:
    """The provider's requests with default settings (session_auth true, no license keys)."""

    def __init__(self, sim: NsxSimulator, *, user: str, password: str) -> None:
        self.http = httpx.Client(base_url=sim.base_url, verify=sim.client_ssl_context(), timeout=5)
        self.user, self.password = user, password
        self.session_headers: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def create_session(self, *, current: bool = True) -> httpx.Response:
        """Current: configureNsxtClient URL-escapes both (Go url.QueryEscape) and go-vmware-nsxt
        sends them in a form and in its Basic header. Older: raw Basic, no form (no escaping)."""
        user, password = self.user, self.password
        if current:
            user, password = quote_plus(user), quote_plus(password)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "terraform-provider-nsxt",
            "Authorization": _basic(user, password),
        }
        form = f"j_username={user}&j_password={password}" if current else ""
        response = self._send("POST", SESSION_PATH, headers, form.encode())
        cookie = _COOKIE_RE.search(response.headers.get("set-cookie", ""))
        if cookie is not None:
            self.session_headers["Cookie"] = cookie.group(0)
        if "x-xsrf-token" in response.headers:
            self.session_headers["X-XSRF-TOKEN"] = response.headers["x-xsrf-token"]
        return response

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        # The policy connector authenticates with the unescaped password on every request.
        headers = {"Authorization": _basic(self.user, self.password), **self.session_headers}
        content = b""
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        return self._send(method, path, headers, content)

    def configure(self) -> str:
        """providerConfigure: session, then the version (twice when the framework half runs)."""
        assert self.create_session().status_code == 200
        versions = {self.call("GET", VERSION_PATH).json()["node_version"] for _ in range(2)}
        (version,) = versions
        return str(version)

    def _send(
        self, method: str, path: str, headers: dict[str, str], content: bytes
    ) -> httpx.Response:
        response = self.http.request(method, path, headers=headers, content=content)
        # Go clients keep no cookie jar: only the headers above may carry the session.
        self.http.cookies.clear()
        return response


@pytest.fixture
def terraform(sim: NsxSimulator) -> Iterator[TerraformNsxt]:
    provider = TerraformNsxt(sim, user=sim.username, password=sim.password)
    yield provider
    provider.close()


def _rule_body(**changes: Any) -> dict[str, Any]:
    """The PATCH body of resourceNsxtPolicyNATRuleCreate/Update for the lab zone's rule."""
    body: dict[str, Any] = {
        "id": RULE_ID,
        "display_name": RULE_ID,
        "description": f"Antrea egress zone {LAB_STACK.zone}: its subnet leaves unchanged",
        "tags": [
            {"scope": "antrea-egress/cluster", "tag": "lab/tkc-lab01"},
            {"scope": "antrea-egress/zone", "tag": "lab"},
            {"scope": "antrea-egress/managed-by", "tag": "pulumi"},
        ],
        "action": "NO_SNAT",
        "source_network": "10.100.6.0/28",
        "enabled": True,
        "logging": False,
        "sequence_number": 0,
        # Always sent, "" when unset; scope is an empty list; empty network lists are omitted.
        "service": "",
        "scope": [],
        "firewall_match": "BYPASS",
    }
    return {**body, **changes}


def _assert_read_back(rule: dict[str, Any], sent: dict[str, Any], revision: int) -> None:
    """Every field resourceNsxtPolicyNATRuleRead copies into state."""
    for field in (
        "display_name",
        "description",
        "tags",
        "action",
        "enabled",
        "firewall_match",
        "logging",
        "sequence_number",
        "service",
        "source_network",
        "scope",
    ):
        assert rule[field] == sent[field], field
    assert rule["path"] == f"{LAB.tier1_path}/nat/USER/nat-rules/{RULE_ID}"
    assert rule["_revision"] == revision
    # Absent fields read back as empty: no translation, no destination, no VPN mode for NO_SNAT.
    for absent in (
        "destination_network",
        "translated_network",
        "translated_ports",
        "policy_based_vpn_mode",
    ):
        assert absent not in rule, absent


def test_configure_creates_a_session_and_reads_the_version(
    terraform: TerraformNsxt, sim: NsxSimulator
) -> None:
    response = terraform.create_session()
    assert response.status_code == 200
    assert terraform.session_headers["Cookie"].startswith("JSESSIONID=")
    assert terraform.session_headers["X-XSRF-TOKEN"]
    version = terraform.call("GET", VERSION_PATH)
    assert version.status_code == 200
    assert version.json() == {
        "node_version": DEFAULT_NSX_VERSION,
        "product_version": DEFAULT_NSX_VERSION,
    }
    assert DEFAULT_NSX_VERSION == "4.2.1.0.0.24304122"
    # util.NsxVersionHigherOrEqual("4.0.0") must hold for NSX 4.2.
    assert tuple(int(part) for part in version.json()["node_version"].split(".")[:3]) == (4, 2, 1)
    assert [(r.method, r.path, r.status, r.user) for r in sim.requests] == [
        ("POST", SESSION_PATH, 200, "admin"),
        ("GET", VERSION_PATH, 200, "admin"),
    ]
    assert sim.requests[0].body == {"j_username": "admin", "j_password": sim.password}


def test_older_session_create_with_only_basic_auth(terraform: TerraformNsxt) -> None:
    response = terraform.create_session(current=False)
    assert response.status_code == 200
    assert "Cookie" in terraform.session_headers
    assert terraform.call("GET", VERSION_PATH).status_code == 200


def test_failed_session_create_leaves_basic_auth_working(sim: NsxSimulator) -> None:
    # go-vmware-nsxt ignores session/create's status: without a cookie, Basic carries on.
    provider = TerraformNsxt(sim, user="admin", password="not-the-password")
    try:
        expect_error(provider.create_session(), 403, 403)
        assert provider.session_headers == {}
        provider.password = sim.password
        assert provider.call("GET", VERSION_PATH).status_code == 200
    finally:
        provider.close()


def test_special_characters_in_the_password_survive_the_escaping() -> None:
    with NsxSimulator(users={"admin": "pw&1! +%"}) as sim:
        provider = TerraformNsxt(sim, user="admin", password="pw&1! +%")
        try:
            assert provider.create_session().status_code == 200
            assert sim.requests[-1].body == {"j_username": "admin", "j_password": "pw&1! +%"}
            assert provider.call("GET", VERSION_PATH).status_code == 200
        finally:
            provider.close()


def test_version_endpoint_is_read_only_and_authenticated(
    sim: NsxSimulator, client: httpx.Client
) -> None:
    expect_error(client.post(VERSION_PATH, json={}), 405, 405)
    expect_error(client.get("/api/v1/node/versions"), 404, 600)
    with httpx.Client(base_url=sim.base_url, verify=sim.client_ssl_context()) as anonymous:
        expect_error(anonymous.get(VERSION_PATH), 403, 403)


def test_nsx_version_is_configurable() -> None:
    with NsxSimulator(nsx_version="3.2.3.0.0.21703624") as sim:
        provider = TerraformNsxt(sim, user=sim.username, password=sim.password)
        try:
            assert provider.configure() == "3.2.3.0.0.21703624"
            assert sim.nsx_version == "3.2.3.0.0.21703624"
        finally:
            provider.close()


def test_create_read_update_delete_of_the_lab_no_snat_rule(
    terraform: TerraformNsxt, sim: NsxSimulator
) -> None:
    assert terraform.configure() == DEFAULT_NSX_VERSION
    sim.clear_requests()

    # Create: nsx_id is set, so GET first and expect 404; PATCH; then Read.
    missing = expect_error(terraform.call("GET", RULE_PATH), 404, 600)
    assert missing["httpStatus"] == "NOT_FOUND"
    assert RULE_ID in missing["error_message"]
    created = terraform.call("PATCH", RULE_PATH, _rule_body())
    assert (created.status_code, created.content) == (200, b"")
    _assert_read_back(terraform.call("GET", RULE_PATH).json(), _rule_body(), revision=0)

    # Refresh: Read alone.
    _assert_read_back(terraform.call("GET", RULE_PATH).json(), _rule_body(), revision=0)

    # Update: the whole rule again, without _revision; then Read.
    changed = _rule_body(description="moved", sequence_number=10, tags=[])
    assert terraform.call("PATCH", RULE_PATH, changed).status_code == 200
    _assert_read_back(terraform.call("GET", RULE_PATH).json(), changed, revision=1)

    # Delete; a later refresh reads 404 (dropped from state), a repeated delete 404 (ignored).
    deleted = terraform.call("DELETE", RULE_PATH)
    assert (deleted.status_code, deleted.content) == (200, b"")
    expect_error(terraform.call("GET", RULE_PATH), 404, 600)
    expect_error(terraform.call("DELETE", RULE_PATH), 404, 600)

    assert [(r.method, r.path, r.status) for r in sim.requests] == [
        ("GET", RULE_PATH, 404),
        ("PATCH", RULE_PATH, 200),
        ("GET", RULE_PATH, 200),
        ("GET", RULE_PATH, 200),
        ("PATCH", RULE_PATH, 200),
        ("GET", RULE_PATH, 200),
        ("DELETE", RULE_PATH, 200),
        ("GET", RULE_PATH, 404),
        ("DELETE", RULE_PATH, 404),
    ]
    assert {r.user for r in sim.requests} == {"admin"}
    assert sim.requests[1].body == _rule_body()


def test_create_finds_an_existing_rule(terraform: TerraformNsxt) -> None:
    """A second create with the same nsx_id: the GET finds it and the provider stops."""
    terraform.configure()
    assert terraform.call("PATCH", RULE_PATH, _rule_body()).status_code == 200
    found = terraform.call("GET", RULE_PATH)
    assert found.status_code == 200
    assert found.json()["id"] == RULE_ID


def test_rule_without_firewall_match_and_with_two_networks(terraform: TerraformNsxt) -> None:
    # firewall_match "" is not sent at all; source_networks are joined with commas.
    body = _rule_body(source_network="10.100.6.0/28,10.100.7.0/28")
    del body["firewall_match"]
    terraform.configure()
    assert terraform.call("PATCH", RULE_PATH, body).status_code == 200
    rule = terraform.call("GET", RULE_PATH).json()
    assert rule["source_network"] == "10.100.6.0/28,10.100.7.0/28"
    assert "firewall_match" not in rule


def test_invalid_rule_is_refused_with_an_nsx_error(terraform: TerraformNsxt) -> None:
    # The provider retries 400 (its default retry_on_status_codes); every answer is the same.
    terraform.configure()
    bad = _rule_body(translated_network="192.0.2.10")
    for _ in range(2):
        expect_error(terraform.call("PATCH", RULE_PATH, bad), 400, 500001)
    expect_error(terraform.call("GET", RULE_PATH), 404, 600)
