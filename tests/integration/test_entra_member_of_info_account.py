"""entra_member_of_info's include kinds of the account itself (licenses, account) against the simulator.

Each is read by the module that changes it (entra_user_license, entra_user_account), with the same guards, so what
discovery calls removable is what those modules remove.
"""
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_member_of_info, entra_user_account, entra_user_license

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"


def discover(sim, users, include, client_id=None):
    return run_module(entra_member_of_info, dict(sim.module_auth(client_id=client_id), users=users, include=include))


def test_licenses_tell_direct_from_group_given_and_match_what_the_license_module_removes(graphsim_session):
    sim = graphsim_session
    result = discover(sim, [LEAVER], ["licenses"])
    assert result["rc"] == 0 and set(result["users"][0]) >= {"licenses"} and "groups" not in result["users"][0]
    found = result["users"][0]["licenses"]
    assert [(entry["display_name"], entry["type"], entry["disabled_plan_names"], entry["removable"]) for entry in found] == [
        ("ENTERPRISEPACK", "sku", ["YAMMER_ENTERPRISE"], True), ("EMS", "sku", [], False)]
    assert found[1]["reason_code"] == "HeldThroughGroup" and found[1]["through"]["display_name"] == "All Staff"
    assert found[0]["id"] == sim.state.sku_id("ENTERPRISEPACK") and found[0]["reason"] is None
    assert sim.log.writes() == []
    removal = run_module(entra_user_license, dict(sim.module_auth(), users=[LEAVER]))
    assert [entry["status"] == "removed" for entry in removal["results"]] == [entry["removable"] for entry in found]


def test_account_says_enabled_privileged_roles_and_whether_the_account_module_would_disable_it(graphsim_session):
    sim = graphsim_session
    result = discover(sim, [LEAVER, LEAVER2, "nobody@contoso.com"], ["account"])
    leaver, leaver2, nobody = (user["account"] for user in result["users"])
    assert result["rc"] == 0 and nobody is None and sim.log.writes() == []
    assert leaver["account_enabled"] is True and leaver["user_type"] == "Member" and leaver["sign_in_sessions_valid_from"]
    assert leaver["privileged_roles"] == ["Helpdesk Administrator", "Password Administrator through group 'Helpdesk Admins'"]
    assert leaver["removable"] is False and leaver["reason_code"] == "PrivilegedAccount" and "disable_privileged" in leaver["reason"]
    assert leaver2 == {"account_enabled": True, "sign_in_sessions_valid_from": "2024-01-15T09:00:00Z", "user_type": "Member",
                       "on_premises_sync_enabled": False, "privileged_roles": [], "removable": True, "reason": None, "reason_code": None}
    removal = run_module(entra_user_account, dict(sim.module_auth(), users=[LEAVER, LEAVER2], account_enabled=False))
    assert [entry["status"] == "removed" for entry in removal["results"]] == [leaver["removable"], leaver2["removable"]]


def test_without_the_role_read_the_account_is_returned_not_removable_saying_why(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")   # User.Read.All, no role read
    result = discover(sim, [LEAVER2], ["account"], client_id=app)
    account = result["users"][0]["account"]
    assert account["account_enabled"] is True and account["privileged_roles"] is None
    assert account["removable"] is False and "needs RoleManagement.Read.Directory" in account["reason"]


def test_licenses_that_cannot_be_read_fail_the_user_with_the_permission_named(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")   # no sku read
    result = discover(sim, [LEAVER2], ["licenses"], client_id=app)
    assert result["rc"] == 1 and result["users"][0]["licenses"] == []
    assert "needs LicenseAssignment.Read.All" in result["users"][0]["error"]["message"]
