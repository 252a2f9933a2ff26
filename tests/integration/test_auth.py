"""Every authentication method and its failures, end to end through EntraModule against the simulator."""
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization

import probe_module
from modrun import run_module

from ansible_collections.entra.membership.plugins.module_utils._auth_client_certificate import ClientCertificateAuth
from ansible_collections.entra.membership.plugins.module_utils._connection_options import connection_settings
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError
from ansible_collections.entra.membership.plugins.module_utils._module import build_client

ADA = "ada@contoso.com"
# Every variable the options fall back to: cleared so the machine's environment cannot leak in.
AUTH_ENV = ("AZURE_TENANT_ID", "AZURE_TENANT", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE",
            "ENTRA_ACCESS_TOKEN", "ENTRA_CLOUD", "AZURE_CLOUD_ENVIRONMENT", "ENTRA_GRAPH_ENDPOINT", "AZURE_AUTHORITY_HOST",
            "ENTRA_CA_PATH", "ENTRA_VALIDATE_CERTS")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in AUTH_ENV:
        monkeypatch.delenv(name, raising=False)


def token_requests(sim):
    return sim.log.count(method="POST", path_re=r"/oauth2/v2\.0/token$")


def read_user(sim, options, **extra):
    return run_module(probe_module, dict(action="get", path="/users/" + ADA, **options, **extra))


def failed(result, *expected):
    assert result["rc"] == 1 and result["failed"], result
    for text in expected:
        assert text in result["msg"], result["msg"]
    return result["msg"]


@pytest.mark.parametrize("method, credential", [
    ("secret", "client_secret"),
    ("certificate", "client_certificate_path"),
    ("federated", "federated_token_file"),
    ("access_token", "access_token"),
])
def test_each_method_reads_graph(graphsim, method, credential):
    result = read_user(graphsim, graphsim.module_auth(method))
    assert result["rc"] == 0, result
    assert result["credential"] == credential
    assert result["body"]["id"] == graphsim.state.user_id(ADA)
    assert token_requests(graphsim) == (0 if method == "access_token" else 1)
    assert graphsim.log.count(path_re=r"^/v1\.0/users/", status=200) == 1


def test_certificate_thumbprint_is_the_registered_one(graphsim):
    settings = connection_settings(graphsim.module_auth("certificate"))
    assert ClientCertificateAuth(settings, http_client=None).thumbprint == graphsim.credentials["certificate_thumbprint"].upper()


def encrypted_copy(source, target, password):
    with open(source, "rb") as handle:
        pem = handle.read()
    key = serialization.load_pem_private_key(pem, password=None)
    certificate = pem[pem.index(b"-----BEGIN CERTIFICATE-----"):]
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(password.encode()))
    target.write_bytes(certificate + encrypted)  # certificate first: the order must not matter
    return str(target)


def test_an_encrypted_certificate_key_works_with_its_password(graphsim, tmp_path):
    options = graphsim.module_auth("certificate")
    options["client_certificate_path"] = encrypted_copy(options["client_certificate_path"], tmp_path / "enc.pem", "Pa55-word!")
    assert read_user(graphsim, options, client_certificate_password="Pa55-word!")["rc"] == 0

    wrong = read_user(graphsim, options, client_certificate_password="not-it")
    assert "not-it" not in failed(wrong, "client_certificate_path '%s'" % options["client_certificate_path"], "wrong client_certificate_password")
    missing = read_user(graphsim, options)
    failed(missing, "encrypted private key: set client_certificate_password")
    assert token_requests(graphsim) == 1  # only the good run asked for a token


def test_a_wrong_secret_fails_with_aadsts7000215_without_showing_it(graphsim):
    options = graphsim.module_auth()
    options["client_secret"] = "wrong-secret-value-123"
    message = failed(read_user(graphsim, options), "AADSTS7000215", graphsim.tenant_id, options["client_id"], "client secret")
    assert "wrong-secret-value-123" not in message
    assert graphsim.log.graph_requests() == []


GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_an_unknown_client_id_fails_with_what_to_check_before_any_graph_request(graphsim):
    options = graphsim.module_auth()
    options["client_id"] = "00000000-0000-0000-0000-00000000abcd"
    message = failed(read_user(graphsim, options), "AADSTS700016", "00000000-0000-0000-0000-00000000abcd", "check client_id, tenant_id and cloud")
    assert graphsim.log.graph_requests() == []
    # Entra's long description is cut at a word; the trace and correlation ids follow it whole, never cut mid-GUID.
    ids = re.search(r"\[trace id (%s), correlation id (%s)\]$" % (GUID, GUID), message)
    assert ids, message
    assert "Trace ID" not in message and "Timestamp" not in message


def test_an_unknown_tenant_fails_with_aadsts90002_and_what_to_check_before_any_graph_request(graphsim):
    """MSAL's own "Unable to get authority configuration" hides Entra's answer; the message gives that answer instead."""
    options = graphsim.module_auth()
    options["tenant_id"] = "fabrikam.onmicrosoft.com"
    message = failed(read_user(graphsim, options), "fabrikam.onmicrosoft.com", options["client_id"], "AADSTS90002",
                     "(no such tenant in this cloud: check tenant_id and cloud)")
    assert "Unable to get authority configuration" not in message and re.search(r"correlation id %s\]$" % GUID, message)
    assert graphsim.log.graph_requests() == []


def test_a_login_host_without_an_openid_configuration_says_what_to_check(graphsim):
    """An authority_host that answers the OpenID configuration with no Entra error (here a path the simulator does not serve)."""
    options = graphsim.module_auth()
    options["authority_host"] = graphsim.base_url + "/not-a-login-host"
    message = failed(read_user(graphsim, options), options["client_id"])
    assert message.endswith("the login host has no OpenID configuration for this tenant: check tenant_id, cloud and authority_host"), message


def test_an_expired_federated_assertion_fails_with_its_aadsts_code_before_any_graph_request(graphsim, tmp_path):
    options = graphsim.module_auth("federated")
    options["federated_token_file"] = graphsim.issue_federated_assertion(lifetime=-3600, path=str(tmp_path / "expired.jwt"))
    with open(options["federated_token_file"], encoding="utf-8") as handle:
        assertion = handle.read()
    message = failed(read_user(graphsim, options), "AADSTS700024", "federated token has expired", graphsim.tenant_id)
    assert assertion not in message and assertion[:40] not in message
    assert graphsim.log.graph_requests() == []


def test_an_empty_federated_token_file_fails_naming_it(graphsim, tmp_path):
    empty = tmp_path / "empty.jwt"
    empty.write_text("")
    options = graphsim.module_auth("federated")
    options["federated_token_file"] = str(empty)
    failed(read_user(graphsim, options), "federated_token_file '%s' is empty" % empty)


def test_federated_token_file_is_read_for_every_token(graphsim_factory, tmp_path):
    # Tokens that live 60 s are renewed by MSAL at every use (it renews within 5 minutes of expiry),
    # so each Graph request asks for a token, and each token request must read the file anew.
    sim = graphsim_factory(token_lifetime=60)
    options = sim.module_auth("federated")
    path = sim.issue_federated_assertion(path=str(tmp_path / "rotating.jwt"))
    options["federated_token_file"] = path
    client = build_client(connection_settings(options))
    assert client.get("/users/" + ADA)["userPrincipalName"] == ADA
    sim.issue_federated_assertion(lifetime=-3600, path=path)  # the platform "rotates" in an expired token
    with pytest.raises(EntraAuthError, match="AADSTS700024"):
        client.get("/users/" + ADA)
    sim.issue_federated_assertion(path=path)
    assert client.get("/users/" + ADA)["id"] == sim.state.user_id(ADA)
    assert token_requests(sim) == 3


def test_an_expired_access_token_fails_after_one_401_without_showing_it(graphsim):
    options = graphsim.module_auth("access_token")
    options["access_token"] = graphsim.issue_token(lifetime=-10)
    message = failed(read_user(graphsim, options), "rejected the access_token")
    assert options["access_token"] not in message
    assert graphsim.log.count(path_re=r"^/v1\.0/users/", status=401) == 1


