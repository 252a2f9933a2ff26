"""entra_app_role_assignment against the Graph simulator over HTTPS, run in-process (tests/modrun.py).

Endpoints: user-list-approleassignments, user-delete-approleassignments, user-post-approleassignments;
a group's assignment reaches its direct members (group-list-approleassignments).
"""
import copy

import pytest

from graphsim.simulator import load_tenant

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_app_role_assignment

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_app_role_assignment, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def rows(result):
    return [(entry["member"], entry["target"]["display_name"], entry["app_role"], entry["status"]) for entry in result["results"]]


def held(sim, upn):
    return sorted((a["resourceDisplayName"], a["appRoleId"]) for a in sim.state.app_role_assignments(sim.state.user_id(upn)))


def test_removal_of_every_assignment_reports_the_group_inherited_one_and_a_rerun_sends_no_write(graphsim_session):
    sim = graphsim_session
    first = run(sim, principals=[LEAVER])
    assert first["rc"] == 0 and first["changed"] is True
    assert rows(first) == [(LEAVER, "Contoso ERP", "ERP.Approver", "removed"), (LEAVER, "Workday", "Employee", "removed"),
                           (LEAVER, "Contoso Intranet", "default access", "skipped")]
    assert first["msg"] == "entra_app_role_assignment: 2 removed, 1 skipped across 1 principal"
    inherited = first["results"][2]
    assert inherited["through"]["display_name"] == "All Staff" and inherited["error"] is None
    assert "held through group 'All Staff'" in inherited["reason"] and "entra_group_member" in inherited["reason"]
    assert held(sim, LEAVER) == []
    assert [entry.method for entry in sim.log.writes()] == ["DELETE", "DELETE"]
    assert all("/appRoleAssignments/" in entry.path for entry in sim.log.writes())

    writes = len(sim.log.writes())
    again = run(sim, principals=[LEAVER])
    assert again["changed"] is False and rows(again) == [(LEAVER, "Contoso Intranet", "default access", "skipped")]
    assert len(sim.log.writes()) == writes


def test_check_mode_writes_nothing_and_predicts_the_real_run(graphsim_session):
    sim = graphsim_session
    args = dict(principals=[LEAVER, LEAVER2, "nobody@contoso.com"], applications=["Workday", "Contoso Intranet"])
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, **args)
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    real = run(sim, diff=True, **args)
    assert rows(check) == rows(real) == [(LEAVER, "Workday", "Employee", "removed"), (LEAVER, "Contoso Intranet", "default access", "skipped"),
                                         (LEAVER2, "Workday", "Employee", "removed"), (LEAVER2, "Contoso Intranet", "default access", "skipped"),
                                         ("nobody@contoso.com", None, None, "absent")]
    assert check["summary"] == real["summary"] and check["diff"] == real["diff"]
    assert check["diff"][0]["before"] == {"application": ["Workday: Employee"]} and check["diff"][0]["after"] == {"application": []}


