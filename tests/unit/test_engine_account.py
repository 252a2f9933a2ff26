"""entra_user_account's engine: options and who holds a privileged role (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_account import AccountSettings, PrivilegedHolders


@pytest.mark.parametrize("params, message", [
    (dict(account_enabled=None, revoke_sessions=False), "account_enabled, revoke_sessions: nothing to do"),
    (dict(account_enabled=True, revoke_sessions=False, disable_privileged=True), "disable_privileged: only with account_enabled: false"),
    (dict(account_enabled=None, revoke_sessions=True, disable_privileged=True), "disable_privileged: only with account_enabled: false"),
])
def test_options_are_checked_before_any_request(params, message):
    with pytest.raises(ValueError, match="^" + message):
        AccountSettings().checked_options(dict({"disable_privileged": False}, **params))


def test_the_apps_own_client_id_is_kept_in_lower_case_to_foresee_graphs_rule_for_privileged_users():
    engine = AccountSettings()
    engine.checked_options({"account_enabled": False, "revoke_sessions": True, "disable_privileged": False,
                            "client_id": "16CB8A19-64EC-5F88-88BD-47403CD36E74"})
    assert engine.client_id == "16cb8a19-64ec-5f88-88bd-47403cd36e74" and engine.revoke_sessions is True


def test_privileged_roles_of_a_user_are_found_by_id_in_any_case():
    holders = PrivilegedHolders({"bcb3c533-9541-5977-9784-223df42eb0e6": ["Helpdesk Administrator"]}, set())
    assert holders.roles_of("BCB3C533-9541-5977-9784-223DF42EB0E6") == ["Helpdesk Administrator"]
    assert holders.roles_of(None) == [] and holders.roles_of("b9239643-6b9c-5b74-bf37-5a5ca7aa7bb2") == []