def test_access_token_may_carry_the_bearer_prefix(graphsim):
    options = graphsim.module_auth("access_token")
    options["access_token"] = "Bearer " + options["access_token"]
    assert read_user(graphsim, options)["rc"] == 0


def test_token_refreshed_once_when_graph_says_401(graphsim):
    client = build_client(connection_settings(graphsim.module_auth()))
    assert client.get("/users/" + ADA)["id"]
    graphsim.clock.advance(7200)  # Graph now finds the cached token expired; MSAL (real time) does not know
    assert client.get("/users/" + ADA)["id"]
    assert token_requests(graphsim) == 2
    assert graphsim.log.count(path_re=r"^/v1\.0/users/", status=401) == 1
    assert graphsim.log.count(path_re=r"^/v1\.0/users/", status=200) == 2


def test_options_conflict_before_any_request(graphsim):
    options = graphsim.module_auth()
    options["access_token"] = graphsim.issue_token()
    message = failed(read_user(graphsim, options), "mutually exclusive", "client_secret", "access_token")
    assert options["access_token"] not in message and options["client_secret"] not in message
    assert len(graphsim.log) == 0


@pytest.mark.parametrize("option, value, expected", [
    ("graph_endpoint", "http://127.0.0.1:1", "graph_endpoint must be an https:// URL, got 'http://127.0.0.1:1'"),
    ("client_id", "offboarding-app", "client_id must be the application (client) id, a GUID, got 'offboarding-app'"),
    ("timeout", 0, "timeout must be at least 1, got 0"),
    ("cloud", "mars", "value of cloud must be one of: global, usgov, usgov_dod, china, got: mars"),
    ("client_certificate_path", "/nonexistent/app.pem", "mutually exclusive"),
])
def test_bad_options_fail_clearly_before_any_request(graphsim, option, value, expected):
    options = graphsim.module_auth()
    options[option] = value
    failed(read_user(graphsim, options), expected)
    assert len(graphsim.log) == 0


def sim_environment(monkeypatch, sim, **names):
    """Point the modules at the simulator through the environment only."""
    monkeypatch.setenv("ENTRA_GRAPH_ENDPOINT", sim.base_url)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", sim.base_url)
    monkeypatch.setenv("ENTRA_CA_PATH", sim.ca_path)
    for name, value in names.items():
        monkeypatch.setenv(name, value)


def test_awx_azure_credential_variables_are_enough(graphsim, monkeypatch):
    creds = graphsim.credentials
    sim_environment(monkeypatch, graphsim, AZURE_CLIENT_ID=creds["client_id"], AZURE_SECRET=creds["client_secret"],
                    AZURE_TENANT=graphsim.tenant_id, AZURE_CLOUD_ENVIRONMENT="AzureCloud", AZURE_SUBSCRIPTION_ID="sub")
    result = run_module(probe_module, dict(action="get", path="/users/" + ADA))
    assert result["rc"] == 0, result
    assert (result["credential"], result["tenant_id"], result["client_id"], result["cloud"]) == (
        "client_secret", graphsim.tenant_id, creds["client_id"], "global")


@pytest.mark.parametrize("variable, value, cloud, scope", [
    ("AZURE_CLOUD_ENVIRONMENT", "AzureUSGovernment", "usgov", "https://graph.microsoft.us/.default"),
    ("AZURE_CLOUD_ENVIRONMENT", "AzureChinaCloud", "china", "https://microsoftgraph.chinacloudapi.cn/.default"),
    ("ENTRA_CLOUD", "usgov_dod", "usgov_dod", "https://dod-graph.microsoft.us/.default"),
])
def test_cloud_from_the_environment_picks_the_token_scope(graphsim, monkeypatch, variable, value, cloud, scope):
    sim_environment(monkeypatch, graphsim, **{variable: value})
    result = read_user(graphsim, graphsim.module_auth())
    assert result["rc"] == 0, result
    assert (result["cloud"], result["scope"]) == (cloud, scope)
    assert result["graph_url"] == graphsim.base_url  # graph_endpoint still decides where requests go


def test_entra_cloud_beats_azure_cloud_environment(graphsim, monkeypatch):
    sim_environment(monkeypatch, graphsim, ENTRA_CLOUD="china", AZURE_CLOUD_ENVIRONMENT="AzureUSGovernment")
    assert run_module(probe_module, dict(graphsim.module_auth()))["cloud"] == "china"


