"""entra_user_account against the Graph simulator over HTTPS, run in-process (tests/modrun.py).

Endpoints: user-update (accountEnabled), user-revokesigninsessions; who holds a privileged role from the beta role
definitions' isPrivileged and rbacapplication-list-roleassignments; users.md, "Who can perform sensitive actions".
"""
import copy
import json

import pytest

from graphsim.simulator import load_tenant

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_user_account

LEAVER = "leaver@contoso.com"      # holds Helpdesk Administrator at the tenant, and Password Administrator through Helpdesk Admins
LEAVER2 = "leaver2@contoso.com"    # holds no directory role
GUEST = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"
NEVER_REVOKED = "2024-01-15T09:00:00Z"   # the demo tenant's signInSessionsValidFromDateTime


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_user_account, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def rows(result):
    return [(entry["member"], entry["setting"], entry["status"]) for entry in result["results"]]


def account(sim, upn):
    user_id = sim.state.user_id(upn)
    return sim.state.account_enabled(user_id), sim.state.sessions_valid_from(user_id)


def writes(sim):
    return [(entry.method, entry.path.rsplit("/", 1)[-1]) for entry in sim.log.writes()]


def test_disabling_revokes_the_sessions_first_then_disables_and_a_rerun_sends_no_write(graphsim_session):
    sim = graphsim_session
    first = run(sim, users=[LEAVER2], account_enabled=False, revoke_sessions=True)
    assert first["rc"] == 0 and first["changed"] is True
    assert rows(first) == [(LEAVER2, "sign_in_sessions", "removed"), (LEAVER2, "account_enabled", "removed")]
    assert first["msg"] == "entra_user_account: 2 removed across 1 principal"
    sessions, enabled = first["results"]
    assert sessions["previous"] == NEVER_REVOKED and sessions["reversible"] is False and sessions["note"].startswith("irreversible")
    assert enabled["previous"] is True and enabled["reversible"] is True and enabled["target"]["type"] == "account"
    assert enabled["target"]["id"] == sim.state.user_id(LEAVER2) and enabled["request_id"]
    assert writes(sim) == [("POST", "revokeSignInSessions"), ("PATCH", sim.state.user_id(LEAVER2))]
    assert sim.log.writes()[1].body == {"accountEnabled": False}
    is_enabled, valid_from = account(sim, LEAVER2)
    assert is_enabled is False and valid_from != NEVER_REVOKED

    count = len(sim.log.writes())
    again = run(sim, users=[LEAVER2], account_enabled=False, revoke_sessions=True)
    assert again["changed"] is False and rows(again) == [(LEAVER2, "sign_in_sessions", "absent"), (LEAVER2, "account_enabled", "absent")]
    assert again["results"][1]["previous"] is False
    assert len(sim.log.writes()) == count and account(sim, LEAVER2) == (False, valid_from)


def test_check_mode_writes_nothing_and_predicts_the_real_run_diff_included(graphsim_session):
    sim = graphsim_session
    args = dict(users=[LEAVER, LEAVER2, GUEST, "nobody@contoso.com"], account_enabled=False, revoke_sessions=True)
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, **args)
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    assert account(sim, LEAVER2) == (True, NEVER_REVOKED)
    real = run(sim, diff=True, **args)
    assert rows(check) == rows(real) == [
        (LEAVER, "sign_in_sessions", "removed"), (LEAVER, "account_enabled", "failed"),
        (LEAVER2, "sign_in_sessions", "removed"), (LEAVER2, "account_enabled", "removed"),
        (GUEST, "sign_in_sessions", "skipped"), (GUEST, "account_enabled", "removed"),
        ("nobody@contoso.com", None, "absent")]
    assert check["summary"] == real["summary"] and check["diff"] == real["diff"]
    assert check["results"][1]["error"] == real["results"][1]["error"]
    leaver2_diff = check["diff"][1]
    assert leaver2_diff["before"] == {"account": ["enabled", "sign-in sessions valid from %s" % NEVER_REVOKED]}
    assert leaver2_diff["after"] == {"account": []}
    assert "home organization" in real["results"][4]["note"]


