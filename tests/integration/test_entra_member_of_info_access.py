"""entra_member_of_info's include kinds beyond memberships (owned_groups, directory_roles, app_roles) against the simulator.

Each kind is read by the engine that removes it, so discovery and removal agree; an app cannot list ownedObjects
(user-list-ownedobjects: application permissions "Not supported"), so owned groups come from the groups' owners.
"""
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import (
    entra_app_role_assignment,
    entra_directory_role_assignment,
    entra_group_owner,
    entra_member_of_info,
)

LEAVER = "leaver@contoso.com"
ACCESS = ["owned_groups", "directory_roles", "app_roles"]


def discover(sim, users, include, client_id=None):
    return run_module(entra_member_of_info, dict(sim.module_auth(client_id=client_id), users=users, include=include))


def test_the_default_is_unchanged_memberships_only(graphsim_session):
    result = discover(graphsim_session, [LEAVER], ["groups", "administrative_units", "teams"])
    default = run_module(entra_member_of_info, dict(graphsim_session.module_auth(), users=[LEAVER]))
    assert set(default["users"][0]) == set(result["users"][0])
    assert not set(ACCESS) & set(default["users"][0])


def test_only_the_kinds_asked_are_returned(graphsim_session):
    result = discover(graphsim_session, [LEAVER], ["directory_roles"])
    entry = result["users"][0]
    assert result["rc"] == 0 and "directory_roles" in entry
    assert not {"groups", "administrative_units", "teams", "owned_groups", "app_roles"} & set(entry)
    assert graphsim_session.log.writes() == []


def test_owned_groups_say_which_the_user_owns_alone_and_match_what_the_owner_module_removes(graphsim_session):
    sim = graphsim_session
    owned = {entry["display_name"]: entry for entry in discover(sim, [LEAVER], ["owned_groups"])["users"][0]["owned_groups"]}
    assert set(owned) == {"Legacy App Access", "VPN Users", "Data Science Guild", "Platform Team"}
    assert {name for name, entry in owned.items() if entry["sole_owner"]} == {"Legacy App Access", "Data Science Guild"}
    assert owned["Data Science Guild"]["is_team"] is True and owned["VPN Users"]["is_team"] is False
    assert all(entry["removable"] for entry in owned.values())
    assert "substitute_owners" in owned["Legacy App Access"]["reason"] and owned["VPN Users"]["reason"] is None
    # The groups found are exactly those the owner module takes the leaver off.
    removal = run_module(entra_group_owner, dict(sim.module_auth(), groups=[entry["id"] for entry in owned.values()], owners=[LEAVER],
                                                 substitute_owners=["manager"]))
    assert [entry["status"] for entry in removal["results"]][:4] == ["removed"] * 4
    assert discover(sim, [LEAVER], ["owned_groups"])["users"][0]["owned_groups"] == []


def test_owned_groups_are_found_with_the_groups_owners_not_owned_objects(graphsim_session):
    sim = graphsim_session
    discover(sim, [LEAVER], ["owned_groups"])
    assert sim.log.count(path_re=r"ownedObjects") == 0
    assert any(entry.query.get("$expand", "").startswith("owners") for entry in sim.log.filter(path_re=r"/groups$"))


def test_directory_roles_name_the_group_and_the_last_global_administrator(graphsim_session):
    sim = graphsim_session
    result = discover(sim, [LEAVER, "frances@contoso.com"], ["directory_roles"])
    leaver, frances = (user["directory_roles"] for user in result["users"])
    assert [(role["display_name"], role["assignment_type"], role["scope_display_name"], role["removable"]) for role in leaver] == [
        ("Helpdesk Administrator", "active", "tenant", True), ("Groups Administrator", "active", "Germany", True),
        ("User Administrator", "eligible", "Germany", True), ("Password Administrator", "active", "tenant", False)]
    assert leaver[3]["reason_code"] == "HeldThroughGroup" and leaver[3]["through"]["display_name"] == "Helpdesk Admins"
    global_admin = next(role for role in frances if role["display_name"] == "Global Administrator")
    assert global_admin["removable"] is False and global_admin["reason_code"] == "LastGlobalAdministrator"
    # What discovery calls removable is what the module removes.
    removal = run_module(entra_directory_role_assignment, dict(sim.module_auth(), principals=[LEAVER]))
    assert [entry["status"] == "removed" for entry in removal["results"]] == [role["removable"] for role in leaver]


def test_app_roles_report_the_group_inherited_assignment_as_not_removable(graphsim_session):
    sim = graphsim_session
    apps = discover(sim, [LEAVER], ["app_roles"])["users"][0]["app_roles"]
    assert [(app["display_name"], app["app_role"], app["removable"]) for app in apps] == [
        ("Contoso ERP", "ERP.Approver", True), ("Workday", "Employee", True), ("Contoso Intranet", "default access", False)]
    assert apps[2]["reason_code"] == "HeldThroughGroup" and apps[2]["through"]["display_name"] == "All Staff"
    removal = run_module(entra_app_role_assignment, dict(sim.module_auth(), principals=[LEAVER]))
    assert [entry["status"] == "removed" for entry in removal["results"]] == [app["removable"] for app in apps]


def test_a_user_that_does_not_exist_gets_empty_lists_of_every_kind_asked(graphsim_session):
    result = discover(graphsim_session, ["nobody@contoso.com"], ACCESS)
    entry = result["users"][0]
    assert result["rc"] == 0 and entry["found"] is False and all(entry[kind] == [] for kind in ACCESS)


def test_without_the_permission_to_read_roles_the_user_fails_with_the_reason(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    result = discover(sim, [LEAVER], ["directory_roles"], client_id=app)
    assert result["rc"] == 1 and result["users"][0]["error"]["status"] == 403
    assert "RoleManagement.Read.Directory" in result["users"][0]["error"]["message"]