def test_unknown_cloud_environment_value_names_the_variable_and_the_azure_names_it_takes(graphsim, monkeypatch):
    sim_environment(monkeypatch, graphsim, AZURE_CLOUD_ENVIRONMENT="AzureGermanCloud")
    message = failed(run_module(probe_module, dict(graphsim.module_auth())), "cloud", "AZURE_CLOUD_ENVIRONMENT=AzureGermanCloud")
    assert message.endswith("AZURE_CLOUD_ENVIRONMENT=AzureGermanCloud (that variable takes AzureCloud, AzureUSGovernment, AzureChinaCloud, "
                            "or a cloud name)"), message
    assert len(graphsim.log) == 0


@pytest.mark.parametrize("option, variable, value, expected", [
    ("graph_endpoint", "ENTRA_GRAPH_ENDPOINT", "http://graph.example", "graph_endpoint (from ENTRA_GRAPH_ENDPOINT) must be an https:// URL, got "),
    ("authority_host", "AZURE_AUTHORITY_HOST", "https://login.example?tenant=x", "authority_host (from AZURE_AUTHORITY_HOST) must be a plain https:// URL"),
    ("tenant_id", "AZURE_TENANT", "contoso wrong", "tenant_id (from AZURE_TENANT) must be a tenant id (GUID) or a verified domain name"),
    ("client_id", "AZURE_CLIENT_ID", "offboarding-app", "client_id (from AZURE_CLIENT_ID) must be the application (client) id"),
    ("ca_path", "ENTRA_CA_PATH", "/nonexistent/ca.pem", "ca_path (from ENTRA_CA_PATH) '/nonexistent/ca.pem' does not exist"),
])
def test_a_bad_value_from_an_environment_variable_names_the_variable(graphsim, monkeypatch, option, variable, value, expected):
    sim_environment(monkeypatch, graphsim, **{variable: value})
    options = {name: given for name, given in graphsim.module_auth().items() if name != option}
    failed(read_user(graphsim, options), expected)
    assert len(graphsim.log) == 0


def test_a_bad_value_given_in_the_task_is_named_as_the_option_alone_whatever_the_environment_holds(graphsim, monkeypatch):
    sim_environment(monkeypatch, graphsim, AZURE_TENANT="contoso wrong")
    options = dict(graphsim.module_auth(), tenant_id="fabrikam wrong")
    message = failed(read_user(graphsim, options), "tenant_id must be a tenant id (GUID) or a verified domain name, got 'fabrikam wrong'")
    assert "AZURE_TENANT" not in message


def test_first_variable_wins_and_empty_ones_are_skipped(graphsim, monkeypatch):
    creds = graphsim.credentials
    sim_environment(monkeypatch, graphsim, AZURE_TENANT_ID=graphsim.tenant_id, AZURE_TENANT="contoso-wrong.example",
                    AZURE_CLIENT_ID=creds["client_id"], AZURE_CLIENT_SECRET="", AZURE_SECRET=creds["client_secret"])
    result = run_module(probe_module, dict(action="get", path="/users/" + ADA))
    assert result["rc"] == 0, result
    assert result["tenant_id"] == graphsim.tenant_id


def test_explicit_credential_beats_the_environment(graphsim, monkeypatch):
    sim_environment(monkeypatch, graphsim, AZURE_SECRET="stale-secret-from-awx")
    options = graphsim.module_auth("certificate")
    result = read_user(graphsim, options)
    assert result["rc"] == 0 and result["credential"] == "client_certificate_path", result