def test_restoring_from_the_results_enables_only_the_accounts_that_were_enabled(graphsim_session):
    sim = graphsim_session
    run(sim, users=["alan@contoso.com"], account_enabled=False)   # disabled before the offboarding: it must stay so
    before = sim.state.snapshot()
    removal = run(sim, users=[LEAVER2, "alan@contoso.com"], account_enabled=False, revoke_sessions=True)
    assert rows(removal) == [(LEAVER2, "sign_in_sessions", "removed"), (LEAVER2, "account_enabled", "removed"),
                             ("alan@contoso.com", "sign_in_sessions", "absent"), ("alan@contoso.com", "account_enabled", "absent")]
    revoked_at = account(sim, LEAVER2)[1]
    to_enable = [entry for entry in removal["results"] if entry["setting"] == "account_enabled" and entry["status"] == "removed"]
    assert [entry["previous"] for entry in to_enable] == [True]
    for entry in to_enable:
        back = run(sim, users=[entry["member_id"]], account_enabled=True)
        assert rows(back) == [(entry["member_id"], "account_enabled", "added")]
    assert sim.state.snapshot() == before
    assert account(sim, LEAVER2) == (True, revoked_at)   # the revocation stays: nothing brings sessions back
    again = run(sim, users=[LEAVER2], account_enabled=True)
    assert again["changed"] is False and rows(again) == [(LEAVER2, "account_enabled", "present")]


def test_an_account_holding_a_privileged_role_is_not_disabled_unless_told_to(graphsim_session):
    sim = graphsim_session
    refused = run(sim, users=[LEAVER], account_enabled=False)
    assert refused["rc"] == 1 and rows(refused) == [(LEAVER, "account_enabled", "failed")]
    error = refused["results"][0]["error"]
    assert error["code"] == "PrivilegedAccount" and error["status"] is None and refused["results"][0]["request_id"] is None
    assert error["message"].startswith("'leaver@contoso.com' holds the privileged directory roles Helpdesk Administrator; "
                                       "Password Administrator through group 'Helpdesk Admins': disabling administrators is how tenants "
                                       "lock themselves out")
    assert "disable_privileged: true" in error["message"] and "entra_directory_role_assignment" in error["message"]
    assert sim.log.writes() == [] and account(sim, LEAVER)[0] is True

    told = run(sim, users=[LEAVER], account_enabled=False, disable_privileged=True)
    assert told["rc"] == 0 and rows(told) == [(LEAVER, "account_enabled", "removed")]
    assert account(sim, LEAVER)[0] is False


def test_the_guard_reads_privileged_roles_once_whatever_the_number_of_users(graphsim_session):
    sim = graphsim_session
    reads = []
    for users in ([LEAVER2], [LEAVER2, "alan@contoso.com", "grace@contoso.com"]):
        sim.log.clear()
        run(sim, users=users, account_enabled=False)
        assert sim.log.count(path_re=r"/beta/roleManagement/directory/roleDefinitions$") == 1
        reads.append(sim.log.count(path_re=r"/roleManagement/directory/roleAssignments$"))
        run(sim, users=users, account_enabled=True)   # back, for the next round
    assert reads[0] == reads[1] > 0


def test_revoking_alone_leaves_the_account_enabled_and_is_not_guarded(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER], revoke_sessions=True)
    assert result["rc"] == 0 and rows(result) == [(LEAVER, "sign_in_sessions", "removed")]
    assert writes(sim) == [("POST", "revokeSignInSessions")] and account(sim, LEAVER)[0] is True
    assert account(sim, LEAVER)[1] != NEVER_REVOKED


def test_an_app_without_a_privileged_role_of_its_own_is_refused_by_graph_and_check_mode_foresees_it(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, ["User.Read.All", "User.ReadWrite.All", "RoleManagement.Read.Directory", "GroupMember.Read.All"])
    args = dict(users=[LEAVER, LEAVER2], account_enabled=False, disable_privileged=True, client_id=app)
    check = run(sim, check_mode=True, **args)
    real = run(sim, **args)
    assert rows(check) == rows(real) == [(LEAVER, "account_enabled", "failed"), (LEAVER2, "account_enabled", "removed")]
    assert real["results"][0]["error"]["status"] == 403
    for result in (check, real):
        assert "Privileged Authentication Administrator or Global Administrator role" in result["results"][0]["error"]["message"]
    assert account(sim, LEAVER)[0] is True


