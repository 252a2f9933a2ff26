"""Enterprise apps: serviceprincipal-list.md, user-list/post/delete-approleassignments.md, group-list-approleassignments.md,
serviceprincipal-list/post/delete-approleassignedto.md, serviceprincipal-delete.md."""
from __future__ import annotations

import pytest

from .conftest import GraphApi, api_with_roles, assert_graph_error, batch_answers

LEAVER = "leaver@contoso.com"
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"


def app_role(sim, app, value):
    return next(r["id"] for r in sim.state.service_principals[sim.state.id_of("servicePrincipal", app)]["appRoles"] if r["value"] == value)


def grant(principal, resource, role):
    return {"principalId": principal, "resourceId": resource, "appRoleId": role}


def test_service_principals_filter_by_display_name_and_app_id_and_carry_their_app_roles(sim, api):
    erp = api.get("/servicePrincipals", params={"$filter": "displayName eq 'Contoso ERP'"}).json()["value"]
    assert len(erp) == 1 and [r["value"] for r in erp[0]["appRoles"]] == ["ERP.User", "ERP.Approver"]
    assert erp[0]["appRoles"][0]["allowedMemberTypes"] == ["User"]
    by_app_id = api.get("/servicePrincipals", params={"$filter": f"appId eq '{erp[0]['appId']}'", "$select": "id,appId"}).json()["value"]
    assert by_app_id == [{"id": erp[0]["id"], "appId": erp[0]["appId"]}]
    names = {sp["displayName"] for sp in api.all_pages("/servicePrincipals")}
    assert {"Contoso ERP", "Workday", "Contoso Intranet", "Entra Offboarding"} <= names  # the tenant's own apps are there too
    assert api.get(f"/servicePrincipals/{erp[0]['id']}").json()["displayName"] == "Contoso ERP"


def test_user_app_role_assignments_list_only_the_users_own(sim, api):
    items = api.all_pages(f"/users/{LEAVER}/appRoleAssignments")
    assert sorted((i["resourceDisplayName"], i["principalType"]) for i in items) == [("Contoso ERP", "User"), ("Workday", "User")]
    assert {i["appRoleId"] for i in items} == {app_role(sim, "Contoso ERP", "ERP.Approver"), app_role(sim, "Workday", "Employee")}
    staff = sim.state.id_of("group", "All Staff")
    through_group, = api.all_pages(f"/groups/{staff}/appRoleAssignments")
    assert (through_group["resourceDisplayName"], through_group["appRoleId"], through_group["principalType"]) == \
        ("Contoso Intranet", DEFAULT_ACCESS, "Group")


def test_post_and_delete_a_users_app_role_assignment_and_their_documented_errors(sim, api):
    leaver, erp = sim.state.user_id(LEAVER), sim.state.id_of("servicePrincipal", "Contoso ERP")
    user_role = app_role(sim, "Contoso ERP", "ERP.User")
    created = api.post(f"/users/{leaver}/appRoleAssignments", json=grant(leaver, erp, user_role))
    assert created.status_code == 201, created.text
    assert (created.json()["principalId"], created.json()["resourceId"], created.json()["appRoleId"]) == (leaver, erp, user_role)
    assert_graph_error(api.post(f"/users/{leaver}/appRoleAssignments", json=grant(leaver, erp, user_role)), 400, "Request_BadRequest",
                       "Permission being assigned already exists on the object")
    appid = sim.state.service_principals[erp]["appId"]
    assert_graph_error(api.post(f"/users/{leaver}/appRoleAssignments", json=grant(leaver, erp, DEFAULT_ACCESS)), 400, "Request_BadRequest",
                       f"Permission being assigned was not found on application '{appid}'.")
    ghost = "00000000-0000-0000-0000-00000000beef"
    assert_graph_error(api.post(f"/users/{leaver}/appRoleAssignments", json=grant(leaver, ghost, user_role)), 404, "Request_ResourceNotFound")
    ada = sim.state.user_id("ada@contoso.com")
    assert_graph_error(api.post(f"/users/{leaver}/appRoleAssignments", json=grant(ada, erp, user_role)), 400, "Request_BadRequest")
    assert api.delete(f"/users/{leaver}/appRoleAssignments/{created.json()['id']}").status_code == 204
    assert_graph_error(api.delete(f"/users/{leaver}/appRoleAssignments/{created.json()['id']}"), 404, "Request_ResourceNotFound")
    ada_item = api.all_pages(f"/users/{LEAVER}/appRoleAssignments")[0]["id"]
    assert_graph_error(api.delete(f"/users/{ada}/appRoleAssignments/{ada_item}"), 404, "Request_ResourceNotFound")  # not ada's