def test_a_secret_only_in_the_environment_is_used_and_masked_in_the_invocation(graphsim, monkeypatch):
    creds = graphsim.credentials
    sim_environment(monkeypatch, graphsim, AZURE_TENANT_ID=graphsim.tenant_id, AZURE_CLIENT_ID=creds["client_id"],
                    AZURE_CLIENT_SECRET=creds["client_secret"])
    result = run_module(probe_module, dict(action="settings"))
    assert result["rc"] == 0 and result["credential"] == "client_secret", result
    assert result["invocation"]["module_args"]["client_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert creds["client_secret"] not in json.dumps(result)


def test_a_credential_given_as_null_or_empty_counts_as_not_given(graphsim, monkeypatch):
    creds = graphsim.credentials
    sim_environment(monkeypatch, graphsim, AZURE_TENANT_ID=graphsim.tenant_id, AZURE_CLIENT_ID=creds["client_id"],
                    AZURE_CLIENT_SECRET=creds["client_secret"])
    for given in (None, ""):
        result = run_module(probe_module, dict(action="settings", client_secret=given, access_token=given))
        assert result["rc"] == 0 and result["credential"] == "client_secret", result


def test_two_credentials_in_the_environment_conflict(graphsim, monkeypatch):
    creds = graphsim.credentials
    sim_environment(monkeypatch, graphsim, AZURE_TENANT_ID=graphsim.tenant_id, AZURE_CLIENT_ID=creds["client_id"],
                    AZURE_CLIENT_SECRET=creds["client_secret"], AZURE_FEDERATED_TOKEN_FILE=creds["federated_token_file"])
    message = failed(run_module(probe_module, {}), "were found in the environment", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE")
    assert creds["client_secret"] not in message
    assert len(graphsim.log) == 0


def test_no_secret_assertion_or_token_in_anything_returned_or_raised(graphsim, tmp_path):
    """Run every path that could leak and look for every secret value in every output."""
    creds = graphsim.credentials
    with open(creds["federated_token_file"], encoding="utf-8") as handle:
        assertion = handle.read().strip()
    access_token = graphsim.issue_token()
    expired_token = graphsim.issue_token(lifetime=-10)
    expired_assertion_file = graphsim.issue_federated_assertion(lifetime=-3600, path=str(tmp_path / "expired.jwt"))
    with open(expired_assertion_file, encoding="utf-8") as handle:
        expired_assertion = handle.read().strip()
    tokens = []
    outputs = []

    for method in ("secret", "certificate", "federated", "access_token"):
        options = graphsim.module_auth(method)
        if method == "access_token":
            options["access_token"] = access_token
        outputs.append(read_user(graphsim, options))
        outputs.append(run_module(probe_module, dict(action="resolve_members", members=[ADA, "nobody@contoso.com"], **options)))
    bad = graphsim.module_auth()
    bad["client_secret"] = creds["client_secret"] + "x"
    outputs.append(read_user(graphsim, bad))
    outputs.append(read_user(graphsim, dict(graphsim.module_auth("access_token"), access_token=expired_token)))
    outputs.append(read_user(graphsim, dict(graphsim.module_auth("federated"), federated_token_file=expired_assertion_file)))
    outputs.append(read_user(graphsim, dict(graphsim.module_auth(), access_token=access_token)))

    # The client itself, with every token it gets recorded, failing in the ways it can.
    client = build_client(connection_settings(graphsim.module_auth()), on_token=tokens.append)
    outputs.append(client.get("/users/" + ADA))
    outputs.append(client.request("GET", "/users/nobody@contoso.com").error.to_dict())
    graphsim.clock.advance(7200)
    outputs.append(client.get("/users/" + ADA))
    for options in (dict(graphsim.module_auth(), client_secret="wrong"), dict(graphsim.module_auth("access_token"), access_token=expired_token)):
        try:
            build_client(connection_settings(options), on_token=tokens.append).get("/users/" + ADA)
        except EntraAuthError as exc:
            outputs.append(str(exc))
    assert len(tokens) == 3 and tokens[2] == expired_token  # two from MSAL (one a forced refresh), the given one

    text = repr(outputs)
    secrets = [creds["client_secret"], creds["client_secret"] + "x", assertion, expired_assertion, access_token, expired_token] + tokens
    with open(creds["certificate_path"], encoding="utf-8") as handle:
        pem = handle.read()
    key_body = pem.split("PRIVATE KEY-----")[1].split("-----END")[0].strip().splitlines()[1]
    for secret in secrets + [key_body]:
        assert secret not in text
    assert "AADSTS7000215" in text and "AADSTS700024" in text and "rejected the access_token" in text
