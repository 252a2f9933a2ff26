"""The throttling budget: Graph's identity and access limits as concepts/throttling-limits.md documents them.

Retry-After values are asserted exactly where the budget rounds them to a step far longer than a test can
stall (``retry_after_step``), so a slow machine cannot move them; time moves with ``sim.clock.advance``.
"""
from __future__ import annotations

import pytest

from graphsim.budget import Limit, request_cost, size_of_tenant

from .conftest import GraphApi, token_for

LEAVER = "leaver@contoso.com"
# Groups the demo tenant's leaver is a direct member of and that Graph lets an app change.
WRITABLE = ["All Staff", "VPN Users", "Legacy App Access", "Marketing"]
TENANT_ID = "5f05f919-8064-5752-a786-c6a84cf7853b"


def app_writes(quota, window=150.0):
    return Limit("app_tenant_writes", "Tenant_Application", "Write", quota, window, "WriteLimitExceeded")


def tenant_writes(quota, window=300.0):
    return Limit("tenant_writes", "Tenant", "Write", quota, window, "WriteLimitExceeded")


def resource_units(quota, window=10.0):
    return Limit("app_tenant_resource_units", "Tenant_Application", "ReadWrite", quota, window, "ResourceUnitLimitExceeded")


def removal_path(sim, group, upn=LEAVER):
    return f"/groups/{sim.state.id_of('group', group)}/members/{sim.state.user_id(upn)}/$ref"


# -- the cost table (includes/throttling-identity-and-access.md) ---------------------------------------------------


@pytest.mark.parametrize("method, path, query, cost", [
    ("GET", "/v1.0/users", {}, (2, 0)),                                              # listed: GET users 2
    ("GET", "/v1.0/users", {"$filter": "x", "$select": "id"}, (1, 0)),                # $select -1
    ("GET", "/v1.0/users/ada@contoso.com", {}, (1, 0)),                              # not listed: GET 1
    ("GET", "/v1.0/users/ada@contoso.com", {"$select": "id"}, (1, 0)),               # never below 1
    ("GET", "/v1.0/users/u1/memberOf", {}, (2, 0)),                                  # me/memberOf applies to users/{id}/
    ("GET", "/v1.0/users('ada@contoso.com')/transitiveMemberOf", {}, (2, 0)),
    ("GET", "/v1.0/users/u1/memberOf/microsoft.graph.group", {"$select": "id"}, (1, 0)),  # a cast costs like its collection
    ("GET", "/v1.0/groups/g1/members", {}, (3, 0)),
    ("GET", "/v1.0/groups/g1/members", {"$top": "5"}, (2, 0)),                       # $top under 20 -1
    ("GET", "/v1.0/groups/g1/members", {"$top": "20"}, (3, 0)),
    ("GET", "/v1.0/groups/g1/members", {"$expand": "x"}, (4, 0)),                    # $expand +1
    ("GET", "/v1.0/groups/g1/transitiveMembers", {}, (5, 0)),
    ("GET", "/beta/administrativeUnits/a1", {}, (1, 0)),
    ("DELETE", "/v1.0/groups/g1/members/u1/$ref", {}, (1, 1)),                       # a write: 1 resource unit, 1 write
    ("POST", "/v1.0/groups/g1/members/$ref", {}, (1, 1)),
    ("DELETE", "/v1.0/directory/administrativeUnits/a1/members/u1/$ref", {}, (1, 1)),
    ("PATCH", "/v1.0/users/u1", {}, (1, 1)),
    ("POST", "/v1.0/directoryObjects/getByIds", {}, (5, 0)),                         # a read by POST: no write
    ("POST", "/v1.0/directoryObjects/getByIds", {"$select": "id"}, (2, 0)),          # "results in 2 ResourceUnits"
    ("POST", "/v1.0/users/u1/checkMemberGroups", {}, (4, 0)),
])
def test_request_cost_follows_the_documented_table(method, path, query, cost):
    assert request_cost(method, path, query) == cost


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1.0/teams/t1/members/remove"),      # Microsoft Teams service limits, not identity
    ("GET", "/v1.0/teams/t1/members"),
    ("GET", "/v1.0/users/u1/joinedTeams"),
    ("POST", "/v1.0/$batch"),                      # the envelope: its items are counted one by one
    ("POST", "/contoso.com/oauth2/v2.0/token"),    # not Graph
])
def test_requests_outside_the_identity_budget_cost_nothing(method, path):
    assert request_cost(method, path, {}) is None


@pytest.mark.parametrize("users, size", [(1, "S"), (49, "S"), (50, "M"), (500, "M"), (501, "L"), (10_000, "L")])
def test_tenant_size_by_users_as_documented(users, size):
    assert size_of_tenant(users) == size