def test_restoring_from_the_results_gives_back_the_tenant_exactly(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    removal = run(sim, principals=[LEAVER, LEAVER2])
    removed = [entry for entry in removal["results"] if entry["status"] == "removed"]
    assert len(removed) == 3
    for entry in removed:
        back = run(sim, principals=[entry["member_id"]], applications=[entry["target"]["id"]], app_roles=[entry["app_role_id"]], state="present")
        assert [result["status"] for result in back["results"]] == ["added"]
    assert sim.state.snapshot() == before
    again = run(sim, principals=[LEAVER], applications=["Contoso ERP"], app_roles=["ERP.Approver"], state="present")
    assert again["changed"] is False and [entry["status"] for entry in again["results"]] == ["present"]


def test_only_the_roles_named_are_removed(graphsim_session):
    sim = graphsim_session
    result = run(sim, principals=[LEAVER], applications=["Contoso ERP"], app_roles=["ERP.User"])
    assert result["results"] == [] and result["changed"] is False
    assert result["msg"] == "entra_app_role_assignment: nothing to do (principals hold none of the access selected)"
    result = run(sim, principals=[LEAVER], applications=["Contoso ERP"], app_roles=["erp.approver"])
    assert rows(result) == [(LEAVER, "Contoso ERP", "ERP.Approver", "removed")]


@pytest.mark.parametrize("args, message", [
    (dict(applications=["Contoso CRM"]), "applications: no service principal (enterprise application) has the display name 'Contoso CRM'"),
    (dict(applications=["Contoso ERP"], app_roles=["ERP.Admin"]), "app_roles: 'erp.admin' is not an app role of 'Contoso ERP'"),
    (dict(applications=["Workday"], state="present"), "app_roles: application 'Workday' defines app roles (Employee, Manager): name the one"),
    (dict(applications=["all"], state="present"), "applications: 'all' is only for state=absent"),
    (dict(applications=["all", "Workday"]), "applications: 'all' stands alone"),
])
def test_bad_selection_fails_the_task_before_any_write(graphsim_session, args, message):
    sim = graphsim_session
    result = run(sim, principals=[LEAVER], **args)
    assert result["rc"] == 1 and result["msg"].startswith(message), result["msg"]
    assert sim.log.writes() == []


def test_an_ambiguous_application_name_names_the_candidates_and_writes_nothing(graphsim_factory):
    tenant = copy.deepcopy(load_tenant(None))
    tenant["service_principals"].append({"displayName": "Workday", "id": "6b1d7c02-3b5e-4f1a-9c55-1d2e3f4a5b6c",
                                         "appRoles": [{"value": "Employee", "displayName": "Employee"}]})
    sim = graphsim_factory(tenant=tenant)
    result = run(sim, principals=[LEAVER], applications=["Workday"])
    assert result["rc"] == 1 and result["msg"].startswith("applications: 2 service principals have the display name 'Workday' (")
    assert "6b1d7c02-3b5e-4f1a-9c55-1d2e3f4a5b6c" in result["msg"] and "give the id instead" in result["msg"]
    assert sim.log.writes() == []


def test_an_application_given_by_id_or_client_id_is_found(graphsim_session):
    sim = graphsim_session
    erp = sim.state.id_of("servicePrincipal", "Contoso ERP")
    result = run(sim, principals=[LEAVER], applications=[erp], check_mode=True)
    assert rows(result) == [(LEAVER, "Contoso ERP", "ERP.Approver", "removed")]
    client_id = sim.state.service_principals[erp]["appId"]
    result = run(sim, principals=[LEAVER], applications=[client_id], check_mode=True)
    assert rows(result) == [(LEAVER, "Contoso ERP", "ERP.Approver", "removed")]


def test_without_app_role_assignment_write_the_removal_fails_naming_the_permission_and_check_mode_predicts_it(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, ["User.Read.All", "Directory.Read.All"])
    check = run(sim, check_mode=True, client_id=app, principals=[LEAVER], applications=["Workday"])
    real = run(sim, client_id=app, principals=[LEAVER], applications=["Workday"])
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["failed"]
    for result in (check, real):
        assert "it needs AppRoleAssignment.ReadWrite.All" in result["results"][0]["error"]["message"]
    assert real["results"][0]["error"]["status"] == 403 and len(held(sim, LEAVER)) == 2


def test_a_principal_whose_assignments_cannot_be_read_fails_with_the_read_error(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")   # User.Read.All: not enough to read appRoleAssignments
    result = run(sim, client_id=app, principals=[LEAVER], applications=["all"])
    assert result["rc"] == 1 and [entry["status"] for entry in result["results"]] == ["failed"]
    assert result["results"][0]["error"]["status"] == 403 and result["results"][0]["target"]["id"] is None
    assert sim.log.writes() == []


def test_bad_principals_fail_before_any_request(graphsim_session):
    sim = graphsim_session
    result = run(sim, principals=["not a principal"])
    assert result["rc"] == 1 and result["msg"].startswith("principals:") and "not a principal" in result["msg"]
    assert sim.log.graph_requests() == []


def test_a_removal_that_happened_but_was_answered_504_is_reported_removed_not_absent(graphsim_session):
    """A write answered 504 may still have happened (a gateway stopped waiting): the retry's 404 is the first attempt's removal."""
    sim = graphsim_session
    sim.faults.add(504, path_re=r"appRoleAssignments/", applied=True, limit=1)
    result = run(sim, principals=[LEAVER], applications=["Workday"])
    assert rows(result) == [(LEAVER, "Workday", "Employee", "removed")]
    assert sim.log.count(status=504) == 1 and held(sim, LEAVER) == [("Contoso ERP", sim.state.app_role_assignments(sim.state.user_id(LEAVER))[0]["appRoleId"])]


def test_an_assignment_that_happened_but_was_answered_504_is_reported_added_not_present(graphsim_session):
    sim = graphsim_session
    run(sim, principals=[LEAVER], applications=["Workday"])
    sim.faults.add(504, path_re=r"appRoleAssignments$", method="POST", applied=True, limit=1)
    back = run(sim, principals=[LEAVER], applications=["Workday"], app_roles=["Employee"], state="present")
    assert rows(back) == [(LEAVER, "Workday", "Employee", "added")] and sim.log.count(status=504) == 1
