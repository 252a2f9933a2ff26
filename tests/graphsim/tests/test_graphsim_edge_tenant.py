"""The edge tenant (tenants/edge.yml): service principal members, a dynamic team, a restricted management unit."""
from __future__ import annotations

import pytest

from .conftest import EVENTUAL, GraphApi, assert_graph_error

LEAVER = "leaver@fabrikam.com"
SP_CAST = "microsoft.graph.servicePrincipal"


def names(items) -> list:
    return sorted(item["displayName"] for item in items)


def ref_body(oid: str) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{oid}"}


# -- service principals as group members (group-list-members: "a known issue where service principals are not
#    listed as group members in v1.0. Use this API on the beta endpoint instead or the /groups/{id}?$expand=members API")

def test_v1_group_members_leave_service_principals_out_as_the_known_issue_says(edge):
    group = edge.state.id_of("group", "Automation Accounts")
    v1 = GraphApi(edge).all_pages(f"/groups/{group}/members", params={"$select": "id,displayName"})
    assert names(v1) == ["Omar Operator"]


def test_beta_group_members_list_service_principals_with_their_type(edge):
    group = edge.state.id_of("group", "Automation Accounts")
    beta = GraphApi(edge, version="beta").all_pages(f"/groups/{group}/members")
    by_name = {item["displayName"]: item for item in beta}
    assert set(by_name) == {"Omar Operator", "Nightly Sync", "Edge Offboarding"}
    assert by_name["Nightly Sync"]["@odata.type"] == "#microsoft.graph.servicePrincipal"
    assert by_name["Nightly Sync"]["appId"] == edge.state.service_principals[edge.state.id_of("sp", "Nightly Sync")]["appId"]


def test_v1_group_get_expand_members_shows_service_principals(edge):
    group = edge.state.id_of("group", "Automation Accounts")
    answer = GraphApi(edge).get(f"/groups/{group}", params={"$expand": "members", "$select": "id,displayName"})
    assert answer.status_code == 200
    members = answer.json()["members"]
    assert names(members) == ["Edge Offboarding", "Nightly Sync", "Omar Operator"]
    assert {item["@odata.type"] for item in members} == {"#microsoft.graph.user", "#microsoft.graph.servicePrincipal"}


def test_expand_members_stops_at_20_without_next_link(sim, api):
    everyone = sim.state.id_of("group", "All Staff")
    body = api.get(f"/groups/{everyone}", params={"$expand": "members"}).json()
    assert len(sim.state.members(everyone)) > 20 and len(body["members"]) == 20
    assert not any(key.startswith("members@") for key in body)


def test_v1_service_principal_cast_on_group_members_lists_none_beta_lists_them(edge):
    edge.lenient = ()
    group = edge.state.id_of("group", "Automation Accounts")
    path = f"/groups/{group}/members/{SP_CAST}"
    v1 = GraphApi(edge).get(path, params={"$count": "true"}, headers=EVENTUAL).json()
    assert v1["value"] == [] and v1["@odata.count"] == 0  # undocumented either way: the stricter reading
    beta = GraphApi(edge, version="beta").get(path, params={"$count": "true"}, headers=EVENTUAL).json()
    assert names(beta["value"]) == ["Edge Offboarding", "Nightly Sync"]


def test_service_principal_member_of_shows_its_groups_in_v1(edge):
    """serviceprincipal-list-memberof (Application.Read.All)."""
    sp = edge.state.id_of("sp", "Nightly Sync")
    groups = GraphApi(edge).all_pages(f"/servicePrincipals/{sp}/memberOf", params={"$select": "id,displayName"})
    assert names(groups) == ["Automation Accounts", "Sync Operators"]
    assert {item["@odata.type"] for item in groups} == {"#microsoft.graph.group"}
    assert_graph_error(GraphApi(edge).get(f"/servicePrincipals/{edge.state.id_of('user', LEAVER)}/memberOf"), 404,
                       "Request_ResourceNotFound")
    no_app_read = GraphApi(edge, token=edge.issue_token(roles=["User.Read.All", "GroupMember.Read.All"]))
    assert_graph_error(no_app_read.get(f"/servicePrincipals/{sp}/memberOf"), 403, "Authorization_RequestDenied")


def test_directory_object_get_types_a_service_principal(edge):
    sp = edge.state.id_of("sp", "Nightly Sync")
    answer = GraphApi(edge).get(f"/directoryObjects/{sp}").json()
    assert answer["@odata.type"] == "#microsoft.graph.servicePrincipal" and answer["displayName"] == "Nightly Sync"


def test_service_principal_member_is_removed_and_added_with_ref_like_any_member(edge):
    api = GraphApi(edge)
    group, sp = edge.state.id_of("group", "Sync Operators"), edge.state.id_of("sp", "Nightly Sync")
    assert api.delete(f"/groups/{group}/members/{sp}/$ref").status_code == 204
    assert not edge.state.is_member(group, sp)
    assert_graph_error(api.delete(f"/groups/{group}/members/{sp}/$ref"), 404, "Request_ResourceNotFound")
    assert api.post(f"/groups/{group}/members/$ref", json=ref_body(sp)).status_code == 204
    assert edge.state.is_member(group, sp)


