"""Validation of the shared connection options (pure: a params dict in, settings or a clear error out)."""
import os

import pytest

from ansible_collections.entra.membership.plugins.module_utils._connection_options import (
    ARGSPEC,
    CREDENTIAL_OPTIONS,
    SECRET_OPTIONS,
    connection_settings,
    env_vars,
    with_environment_credentials,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "Sup3r~Secret.Value"


def params(**given):
    values = {name: spec.get("default") for name, spec in ARGSPEC.items()}
    values.update(tenant_id=TENANT, client_id=CLIENT)
    values.update(given)
    return values


def fails(message, given, explicit=None):
    with pytest.raises(EntraConfigError) as caught:
        connection_settings(params(**given), explicit=explicit)
    text = str(caught.value)
    assert message in text, text
    assert SECRET not in text
    return text


def test_env_fallbacks_are_in_the_documented_order():
    assert env_vars("tenant_id") == ("AZURE_TENANT_ID", "AZURE_TENANT")
    assert env_vars("client_id") == ("AZURE_CLIENT_ID",)
    assert env_vars("client_secret") == ("AZURE_CLIENT_SECRET", "AZURE_SECRET")
    assert env_vars("client_certificate_path") == ("AZURE_CLIENT_CERTIFICATE_PATH",)
    assert env_vars("client_certificate_password") == ("AZURE_CLIENT_CERTIFICATE_PASSWORD",)
    assert env_vars("federated_token_file") == ("AZURE_FEDERATED_TOKEN_FILE",)
    assert env_vars("access_token") == ("ENTRA_ACCESS_TOKEN",)
    assert env_vars("cloud") == ("ENTRA_CLOUD", "AZURE_CLOUD_ENVIRONMENT")
    assert env_vars("graph_endpoint") == ("ENTRA_GRAPH_ENDPOINT",)
    assert env_vars("authority_host") == ("AZURE_AUTHORITY_HOST",)
    assert env_vars("ca_path") == ("ENTRA_CA_PATH",)
    assert env_vars("validate_certs") == ("ENTRA_VALIDATE_CERTS",)
    assert env_vars("timeout") == () and env_vars("max_retries") == ()


def test_secrets_are_no_log():
    assert set(SECRET_OPTIONS) == {"client_secret", "client_certificate_password", "access_token"}
    assert (ARGSPEC["timeout"]["default"], ARGSPEC["max_retries"]["default"], ARGSPEC["max_concurrency"]["default"]) == (30, 6, 4)


def test_a_client_secret_gives_settings_that_never_show_it():
    settings = connection_settings(params(client_secret=SECRET))
    assert settings.credential == "client_secret" and settings.secrets == (SECRET,)
    assert settings.endpoints.graph_url == "https://graph.microsoft.com" and settings.verify is True
    assert SECRET not in repr(settings)


def test_explicit_credential_beats_one_only_in_the_environment(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("assertion")
    settings = connection_settings(params(client_secret=SECRET, federated_token_file=str(token_file)),
                                   explicit={"federated_token_file", "tenant_id", "client_id"})
    assert settings.credential == "federated_token_file" and settings.client_secret is None and settings.secrets == ()


def test_two_explicit_credentials_conflict():
    text = fails("mutually exclusive", dict(client_secret=SECRET, access_token="tok"))
    assert "client_secret (env AZURE_CLIENT_SECRET, AZURE_SECRET) and access_token (env ENTRA_ACCESS_TOKEN) were given" in text
    assert "tok" not in text.replace("token", "")


def test_two_credentials_in_the_environment_conflict():
    fails("were found in the environment", dict(client_secret=SECRET, access_token="tok"), explicit={"tenant_id"})


def test_no_credential_names_every_option_and_variable():
    text = fails("no credential: give one of", {})
    for name in CREDENTIAL_OPTIONS:
        assert name in text
    assert "AZURE_SECRET" in text and "AZURE_FEDERATED_TOKEN_FILE" in text


def test_tenant_and_client_are_required_except_with_an_access_token():
    fails("tenant_id (env AZURE_TENANT_ID, AZURE_TENANT) is required with client_secret", dict(client_secret=SECRET, tenant_id=None))
    fails("client_id (env AZURE_CLIENT_ID) is required", dict(client_secret=SECRET, client_id=""))
    settings = connection_settings(params(access_token="tok", tenant_id=None, client_id=None))
    assert settings.credential == "access_token"


@pytest.mark.parametrize("option, value, message", [
    ("tenant_id", "contoso.onmicrosoft.com/../x", "tenant_id must be a tenant id (GUID) or a verified domain name, got 'contoso.onmicrosoft.com/../x'"),
    ("client_id", "my-app", "client_id must be the application (client) id, a GUID, got 'my-app'"),
    ("graph_endpoint", "http://127.0.0.1:1", "graph_endpoint must be an https:// URL, got 'http://127.0.0.1:1'"),
    ("authority_host", "login.microsoftonline.com", "authority_host must be an https:// URL, got 'login.microsoftonline.com'"),
    ("timeout", 0, "timeout must be at least 1, got 0"),
    ("max_retries", -1, "max_retries must be between 0 and 20, got -1"),
    ("max_concurrency", 0, "max_concurrency must be between 1 and 16, got 0"),
    ("cloud", "AZURE_CLOUD_ENVIRONMENT=AzureGermanCloud", "got 'AZURE_CLOUD_ENVIRONMENT=AzureGermanCloud'"),
    ("ca_path", "/nonexistent/ca.pem", "ca_path '/nonexistent/ca.pem' does not exist"),
])
def test_bad_values_name_the_option_and_the_value(option, value, message):
    fails(message, {"client_secret": SECRET, option: value})


def test_tenant_may_be_a_domain():
    assert connection_settings(params(client_secret=SECRET, tenant_id="contoso.onmicrosoft.com")).tenant_id == "contoso.onmicrosoft.com"


def test_a_certificate_file_must_exist_and_hold_a_key_and_a_certificate(tmp_path):
    fails("client_certificate_path '/nonexistent.pem' does not exist", dict(client_certificate_path="/nonexistent.pem"))
    cert_only = tmp_path / "cert.pem"
    cert_only.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    fails("it has no private key", dict(client_certificate_path=str(cert_only)))
    neither = tmp_path / "nothing.pem"
    neither.write_text("hello")
    fails("it has no private key and no certificate", dict(client_certificate_path=str(neither)))


def test_a_certificate_password_without_a_certificate_is_an_error_only_when_given():
    fails("client_certificate_password was given without client_certificate_path",
          dict(client_secret=SECRET, client_certificate_password="pw"))
    # ...but one only in the environment (explicit=...) is ignored, as the certificate is not used.
    settings = connection_settings(params(client_secret=SECRET, client_certificate_password="pw"), explicit={"client_secret"})
    assert settings.client_certificate_password is None


def test_federated_token_file_must_exist():
    fails("federated_token_file '/nonexistent/token' does not exist", dict(federated_token_file="/nonexistent/token"))


def test_ca_path_or_validate_certs_false_decide_what_tls_trusts(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert connection_settings(params(client_secret=SECRET, ca_path=str(ca))).verify == str(ca)
    assert connection_settings(params(client_secret=SECRET, ca_path=str(ca), validate_certs=False)).verify is False


def test_env_fallback_skips_empty_variables(monkeypatch):
    from ansible.module_utils.errors import AnsibleFallbackNotFound
    from ansible_collections.entra.membership.plugins.module_utils._connection_options import env_fallback
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "  ")
    monkeypatch.setenv("AZURE_SECRET", "from-awx")
    assert env_fallback("AZURE_CLIENT_SECRET", "AZURE_SECRET") == "from-awx"
    monkeypatch.delenv("AZURE_SECRET")
    with pytest.raises(AnsibleFallbackNotFound):
        env_fallback("AZURE_CLIENT_SECRET", "AZURE_SECRET")


def test_the_environment_fills_only_the_credentials_the_task_left_unset():
    environ = {"AZURE_CLIENT_SECRET": "", "AZURE_SECRET": "from-awx", "AZURE_CLIENT_CERTIFICATE_PATH": "~/cert.pem",
               "ENTRA_ACCESS_TOKEN": "from-env", "AZURE_TENANT_ID": "not-a-credential"}
    merged, given = with_environment_credentials(params(access_token="given", client_certificate_password=""), environ)
    assert given == {"access_token"}
    assert (merged["client_secret"], merged["access_token"]) == ("from-awx", "given")
    assert merged["client_certificate_path"] == os.path.expanduser("~/cert.pem")  # a path from the environment is expanded, as AnsibleModule does
    assert merged["tenant_id"] == TENANT and merged["client_certificate_password"] == ""  # the others keep AnsibleModule's own fallbacks
