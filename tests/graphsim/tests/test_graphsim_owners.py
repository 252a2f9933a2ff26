"""Group owners (group-post-owners.md, group-delete-owners.md), managers (user-list-manager.md), owned objects
(user-list-ownedobjects.md), $expand of owners and members, group deletion; the Teams roster follows the owners."""
from __future__ import annotations

import pytest

from .conftest import GraphApi, api_with_roles, assert_graph_error, batch_answers

LEAVER = "leaver@contoso.com"
NOT_FOUND = "Resource '{}' does not exist or one of its queried reference-property objects are not present."
LAST_OWNER = "The group must have at least one owner, hence this owner cannot be removed."
ALREADY_OWNER = "One or more added object references already exist for the following modified properties: 'owners'."


def owner_ref(oid, collection="directoryObjects"):
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/{collection}/{oid}"}


def test_group_post_owners_adds_an_owner_with_204_and_answers_400_when_already_one(sim, api):
    vpn, ada = sim.state.id_of("group", "VPN Users"), sim.state.user_id("ada@contoso.com")
    answer = api.post(f"/groups/{vpn}/owners/$ref", json=owner_ref(ada, "users"))
    assert (answer.status_code, answer.content) == (204, b"")
    assert ada in sim.state.owners_of(vpn)
    assert_graph_error(api.post(f"/groups/{vpn}/owners/$ref", json=owner_ref(ada)), 400, "Request_BadRequest", ALREADY_OWNER)
    ghost = "00000000-0000-0000-0000-00000000beef"
    assert_graph_error(api.post(f"/groups/{vpn}/owners/$ref", json=owner_ref(ghost)), 404, "Request_ResourceNotFound",
                       NOT_FOUND.format(ghost))
    assert_graph_error(api.post(f"/groups/{vpn}/owners/$ref", json=owner_ref(sim.state.id_of("group", "Sales"))),
                       400, "Request_BadRequest")


def test_group_delete_owners_removes_a_co_owner_and_404s_a_non_owner_naming_the_group(sim, api):
    vpn, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{vpn}/owners/{leaver}/$ref").status_code == 204
    assert sim.state.owners_of(vpn) == {sim.state.user_id("radia@contoso.com")}
    assert sim.state.is_member(vpn, leaver), "an owner who is also a member stays a member"
    assert_graph_error(api.delete(f"/groups/{vpn}/owners/{leaver}/$ref"), 404, "Request_ResourceNotFound", NOT_FOUND.format(vpn))


def test_group_delete_owners_refuses_the_last_user_owner_with_graphs_message_from_issue_12054(sim, api):
    legacy, leaver = sim.state.id_of("group", "Legacy App Access"), sim.state.user_id(LEAVER)
    assert_graph_error(api.delete(f"/groups/{legacy}/owners/{leaver}/$ref"), 400, "Request_BadRequest", LAST_OWNER)
    # group-delete-owners.md: "the last owner (a user object)": a service principal co-owner does not count.
    erp = sim.state.id_of("servicePrincipal", "Contoso ERP")
    assert api.post(f"/groups/{legacy}/owners/$ref", json=owner_ref(erp, "servicePrincipals")).status_code == 204
    assert_graph_error(api.delete(f"/groups/{legacy}/owners/{leaver}/$ref"), 400, "Request_BadRequest", LAST_OWNER)
    assert api.delete(f"/groups/{legacy}/owners/{erp}/$ref").status_code == 204
    # A substitute owner first, then the leaver can go (the entra_group_owner order).
    grace = sim.state.user_id("grace@contoso.com")
    assert api.post(f"/groups/{legacy}/owners/$ref", json=owner_ref(grace)).status_code == 204
    assert api.delete(f"/groups/{legacy}/owners/{leaver}/$ref").status_code == 204
    assert sim.state.owners_of(legacy) == {grace}


