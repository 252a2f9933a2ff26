"""Directory roles: rbacapplication-list-roledefinitions.md, rbacapplication-list/post-roleassignments.md,
unifiedroleassignment-delete.md, and PIM (rbacapplication-post-roleeligibilityschedulerequests.md and the
roleAssignmentSchedule* counterparts, the schedules and their instances)."""
from __future__ import annotations

import copy

import pytest

from graphsim import load_tenant

from .conftest import GraphApi, api_with_roles, assert_graph_error, batch_answers

LEAVER = "leaver@contoso.com"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
GROUPS_ADMINISTRATOR = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
PASSWORD_ADMINISTRATOR = "966707d0-3269-4727-9be2-8c3a10f19b9d"
ROLES = "/roleManagement/directory"


def germany(sim):
    return f"/administrativeUnits/{sim.state.id_of('au', 'Germany')}"


def assignment(principal, role, scope="/"):
    return {"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": principal, "roleDefinitionId": role,
            "directoryScopeId": scope}


def pim(action, principal, role, scope="/", **extra):
    return dict(action=action, principalId=principal, roleDefinitionId=role, directoryScopeId=scope, **extra)


def role_names_in_member_of(api, upn):
    return {item["displayName"] for item in api.all_pages(f"/users/{upn}/memberOf") if item["@odata.type"] == "#microsoft.graph.directoryRole"}


def test_role_definitions_list_the_built_ins_by_template_id_and_filter_by_display_name(sim, api):
    definitions = api.all_pages(f"{ROLES}/roleDefinitions")
    by_name = {d["displayName"]: d for d in definitions}
    assert by_name["Global Administrator"]["templateId"] == by_name["Global Administrator"]["id"] == GLOBAL_ADMINISTRATOR
    assert by_name["User Administrator"]["id"] == USER_ADMINISTRATOR and by_name["User Administrator"]["isBuiltIn"] is True
    assert "isPrivileged" not in by_name["User Administrator"]  # beta only
    found = api.get(f"{ROLES}/roleDefinitions", params={"$filter": "displayName eq 'Helpdesk Administrator'", "$select": "id,displayName"})
    assert found.json()["value"] == [{"id": HELPDESK_ADMINISTRATOR, "displayName": "Helpdesk Administrator"}]
    beta = GraphApi(sim, version="beta").get(f"{ROLES}/roleDefinitions/{GLOBAL_ADMINISTRATOR}").json()
    assert beta["isPrivileged"] is True
    assert_graph_error(api.get(f"{ROLES}/roleDefinitions/00000000-0000-0000-0000-0000000000aa"), 404, "Request_ResourceNotFound")


def test_role_assignments_filter_on_principal_id_and_expand_principal_and_role_definition(sim, api):
    leaver = sim.state.user_id(LEAVER)
    answer = api.get(f"{ROLES}/roleAssignments",
                     params={"$filter": f"principalId eq '{leaver}'", "$expand": "principal($select=id,displayName),roleDefinition"})
    assert answer.status_code == 200, answer.text
    items = answer.json()["value"]
    assert {(i["roleDefinition"]["displayName"], i["directoryScopeId"]) for i in items} == {
        ("Helpdesk Administrator", "/"), ("Groups Administrator", germany(sim))}  # the eligible one is no assignment
    assert all(i["principal"] == {"@odata.type": "#microsoft.graph.user", "id": leaver, "displayName": "Lee Leaver"} for i in items)
    assert all(i["id"].endswith("-1") and i["resourceScope"] == i["directoryScopeId"] for i in items)
    admins = api.get(f"{ROLES}/roleAssignments", params={"$filter": f"roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"}).json()["value"]
    assert [a["principalId"] for a in admins] == [sim.state.user_id("frances@contoso.com")]
    assert_graph_error(api.get(f"{ROLES}/roleAssignments", params={"$expand": "nonsense"}), 400, "BadRequest")