def test_documented_limits_for_the_demo_tenant_and_a_time_scale(sim):
    sim.set_budget({"time_scale": 20})
    limits = sim.budget.stats()["limits"]
    assert sim.budget.tenant_size == "S"  # 30 users
    assert {name: (limit["quota"], limit["window"]) for name, limit in limits.items()} == {
        "app_tenant_resource_units": (3_500, 10.0), "app_tenant_writes": (3_000, 150.0), "tenant_writes": (18_000, 300.0)}
    assert limits["app_tenant_writes"]["window_seconds"] == 7.5 and limits["app_tenant_writes"]["per_second"] == 400.0
    sim.set_budget({"quota_scale": 0.1, "tenant_size": "L"})
    assert sim.budget.stats()["limits"]["app_tenant_resource_units"]["quota"] == pytest.approx(800)


# -- refusals ------------------------------------------------------------------------------------------------------


def test_a_write_over_the_app_write_quota_is_refused_with_retry_after_and_not_carried_out(sim, api):
    sim.set_budget({"limits": [app_writes(3)], "retry_after_step": 10})
    answers = [api.delete(removal_path(sim, group)) for group in WRITABLE]
    assert [answer.status_code for answer in answers] == [204, 204, 204, 429]
    refused = answers[3]
    assert refused.headers["Retry-After"] == "50"  # one write comes back every 150 s / 3
    app_id = sim.app()["client_id"]
    assert refused.headers["x-ms-throttle-scope"] == f"Tenant_Application/Write/{app_id}/{TENANT_ID}"
    assert refused.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")  # concepts/throttling.md sample
    assert error["innerError"]["request-id"] == refused.headers["request-id"] and error["innerError"]["status"] == "429"
    group = sim.state.id_of("group", WRITABLE[3])
    assert sim.state.is_member(group, sim.state.user_id(LEAVER))  # refused before anything was done
    sim.clock.advance(50)
    assert api.delete(removal_path(sim, WRITABLE[3])).status_code == 204
    assert not sim.state.is_member(group, sim.state.user_id(LEAVER))


