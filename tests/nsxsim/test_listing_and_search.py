"""Cursor pagination and the Lucene subset of /search/query."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nsxsim import LAB, NsxSimulator
from tests.nsxsim.conftest import api, child_body, expect_error, map_path, nat_path, serving_lab

# Every test here waits on the simulator: a hang fails within 15 s.
pytestmark = pytest.mark.timeout(15)

SEARCH = api("/search/query")


def _search(client: httpx.Client, query: str, **params: Any) -> dict[str, Any]:
    response = client.get(SEARCH, params={"query": query, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _paths(body: dict[str, Any]) -> list[str]:
    return [item["path"] for item in body["results"]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("/", "\\/").replace(":", "\\:")


def test_list_pages_with_cursor(client: httpx.Client, sim: NsxSimulator) -> None:
    for index in range(6):
        sim.seed_segment(f"seg-{index}", connectivity_path=None)
    seen: list[str] = []
    cursors: list[str] = []
    params: dict[str, Any] = {"page_size": 3}
    while True:
        page = client.get(api("/infra/segments"), params=params).json()
        assert page["result_count"] == 7  # the lab node segment plus six
        assert len(page["results"]) <= 3
        seen += _paths(page)
        if "cursor" not in page:
            break
        cursors.append(page["cursor"])
        params["cursor"] = page["cursor"]
    assert len(cursors) == 2
    assert seen == [LAB.node_segment_path] + [f"/infra/segments/seg-{i}" for i in range(6)]


def test_single_page_has_no_cursor(client: httpx.Client) -> None:
    page = client.get(api("/infra/segments")).json()
    assert "cursor" not in page
    assert page["result_count"] == 1


@pytest.mark.parametrize("params", [{"page_size": "1001"}, {"page_size": "-1"}, {"cursor": "x"}])
def test_bad_paging_parameters_are_400(client: httpx.Client, params: dict[str, str]) -> None:
    expect_error(client.get(api("/infra/segments"), params=params), 400, 500001)


def test_search_binding_maps_by_parent_segment_path(client: httpx.Client) -> None:
    for child_id, vlan in (("egress-prod", 110), ("egress-staging", 120)):
        client.patch(api(f"/infra/segments/{child_id}"), json=child_body())
        body = {"segment_path": LAB.node_segment_path, "vlan_traffic_tag": vlan}
        client.patch(api(map_path(child_id, "bm")), json=body)
    query = (
        "resource_type:SegmentConnectionBindingMap AND "
        f"segment_path:{_escape(LAB.node_segment_path)}"
    )
    found = _search(client, query)
    assert found["result_count"] == 2
    assert sorted(m["vlan_traffic_tag"] for m in found["results"]) == [110, 120]
    other = _search(client, query.replace("vnet_", "vnet_x"))
    assert other["result_count"] == 0


def test_search_by_tag_scope_and_value_of_one_tag(client: httpx.Client, sim: NsxSimulator) -> None:
    query = (
        f"resource_type:Segment AND tags.scope:{_escape('ncp/cluster')} "
        f"AND tags.tag:{_escape(LAB.cluster_id)}"
    )
    assert _paths(_search(client, query)) == [LAB.node_segment_path]
    # scope of one tag with the value of another tag must not match.
    crossed = f"tags.scope:{_escape('ncp/cluster')} AND tags.tag:{LAB.vnet_uid}"
    assert _search(client, crossed)["result_count"] == 0
    by_vnet = f"resource_type:Segment AND tags.scope:ncp\\/vnet_uid AND tags.tag:{LAB.vnet_uid}"
    assert _paths(_search(client, by_vnet)) == [LAB.node_segment_path]
    sim.seed_segment("untagged", connectivity_path=None)
    assert _search(client, "resource_type:Segment")["result_count"] == 2


def test_search_quoted_values(client: httpx.Client) -> None:
    query = f'resource_type:Segment AND tags.tag:"{LAB.cluster_id}"'
    assert _paths(_search(client, query)) == [LAB.node_segment_path]
    by_id = f'id:"{LAB.node_segment_id}" AND unique_id:{LAB.node_segment_unique_id}'
    assert _search(client, by_id)["result_count"] == 1


def test_search_covers_tier1s_and_nat_rules_but_not_ports(client: httpx.Client) -> None:
    rule = {"action": "NO_SNAT", "source_network": "10.100.5.0/25"}
    client.patch(api(nat_path("nosnat-prod")), json=rule)
    assert _paths(_search(client, "resource_type:Tier1")) == [LAB.tier1_path]
    assert _paths(_search(client, "resource_type:PolicyNatRule")) == [nat_path("nosnat-prod")]
    assert _search(client, "resource_type:SegmentPort")["result_count"] == 0
    parent = f"parent_path:{_escape(LAB.tier1_path + '/nat/USER')}"
    assert _search(client, parent)["result_count"] == 1


def test_search_is_paged(client: httpx.Client, sim: NsxSimulator) -> None:
    for index in range(4):
        sim.seed_segment(f"s{index}", connectivity_path=None)
    first = _search(client, "resource_type:Segment", page_size=2)
    assert (first["result_count"], len(first["results"]), first["cursor"]) == (5, 2, "2")
    last = _search(client, "resource_type:Segment", page_size=2, cursor="4")
    assert len(last["results"]) == 1
    assert "cursor" not in last


def _bind_two_children(client: httpx.Client) -> list[str]:
    """Children egress-prod/-staging with a map on the lab node segment; returns the map paths."""
    paths: list[str] = []
    for child_id, vlan in (("egress-prod", 110), ("egress-staging", 120)):
        client.patch(api(f"/infra/segments/{child_id}"), json=child_body())
        body = {"segment_path": LAB.node_segment_path, "vlan_traffic_tag": vlan}
        response = client.patch(api(map_path(child_id, "bm")), json=body)
        assert response.status_code == 200, response.text
        paths.append(map_path(child_id, "bm"))
    return paths


def test_search_or_of_groups_matches_any_group(client: httpx.Client) -> None:
    map_paths = _bind_two_children(client)
    client.patch(api("/infra/segments/egress-x"), json=child_body())
    query = (
        "(resource_type:SegmentConnectionBindingMap AND "
        f"segment_path:{_escape(LAB.node_segment_path)}) "
        "OR (resource_type:Segment AND id:egress-x)"
    )
    found = _search(client, query)
    # Store (creation) order, as for a single AND group.
    assert _paths(found) == [*map_paths, "/infra/segments/egress-x"]
    assert found["result_count"] == 3
    # Paging applies to the union.
    first = _search(client, query, page_size=2)
    assert (_paths(first), first["cursor"]) == (map_paths, "2")
    rest = _search(client, query, page_size=2, cursor="2")
    assert _paths(rest) == ["/infra/segments/egress-x"]
    assert "cursor" not in rest


def test_search_objects_matching_several_groups_appear_once(client: httpx.Client) -> None:
    client.patch(api("/infra/segments/egress-x"), json=child_body())
    query = "(resource_type:Segment) OR (id:egress-x) OR (resource_type:Segment AND id:egress-x)"
    found = _search(client, query)
    assert _paths(found) == [LAB.node_segment_path, "/infra/segments/egress-x"]
    assert found["result_count"] == 2


def test_search_group_matching_nothing_contributes_nothing(client: httpx.Client) -> None:
    _bind_two_children(client)
    query = "(resource_type:Tier1) OR (resource_type:Segment AND id:no-such-segment)"
    assert _paths(_search(client, query)) == [LAB.tier1_path]
    nothing = "(resource_type:Segment AND id:nope) OR (resource_type:PolicyNatRule)"
    assert _search(client, nothing)["result_count"] == 0
    # A single parenthesized group behaves like the bare conjunction.
    single = f"(resource_type:Segment AND id:{LAB.node_segment_id})"
    assert _paths(_search(client, single)) == [LAB.node_segment_path]


def test_search_escaped_or_quoted_parentheses_belong_to_the_value(client: httpx.Client) -> None:
    response = client.patch(
        api("/infra/segments/egress-x"), json=child_body(display_name="egress (prod)")
    )
    assert response.status_code == 200, response.text
    escaped = "display_name:egress\\ \\(prod\\)"
    assert _paths(_search(client, escaped)) == ["/infra/segments/egress-x"]
    in_group = f"(resource_type:Segment AND {escaped}) OR (resource_type:Tier1)"
    assert _paths(_search(client, in_group)) == [LAB.tier1_path, "/infra/segments/egress-x"]
    quoted = '(display_name:"egress (prod)") OR (id:"(none)")'
    assert _paths(_search(client, quoted)) == ["/infra/segments/egress-x"]
    # A lone escaped parenthesis is a value character, not an unbalanced group.
    lone = "(resource_type:Segment AND display_name:egress\\ \\(prod) OR (id:egress-x)"
    assert _paths(_search(client, lone)) == ["/infra/segments/egress-x"]
    assert _search(client, "display_name:egress\\ \\(prod")["result_count"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "(resource_type:Segment",
        "resource_type:Segment)",
        "(resource_type:Segment) OR (id:egress-x",
        "(resource_type:Segment AND id:egress-x\\)",  # the only ')' is escaped
        "((resource_type:Segment))",
        "(resource_type:Segment AND (id:egress-x))",
        "resource_type:Tier1 OR (resource_type:Segment)",
        "(resource_type:Segment) OR resource_type:Tier1",
        "(resource_type:Segment) AND (resource_type:Tier1)",
        "(resource_type:Segment) (resource_type:Tier1)",
        "(resource_type:Segment) OR",
        "(resource_type:Segment OR resource_type:Tier1)",
        "()",
        "(resource_type:Segment) OR ()",
    ],
)
def test_bad_parenthesized_query_is_400(client: httpx.Client, query: str) -> None:
    expect_error(client.get(SEARCH, params={"query": query}), 400, 500001)


@pytest.mark.parametrize(
    "query",
    [
        "resource_type:Segment OR resource_type:Tier1",
        f"segment_path:{LAB.node_segment_path}",  # unescaped '/'
        "tags.tag:domain-c8:0c9a",  # unescaped ':'
        "display_name:egress*",
        "resource_type:(Segment)",
        "color:blue",
        "Segment",
        "resource_type:",
        'display_name:"unbalanced',
        "",
    ],
)
def test_unsupported_query_syntax_is_400(client: httpx.Client, query: str) -> None:
    expect_error(client.get(SEARCH, params={"query": query}), 400, 500001)


def test_search_hides_objects_marked_for_delete() -> None:
    with serving_lab(NsxSimulator(purge_delay=30)) as (_, http):
        http.patch(api("/infra/segments/gone"), json=child_body())
        http.delete(api("/infra/segments/gone"))
        assert _paths(_search(http, "resource_type:Segment")) == [LAB.node_segment_path]
