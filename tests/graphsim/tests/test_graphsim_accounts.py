"""The account: user-update.md (accountEnabled), user-revokesigninsessions.md, users.md "Who can perform sensitive actions"."""
from __future__ import annotations

from .conftest import GraphApi, api_with_roles, assert_graph_error, batch_answers

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"


def patch(api, upn, body):
    return api.request("PATCH", f"/users/{upn}", json=body)


def test_patch_account_enabled_disables_and_re_enables_with_204_and_is_never_destructive(sim, api):
    leaver = sim.state.user_id(LEAVER)
    answer = patch(api, LEAVER, {"accountEnabled": False})
    assert (answer.status_code, answer.content) == (204, b"")
    assert sim.state.account_enabled(leaver) is False
    assert api.get(f"/users/{LEAVER}", params={"$select": "id,accountEnabled"}).json()["accountEnabled"] is False
    assert patch(api, LEAVER, {"accountEnabled": True}).status_code == 204
    assert sim.state.account_enabled(leaver) is True and sim.destructive_events == []
    assert sim.log.count(method="PATCH", path_re=r"/users/", status=204) == 2


def test_patch_user_refuses_unknown_read_only_and_mistyped_properties_and_writes_nothing(sim, api):
    before = sim.state.snapshot()
    assert_graph_error(patch(api, LEAVER, {"accountEnable": False}), 400, "Request_BadRequest",
                       "Property 'accountEnable' does not exist as a declared property or extension property.")
    assert_graph_error(patch(api, LEAVER, {"assignedLicenses": []}), 400, "Request_BadRequest",
                       "Property 'assignedLicenses' is read-only and cannot be set.")
    assert_graph_error(patch(api, LEAVER, {"accountEnabled": "false"}), 400, "Request_BadRequest",
                       "Invalid value specified for property 'accountEnabled' of resource 'User'.")
    assert_graph_error(patch(api, "nobody@contoso.com", {"accountEnabled": False}), 404, "Request_ResourceNotFound")
    assert sim.state.snapshot() == before


def test_account_enabled_needs_enable_disable_with_a_user_read_or_user_readwrite_all(sim):
    enable_disable = api_with_roles(sim, ["User.EnableDisableAccount.All"])
    assert_graph_error(patch(enable_disable, LEAVER2, {"accountEnabled": False}), 403, "Authorization_RequestDenied")
    least = api_with_roles(sim, ["User.EnableDisableAccount.All", "User.Read.All"])
    assert patch(least, LEAVER2, {"accountEnabled": False}).status_code == 204
    assert_graph_error(patch(least, LEAVER2, {"department": "Gone"}), 403, "Authorization_RequestDenied")
    assert sim.state.account_enabled(sim.state.user_id(LEAVER2)) is False


def test_disabling_a_privileged_administrator_needs_the_app_to_hold_a_higher_role(sim, api):
    """users.md: User.ReadWrite.All "isn't enough privilege" for users with privileged roles. The demo's default app holds
    Privileged Authentication Administrator; the others hold no role."""
    restricted = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Restricted Offboarding")))
    other = api_with_roles(sim, ["User.ReadWrite.All"])
    assert_graph_error(patch(other, LEAVER, {"accountEnabled": False}), 403, "Authorization_RequestDenied")  # Helpdesk Administrator
    assert_graph_error(patch(other, "john@contoso.com", {"accountEnabled": False}), 403, "Authorization_RequestDenied")
    assert_graph_error(other.post(f"/users/{LEAVER}/revokeSignInSessions"), 403, "Authorization_RequestDenied")
    assert patch(other, LEAVER2, {"accountEnabled": False}).status_code == 204  # no role: fine
    assert_graph_error(patch(restricted, LEAVER2, {"accountEnabled": True}), 403, "Authorization_RequestDenied")  # no permission
    assert patch(api, LEAVER, {"accountEnabled": False}).status_code == 204
    # Without Helpdesk Administrator the leaver still holds Password Administrator through the group Helpdesk Admins.
    role_id = next(r["id"] for r in sim.state.role_assignments(sim.state.user_id(LEAVER)) if r["role"] == "Helpdesk Administrator")
    assert api.delete(f"/roleManagement/directory/roleAssignments/{role_id}").status_code == 204
    assert_graph_error(patch(other, LEAVER, {"accountEnabled": True}), 403, "Authorization_RequestDenied")
    helpdesk = sim.state.id_of("group", "Helpdesk Admins")
    assert api.delete(f"/groups/{helpdesk}/members/{sim.state.user_id(LEAVER)}/$ref").status_code == 204
    assert patch(other, LEAVER, {"accountEnabled": True}).status_code == 204  # no privileged role left


def test_revoke_sign_in_sessions_answers_true_and_moves_sessions_valid_from(sim, api):
    leaver = sim.state.user_id(LEAVER)
    before_time, before = sim.state.sessions_valid_from(leaver), sim.state.snapshot()
    answer = api.post(f"/users/{LEAVER}/revokeSignInSessions")
    assert answer.status_code == 200
    assert answer.json() == {"@odata.context": f"{sim.base_url}/v1.0/$metadata#Edm.Boolean", "value": True}
    assert sim.state.sessions_valid_from(leaver) > before_time
    assert sim.state.snapshot() == before, "revoking is irreversible, so snapshot() leaves session times out"
    selected = api.get(f"/users/{LEAVER}", params={"$select": "signInSessionsValidFromDateTime"}).json()
    assert selected["signInSessionsValidFromDateTime"] == sim.state.sessions_valid_from(leaver)
    guest = "vera_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"
    vera = sim.state.user_id("vera_fabrikam.com#EXT#@contoso.onmicrosoft.com")
    assert api.post(f"/users/{guest}/revokeSignInSessions").json()["value"] is True
    assert sim.state.sessions_valid_from(vera) == "2024-01-15T09:00:00Z"  # external users sign in at home


def test_revoke_sign_in_sessions_permissions_as_documented(sim):
    least = api_with_roles(sim, ["User.RevokeSessions.All"])
    assert least.post(f"/users/{LEAVER2}/revokeSignInSessions").status_code == 200
    assert_graph_error(api_with_roles(sim, ["User.Read.All", "User.EnableDisableAccount.All"]).post(f"/users/{LEAVER2}/revokeSignInSessions"),
                       403, "Authorization_RequestDenied")


def test_disable_and_revoke_in_one_batch(sim, api):
    leaver = sim.state.user_id(LEAVER2)
    answers = batch_answers(api, ("PATCH", f"/users/{leaver}", {"accountEnabled": False}), ("POST", f"/users/{leaver}/revokeSignInSessions"))
    assert (answers["1"]["status"], answers["2"]["status"], answers["2"]["body"]["value"]) == (204, 200, True)
    assert sim.state.account_enabled(leaver) is False and sim.state.sessions_valid_from(leaver) > "2024-01-15T09:00:00Z"
