"""memberOf / transitiveMemberOf / joinedTeams, and Teams (one state with the group view)."""
from __future__ import annotations

import pytest

from .conftest import EVENTUAL, GraphApi, assert_graph_error

LEAVER = "leaver@contoso.com"
SEED_TEAM = "e4183b04-c9a2-417c-bde4-70e3ee46a6dc"
RESULT_CONTEXT = "$metadata#Collection(microsoft.graph.aadUserConversationMemberResult)"


def bind(user, host="https://graph.microsoft.com"):
    return {"@odata.type": "microsoft.graph.aadUserConversationMember", "user@odata.bind": f"{host}/v1.0/users('{user}')"}


def test_member_of_tells_groups_aus_and_roles_apart(sim, api):
    items = api.all_pages(f"/users/{LEAVER}/memberOf")
    by_type = {}
    for item in items:
        by_type.setdefault(item["@odata.type"], set()).add(item["displayName"])
    assert by_type["#microsoft.graph.administrativeUnit"] == {"Germany", "All Users (dynamic)", "Executives"}
    assert by_type["#microsoft.graph.directoryRole"] == {"Helpdesk Administrator"}
    assert {"All Staff", "Platform Engineers", "Data Science Guild", "Helpdesk Admins"} <= by_type["#microsoft.graph.group"]
    assert "Engineering" not in by_type["#microsoft.graph.group"]  # only through Platform Engineers


def test_member_of_casts_and_select(sim, api):
    groups = api.all_pages(f"/users/{LEAVER}/memberOf/microsoft.graph.group",  # a cast is an advanced query (user-list-memberof)
                           params={"$select": "id,displayName,groupTypes,resourceProvisioningOptions", "$count": "true"}, headers=EVENTUAL)
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in groups)
    assert all(set(g) == {"@odata.type", "id", "displayName", "groupTypes", "resourceProvisioningOptions"} for g in groups)
    units = api.all_pages(f"/users/{sim.state.user_id(LEAVER)}/memberOf/microsoft.graph.administrativeUnit", params={"$count": "true"},
                          headers=EVENTUAL)
    assert sorted(u["displayName"] for u in units) == ["All Users (dynamic)", "Executives", "Germany"]
    assert_graph_error(api.get(f"/users/{LEAVER}/memberOf/microsoft.graph.device"), 400, "Request_UnsupportedQuery")
    assert_graph_error(api.get(f"/users/{LEAVER}/memberOf/microsoft.graph.team"), 400, "BadRequest")


def test_transitive_member_of_shows_residual_access(api):
    names = {g["displayName"] for g in api.all_pages(f"/users/{LEAVER}/transitiveMemberOf/microsoft.graph.group", params={"$count": "true"},
                                                     headers=EVENTUAL)}
    assert {"Engineering", "Platform Engineers"} <= names


def test_member_of_filter_needs_advanced_query(api):
    assert_graph_error(api.get(f"/users/{LEAVER}/memberOf", params={"$filter": "displayName eq 'Germany'"}),
                       400, "Request_UnsupportedQuery")
    answer = api.get(f"/users/{LEAVER}/memberOf", params={"$filter": "displayName eq 'Germany'", "$count": "true"},
                     headers={"ConsistencyLevel": "eventual"})
    assert [i["displayName"] for i in answer.json()["value"]] == ["Germany"]
    assert answer.json()["@odata.count"] == 1


def test_joined_teams(sim, api):
    teams = api.all_pages(f"/users/{LEAVER}/joinedTeams")
    assert sorted(t["displayName"] for t in teams) == ["Data Science Guild", "Platform Team", "Sales EMEA", "Support Rotation"]
    assert all(set(t) == {"id", "displayName", "description"} for t in teams)


def test_team_get_and_not_a_team(sim, api):
    team = api.get(f"/teams/{SEED_TEAM}")
    assert team.status_code == 200 and team.json()["displayName"] == "Project Falcon"
    sales = sim.state.id_of("group", "Sales")
    assert_graph_error(api.get(f"/teams/{sales}"), 404, "NotFound")