def test_owner_writes_need_group_readwrite_all_groupmember_readwrite_all_is_not_enough(sim):
    vpn, ada = sim.state.id_of("group", "VPN Users"), sim.state.user_id("ada@contoso.com")
    member_writer = api_with_roles(sim, ["GroupMember.ReadWrite.All", "User.Read.All"])
    assert_graph_error(member_writer.post(f"/groups/{vpn}/owners/$ref", json=owner_ref(ada)), 403, "Authorization_RequestDenied")
    assert_graph_error(member_writer.delete(f"/groups/{vpn}/owners/{sim.state.user_id(LEAVER)}/$ref"), 403,
                       "Authorization_RequestDenied")
    assert sim.log.writes() and sim.state.owners_of(vpn) == {sim.state.user_id(LEAVER), sim.state.user_id("radia@contoso.com")}


def test_owner_writes_are_refused_like_member_writes_but_a_dynamic_groups_owners_can_change(sim, api):
    ada = sim.state.user_id("ada@contoso.com")
    refusals = {"CORP-FileShare-RW": (400, "Request_BadRequest"), "All Hands DL": (400, "Request_BadRequest"),
                "Executive Board": (403, "Authorization_RequestDenied")}
    for name, (status, code) in refusals.items():
        assert_graph_error(api.post(f"/groups/{sim.state.id_of('group', name)}/owners/$ref", json=owner_ref(ada)), status, code)
    dynamic = sim.state.id_of("group", "All Employees (dynamic)")
    assert api.post(f"/groups/{dynamic}/owners/$ref", json=owner_ref(ada)).status_code == 204
    helpdesk = sim.state.id_of("group", "Helpdesk Admins")
    without_role_management = api_with_roles(sim, ["Group.ReadWrite.All", "User.Read.All"])
    assert_graph_error(without_role_management.post(f"/groups/{helpdesk}/owners/$ref", json=owner_ref(ada)), 403,
                       "Authorization_RequestDenied")
    assert api.post(f"/groups/{helpdesk}/owners/$ref", json=owner_ref(ada)).status_code == 204


def test_team_roster_roles_follow_the_groups_owners_both_ways(sim, api):
    team, leaver = sim.state.id_of("team", "Platform Team"), sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{team}/owners/{leaver}/$ref").status_code == 204
    roster = {m["userId"]: m["roles"] for m in api.all_pages(f"/teams/{team}/members")}
    assert roster[leaver] == [] and sim.state.team_role(team, leaver) == "member"
    assert api.post(f"/groups/{team}/owners/$ref", json=owner_ref(leaver)).status_code == 204
    assert {m["userId"]: m["roles"] for m in api.all_pages(f"/teams/{team}/members")}[leaver] == ["owner"]
    ken = sim.state.user_id("ken@contoso.com")
    value = {"@odata.type": "microsoft.graph.aadUserConversationMember", "roles": ["owner"],
             "user@odata.bind": f"https://graph.microsoft.com/v1.0/users('{ken}')"}
    assert api.post(f"/teams/{team}/members/add", json={"values": [value]}).status_code == 200
    assert ken in {o["id"] for o in api.all_pages(f"/groups/{team}/owners")}


def test_leaving_a_security_group_keeps_its_ownership_leaving_a_team_ends_it(sim, api):
    vpn, team, leaver = sim.state.id_of("group", "VPN Users"), sim.state.id_of("team", "Platform Team"), sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{vpn}/members/{leaver}/$ref").status_code == 204
    assert leaver in sim.state.owners_of(vpn)
    assert api.delete(f"/groups/{team}/members/{leaver}/$ref").status_code == 204
    assert leaver not in sim.state.owners_of(team)


@pytest.mark.allow_destructive
def test_owner_delete_without_ref_deletes_the_owner_object_itself(sim, api):
    vpn, radia = sim.state.id_of("group", "VPN Users"), sim.state.user_id("radia@contoso.com")
    assert api.delete(f"/groups/{vpn}/owners/{radia}").status_code == 204
    assert sim.state.find_user(radia) is None
    assert [(e.kind, e.object_id, e.method) for e in sim.destructive_events] == [("user", radia, "DELETE")]