def test_post_role_assignment_tenant_wide_shows_the_directory_role_in_member_of_and_delete_takes_it_away(sim, api):
    ada = sim.state.user_id("ada@contoso.com")
    created = api.post(f"{ROLES}/roleAssignments", json=assignment(ada, USER_ADMINISTRATOR))
    assert created.status_code == 201, created.text
    assert created.json()["@odata.context"].endswith("$metadata#roleManagement/directory/roleAssignments/$entity")
    assert "User Administrator" in role_names_in_member_of(api, "ada@contoso.com")
    assert api.delete(f"{ROLES}/roleAssignments/{created.json()['id']}").status_code == 204
    assert "User Administrator" not in role_names_in_member_of(api, "ada@contoso.com")
    assert_graph_error(api.delete(f"{ROLES}/roleAssignments/{created.json()['id']}"), 404, "Request_ResourceNotFound")


def test_post_role_assignment_scoped_to_an_administrative_unit_is_no_directory_role_membership(sim, api):
    ada = sim.state.user_id("ada@contoso.com")
    created = api.post(f"{ROLES}/roleAssignments", json=assignment(ada, USER_ADMINISTRATOR, germany(sim)))
    assert created.status_code == 201 and created.json()["directoryScopeId"] == germany(sim)
    assert "User Administrator" not in role_names_in_member_of(api, "ada@contoso.com")
    assert {"type": "active", "role": "User Administrator", "directoryScopeId": germany(sim)}.items() <= \
        sim.state.role_assignments(ada)[-1].items()


def test_post_role_assignment_refusals_write_nothing(sim, api):
    ada, ghost = sim.state.user_id("ada@contoso.com"), "00000000-0000-0000-0000-00000000beef"
    before = sim.state.snapshot()
    leaver = sim.state.user_id(LEAVER)
    conflict = "A conflicting object with one or more of the specified property values is present in the directory."
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json=assignment(leaver, HELPDESK_ADMINISTRATOR)), 400,
                       "Request_BadRequest", conflict)
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json=assignment(ghost, USER_ADMINISTRATOR)), 404, "Request_ResourceNotFound")
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json=assignment(ada, ghost)), 404, "Request_ResourceNotFound")
    vpn = sim.state.id_of("group", "VPN Users")  # not role-assignable
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json=assignment(vpn, USER_ADMINISTRATOR)), 400, "Request_BadRequest")
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json=assignment(ada, USER_ADMINISTRATOR, f"/administrativeUnits/{ghost}")),
                       404, "Request_ResourceNotFound")
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json=assignment(ada, USER_ADMINISTRATOR, "/tenants")), 400, "Request_BadRequest")
    assert_graph_error(api.post(f"{ROLES}/roleAssignments", json={"principalId": ada, "roleDefinitionId": USER_ADMINISTRATOR}),
                       400, "Request_BadRequest")
    assert sim.state.snapshot() == before


def test_removing_the_last_global_administrator_is_not_refused_by_graph(sim, api):
    """Graph refuses only a user removing their own Global Administrator role (delegated); guarding the last one is ours."""
    frances = sim.state.user_id("frances@contoso.com")
    only, = api.get(f"{ROLES}/roleAssignments", params={"$filter": f"roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"}).json()["value"]
    assert only["principalId"] == frances
    assert api.delete(f"{ROLES}/roleAssignments/{only['id']}").status_code == 204
    assert sim.state.role_holders(GLOBAL_ADMINISTRATOR) == set()


def test_a_role_assigned_to_a_role_assignable_group_reaches_its_members_through_the_group(sim, api):
    helpdesk = sim.state.id_of("group", "Helpdesk Admins")
    held = api.get(f"{ROLES}/roleAssignments", params={"$filter": f"principalId eq '{helpdesk}'", "$expand": "principal"}).json()["value"]
    assert [(a["roleDefinitionId"], a["principal"]["@odata.type"]) for a in held] == [(PASSWORD_ADMINISTRATOR, "#microsoft.graph.group")]
    transitive = {i["displayName"] for i in api.all_pages(f"/users/{LEAVER}/transitiveMemberOf")
                  if i["@odata.type"] == "#microsoft.graph.directoryRole"}
    assert "Password Administrator" in transitive and "Password Administrator" not in role_names_in_member_of(api, LEAVER)


