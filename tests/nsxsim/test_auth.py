"""HTTP Basic on every call; JSESSIONID + X-XSRF-TOKEN sessions; 403/403 and 403/98."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, expect_error

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

CREDENTIALS_MESSAGE = "The credentials were incorrect or the account specified has been locked."


@pytest.fixture
def anonymous(sim: NsxSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, verify=sim.client_ssl_context(), timeout=5.0) as http:
        yield http


def _login(http: httpx.Client, user: str, password: str) -> httpx.Response:
    return http.post("/api/session/create", data={"j_username": user, "j_password": password})


def test_basic_auth_with_good_credentials(client: httpx.Client, sim: NsxSimulator) -> None:
    assert client.get(api(LAB.node_segment_path)).status_code == 200
    assert sim.requests[-1].user == sim.username


@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "Sim-Passw0rd!"), None])
def test_bad_or_missing_basic_auth_is_403_403(
    anonymous: httpx.Client, sim: NsxSimulator, auth: tuple[str, str] | None
) -> None:
    response = anonymous.get(api(LAB.node_segment_path), auth=auth)
    body = expect_error(response, 403, 403)
    assert body["httpStatus"] == "FORBIDDEN"
    assert body["error_message"] == CREDENTIALS_MESSAGE
    assert sim.requests[-1].user is None
    assert sim.requests[-1].status == 403


def test_several_users() -> None:
    simulator = NsxSimulator(users={"ops": "one", "audit": "two"})
    with simulator, httpx.Client(verify=simulator.client_ssl_context()) as http:
        assert (simulator.username, simulator.password) == ("ops", "one")
        url = simulator.base_url + api("/infra/segments")
        assert http.get(url, auth=("audit", "two")).status_code == 200
        assert http.get(url, auth=("audit", "one")).status_code == 403
        assert [r.user for r in simulator.requests] == ["audit", None]


def test_session_create_sets_cookie_and_xsrf_token(anonymous: httpx.Client) -> None:
    response = _login(anonymous, "admin", "Sim-Passw0rd!")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("JSESSIONID=")
    for attribute in ("Path=/", "Secure", "HttpOnly"):
        assert attribute in cookie
    assert response.headers["x-xsrf-token"]
    assert anonymous.cookies.get("JSESSIONID")


def test_session_with_cookie_and_xsrf_is_authenticated(
    anonymous: httpx.Client, sim: NsxSimulator
) -> None:
    token = _login(anonymous, "admin", "Sim-Passw0rd!").headers["x-xsrf-token"]
    response = anonymous.get(api(LAB.node_segment_path), headers={"X-XSRF-TOKEN": token})
    assert response.status_code == 200
    assert sim.requests[-1].user == "admin"
    patch = anonymous.patch(
        api("/infra/segments/s1"), json={"subnets": []}, headers={"X-XSRF-TOKEN": token}
    )
    assert patch.status_code == 200
    assert sim.get("/infra/segments/s1") is not None


def test_session_cookie_without_or_with_wrong_xsrf_is_403_98(anonymous: httpx.Client) -> None:
    _login(anonymous, "admin", "Sim-Passw0rd!")
    body = expect_error(anonymous.get(api("/infra/segments")), 403, 98)
    assert body["error_message"] == "Bad XSRF token"
    wrong = anonymous.get(api("/infra/segments"), headers={"X-XSRF-TOKEN": "guess"})
    expect_error(wrong, 403, 98)


def test_session_create_with_wrong_password_is_403(
    anonymous: httpx.Client, sim: NsxSimulator
) -> None:
    response = _login(anonymous, "admin", "nope")
    expect_error(response, 403, 403)
    assert "set-cookie" not in response.headers
    assert sim.requests[-1].body == {"j_username": "admin", "j_password": "nope"}


def test_expired_sessions_answer_98_until_recreated(
    anonymous: httpx.Client, sim: NsxSimulator
) -> None:
    token = _login(anonymous, "admin", "Sim-Passw0rd!").headers["x-xsrf-token"]
    headers = {"X-XSRF-TOKEN": token}
    assert anonymous.get(api("/infra/segments"), headers=headers).status_code == 200
    sim.expire_sessions()
    expect_error(anonymous.get(api("/infra/segments"), headers=headers), 403, 98)
    assert sim.requests[-1].user is None
    fresh = _login(anonymous, "admin", "Sim-Passw0rd!").headers["x-xsrf-token"]
    assert fresh != token
    response = anonymous.get(api("/infra/segments"), headers={"X-XSRF-TOKEN": fresh})
    assert response.status_code == 200


def test_session_destroy_ends_the_session(anonymous: httpx.Client) -> None:
    token = _login(anonymous, "admin", "Sim-Passw0rd!").headers["x-xsrf-token"]
    headers = {"X-XSRF-TOKEN": token}
    assert anonymous.post("/api/session/destroy", headers=headers).status_code == 200
    expect_error(anonymous.get(api("/infra/segments"), headers=headers), 403, 403)


def test_basic_auth_still_works_next_to_a_dead_session_cookie(anonymous: httpx.Client) -> None:
    token = _login(anonymous, "admin", "Sim-Passw0rd!").headers["x-xsrf-token"]
    anonymous.post("/api/session/destroy", headers={"X-XSRF-TOKEN": token})
    response = anonymous.get(api("/infra/segments"), auth=("admin", "Sim-Passw0rd!"))
    assert response.status_code == 200