def test_team_members_roles_and_paging(graphsim_factory):
    small = graphsim_factory(page_size=2)
    api = GraphApi(small)
    guild = small.state.id_of("team", "Data Science Guild")
    members = api.all_pages(f"/teams/{guild}/members")
    assert len(members) == 3
    leaver = next(m for m in members if m["email"] == LEAVER)
    assert leaver["roles"] == ["owner"] and leaver["userId"] == small.state.user_id(LEAVER)
    assert leaver["@odata.type"] == "#microsoft.graph.aadUserConversationMember"
    assert leaver["id"] != leaver["userId"]  # opaque membership id
    assert all(m["roles"] == [] for m in members if m is not leaver)
    support = api.all_pages(f"/teams/{small.state.id_of('team', 'Support Rotation')}/members")
    assert [m["roles"] for m in support if m["displayName"].startswith("Carl")] == [["guest"]]


def test_seed_004_example_1_and_2_remove_by_id_and_upn(sim, api):
    jacob, alex = "18a80140-b0fb-4489-b360-2f6efaf225a0", "86503198-b81b-43fe-81ee-ad45b8848ac9"
    answer = api.post(f"/teams/{SEED_TEAM}/members/remove", json={"values": [bind(jacob), bind(alex)]})
    assert answer.status_code == 204 and answer.content == b""
    assert not sim.state.is_member(SEED_TEAM, jacob) and not sim.state.is_member(SEED_TEAM, alex)
    sim.reset()
    api = GraphApi(sim)
    answer = api.post(f"/teams/{SEED_TEAM}/members/remove", json={"values": [bind("jacob@contoso.com"), bind("alex@contoso.com")]})
    assert answer.status_code == 204
    assert sim.state.team_role(SEED_TEAM, jacob) is None
    assert sim.log[-1].bind_hosts == ["https://graph.microsoft.com", "https://graph.microsoft.com"]


def test_seed_004_example_3_partial_failure_is_207(sim, api):
    answer = api.post(f"/teams/{SEED_TEAM}/members/remove", json={"values": [
        bind("c04f28bf-ab68-40a2-974b-e6af31fa78fb"), bind("86503198-b81b-43fe-81ee-ad45b8848ac9")]})
    assert answer.status_code == 207
    body = answer.json()
    assert body["@odata.context"].endswith(RESULT_CONTEXT)
    assert body["value"] == [
        {"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": "c04f28bf-ab68-40a2-974b-e6af31fa78fb",
         "error": {"code": "NotFound", "message": "Could not find resource"}},
        {"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": "86503198-b81b-43fe-81ee-ad45b8848ac9",
         "error": None},
    ]


def test_last_owner_cannot_be_removed_but_a_co_owner_can(sim, api):
    leaver = sim.state.user_id(LEAVER)
    guild = sim.state.id_of("team", "Data Science Guild")
    answer = api.post(f"/teams/{guild}/members/remove", json={"values": [bind(leaver)]})
    assert answer.status_code == 207
    assert answer.json()["value"][0]["error"] == {
        "code": "BadRequest", "message": "The group must have at least one owner, hence this owner cannot be removed."}
    assert sim.state.team_role(guild, leaver) == "owner"
    platform = sim.state.id_of("team", "Platform Team")
    assert api.post(f"/teams/{platform}/members/remove", json={"values": [bind(leaver)]}).status_code == 204
    assert sim.state.team_role(platform, leaver) is None
    assert not sim.state.is_member(platform, leaver) and leaver not in sim.state.owners_of(platform)


def test_group_and_team_views_agree(sim, api):
    leaver = sim.state.user_id(LEAVER)
    support = sim.state.id_of("team", "Support Rotation")
    assert api.delete(f"/groups/{support}/members/{leaver}/$ref").status_code == 204
    assert leaver not in {m["userId"] for m in api.all_pages(f"/teams/{support}/members")}
    answer = api.post(f"/teams/{support}/members/remove", json={"values": [bind(leaver)]})
    assert answer.status_code == 207 and answer.json()["value"][0]["error"]["code"] == "NotFound"
    assert "Support Rotation" not in {t["displayName"] for t in api.all_pages(f"/users/{LEAVER}/joinedTeams")}


def test_add_members_and_owners(sim, api):
    sales_emea = sim.state.id_of("team", "Sales EMEA")
    priya, ada = sim.state.user_id("priya@contoso.com"), sim.state.user_id("ada@contoso.com")
    answer = api.post(f"/teams/{sales_emea}/members/add",
                      json={"values": [dict(bind(priya), roles=[]), dict(bind("ada@contoso.com"), roles=["owner"])]})
    assert answer.status_code == 200
    assert [r["error"] for r in answer.json()["value"]] == [None, None]
    assert sim.state.team_role(sales_emea, priya) == "member" and sim.state.team_role(sales_emea, ada) == "owner"
    again = api.post(f"/teams/{sales_emea}/members/add", json={"values": [dict(bind(priya), roles=[])]})
    assert again.status_code == 200 and sim.state.team_role(sales_emea, priya) == "member"