def test_eligibility_schedules_and_instances_show_the_leavers_unit_scoped_eligibility(sim, api):
    leaver = sim.state.user_id(LEAVER)
    query = {"$filter": f"principalId eq '{leaver}'", "$expand": "roleDefinition,directoryScope"}
    schedules = api.get(f"{ROLES}/roleEligibilitySchedules", params=query).json()["value"]
    assert [(s["roleDefinition"]["displayName"], s["directoryScope"]["displayName"], s["scheduleInfo"]["expiration"]["type"], s["status"])
            for s in schedules] == [("User Administrator", "Germany", "noExpiration", "Provisioned")]
    instance, = api.get(f"{ROLES}/roleEligibilityScheduleInstances", params={"$filter": f"principalId eq '{leaver}'"}).json()["value"]
    assert instance["roleEligibilityScheduleId"] == schedules[0]["id"] and instance["id"].endswith("-1-e")
    assert (instance["memberType"], instance["endDateTime"]) == ("Direct", None)


def test_assignment_schedules_hold_permanent_and_time_bound_active_assignments(sim, api):
    leaver = sim.state.user_id(LEAVER)
    schedules = api.get(f"{ROLES}/roleAssignmentSchedules", params={"$filter": f"principalId eq '{leaver}'"}).json()["value"]
    ends = {s["roleDefinitionId"]: (s["assignmentType"], s["scheduleInfo"]["expiration"]) for s in schedules}
    assert ends[HELPDESK_ADMINISTRATOR] == ("Assigned", {"type": "noExpiration", "endDateTime": None, "duration": None})
    assert ends[GROUPS_ADMINISTRATOR][1]["endDateTime"] == "2030-06-30T00:00:00Z"
    instances = api.get(f"{ROLES}/roleAssignmentScheduleInstances", params={"$filter": f"principalId eq '{leaver}'"}).json()["value"]
    ends = {i["roleDefinitionId"]: i["endDateTime"] for i in instances}
    assert ends == {HELPDESK_ADMINISTRATOR: None, GROUPS_ADMINISTRATOR: "2030-06-30T00:00:00Z"}
    by_id = api.get(f"{ROLES}/roleAssignmentSchedules/{instances[0]['roleAssignmentScheduleId']}")
    assert by_id.status_code == 200 and by_id.json()["principalId"] == leaver


def test_eligibility_request_admin_remove_then_admin_assign_gives_back_the_same_tenant(sim, api):
    leaver, before = sim.state.user_id(LEAVER), sim.state.snapshot()
    removed = api.post(f"{ROLES}/roleEligibilityScheduleRequests", json=pim("adminRemove", leaver, USER_ADMINISTRATOR, germany(sim)))
    assert removed.status_code == 201, removed.text
    assert (removed.json()["status"], removed.json()["action"], removed.json()["scheduleInfo"]) == ("Revoked", "adminRemove", None)
    assert not [r for r in sim.state.role_assignments(leaver) if r["type"] == "eligible"]
    again = api.post(f"{ROLES}/roleEligibilityScheduleRequests", json=pim("adminRemove", leaver, USER_ADMINISTRATOR, germany(sim)))
    assert_graph_error(again, 400, "RoleAssignmentDoesNotExist", "The Role assignment does not exist.")
    schedule = {"startDateTime": "2024-01-15T09:00:00Z", "expiration": {"type": "noExpiration"}}
    assigned = api.post(f"{ROLES}/roleEligibilityScheduleRequests",
                        json=pim("adminAssign", leaver, USER_ADMINISTRATOR, germany(sim), scheduleInfo=schedule, justification="restore"))
    assert assigned.status_code == 201 and assigned.json()["status"] == "Provisioned" and assigned.json()["targetScheduleId"]
    assert sim.state.snapshot() == before
    twice = api.post(f"{ROLES}/roleEligibilityScheduleRequests", json=pim("adminAssign", leaver, USER_ADMINISTRATOR, germany(sim)))
    assert_graph_error(twice, 400, "RoleAssignmentExists", "The Role assignment already exists.")
    requests = api.get(f"{ROLES}/roleEligibilityScheduleRequests", params={"$filter": f"principalId eq '{leaver}'"}).json()["value"]
    assert [r["action"] for r in requests] == ["adminRemove", "adminAssign"]


