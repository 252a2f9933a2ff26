"""GraphClient transport against the simulator: TLS and CA choice, proxies, headers, retries, timeouts."""
import re
import select
import socket
import socketserver
import threading

import pytest

import probe_module
from modrun import run_module

from ansible_collections.entra.membership.plugins.module_utils._connection_options import connection_settings
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError, GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import USER_AGENT
from ansible_collections.entra.membership.plugins.module_utils._module import build_client

ADA = "ada@contoso.com"
USERS = r"^/v1\.0/users/"
PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in PROXY_ENV + ("ENTRA_CA_PATH", "ENTRA_VALIDATE_CERTS"):
        monkeypatch.delenv(name, raising=False)


def client_for(sim, method="secret", **options):
    warnings = []
    params = dict(sim.module_auth(method), **options)
    return build_client(connection_settings(params), warn=warnings.append), warnings


def attempts(sim, path_re=USERS):
    return [entry for entry in sim.log if re.search(path_re, entry.path) and not entry.in_batch]


# -- TLS -------------------------------------------------------------------------------------


def test_ca_path_beats_requests_ca_bundle(graphsim, monkeypatch):
    # This machine points both variables at the system bundle, which does not hold the simulator's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client, warnings = client_for(graphsim)
    assert client.get("/users/" + ADA)["userPrincipalName"] == ADA
    assert warnings == []