def test_restoring_a_removed_assignment_gives_back_the_same_tenant(sim, api):
    leaver, before = sim.state.user_id(LEAVER), sim.state.snapshot()
    original = sim.state.app_role_assignments(leaver)[0]
    assert api.delete(f"/users/{leaver}/appRoleAssignments/{original['id']}").status_code == 204
    assert sim.state.snapshot() != before
    again = api.post(f"/users/{leaver}/appRoleAssignments", json=grant(leaver, original["resourceId"], original["appRoleId"]))
    assert again.status_code == 201 and sim.state.snapshot() == before


def test_default_access_is_assignable_only_on_an_app_without_app_roles(sim, api):
    ada, intranet = sim.state.user_id("ada@contoso.com"), sim.state.id_of("servicePrincipal", "Contoso Intranet")
    answer = api.post(f"/servicePrincipals/{intranet}/appRoleAssignedTo", json=grant(ada, intranet, DEFAULT_ACCESS))
    assert answer.status_code == 201, answer.text
    assigned = {a["principalDisplayName"] for a in api.all_pages(f"/servicePrincipals/{intranet}/appRoleAssignedTo")}
    assert assigned == {"All Staff", "Ada Lovelace"}
    assert api.delete(f"/servicePrincipals/{intranet}/appRoleAssignedTo/{answer.json()['id']}").status_code == 204
    assert_graph_error(api.delete(f"/servicePrincipals/{intranet}/appRoleAssignedTo/{answer.json()['id']}"), 404,
                       "Request_ResourceNotFound")


def test_app_role_permissions_as_documented(sim):
    leaver, erp = sim.state.user_id(LEAVER), sim.state.id_of("servicePrincipal", "Contoso ERP")
    reader = api_with_roles(sim, ["Directory.Read.All"])
    assert reader.get(f"/users/{LEAVER}/appRoleAssignments").status_code == 200
    assert_graph_error(reader.post(f"/users/{leaver}/appRoleAssignments", json=grant(leaver, erp, app_role(sim, "Contoso ERP", "ERP.User"))),
                       403, "Authorization_RequestDenied")
    users_only = api_with_roles(sim, ["User.Read.All", "Application.Read.All"])
    assert_graph_error(users_only.get(f"/users/{LEAVER}/appRoleAssignments"), 403, "Authorization_RequestDenied")
    assert users_only.get(f"/servicePrincipals/{erp}/appRoleAssignedTo").status_code == 200
    auditor = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Read Only Auditor")))
    assert_graph_error(auditor.get("/servicePrincipals"), 403, "Authorization_RequestDenied")
    writer = api_with_roles(sim, ["AppRoleAssignment.ReadWrite.All"])
    item = sim.state.app_role_assignments(leaver)[0]["id"]
    assert writer.delete(f"/users/{leaver}/appRoleAssignments/{item}").status_code == 204


def test_app_role_assignments_in_one_batch(sim, api):
    leaver = sim.state.user_id(LEAVER)
    first, second = (a["id"] for a in sim.state.app_role_assignments(leaver))
    answers = batch_answers(api, ("DELETE", f"/users/{leaver}/appRoleAssignments/{first}"),
                            ("DELETE", f"/users/{leaver}/appRoleAssignments/{second}"), ("GET", f"/users/{leaver}/appRoleAssignments"))
    assert (answers["1"]["status"], answers["2"]["status"]) == (204, 204)
    assert sim.state.app_role_assignments(leaver) == []


@pytest.mark.allow_destructive
def test_deleting_a_service_principal_is_destructive_and_ends_its_assignments(sim, api):
    workday = sim.state.id_of("servicePrincipal", "Workday")
    assert_graph_error(api.delete(f"/servicePrincipals/{workday}"), 403, "Authorization_RequestDenied")  # the default app may not
    assert api_with_roles(sim, ["Application.ReadWrite.All"]).delete(f"/servicePrincipals/{workday}").status_code == 204
    assert [(e.kind, e.object_id) for e in sim.destructive_events] == [("servicePrincipal", workday)]
    assert [a["resourceDisplayName"] for a in sim.state.app_role_assignments(sim.state.user_id(LEAVER))] == ["Contoso ERP"]
    assert_graph_error(api.get(f"/servicePrincipals/{workday}"), 404, "Request_ResourceNotFound")