def test_assignment_schedule_request_removes_and_recreates_a_time_bound_assignment_with_its_end(sim, api):
    leaver, before = sim.state.user_id(LEAVER), sim.state.snapshot()
    url = f"{ROLES}/roleAssignmentScheduleRequests"
    assert api.post(url, json=pim("adminRemove", leaver, GROUPS_ADMINISTRATOR, germany(sim))).status_code == 201
    assert GROUPS_ADMINISTRATOR not in {r["roleDefinitionId"] for r in sim.state.role_assignments(leaver)}
    schedule = {"startDateTime": "2025-01-01T00:00:00Z", "expiration": {"type": "afterDateTime", "endDateTime": "2030-06-30T00:00:00Z"}}
    assert api.post(url, json=pim("adminAssign", leaver, GROUPS_ADMINISTRATOR, germany(sim), scheduleInfo=schedule)).status_code == 201
    assert sim.state.snapshot() == before  # the start may differ, the end is the same
    # A permanent tenant-wide assignment made with POST roleAssignments is a schedule too: adminRemove ends it.
    assert api.post(url, json=pim("adminRemove", leaver, HELPDESK_ADMINISTRATOR)).status_code == 201
    assert "Helpdesk Administrator" not in role_names_in_member_of(api, LEAVER)
    duration = {"startDateTime": "2025-01-01T00:00:00Z", "expiration": {"type": "afterDuration", "duration": "PT8H"}}
    assert api.post(url, json=pim("adminAssign", leaver, HELPDESK_ADMINISTRATOR, scheduleInfo=duration)).status_code == 201
    assert {r["role"]: r["ends"] for r in sim.state.role_assignments(leaver)}["Helpdesk Administrator"] == "2025-01-01T08:00:00Z"


def test_schedule_requests_refuse_unknown_actions_and_broken_schedules(sim, api):
    leaver, before = sim.state.user_id(LEAVER), sim.state.snapshot()
    url = f"{ROLES}/roleEligibilityScheduleRequests"
    assert_graph_error(api.post(url, json=pim("adminDelete", leaver, USER_ADMINISTRATOR)), 400, "Request_BadRequest")
    assert_graph_error(api.post(url, json=pim("selfActivate", leaver, USER_ADMINISTRATOR)), 400, "Request_BadRequest")
    for expiration in ({"type": "afterDateTime", "endDateTime": "yesterday"}, {"type": "afterDuration", "duration": "8 hours"},
                       {"type": "afterDateTime", "endDateTime": "2020-01-01T00:00:00Z"}, {"type": "whenever"}):
        answer = api.post(url, json=pim("adminAssign", leaver, USER_ADMINISTRATOR,
                                        scheduleInfo={"startDateTime": "2025-01-01T00:00:00Z", "expiration": expiration}))
        assert_graph_error(answer, 400, "BadRequest")
    validation = api.post(url, json=pim("adminAssign", leaver, GLOBAL_ADMINISTRATOR, isValidationOnly=True))
    assert validation.status_code == 201 and validation.json()["isValidationOnly"] is True
    assert sim.state.snapshot() == before