def test_without_ca_path_the_environment_bundle_applies(graphsim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", graphsim.ca_path)
    client, _warnings = client_for(graphsim, ca_path=None)
    assert client.get("/users/" + ADA)["id"] == graphsim.state.user_id(ADA)


def test_tls_failure_without_the_ca_names_the_host_and_ca_path(graphsim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    host = graphsim.base_url.split("//")[1]
    result = run_module(probe_module, dict(graphsim.module_auth(), ca_path=None, action="get", path="/users/" + ADA))
    assert result["failed"] and host in result["msg"] and "ca_path" in result["msg"], result["msg"]
    assert "certificate verify failed" in result["msg"]
    # Without MSAL in the way (a given token), the Graph request itself fails the same clear way.
    client, _warnings = client_for(graphsim, "access_token", ca_path=None)
    response = client.request("GET", "/users/" + ADA)
    assert (response.status, response.error.code) == (None, "SSLError")
    assert host in response.error.message and "ca_path" in response.error.message
    assert client.stats["retries"] == 0  # a certificate problem does not go away by asking again
    assert len(graphsim.log) == 0


def test_validate_certs_false_works_and_warns(graphsim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    result = run_module(probe_module, dict(graphsim.module_auth(), ca_path=None, validate_certs=False, action="get", path="/users/" + ADA))
    assert result["rc"] == 0, result
    assert any("validate_certs is false" in warning for warning in result["warnings"])


def test_validate_certs_false_is_taken_from_the_environment(graphsim, monkeypatch):
    monkeypatch.setenv("ENTRA_VALIDATE_CERTS", "false")
    result = run_module(probe_module, dict(graphsim.module_auth(), ca_path=None, action="get", path="/users/" + ADA))
    assert result["rc"] == 0 and result["verify"] is False, result


class _ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy that counts the tunnels it opens."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.tunnels = []
        super().__init__(("127.0.0.1", 0), _ConnectHandler)


class _ConnectHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline().decode("latin-1")
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        method, target, _version = request.split(" ", 2)
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        self.server.tunnels.append(target)
        upstream = socket.create_connection((host, int(port)))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable = select.select(sockets, [], [], 5)[0]
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


def test_proxy_from_the_environment_is_used(graphsim, monkeypatch):
    proxy = _ConnectProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.server_address[1])
        client, _warnings = client_for(graphsim)
        assert client.get("/users/" + ADA)["id"]
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.tunnels and set(proxy.tunnels) == {graphsim.base_url.split("//")[1]}


# -- headers ---------------------------------------------------------------------------------


def test_every_request_carries_the_user_agent_and_a_fresh_client_request_id(graphsim):
    client, _warnings = client_for(graphsim)
    first = client.request("GET", "/users/" + ADA)
    second = client.request("GET", "/users/nobody@contoso.com")
    assert first.ok and second.status == 404 and second.error.code == "Request_ResourceNotFound"
    entries = attempts(graphsim)
    assert [entry.client_request_id for entry in entries] == [first.client_request_id, second.client_request_id]
    assert first.client_request_id != second.client_request_id
    assert {entry.headers.get("user-agent") for entry in entries} == {USER_AGENT}
    assert first.request_id == entries[0].request_id and second.error.request_id == entries[1].request_id


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttling_is_retried_after_retry_after(graphsim, status):
    graphsim.faults.add(status, rate=1, limit=2, path_re=USERS, retry_after=0.1)
    client, _warnings = client_for(graphsim)
    response = client.request("GET", "/users/" + ADA)
    assert response.ok
    assert [entry.status for entry in attempts(graphsim)] == [status, status, 200]
    assert client.stats["retries"] == 2 and client.stats["throttled"] == 2
    assert client.stats["waited_seconds"] == pytest.approx(0.2)  # exactly the two Retry-After values, no backoff added


def test_fractional_retry_after_is_honoured(graphsim):
    graphsim.faults.add(429, rate=1, limit=1, path_re=USERS, retry_after=0.125)
    client, _warnings = client_for(graphsim)
    assert client.request("GET", "/users/" + ADA).ok
    assert client.stats["waited_seconds"] == pytest.approx(0.125)


def test_retries_stop_at_max_retries(graphsim):
    graphsim.faults.add(429, rate=1, path_re=USERS, retry_after=0.01)
    client, _warnings = client_for(graphsim, max_retries=2)
    response = client.request("GET", "/users/" + ADA)
    assert (response.status, response.ok) == (429, False)
    assert response.error.code and response.error.status == 429
    assert len(attempts(graphsim)) == 3 and client.stats["retries"] == 2
    with pytest.raises(GraphError) as caught:
        client.get("/users/" + ADA)
    assert caught.value.status == 429


def test_max_retries_zero_sends_once(graphsim):
    graphsim.faults.add(503, rate=1, path_re=USERS, retry_after=0.01)
    client, _warnings = client_for(graphsim, max_retries=0)
    assert client.request("GET", "/users/" + ADA).status == 503
    assert len(attempts(graphsim)) == 1


def test_connection_reset_is_retried_with_backoff(graphsim):
    graphsim.faults.add("reset", rate=1, limit=1, path_re=USERS)
    client, _warnings = client_for(graphsim)
    assert client.get("/users/" + ADA)["userPrincipalName"] == ADA
    assert client.stats["retries"] == 1 and client.stats["throttled"] == 0
    assert 0.5 <= client.stats["waited_seconds"] <= 1.0  # first backoff step: 0.5 s plus up to 0.5 s jitter
    assert len(attempts(graphsim)) == 2


def test_truncated_answer_is_asked_again(graphsim):
    graphsim.faults.add("truncate", rate=1, limit=1, path_re=USERS)
    client, _warnings = client_for(graphsim)
    assert client.get("/users/" + ADA)["userPrincipalName"] == ADA
    assert client.stats["retries"] == 1
    assert len(attempts(graphsim)) == 2


def test_a_server_that_never_answers_times_out_clearly(graphsim):
    client, _warnings = client_for(graphsim, "access_token", timeout=1, max_retries=0)
    graphsim.latency = 2.5
    response = client.request("GET", "/users/" + ADA)
    assert (response.status, response.error.code) == (None, "Timeout")
    assert "within 1 seconds" in response.error.message and graphsim.base_url.split("//")[1] in response.error.message


def test_a_port_where_nothing_listens_is_a_connection_error_retried_as_allowed(graphsim):
    client, _warnings = client_for(graphsim, "access_token", graph_endpoint="https://127.0.0.1:9", max_retries=1)
    response = client.request("GET", "/users/" + ADA)
    assert (response.status, response.error.code) == (None, "ConnectionError")
    assert "127.0.0.1:9" in response.error.message and client.stats["retries"] == 1


def test_login_host_unreachable_is_an_auth_error(graphsim):
    client, _warnings = client_for(graphsim, authority_host="https://127.0.0.1:9")
    with pytest.raises(EntraAuthError) as caught:
        client.authenticate()
    assert "127.0.0.1:9" in str(caught.value) and graphsim.tenant_id in str(caught.value)


def test_next_links_go_only_to_graph(graphsim):
    client, _warnings = client_for(graphsim)
    response = client.request("GET", "https://attacker.example/v1.0/users?$skiptoken=x")
    assert (response.status, response.error.code) == (None, "UntrustedLink")
    assert len(graphsim.log) == 0  # not even a token was fetched for it