def test_batch_items_are_counted_one_by_one_and_the_batch_answers_200(sim, api):
    sim.set_budget({"limits": [app_writes(3)], "retry_after_step": 10})
    items = [{"id": str(n), "method": "DELETE", "url": removal_path(sim, group)} for n, group in enumerate(WRITABLE + ["Sales"])]
    answer = api.post("/$batch", json={"requests": items})
    assert answer.status_code == 200  # concepts/throttling.md: "The batch itself succeeds with a status code of 200"
    by_id = {item["id"]: item for item in answer.json()["responses"]}
    assert {key: item["status"] for key, item in by_id.items()} == {"0": 204, "1": 204, "2": 204, "3": 429, "4": 429}
    assert by_id["3"]["headers"]["Retry-After"] == "50" and by_id["4"]["headers"]["Retry-After"] == "50"
    assert by_id["3"]["headers"]["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert by_id["0"]["headers"]["x-ms-resource-unit"] == "1"
    assert sim.state.is_member(sim.state.id_of("group", WRITABLE[3]), sim.state.user_id(LEAVER))
    stats = sim.budget.stats()
    assert (stats["writes"], stats["throttled"], stats["throttled_by"]["app_tenant_writes"]) == (3, 2, 2)
    assert sim.log.count(in_batch=True, status=429) == 2 and sim.log.count(path_re=r"/\$batch$", status=200) == 1


def test_reads_spend_resource_units_by_the_cost_table_and_a_refused_read_still_spends_its_units(sim, api):
    sim.set_budget({"limits": [resource_units(5, window=1000.0)], "retry_after_step": 100})
    group = sim.state.id_of("group", "All Staff")
    first, second = api.get("/users"), api.get(f"/users/{LEAVER}")
    assert (first.headers["x-ms-resource-unit"], second.headers["x-ms-resource-unit"]) == ("2", "1")
    refused = api.get(f"/groups/{group}/members")  # 3 more: 6 > 5
    assert refused.status_code == 429
    assert refused.headers["x-ms-throttle-scope"].startswith("Tenant_Application/ReadWrite/")
    assert refused.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert refused.headers["Retry-After"] == "200"  # 1 unit short, 200 s a unit, in steps of 100 s
    # It spent the 2 units left (concepts/throttling.md: usage is logged while throttled): even 1 unit is refused now.
    assert api.get(f"/users/{LEAVER}").status_code == 429
    assert sim.budget.stats()["apps"][sim.app()["client_id"]]["resource_units"] == 3


def test_the_tenant_write_quota_is_shared_by_every_app(sim, api):
    sim.set_budget({"limits": [app_writes(10), tenant_writes(3)], "retry_after_step": 10})
    other_id = sim.state.id_of("app", "Restricted Offboarding")
    other = GraphApi(sim, token=token_for(sim, other_id))
    statuses = [api.delete(removal_path(sim, "All Staff")).status_code, other.delete(removal_path(sim, "VPN Users")).status_code,
                other.delete(removal_path(sim, "Legacy App Access")).status_code]
    refused = api.delete(removal_path(sim, "Marketing"))
    assert statuses == [204, 204, 204] and refused.status_code == 429
    assert refused.headers["x-ms-throttle-scope"] == f"Tenant/Write/{sim.app()['client_id']}/{TENANT_ID}"
    assert refused.headers["Retry-After"] == "100"  # 300 s / 3 a write
    apps = sim.budget.stats()["apps"]
    assert (apps[sim.app()["client_id"]]["writes"], apps[sim.app()["client_id"]]["throttled_writes"]) == (1, 1)
    assert (apps[other_id]["writes"], apps[other_id]["throttled"]) == (2, 0)


def test_time_scale_divides_the_retry_after(sim, api):
    sim.set_budget({"limits": [app_writes(1, window=15_000.0)], "time_scale": 100, "retry_after_step": 100})
    assert api.delete(removal_path(sim, "All Staff")).status_code == 204
    refused = api.delete(removal_path(sim, "VPN Users"))
    assert refused.headers["Retry-After"] == "150"  # 15,000 s of budget time at 100x
    assert sim.budget.stats()["limits"]["app_tenant_writes"]["window_seconds"] == 150


def test_admitted_answers_say_their_cost_and_when_the_limit_is_nearly_used(sim, api):
    sim.set_budget({"limits": [resource_units(10, window=1000.0)]})
    headers = [api.get(f"/users/{LEAVER}", params={"$select": "id"}).headers for _request in range(9)]
    assert {h["x-ms-resource-unit"] for h in headers} == {"1"}
    assert all("x-ms-throttle-limit-percentage" not in h for h in headers[:8])  # returned only above 0.8
    assert float(headers[8]["x-ms-throttle-limit-percentage"]) == pytest.approx(0.9, abs=0.01)


# -- what is and is not charged ------------------------------------------------------------------------------------


def test_teams_and_unauthenticated_requests_are_not_charged(sim):
    sim.set_budget({"limits": [app_writes(1)]})
    team = sim.state.id_of("team", "Support Rotation")
    api = GraphApi(sim)
    bind = f"https://graph.microsoft.com/v1.0/users('{sim.state.user_id(LEAVER)}')"
    body = {"values": [{"@odata.type": "microsoft.graph.aadUserConversationMember", "user@odata.bind": bind}]}
    assert api.post(f"/teams/{team}/members/remove", json=body).status_code == 204
    assert GraphApi(sim, token=False).get(f"/users/{LEAVER}").status_code == 401
    assert sim.budget.stats()["requests"] == 0
    assert api.delete(removal_path(sim, "All Staff")).status_code == 204  # the one write is still there


def test_off_by_default_and_reset_brings_the_constructor_budget_back_fresh(graphsim_factory):
    plain = graphsim_factory()
    assert plain.budget is None
    answer = GraphApi(plain).get(f"/users/{LEAVER}")
    assert "x-ms-resource-unit" not in answer.headers and "x-ms-throttle-limit-percentage" not in answer.headers
    sim = graphsim_factory(budget={"time_scale": 20})
    api = GraphApi(sim)
    assert api.delete(removal_path(sim, "All Staff")).status_code == 204
    assert sim.budget.stats()["writes"] == 1
    sim.set_budget(None)
    assert sim.budget is None
    sim.reset()
    assert sim.budget.time_scale == 20 and sim.budget.stats()["writes"] == 0


@pytest.mark.parametrize("setting", ["on", {"time_scale": 0}, {"tenant_size": "XL"}, {"quota_scale": -1}])
def test_a_bad_budget_setting_is_refused(sim, setting):
    with pytest.raises(ValueError):
        sim.set_budget(setting)


# -- counters for tests and benchmarks -----------------------------------------------------------------------------


def test_windows_timeline_and_utilization_count_admitted_writes_against_the_budget(sim, api):
    sim.set_budget({"limits": [app_writes(3, window=15_000.0), resource_units(100)]})
    statuses = [api.delete(removal_path(sim, group)).status_code for group in WRITABLE + ["Sales"]]
    assert statuses == [204, 204, 204, 429, 429]
    rows = sim.budget.windows()
    assert len(rows) == 1 and rows[0]["achieved"] == 3 and not rows[0]["complete"]
    assert rows[0]["allowed"] == pytest.approx(3, abs=0.01)  # the full bucket, plus a refill of 1 write per 5,000 s
    assert sim.budget.utilization() == pytest.approx(1.0, abs=0.01)
    timeline = sim.budget.timeline()
    assert sum(second["writes"] for second in timeline) == 3 and sum(second["throttled"] for second in timeline) == 2
    assert sum(second["resource_units"] for second in timeline) == 3
    with pytest.raises(ValueError):
        sim.budget.windows("app_tenant_resource_units")


def test_windows_follow_the_refill_of_each_window(sim, api):
    sim.set_budget({"limits": [app_writes(2, window=1000.0)], "retry_after_step": 100})
    assert [api.delete(removal_path(sim, group)).status_code for group in WRITABLE[:3]] == [204, 204, 429]
    sim.clock.advance(1000)  # the next window: its refill is 2 writes, the bucket is full again
    assert [api.delete(removal_path(sim, group)).status_code for group in WRITABLE[2:]] == [204, 204]
    rows = sim.budget.windows()
    assert [(row["window"], row["achieved"], row["complete"]) for row in rows] == [(0, 2, True), (1, 2, False)]
    assert rows[0]["allowed"] == pytest.approx(4)  # the full bucket plus a window's refill