def test_service_principals_without_an_application_read_permission_are_limited_in_beta_members(edge):
    reader = GraphApi(edge, token=edge.issue_token(roles=["GroupMember.Read.All", "User.Read.All"]), version="beta")
    group = edge.state.id_of("group", "Automation Accounts")
    by_type = {item["@odata.type"]: item for item in reader.all_pages(f"/groups/{group}/members")}
    principal = by_type["#microsoft.graph.servicePrincipal"]
    assert principal["displayName"] is None and principal["id"] in edge.state.service_principals
    assert by_type["#microsoft.graph.user"]["displayName"] == "Omar Operator"


# -- a team whose group has dynamic membership (microsoft-graph-docs issue 12712: 403 Forbidden) -------------

@pytest.mark.parametrize("action", ["remove", "add"])
def test_dynamic_team_roster_writes_answer_403_forbidden(edge, action):
    api = GraphApi(edge)
    team = edge.state.id_of("team", "Everyone (dynamic team)")
    body = {"values": [{"@odata.type": "microsoft.graph.aadUserConversationMember",
                        "user@odata.bind": f"https://graph.microsoft.com/v1.0/users('{LEAVER}')"}]}
    assert_graph_error(api.post(f"/teams/{team}/members/{action}", json=body), 403, "Forbidden",
                       "You do not have permission to perform this operation.")
    assert edge.state.team_role(team, edge.state.user_id(LEAVER)) == "member"
    assert api.get(f"/teams/{team}").status_code == 200  # reading it is fine
    roster = api.all_pages(f"/teams/{team}/members")
    assert edge.state.user_id(LEAVER) in {member["userId"] for member in roster}


def test_dynamic_team_group_is_a_dynamic_group_for_ref_writes_too(edge):
    api = GraphApi(edge)
    team = edge.state.id_of("team", "Everyone (dynamic team)")
    group = api.get(f"/groups/{team}").json()
    assert "DynamicMembership" in group["groupTypes"] and "Team" in group["resourceProvisioningOptions"]
    assert_graph_error(api.delete(f"/groups/{team}/members/{edge.state.user_id(LEAVER)}/$ref"), 403,
                       "Authorization_RequestDenied")


# -- restricted management administrative units (admin-units-restricted-management, "Programmability") ------

def app_api(edge, name) -> GraphApi:
    return GraphApi(edge, token=edge.issue_token(client_id=edge.state.id_of("app", name)))


def test_tenant_wide_permissions_cannot_change_a_group_in_a_restricted_unit(edge):
    group, leaver = edge.state.id_of("group", "Board Confidential"), edge.state.user_id(LEAVER)
    assert_graph_error(app_api(edge, "Edge Offboarding").delete(f"/groups/{group}/members/{leaver}/$ref"), 403,
                       "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    assert edge.state.is_member(group, leaver)


def test_an_app_with_a_role_scoped_to_the_restricted_unit_may_change_its_group(edge):
    group, leaver = edge.state.id_of("group", "Board Confidential"), edge.state.user_id(LEAVER)
    scoped = app_api(edge, "Board Offboarding")
    assert scoped.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    assert scoped.post(f"/groups/{group}/members/$ref", json=ref_body(leaver)).status_code == 204
    assert edge.state.is_member(group, leaver)


def test_restricted_unit_members_themselves_need_the_scoped_role(edge):
    unit, leaver = edge.state.id_of("au", "Board"), edge.state.user_id(LEAVER)
    path = f"/directory/administrativeUnits/{unit}/members/{leaver}/$ref"
    assert_graph_error(app_api(edge, "Edge Offboarding").delete(path), 403, "Authorization_RequestDenied")
    assert app_api(edge, "Board Offboarding").delete(path).status_code == 204


def test_a_member_of_a_restricted_unit_can_still_leave_other_groups(edge):
    """'Add users, groups, or devices in a restricted management administrative unit to groups': allowed."""
    group, leaver = edge.state.id_of("group", "Sync Operators"), edge.state.user_id(LEAVER)
    assert app_api(edge, "Edge Offboarding").delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204


def test_scoped_roles_can_be_given_to_any_app_by_name_or_id(sim, api):
    board, leaver = sim.state.id_of("group", "Executive Board"), sim.state.user_id("leaver@contoso.com")
    assert_graph_error(api.delete(f"/groups/{board}/members/{leaver}/$ref"), 403, "Authorization_RequestDenied")
    sim.set_app_scoped_administrative_units(sim.app()["client_id"], ["Executives"])
    assert api.delete(f"/groups/{board}/members/{leaver}/$ref").status_code == 204
    sim.set_app_scoped_administrative_units(sim.app()["client_id"], [sim.state.id_of("au", "Germany")])
    assert_graph_error(api.post(f"/groups/{board}/members/$ref", json=ref_body(leaver)), 403, "Authorization_RequestDenied")
