"""entra_directory_role_assignment against the Graph simulator over HTTPS, run in-process (tests/modrun.py).

Endpoints: rbacapplication-list-roleassignments, unifiedroleassignment-delete, rbacapplication-post-roleassignments,
rbacapplication-post-roleassignmentschedulerequests and -roleeligibilityschedulerequests (adminRemove, adminAssign).
"""
import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_directory_role_assignment

LEAVER = "leaver@contoso.com"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
LEAVER_ROLES = [("Helpdesk Administrator", "/", "active", None, "removed"),
                ("Groups Administrator", "Germany", "active", "2030-06-30T00:00:00Z", "removed"),
                ("User Administrator", "Germany", "eligible", None, "removed"),
                ("Password Administrator", "tenant", "active", None, "skipped")]


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_directory_role_assignment, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def rows(result):
    return [(entry["target"]["display_name"], entry["scope"] if entry["scope"] == "/" and entry["status"] != "skipped" else entry["scope_display_name"],
             entry["assignment_type"], (entry["schedule"] or {}).get("end_date_time"), entry["status"]) for entry in result["results"]]


def held(sim, upn):
    return [(a["role"], a["type"]) for a in sim.state.role_assignments(sim.state.user_id(upn))]


def restore(sim, results):
    for entry in results:
        if entry["status"] != "removed":
            continue
        back = run(sim, principals=[entry["member_id"]], roles=[entry["target"]["id"]], scopes=[entry["scope"]],
                   assignment_types=[entry["assignment_type"]], end_date_time=entry["schedule"]["end_date_time"], state="present")
        assert [result["status"] for result in back["results"]] == ["added"], back["msg"]


def test_removal_of_every_role_reports_the_group_granted_one_and_a_rerun_sends_no_write(graphsim_session):
    sim = graphsim_session
    first = run(sim, principals=[LEAVER])
    assert first["rc"] == 0 and first["changed"] is True
    assert rows(first) == LEAVER_ROLES
    assert first["msg"] == "entra_directory_role_assignment: 3 removed, 1 skipped across 1 principal"
    inherited = first["results"][3]
    assert inherited["through"]["display_name"] == "Helpdesk Admins"
    assert "held through group 'Helpdesk Admins'" in inherited["reason"]
    assert held(sim, LEAVER) == []
    # A permanent assignment is deleted; the time-bound one and the eligibility go through PIM's adminRemove.
    writes = sim.log.writes()
    assert [(entry.method, entry.path.rsplit("/", 1)[-1] if entry.method == "POST" else "roleAssignments/{id}") for entry in writes] == [
        ("DELETE", "roleAssignments/{id}"), ("POST", "roleAssignmentScheduleRequests"), ("POST", "roleEligibilityScheduleRequests")]
    assert all(entry.body["action"] == "adminRemove" for entry in writes[1:])
    count = len(writes)
    again = run(sim, principals=[LEAVER])
    assert again["changed"] is False and [entry["status"] for entry in again["results"]] == ["skipped"]
    assert len(sim.log.writes()) == count


def test_check_mode_writes_nothing_and_predicts_the_real_run(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, principals=[LEAVER, "nobody@contoso.com"])
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    real = run(sim, diff=True, principals=[LEAVER, "nobody@contoso.com"])
    assert rows(check) == rows(real) and check["summary"] == real["summary"] and check["diff"] == real["diff"]
    assert check["diff"][0]["before"]["directory_role"] == [
        "Groups Administrator (active, administrative unit 'Germany', until 2030-06-30T00:00:00Z)",
        "Helpdesk Administrator (active, tenant)", "User Administrator (eligible, administrative unit 'Germany')"]
    assert check["diff"][0]["after"] == {"directory_role": []}


