"""TLS cases test_graph_client_transport.py does not cover: verification with nothing configured, a wrong
CA given in ca_path, and ca_path winning even when REQUESTS_CA_BUNDLE would have worked.
(ca_path over REQUESTS_CA_BUNDLE, no CA, validate_certs false and its warning: test_graph_client_transport.py.)"""
import pytest
import trustme

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_group_member

LEAVER = "leaver@contoso.com"


@pytest.fixture(autouse=True)
def no_tls_settings_from_the_machine(monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "ENTRA_CA_PATH", "ENTRA_VALIDATE_CERTS", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def wrong_ca(tmp_path_factory):
    path = tmp_path_factory.mktemp("tls") / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def remove(sim, method="secret", **options):
    return run_module(entra_group_member, dict(sim.module_auth(method), groups=["VPN Users"], members=[LEAVER], **options))


def assert_tls_refused(sim, message):
    assert sim.base_url.split("//")[1] in message and "certificate verify failed" in message and "ca_path" in message, message
    assert "_ssl.c" not in message and "Traceback" not in message
    assert len(sim.log) == 0  # the handshake failed: not even the token request reached the simulator


def test_verification_is_on_with_nothing_configured(graphsim):
    result = remove(graphsim, ca_path=None)
    assert result["failed"] and result["rc"] == 1
    assert_tls_refused(graphsim, result["msg"])


def test_a_wrong_ca_in_ca_path_fails_clearly_at_login_and_at_graph(graphsim, wrong_ca):
    login = remove(graphsim, ca_path=wrong_ca)
    assert login["failed"] and "Authentication failed" in login["msg"]
    assert_tls_refused(graphsim, login["msg"])
    assert "ca_path (%s) does not hold the CA" % wrong_ca in login["msg"], "the advice must name the CA bundle in use"
    # A given access token skips the login: Graph's own handshake fails the same clear way, per pair, never retried.
    graph = remove(graphsim, "access_token", ca_path=wrong_ca)
    (entry,) = graph["results"]
    assert entry["status"] == "failed" and entry["error"]["code"] == "SSLError"
    assert_tls_refused(graphsim, entry["error"]["message"])


def test_ca_path_wins_even_when_requests_ca_bundle_would_work(graphsim, wrong_ca, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", graphsim.ca_path)
    result = remove(graphsim, ca_path=wrong_ca)
    assert result["failed"]
    assert_tls_refused(graphsim, result["msg"])
    assert remove(graphsim, ca_path=None)["results"][0]["status"] == "removed"  # the variable alone is trusted