def test_add_refuses_guest_owner_and_unknown_user_per_member(sim, api):
    team = sim.state.id_of("team", "Sales EMEA")
    guest = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    answer = api.post(f"/teams/{team}/members/add", json={"values": [
        dict(bind(sim.state.user_id(guest)), roles=["owner"]), dict(bind("ghost@contoso.com"), roles=[]),
        dict(bind("priya@contoso.com"), roles=[])]})
    assert answer.status_code == 207
    errors = [r["error"] for r in answer.json()["value"]]
    assert errors[0]["code"] == "BadRequest" and errors[1] == {"code": "NotFound", "message": "Could not find resource"}
    assert errors[2] is None
    assert sim.state.team_role(team, sim.state.user_id(guest)) is None


def test_bulk_limits_and_body_validation(sim, api):
    team = sim.state.id_of("team", "Sales EMEA")
    users = list(sim.state.users)[:21]
    assert_graph_error(api.post(f"/teams/{team}/members/remove", json={"values": [bind(u) for u in users]}), 400, "BadRequest")
    assert sim.state.team_role(team, sim.state.user_id(LEAVER)) == "member"
    assert api.post(f"/teams/{team}/members/remove", json={"values": [bind(u) for u in users[:20]]}).status_code in (204, 207)
    assert_graph_error(api.post(f"/teams/{team}/members/remove", json={"values": []}), 400, "BadRequest")
    assert_graph_error(api.post(f"/teams/{team}/members/remove", json={"values": [{"user@odata.bind": "x"}]}), 400, "BadRequest")
    foreign = api.post(f"/teams/{team}/members/remove", json={"values": [bind(LEAVER, "https://graph.example.org")]})
    assert_graph_error(foreign, 400, "BadRequest")


@pytest.mark.parametrize("host", ["https://graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn"])
def test_national_cloud_bind_hosts_are_logged(sim, api, host):
    team = sim.state.id_of("team", "Sales EMEA")
    assert api.post(f"/teams/{team}/members/remove", json={"values": [bind(LEAVER, host)]}).status_code == 204
    assert sim.log[-1].bind_hosts == [host]


def test_team_writes_need_team_member_readwrite(sim):
    reader = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Read Only Auditor")))
    team = sim.state.id_of("team", "Sales EMEA")
    assert reader.get(f"/teams/{team}/members").status_code == 200
    assert_graph_error(reader.post(f"/teams/{team}/members/remove", json={"values": [bind(LEAVER)]}), 403,
                       "Authorization_RequestDenied")


def test_eventual_consistency_delays_what_reads_see(sim, api):
    sim.state.consistency_lag = 2
    leaver = sim.state.user_id(LEAVER)
    group = sim.state.id_of("group", "VPN Users")
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    assert not sim.state.is_member(group, leaver)  # the truth
    seen = [leaver in {m["id"] for m in api.all_pages(f"/groups/{group}/members")} for _read in range(3)]
    assert seen == [True, True, False]
    finance = sim.state.id_of("group", "Finance Approvers")
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{leaver}"}
    assert api.post(f"/groups/{finance}/members/$ref", json=body).status_code == 204
    seen = ["Finance Approvers" in {g["displayName"] for g in api.all_pages(f"/users/{leaver}/memberOf")} for _read in range(3)]
    assert seen == [False, False, True]


def test_snapshot_compares_after_remove_and_restore(sim, api):
    before = sim.state.snapshot()
    leaver = sim.state.user_id(LEAVER)
    platform = sim.state.id_of("team", "Platform Team")
    group = sim.state.id_of("group", "VPN Users")
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    assert api.post(f"/teams/{platform}/members/remove", json={"values": [bind(leaver)]}).status_code == 204
    assert sim.state.snapshot() != before
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{leaver}"}
    assert api.post(f"/groups/{group}/members/$ref", json=body).status_code == 204
    assert api.post(f"/teams/{platform}/members/add", json={"values": [dict(bind(leaver), roles=["owner"])]}).status_code == 200
    assert sim.state.snapshot() == before
