"""Which auth method the options select, and which library it needs."""
from types import SimpleNamespace

from ansible_collections.entra.membership.plugins.module_utils import _authenticator
from ansible_collections.entra.membership.plugins.module_utils._auth_base import AuthMethodBase
from ansible_collections.entra.membership.plugins.module_utils._connection_options import CREDENTIAL_OPTIONS


def test_each_credential_option_selects_an_auth_method():
    assert set(_authenticator.AUTH_METHODS) == set(CREDENTIAL_OPTIONS)
    assert all(issubclass(method, AuthMethodBase) and method.NAME for method in _authenticator.AUTH_METHODS.values())


def test_without_msal_only_a_pre_fetched_access_token_can_authenticate(monkeypatch):
    monkeypatch.setattr(_authenticator, "HAS_MSAL", False)
    monkeypatch.setattr(_authenticator, "MSAL_IMPORT_ERROR", "ModuleNotFoundError: No module named 'msal'")
    for credential in CREDENTIAL_OPTIONS:
        missing = _authenticator.missing_library(SimpleNamespace(credential=credential))
        assert missing == (None if credential == "access_token" else ("msal", "ModuleNotFoundError: No module named 'msal'")), credential
    monkeypatch.setattr(_authenticator, "HAS_MSAL", True)
    assert _authenticator.missing_library(SimpleNamespace(credential="client_secret")) is None