@pytest.mark.allow_destructive
def test_group_delete_is_a_destructive_event_and_takes_its_licenses_and_app_roles_along(sim, api):
    staff, leaver = sim.state.id_of("group", "All Staff"), sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{staff}").status_code == 204
    assert [(e.kind, e.object_id) for e in sim.destructive_events] == [("group", staff)]
    assert all(None in entry["assignedBy"] for entry in sim.state.licenses(leaver).values())
    assert not sim.state.app_role_assignments(staff)
    assert_graph_error(api.delete(f"/groups/{staff}"), 404, "Request_ResourceNotFound")


def test_user_list_owned_objects_is_not_supported_for_applications(sim, api):
    """user-list-ownedobjects.md: "Application: Not supported." An app reads the groups' owners instead."""
    assert_graph_error(api.get(f"/users/{LEAVER}/ownedObjects"), 403, "Authorization_RequestDenied")
    assert_graph_error(api.get(f"/users/{LEAVER}/ownedObjects/microsoft.graph.group"), 403, "Authorization_RequestDenied")


def test_groups_expand_owners_with_nested_select_finds_the_groups_a_user_owns(graphsim_factory):
    small = graphsim_factory(page_size=7)
    api = GraphApi(small)
    groups = api.all_pages("/groups", params={"$select": "id,displayName", "$expand": "owners($select=id,userPrincipalName)"})
    assert len(groups) == len(small.state.groups)
    assert all(set(group) == {"id", "displayName", "owners"} for group in groups)
    owned = sorted(g["displayName"] for g in groups if any(o["userPrincipalName"] == LEAVER for o in g["owners"]))
    assert owned == ["Data Science Guild", "Legacy App Access", "Platform Team", "VPN Users"]
    legacy = api.get(f"/groups/{small.state.id_of('group', 'Legacy App Access')}", params={"$expand": "owners"}).json()
    assert [o["@odata.type"] for o in legacy["owners"]] == ["#microsoft.graph.user"]
    assert_graph_error(api.get("/groups", params={"$expand": "sponsors"}), 400, "BadRequest")


def test_expanded_members_stop_at_twenty_as_graph_documents(sim, api):
    staff = api.get(f"/groups/{sim.state.id_of('group', 'All Staff')}", params={"$expand": "members($select=id)"}).json()
    assert len(sim.state.members(sim.state.id_of("group", "All Staff"))) > 20 and len(staff["members"]) == 20


def test_user_list_manager_returns_the_manager_and_404_when_there_is_none(sim, api):
    answer = api.get(f"/users/{LEAVER}/manager", params={"$select": "id,displayName,userPrincipalName"})
    assert answer.status_code == 200
    assert answer.json()["userPrincipalName"] == "grace@contoso.com" and answer.json()["@odata.type"] == "#microsoft.graph.user"
    assert sim.state.manager_of(sim.state.user_id(LEAVER)) == sim.state.user_id("grace@contoso.com")
    assert_graph_error(api.get("/users/hedy@contoso.com/manager"), 404, "Request_ResourceNotFound",
                       "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
    assert_graph_error(api_with_roles(sim, ["GroupMember.Read.All"]).get(f"/users/{LEAVER}/manager"), 403, "Authorization_RequestDenied")


def test_owner_writes_and_manager_reads_in_one_batch(sim, api):
    legacy, leaver, grace = sim.state.id_of("group", "Legacy App Access"), sim.state.user_id(LEAVER), sim.state.user_id("grace@contoso.com")
    answers = batch_answers(api, ("GET", f"/users/{leaver}/manager"),
                            ("POST", f"/groups/{legacy}/owners/$ref", owner_ref(grace)),
                            ("DELETE", f"/groups/{legacy}/owners/{leaver}/$ref"))
    assert answers["1"]["body"]["id"] == grace
    assert (answers["2"]["status"], answers["3"]["status"]) == (204, 204)
    assert sim.state.owners_of(legacy) == {grace}
    assert sim.log.count(method="DELETE", path_re=r"/owners/.*/\$ref$", in_batch=True) == 1