def test_role_management_permissions_as_documented(sim):
    leaver = sim.state.user_id(LEAVER)
    auditor = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Read Only Auditor")))
    assert auditor.get(f"{ROLES}/roleAssignments").status_code == 200  # RoleManagement.Read.Directory
    assert auditor.get(f"{ROLES}/roleEligibilitySchedules").status_code == 200
    assert_graph_error(auditor.post(f"{ROLES}/roleAssignments", json=assignment(leaver, USER_ADMINISTRATOR)), 403,
                       "Authorization_RequestDenied")
    nothing = api_with_roles(sim, ["Directory.Read.All"])
    assert nothing.get(f"{ROLES}/roleDefinitions").status_code == 200
    assert_graph_error(nothing.get(f"{ROLES}/roleEligibilityScheduleInstances"), 403, "Authorization_RequestDenied")
    pim_only = api_with_roles(sim, ["RoleEligibilitySchedule.ReadWrite.Directory"])
    answer = pim_only.post(f"{ROLES}/roleEligibilityScheduleRequests", json=pim("adminRemove", leaver, USER_ADMINISTRATOR, germany(sim)))
    assert answer.status_code == 201
    assert_graph_error(pim_only.post(f"{ROLES}/roleAssignmentScheduleRequests", json=pim("adminRemove", leaver, HELPDESK_ADMINISTRATOR)),
                       403, "Authorization_RequestDenied")
    assert_graph_error(pim_only.post(f"{ROLES}/roleAssignments", json=assignment(leaver, USER_ADMINISTRATOR)), 403,
                       "Authorization_RequestDenied")


def test_role_reads_and_removals_in_one_batch(sim, api):
    leaver = sim.state.user_id(LEAVER)
    helpdesk_id = next(r["id"] for r in sim.state.role_assignments(leaver) if r["role"] == "Helpdesk Administrator")
    answers = batch_answers(api, ("GET", f"{ROLES}/roleAssignments?$filter=principalId eq '{leaver}'"),
                            ("DELETE", f"{ROLES}/roleAssignments/{helpdesk_id}"),
                            ("POST", f"{ROLES}/roleEligibilityScheduleRequests", pim("adminRemove", leaver, USER_ADMINISTRATOR, germany(sim))))
    assert len(answers["1"]["body"]["value"]) == 2
    assert (answers["2"]["status"], answers["3"]["status"], answers["3"]["body"]["status"]) == (204, 201, "Revoked")
    assert [r["role"] for r in sim.state.role_assignments(leaver)] == ["Groups Administrator"]


@pytest.mark.allow_destructive
def test_deleting_a_custom_role_definition_is_destructive_and_built_ins_cannot_go(graphsim_factory):
    spec = copy.deepcopy(load_tenant(None))
    spec["role_definitions"] = [{"displayName": "Offboarding Reviewer", "allowedResourceActions": ["microsoft.directory/users/basic/read"]}]
    spec["role_assignments"] = spec["role_assignments"] + [{"principal": "ada@contoso.com", "role": "Offboarding Reviewer"}]
    sim = graphsim_factory(tenant=spec)
    api = GraphApi(sim)
    custom = sim.state.id_of("roleDefinition", "Offboarding Reviewer")
    assert api.get(f"{ROLES}/roleDefinitions/{custom}").json()["isBuiltIn"] is False
    assert_graph_error(api.delete(f"{ROLES}/roleDefinitions/{USER_ADMINISTRATOR}"), 400, "Request_BadRequest")
    assert api.delete(f"{ROLES}/roleDefinitions/{custom}").status_code == 204
    assert [(e.kind, e.object_id) for e in sim.destructive_events] == [("roleDefinition", custom)]
    assert [r["role"] for r in sim.state.role_assignments(sim.state.user_id("ada@contoso.com"))] == ["Global Reader"]


def test_an_empty_collection_still_filters_and_refuses_unknown_properties(graphsim_factory):
    sim = graphsim_factory(tenant={"users": [{"userPrincipalName": "solo@contoso.com"}],
                                   "apps": [{"name": "App", "secret": "s3cr3t-value", "roles": ["RoleManagement.ReadWrite.Directory"]}]})
    api = GraphApi(sim)
    solo = sim.state.user_id("solo@contoso.com")
    assert api.get(f"{ROLES}/roleEligibilitySchedules", params={"$filter": f"principalId eq '{solo}'"}).json()["value"] == []
    assert api.get(f"{ROLES}/roleAssignmentScheduleRequests", params={"$select": "id,status"}).json()["value"] == []
    assert_graph_error(api.get(f"{ROLES}/roleEligibilitySchedules", params={"$filter": "colour eq 'blue'"}), 400, "Request_UnsupportedQuery")
    assert_graph_error(api.get(f"{ROLES}/roleAssignments", params={"$select": "id,colour"}), 400, "Request_BadRequest")