def test_restoring_from_the_results_gives_back_the_roles_exactly_with_their_scope_type_and_end(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    removal = run(sim, principals=[LEAVER])
    restore(sim, removal["results"])
    assert sim.state.snapshot() == before
    again = run(sim, principals=[LEAVER], roles=["Helpdesk Administrator"], scopes=["/"], assignment_types=["active"], state="present")
    assert again["changed"] is False and [entry["status"] for entry in again["results"]] == ["present"]


def test_the_selection_narrows_by_role_scope_and_type(graphsim_session):
    sim = graphsim_session
    only_unit = run(sim, check_mode=True, principals=[LEAVER], scopes=["Germany"], assignment_types=["eligible"])
    assert rows(only_unit) == [("User Administrator", "Germany", "eligible", None, "removed")]
    by_id = run(sim, check_mode=True, principals=[LEAVER], roles=["729827e3-9c14-49f7-bb1b-9608f156bbb8"], scopes=["/"])
    assert rows(by_id) == [("Helpdesk Administrator", "/", "active", None, "removed")]


def test_the_last_global_administrator_is_never_removed(graphsim_session):
    sim = graphsim_session
    frances = sim.state.user_id("frances@contoso.com")
    for check_mode in (True, False):
        result = run(sim, check_mode=check_mode, principals=["frances@contoso.com"], roles=["Global Administrator"])
        assert result["rc"] == 1 and [entry["status"] for entry in result["results"]] == ["failed"]
        error = result["results"][0]["error"]
        assert error["code"] == "LastGlobalAdministrator" and "would leave the tenant without an active Global Administrator" in error["message"]
    assert sim.log.writes() == [] and sim.state.role_holders(GLOBAL_ADMINISTRATOR) == {frances}


def test_a_global_administrator_who_is_not_the_last_can_go(graphsim_session):
    sim = graphsim_session
    added = run(sim, principals=["ada@contoso.com"], roles=["Global Administrator"], scopes=["/"], assignment_types=["active"], state="present")
    assert [entry["status"] for entry in added["results"]] == ["added"]
    result = run(sim, principals=["frances@contoso.com"], roles=["Global Administrator"])
    assert [entry["status"] for entry in result["results"]] == ["removed"]
    # Ada is now the last one: both of them leaving together is refused for both.
    sim.reset()
    run(sim, principals=["ada@contoso.com"], roles=["Global Administrator"], scopes=["/"], assignment_types=["active"], state="present")
    both = run(sim, principals=["frances@contoso.com", "ada@contoso.com"], roles=["Global Administrator"])
    assert [entry["error"]["code"] for entry in both["results"]] == ["LastGlobalAdministrator"] * 2


@pytest.mark.parametrize("args, message", [
    (dict(roles=["Global Admin"]), "roles: no directory role has the name 'Global Admin'; did you mean 'Global Administrator'?"),
    (dict(roles=["global administrator"]), "roles: no directory role has the name 'global administrator'; did you mean 'Global Administrator'?"),
    (dict(roles=["0f8fad5b-d9cb-469f-a165-70867728950e"]), "roles: no directory role has the id or template id '0f8fad5b-d9cb-469f-a165-70867728950e'"),
    (dict(scopes=["Atlantis"]), "scopes: no administrative unit has the display name 'Atlantis'"),
    (dict(roles=["all"], state="present"), "roles: 'all' is only for state=absent"),
    (dict(end_date_time="2030-06-30"), "end_date_time: only for state=present"),
    (dict(roles=["User Administrator"], scopes=["/"], state="present", end_date_time="next year"),
     "end_date_time: 'next year' is not an ISO 8601 date and time with a time zone"),
])
def test_bad_input_fails_the_task_before_any_write_naming_the_option_and_value(graphsim_session, args, message):
    sim = graphsim_session
    result = run(sim, principals=[LEAVER], **args)
    assert result["rc"] == 1 and result["msg"].startswith(message), result["msg"]
    assert sim.log.writes() == []


def test_without_role_management_write_each_removal_fails_naming_the_permission_and_check_mode_predicts_it(graphsim_session):
    sim = graphsim_session
    reader = sim.state.id_of("app", "Read Only Auditor")   # RoleManagement.Read.Directory only
    sim.set_app_roles(reader, ["User.Read.All", "Directory.Read.All", "RoleManagement.Read.Directory"])
    check = run(sim, check_mode=True, client_id=reader, principals=[LEAVER])
    real = run(sim, client_id=reader, principals=[LEAVER])
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["failed"] * 3 + ["skipped"]
    for result in (check, real):
        assert "it needs RoleManagement.ReadWrite.Directory" in result["results"][0]["error"]["message"]
        assert "RoleAssignmentSchedule.ReadWrite.Directory or RoleManagement.ReadWrite.Directory" in result["results"][1]["error"]["message"]
    assert len(held(sim, LEAVER)) == 3


def test_without_any_role_read_permission_the_principal_fails_naming_it(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    result = run(sim, client_id=app, principals=[LEAVER], roles=["all"])
    assert result["rc"] == 1 and "reading the tenant's role definitions needs RoleManagement.Read.Directory" in result["msg"]
    assert sim.log.writes() == []


def test_a_removal_that_happened_but_was_answered_504_is_reported_removed_not_absent(graphsim_session):
    """A write answered 504 may still have happened (a gateway stopped waiting): the retry meets "does not exist", and the
    read before the write says it was held, so it is the first attempt's removal."""
    sim = graphsim_session
    sim.faults.add(504, path_re=r"roleEligibilityScheduleRequests$", applied=True, limit=1)
    sim.faults.add(504, path_re=r"roleAssignments/", applied=True, limit=1)
    result = run(sim, principals=[LEAVER])
    assert rows(result) == LEAVER_ROLES and held(sim, LEAVER) == []
    assert sim.log.count(status=504) == 2