@pytest.mark.parametrize("roles, args, works", [
    (["User.Read.All", "User.EnableDisableAccount.All", "RoleManagement.Read.Directory", "GroupMember.Read.All"], dict(account_enabled=False), True),
    (["User.Read.All", "User.RevokeSessions.All"], dict(revoke_sessions=True), True),
    (["User.Read.All", "RoleManagement.Read.Directory", "GroupMember.Read.All"], dict(account_enabled=False), False),
    (["User.Read.All", "User.EnableDisableAccount.All"], dict(revoke_sessions=True), False),
])
def test_the_least_privileged_permissions_suffice_and_a_missing_one_is_named_in_check_mode_too(graphsim_session, roles, args, works):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, roles)
    check = run(sim, check_mode=True, client_id=app, users=[LEAVER2], **args)
    real = run(sim, client_id=app, users=[LEAVER2], **args)
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["removed" if works else "failed"]
    if not works:
        needed = "User.RevokeSessions.All" if args.get("revoke_sessions") else "User.EnableDisableAccount.All"
        for result in (check, real):
            assert "it needs %s" % needed in result["results"][0]["error"]["message"]
        assert real["results"][0]["error"]["status"] == 403 and account(sim, LEAVER2) == (True, NEVER_REVOKED)


def test_when_privileged_roles_cannot_be_read_disabling_fails_naming_the_permission_and_the_way_around(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, ["User.Read.All", "User.EnableDisableAccount.All"])
    result = run(sim, client_id=app, users=[LEAVER2], account_enabled=False)
    assert result["rc"] == 1 and rows(result) == [(LEAVER2, "account_enabled", "failed")]
    message = result["results"][0]["error"]["message"]
    assert "needs RoleManagement.Read.Directory" in message and "disable_privileged: true" in message
    assert sim.log.writes() == []
    told = run(sim, client_id=app, users=[LEAVER2], account_enabled=False, disable_privileged=True)
    assert rows(told) == [(LEAVER2, "account_enabled", "removed")]


def test_an_account_synced_from_on_premises_is_refused_before_any_write(graphsim_factory):
    tenant = copy.deepcopy(load_tenant(None))
    tenant["users"].append({"userPrincipalName": "synced@contoso.com", "displayName": "Sam Synced", "onPremisesSyncEnabled": True})
    sim = graphsim_factory(tenant=tenant)
    result = run(sim, users=["synced@contoso.com"], account_enabled=False, revoke_sessions=True)
    assert rows(result) == [("synced@contoso.com", "sign_in_sessions", "removed"), ("synced@contoso.com", "account_enabled", "failed")]
    assert result["results"][1]["error"]["code"] == "OnPremisesSynced" and "change it there" in result["results"][1]["error"]["message"]
    assert writes(sim) == [("POST", "revokeSignInSessions")]


def test_a_user_that_does_not_exist_has_no_account_to_change(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=["nobody@contoso.com"], account_enabled=False)
    assert result["rc"] == 0 and rows(result) == [("nobody@contoso.com", None, "absent")] and result["results"][0]["target"]["id"] is None
    assert sim.log.writes() == []


def test_a_group_is_not_an_account(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[sim.state.id_of("group", "VPN Users")], account_enabled=False)
    assert result["rc"] == 1 and result["results"][0]["error"]["code"] == "NotAUser" and sim.log.writes() == []


@pytest.mark.parametrize("args, message", [
    (dict(users=[LEAVER]), "account_enabled, revoke_sessions: nothing to do"),
    (dict(users=[LEAVER], revoke_sessions=False), "account_enabled, revoke_sessions: nothing to do"),
    (dict(users=[LEAVER], revoke_sessions=True, disable_privileged=True), "disable_privileged: only with account_enabled: false"),
    (dict(users=["not a user"], account_enabled=False), "users: 'not a user' is neither an object id"),
    (dict(users=[LEAVER], account_enabled="maybe"), "argument 'account_enabled' is of type"),
])
def test_bad_input_fails_naming_the_option_before_any_request(graphsim_session, args, message):
    sim = graphsim_session
    result = run(sim, **args)
    assert result["rc"] == 1 and message in result["msg"], result["msg"]
    assert sim.log.graph_requests() == []


def test_no_secret_or_token_shows_in_a_failed_result(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, ["User.Read.All"])
    result = run(sim, client_id=app, users=[LEAVER2], account_enabled=False, revoke_sessions=True, disable_privileged=True)
    assert result["rc"] == 1
    shown = json.dumps(result)
    assert not [secret for secret in sim.secrets() if secret in shown]
