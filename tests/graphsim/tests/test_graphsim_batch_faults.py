"""$batch, paging, fault injection and latency."""
from __future__ import annotations

import pytest
import requests

from .conftest import GraphApi, assert_graph_error

LEAVER = "leaver@contoso.com"


def batch(api, requests_):
    return api.post("/$batch", json={"requests": requests_})


def ref_delete(sim, item_id, group_name, upn=LEAVER):
    group = sim.state.id_of("group", group_name)
    return {"id": item_id, "method": "DELETE", "url": f"/groups/{group}/members/{sim.state.user_id(upn)}/$ref"}


def test_batch_of_ref_deletes_answers_by_id_in_shuffled_order(sim, api):
    names = ["All Staff", "VPN Users", "Legacy App Access", "Platform Engineers", "Marketing", "Finance Approvers"]
    answer = batch(api, [ref_delete(sim, str(n), name) for n, name in enumerate(names)])
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert [r["id"] for r in responses] != [str(n) for n in range(len(names))]  # not in input order
    status = {r["id"]: r["status"] for r in responses}
    assert status == {"0": 204, "1": 204, "2": 204, "3": 204, "4": 204, "5": 404}  # not in Finance Approvers
    not_member = next(r for r in responses if r["id"] == "5")
    assert not_member["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert not_member["headers"]["Content-Type"].startswith("application/json")
    items = sim.log.filter(in_batch=True)
    assert len(items) == 6 and all(e.path.startswith("/v1.0/groups/") and e.path.endswith("/$ref") for e in items)
    assert len(sim.log.writes()) == 6  # the items, not the envelope
    assert {e.batch_id for e in items} == {str(n) for n in range(6)}


def test_batch_order_is_deterministic_by_seed(graphsim_factory):
    orders = []
    for _run in range(2):
        sim = graphsim_factory(seed=7)
        api = GraphApi(sim)
        answer = batch(api, [{"id": str(n), "method": "GET", "url": f"/users/{LEAVER}"} for n in range(10)])
        orders.append([r["id"] for r in answer.json()["responses"]])
    assert orders[0] == orders[1]


def test_batch_limits_and_ids(sim, api):
    too_many = [{"id": str(n), "method": "GET", "url": f"/users/{LEAVER}"} for n in range(21)]
    assert_graph_error(batch(api, too_many), 400, "BadRequest")
    assert_graph_error(batch(api, [{"id": "1", "method": "GET", "url": "/users"}] * 2), 400, "BadRequest")
    assert_graph_error(batch(api, [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]), 400, "BadRequest")
    assert_graph_error(api.post("/$batch", json={"no": "requests"}), 400, "BadRequest")
    assert len(batch(api, too_many[:20]).json()["responses"]) == 20
    assert sim.log.count(in_batch=True) == 20


def test_batch_item_with_body_needs_content_type_and_urls_are_relative(sim, api):
    group = sim.state.id_of("group", "Finance Approvers")
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{sim.state.user_id(LEAVER)}"}
    answer = batch(api, [
        {"id": "a", "method": "POST", "url": f"/groups/{group}/members/$ref", "body": body},
        {"id": "b", "method": "GET", "url": f"https://graph.microsoft.com/v1.0/users/{LEAVER}"},
        {"id": "c", "method": "POST", "url": f"groups/{group}/members/$ref", "body": body,
         "headers": {"Content-Type": "application/json"}},
    ])
    status = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert status == {"a": 400, "b": 400, "c": 204}
    assert sim.state.is_member(group, sim.state.user_id(LEAVER))


def test_depends_on_failure_gives_424(sim, api):
    answer = batch(api, [
        {"id": "1", "method": "GET", "url": "/users/ghost@contoso.com"},
        {"id": "2", "method": "GET", "url": f"/users/{LEAVER}", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": f"/users/{LEAVER}"},
    ])
    status = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert status == {"1": 404, "2": 424, "3": 200}


def test_batch_items_get_429_with_retry_after_inside_a_200(sim, api):
    sim.faults.add(429, rate=1.0, path_re=r"/members/.*/\$ref$", retry_after=2.5, limit=2)
    answer = batch(api, [ref_delete(sim, str(n), name) for n, name in enumerate(["All Staff", "VPN Users", "Marketing"])])
    assert answer.status_code == 200
    throttled = [r for r in answer.json()["responses"] if r["status"] == 429]
    assert len(throttled) == 2 and all(r["headers"]["Retry-After"] == "2.5" for r in throttled)
    assert all(r["body"]["error"]["code"] == "TooManyRequests" for r in throttled)
    assert sim.log.count(in_batch=True, status=429) == 2
    leaver = sim.state.user_id(LEAVER)
    assert sum(sim.state.is_member(sim.state.id_of("group", n), leaver) for n in ["All Staff", "VPN Users", "Marketing"]) == 2


def test_batch_items_use_the_envelope_token(sim):
    anonymous = GraphApi(sim, token=False)
    answer = anonymous.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": f"/users/{LEAVER}"}]})
    assert answer.status_code == 200 and answer.json()["responses"][0]["status"] == 401


@pytest.mark.parametrize("kind, code", [(429, "TooManyRequests"), (503, "ServiceUnavailable"), (504, "GatewayTimeout")])
def test_status_faults(sim, api, kind, code):
    sim.faults.add(kind, rate=1.0, path_re=r"/groups/", retry_after=1 if kind != 504 else None, limit=1)
    group = sim.state.id_of("group", "VPN Users")
    leaver = sim.state.user_id(LEAVER)
    first = api.delete(f"/groups/{group}/members/{leaver}/$ref")
    assert_graph_error(first, kind, code)
    assert first.headers.get("Retry-After") == ("1" if kind != 504 else None)
    assert sim.state.is_member(group, leaver)  # nothing was carried out
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    assert [e.fault for e in sim.log.filter(method="DELETE")] == [kind, None]


def test_reset_fault_aborts_the_connection_before_doing_anything(sim, api):
    sim.faults.add("reset", rate=1.0, path_re=r"/\$ref$", limit=1)
    group = sim.state.id_of("group", "VPN Users")
    leaver = sim.state.user_id(LEAVER)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.delete(f"/groups/{group}/members/{leaver}/$ref")
    assert sim.state.is_member(group, leaver)
    assert sim.log[-1].fault == "reset" and sim.log[-1].status is None
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204


def test_truncate_fault_carries_out_the_request_then_cuts_the_answer(sim, api):
    sim.faults.add("truncate", rate=1.0, path_re=r"/memberOf$", limit=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        api.get(f"/users/{LEAVER}/memberOf").json()
    assert sim.log[-1].fault == "truncate" and sim.log[-1].status == 200
    sim.faults.add("truncate", rate=1.0, path_re=r"/\$ref$", limit=1)
    group = sim.state.id_of("group", "VPN Users")
    leaver = sim.state.user_id(LEAVER)
    try:
        api.delete(f"/groups/{group}/members/{leaver}/$ref")
    except requests.exceptions.RequestException:
        pass
    assert not sim.state.is_member(group, leaver)  # the write happened, only the answer was lost
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 404


def test_fault_rates_are_deterministic_by_seed(graphsim_factory):
    patterns = []
    for _run in range(2):
        sim = graphsim_factory()
        sim.faults.add(429, rate=0.5, path_re=r"/users/", seed=42)
        api = GraphApi(sim)
        patterns.append([api.get(f"/users/{LEAVER}").status_code for _request in range(12)])
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {200, 429}


def test_faults_validate_their_arguments(sim):
    with pytest.raises(ValueError, match="fault kind"):
        sim.faults.add(500)
    with pytest.raises(ValueError, match="rate"):
        sim.faults.add(429, rate=2)


def test_latency_is_applied_and_requests_still_succeed(sim, api):
    sim.latency = 0.01
    assert api.get(f"/users/{LEAVER}").status_code == 200
    assert sim.latency == 0.01


def test_paging_next_links_top_count_and_skiptoken(graphsim_factory):
    sim = graphsim_factory(page_size=5)
    api = GraphApi(sim)
    first = api.get("/users").json()
    assert len(first["value"]) == 5
    assert first["@odata.nextLink"].startswith(f"{sim.base_url}/v1.0/users?$skiptoken=")
    everyone = api.all_pages("/users")
    assert len(everyone) == len(sim.state.users) and len({u["id"] for u in everyone}) == len(everyone)
    assert len(api.get("/users", params={"$top": "3"}).json()["value"]) == 3
    assert len(api.get("/users", params={"$top": "999"}).json()["value"]) == 5  # $top cannot raise the page size
    assert_graph_error(api.get("/users", params={"$top": "1000"}), 400, "Request_BadRequest")
    # aad-advanced-queries.md: without ConsistencyLevel, Graph "silently ignores the $count query parameter".
    uncounted = api.get("/users", params={"$count": "true"})
    assert uncounted.status_code == 200 and "@odata.count" not in uncounted.json()
    counted = api.get("/users", params={"$count": "true"}, headers={"ConsistencyLevel": "eventual"}).json()
    assert counted["@odata.count"] == len(sim.state.users)
    assert "$count=true" in counted["@odata.nextLink"]
    second = api.get(counted["@odata.nextLink"])  # no ConsistencyLevel header: the skiptoken carries the advanced query
    assert second.status_code == 200 and second.json()["@odata.count"] == len(sim.state.users)
    assert_graph_error(api.get("/users", params={"$skiptoken": "garbage!"}), 400, "Request_BadRequest")
    filtered = api.all_pages("/users", params={"$filter": "startswith(userPrincipalName, 'a')"})
    assert sorted(u["userPrincipalName"] for u in filtered) == ["ada@contoso.com", "alan@contoso.com", "alex@contoso.com",
                                                                "annie@contoso.com"]
