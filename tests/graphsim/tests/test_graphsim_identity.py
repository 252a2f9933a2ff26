"""The identity platform: OIDC discovery, the token endpoint (secret, certificate, federated), AADSTS errors, tokens."""
from __future__ import annotations

import time

import jwt
import msal
import pytest

from .conftest import GRAPH_SCOPE, GraphApi, https_session

LEAVER = "leaver@contoso.com"


def token_request(sim, tenant=None, **form):
    data = {"grant_type": "client_credentials", "client_id": sim.credentials["client_id"], "scope": GRAPH_SCOPE}
    data.update(form)
    data = {k: v for k, v in data.items() if v is not None}
    return https_session(sim).post(f"{sim.base_url}/{tenant or sim.tenant_id}/oauth2/v2.0/token", data=data,
                                   headers={"client-request-id": "11111111-2222-3333-4444-555555555555"})


def assert_aadsts(answer, status, error, code, text):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: {text}")
    assert "\r\nTrace ID: " in body["error_description"] and "\r\nCorrelation ID: " in body["error_description"]
    assert body["correlation_id"] == "11111111-2222-3333-4444-555555555555"
    assert body["trace_id"] and body["timestamp"].endswith("Z")


def msal_app(sim, credential, client_id=None):
    return msal.ConfidentialClientApplication(
        client_id or sim.credentials["client_id"], authority=f"{sim.base_url}/{sim.tenant_id}",
        client_credential=credential, instance_discovery=False, http_client=https_session(sim))


def test_openid_configuration_points_at_the_simulator(graphsim):
    for tenant in (graphsim.tenant_id, "contoso.com", "contoso.onmicrosoft.com"):
        answer = https_session(graphsim).get(f"{graphsim.base_url}/{tenant}/v2.0/.well-known/openid-configuration")
        assert answer.status_code == 200
        config = answer.json()
        assert config["token_endpoint"] == f"{graphsim.base_url}/{graphsim.tenant_id}/oauth2/v2.0/token"
        assert config["issuer"] == f"{graphsim.base_url}/{graphsim.tenant_id}/v2.0"
    unknown = https_session(graphsim).get(f"{graphsim.base_url}/fabrikam.com/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [90002]


def test_msal_with_secret_gets_a_token_that_graph_accepts(graphsim):
    result = msal_app(graphsim, graphsim.credentials["client_secret"]).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == graphsim.tenant_id
    assert "GroupMember.ReadWrite.All" in claims["roles"]
    assert GraphApi(graphsim, token=result["access_token"]).get(f"/users/{LEAVER}").status_code == 200
    token_entry = graphsim.log.filter(path_re=r"/oauth2/v2\.0/token$")[-1]
    assert token_entry.body == {"grant_type": "client_credentials", "client_id": graphsim.credentials["client_id"],
                                "scope": GRAPH_SCOPE}


def test_msal_with_certificate_public_certificate_sends_ps256_x5t_s256(graphsim):
    with open(graphsim.credentials["certificate_path"], encoding="utf-8") as handle:
        pem = handle.read()
    key = pem[: pem.index("-----BEGIN CERTIFICATE-----")]
    cert = pem[pem.index("-----BEGIN CERTIFICATE-----"):]
    result = msal_app(graphsim, {"private_key": key, "public_certificate": cert}).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["appidacr"] == "2"


def test_msal_with_certificate_thumbprint_sends_rs256_x5t(graphsim):
    with open(graphsim.credentials["certificate_path"], encoding="utf-8") as handle:
        pem = handle.read()
    credential = {"private_key": pem[: pem.index("-----BEGIN CERTIFICATE-----")],
                  "thumbprint": graphsim.credentials["certificate_thumbprint"]}
    result = msal_app(graphsim, credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result


def test_msal_with_federated_token_file(graphsim):
    with open(graphsim.credentials["federated_token_file"], encoding="utf-8") as handle:
        assertion = handle.read()
    result = msal_app(graphsim, {"client_assertion": lambda: assertion}).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result


def test_msal_reports_the_aadsts_code_of_a_wrong_secret(graphsim):
    result = msal_app(graphsim, "not-the-secret").acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_wrong_secret_is_7000215(graphsim):
    answer = token_request(graphsim, client_secret="wrong")
    assert_aadsts(answer, 401, "invalid_client", 7000215, "Invalid client secret provided.")
    assert "wrong" not in answer.text
    assert all("wrong" not in repr(entry) for entry in graphsim.log)


def test_unknown_app_is_700016(graphsim):
    answer = token_request(graphsim, client_id="00000000-0000-0000-0000-0000000000aa", client_secret="x")
    assert_aadsts(answer, 400, "unauthorized_client", 700016,
                  "Application with identifier '00000000-0000-0000-0000-0000000000aa' was not found in the directory 'Contoso'.")


def test_unknown_tenant_missing_credential_and_bad_scope(graphsim):
    assert_aadsts(token_request(graphsim, tenant="fabrikam.com", client_secret="x"), 400, "invalid_request", 90002,
                  "Tenant 'fabrikam.com' not found.")
    assert_aadsts(token_request(graphsim), 401, "invalid_client", 7000218,
                  "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
    assert_aadsts(token_request(graphsim, client_secret=graphsim.credentials["client_secret"], scope="User.Read"),
                  400, "invalid_scope", 1002012, "The provided value for scope User.Read is not valid.")
    assert_aadsts(token_request(graphsim, client_secret="x", scope="https://management.azure.com/.default"),
                  400, "invalid_resource", 500011, "The resource principal named https://management.azure.com was not found")
    assert_aadsts(token_request(graphsim, grant_type=None), 400, "invalid_request", 900144,
                  "The request body must contain the following parameter: 'grant_type'.")
    assert_aadsts(token_request(graphsim, grant_type="password"), 400, "unsupported_grant_type", 70003,
                  "The app requested an unsupported grant type 'password'.")


def test_national_cloud_scopes_and_http_basic_are_accepted(graphsim):
    for resource in ("https://graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn", graphsim.base_url):
        answer = token_request(graphsim, client_secret=graphsim.credentials["client_secret"], scope=f"{resource}/.default")
        assert answer.status_code == 200, answer.text
    basic = https_session(graphsim).post(
        f"{graphsim.base_url}/{graphsim.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
        auth=(graphsim.credentials["client_id"], graphsim.credentials["client_secret"]))
    assert basic.status_code == 200, basic.text


def _signed_assertion(sim, **overrides):
    """A certificate client assertion as MSAL builds it, with claims/headers overridden."""
    from graphsim import certs
    app = sim.app()
    cert = sim.app_certificates(app["client_id"])[0]
    now = sim.clock.now()
    claims = {"aud": f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token", "iss": app["client_id"], "sub": app["client_id"],
              "exp": now + 600, "iat": now, "jti": "x"}
    claims.update({k: v for k, v in overrides.items() if k != "key"})
    key = overrides.get("key") or certs.rsa_key(f"app:{sim.state.domain}:{app['name']}")
    return jwt.encode(claims, key, algorithm="RS256", headers=certs.thumbprints(cert))


def assertion_request(sim, assertion):
    return token_request(sim, client_assertion=assertion,
                         client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")


def test_certificate_assertion_checks(graphsim):
    from graphsim import certs
    assert assertion_request(graphsim, _signed_assertion(graphsim)).status_code == 200
    assert_aadsts(assertion_request(graphsim, _signed_assertion(graphsim, exp=time.time() - 3600)),
                  400, "invalid_client", 700024, "Client assertion is not within its valid time range.")
    assert_aadsts(assertion_request(graphsim, _signed_assertion(graphsim, aud="https://login.microsoftonline.com/x/oauth2/v2.0/token")),
                  401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer.")
    assert_aadsts(assertion_request(graphsim, _signed_assertion(graphsim, iss="someone-else")),
                  401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
    assert_aadsts(assertion_request(graphsim, _signed_assertion(graphsim, key=certs.rsa_key("some-other-key"))),
                  401, "invalid_client", 700027, "Client assertion failed signature validation.")
    unknown_cert = jwt.encode({"aud": "x"}, certs.rsa_key("some-other-key"), algorithm="RS256", headers={"x5t": "AAAA"})
    assert_aadsts(assertion_request(graphsim, unknown_cert), 401, "invalid_client", 700027,
                  "The certificate with identifier used to sign the client assertion is not registered on application.")
    assert_aadsts(assertion_request(graphsim, "not-a-jwt"), 400, "invalid_request", 50027, "JWT token is invalid or malformed.")


def test_assertion_expires_on_the_simulator_clock(graphsim):
    assertion = _signed_assertion(graphsim)
    graphsim.clock.advance(3600)
    assert_aadsts(assertion_request(graphsim, assertion), 400, "invalid_client", 700024,
                  "Client assertion is not within its valid time range.")


def test_federated_assertion_checks(graphsim):
    ok = graphsim.issue_federated_assertion()
    with open(ok, encoding="utf-8") as handle:
        assert assertion_request(graphsim, handle.read()).status_code == 200

    def read(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()

    github = graphsim.issue_federated_assertion(issuer="https://token.actions.githubusercontent.com",
                                                subject="repo:contoso/offboarding:environment:production")
    assert assertion_request(graphsim, read(github)).status_code == 200
    assert_aadsts(assertion_request(graphsim, read(graphsim.issue_federated_assertion(issuer="https://evil.example"))),
                  400, "invalid_request", 700211, "No matching federated identity record found for presented assertion issuer")
    assert_aadsts(assertion_request(graphsim, read(graphsim.issue_federated_assertion(subject="system:serviceaccount:x:y"))),
                  400, "invalid_request", 700213, "No matching federated identity record found for presented assertion subject")
    assert_aadsts(assertion_request(graphsim, read(graphsim.issue_federated_assertion(audience="api://other"))),
                  400, "invalid_request", 700212, "No matching federated identity record found for presented assertion audience")
    assert_aadsts(assertion_request(graphsim, read(graphsim.issue_federated_assertion(lifetime=-3600))),
                  400, "invalid_client", 700024, "Client assertion is not within its valid time range.")


def test_graph_401_for_missing_expired_and_foreign_tokens(graphsim):
    anonymous = GraphApi(graphsim, token=False).get(f"/users/{LEAVER}")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert anonymous.json()["error"]["message"] == "Access token is empty."
    short = graphsim.issue_token(lifetime=60)
    assert GraphApi(graphsim, token=short).get(f"/users/{LEAVER}").status_code == 200
    graphsim.clock.advance(61)
    expired = GraphApi(graphsim, token=short).get(f"/users/{LEAVER}")
    assert (expired.status_code, expired.json()["error"]["message"]) == (401, "Access token has expired or is not yet valid.")
    forged = jwt.encode({"aud": "https://graph.microsoft.com", "exp": time.time() + 600},
                        "an-hmac-key-that-graphsim-never-issued-tokens-with", algorithm="HS256")
    assert GraphApi(graphsim, token=forged).get(f"/users/{LEAVER}").json()["error"]["message"] == "Access token validation failure."
    assert GraphApi(graphsim, token="opaque-garbage").get(f"/users/{LEAVER}").status_code == 401
    other_audience = graphsim.issue_token(resource="https://management.azure.com")
    assert GraphApi(graphsim, token=other_audience).get(f"/users/{LEAVER}").json()["error"]["message"] == \
        "Access token validation failure. Invalid audience."


def test_token_lifetime_is_configurable_and_opaque_tokens_work(graphsim_factory):
    sim = graphsim_factory(token_lifetime=120, token_format="opaque")
    answer = token_request(sim, client_secret=sim.credentials["client_secret"])
    assert answer.json()["expires_in"] == 120
    token = answer.json()["access_token"]
    assert token.count(".") != 2  # not a JWT
    assert GraphApi(sim, token=token).get(f"/users/{LEAVER}").status_code == 200


def test_token_roles_follow_set_app_roles_from_the_next_token(graphsim):
    client_id = graphsim.credentials["client_id"]
    before = graphsim.issue_token()
    graphsim.set_app_roles(client_id, ["User.Read.All"])
    after = GraphApi(graphsim)  # fetches a new token through the token endpoint
    group = graphsim.state.id_of("group", "Sales")
    assert after.get(f"/groups/{group}").status_code == 403
    assert GraphApi(graphsim, token=before).get(f"/groups/{group}").status_code == 200


@pytest.mark.parametrize("method", ["secret", "certificate", "federated", "access_token"])
def test_module_auth_gives_working_options(graphsim, method):
    options = graphsim.module_auth(method)
    assert options["graph_endpoint"] == graphsim.base_url and options["ca_path"] == graphsim.ca_path
    if method == "access_token":
        token = options["access_token"]
    elif method == "secret":
        token = token_request(graphsim, client_secret=options["client_secret"]).json()["access_token"]
    elif method == "certificate":
        with open(options["client_certificate_path"], encoding="utf-8") as handle:
            pem = handle.read()
        result = msal_app(graphsim, {"private_key": pem, "public_certificate": pem[pem.index("-----BEGIN CERTIFICATE"):]}
                          ).acquire_token_for_client(scopes=[GRAPH_SCOPE])
        token = result["access_token"]
    else:
        with open(options["federated_token_file"], encoding="utf-8") as handle:
            token = assertion_request(graphsim, handle.read()).json()["access_token"]
    assert GraphApi(graphsim, token=token).get(f"/users/{LEAVER}").status_code == 200
