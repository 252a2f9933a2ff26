"""``GraphSimulator``: the HTTPS server, the dispatcher, and the API tests steer it with."""
from __future__ import annotations

import functools
import os
import socket
import ssl
import struct
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from . import budget as throttling_budget
from . import certs
from .batch import Batch
from .graph import DEFAULT_LENIENT, VERSIONS, Graph, GraphError, check_lenient
from .identity import Identity
from .instrumentation import Clock, Faults, LogEntry, RequestLog
from .protocol import Call, Headers, Reply
from .state import TenantState

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DEMO_TENANT = os.path.join(PACKAGE_DIR, "tenants", "demo.yml")
EDGE_TENANT = os.path.join(PACKAGE_DIR, "tenants", "edge.yml")  # documented edge cases the demo tenant leaves out
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
FAULT_ERRORS = {
    429: ("TooManyRequests", "Too many requests. Please retry after the time given in the Retry-After header."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry."),
    504: ("GatewayTimeout", "The gateway did not receive a response from the service in time."),
}
_SECRET_WORDS = ("secret", "assertion", "token", "password", "authorization")
PROXY_ERROR_PAGE = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1>\n"
                    b"<p>The proxy server received an invalid response from an upstream server.</p>\n" + b"<!-- padding -->\n" * 200
                    + b"</body></html>\n")
# Callables told of every simulator that starts: the pytest plugins keep track of what a test used.
start_observers = []


@functools.lru_cache(maxsize=None)
def _read_tenant_file(path: str, mtime: float) -> dict:
    del mtime  # part of the cache key only: an edited file is read again
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def load_tenant(tenant) -> dict:
    """A tenant spec from a YAML path (``None``: the demo tenant) or a dict (e.g. from ``generate.tenant()``)."""
    if tenant is None:
        tenant = DEMO_TENANT
    if isinstance(tenant, dict):
        return tenant
    path = os.path.abspath(os.fspath(tenant))
    return _read_tenant_file(path, os.path.getmtime(path))


def _scrub(value):
    """A log-safe copy of a request body: nothing that looks like a credential survives."""
    if isinstance(value, dict):
        return {k: ("***" if any(w in k.lower() for w in _SECRET_WORDS) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


class GraphSimulator:
    """A stateful Microsoft Graph + identity platform fake on ``https://127.0.0.1:PORT``.

    Use as a context manager (``with GraphSimulator() as sim:``), through the pytest fixtures
    (``graphsim``, ``graphsim_session``, ``graphsim_factory``) or ``python -m graphsim``.
    """

    def __init__(self, tenant=None, page_size: int = 100, port: int = 0, host: str = "127.0.0.1", seed: int = 0,
                 token_lifetime: float = 3600, token_format: str = "jwt", latency: float = 0.0,
                 consistency_lag: int = 0, replication_lag: bool = False, graph_hosts=(), lenient=DEFAULT_LENIENT,
                 budget=None):
        if token_format not in ("jwt", "opaque"):
            raise ValueError(f"token_format must be 'jwt' or 'opaque', got {token_format!r}")
        self._spec = load_tenant(tenant)
        self._defaults = dict(page_size=page_size, token_lifetime=token_lifetime, token_format=token_format,
                              latency=latency, consistency_lag=consistency_lag, replication_lag=replication_lag, seed=seed,
                              lenient=check_lenient(lenient))
        self._host, self._port = host, port
        self.graph_hosts = tuple(graph_hosts)
        self.log = RequestLog()
        self.destructive_events = []
        self.faults = Faults()
        self.clock = Clock()
        self.identity = Identity(self)
        self.graph = Graph(self)
        self.ca_path, self._server_pem = certs.tls_material()
        self._server = None
        self._thread = None
        self.base_url = None
        self._apply_defaults()
        self.state = TenantState(self._spec)
        self.state.consistency_lag = consistency_lag
        self.batch = Batch(self)
        self._budget_setting = budget
        self.budget = throttling_budget.build(self, budget)

    def _apply_defaults(self) -> None:
        for name, value in self._defaults.items():
            setattr(self, name, value)

    @property
    def lenient(self) -> frozenset:
        """The documented behaviours this simulator relaxes (names of ``graph.LENIENCIES``); empty: Graph as documented."""
        return self._lenient

    @lenient.setter
    def lenient(self, names) -> None:
        self._lenient = check_lenient(names)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "GraphSimulator":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._server_pem)
        self._server = _Server((self._host, self._port), _Handler, context, self)
        port = self._server.server_address[1]
        self.base_url = f"https://{self._host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"graphsim:{port}", daemon=True)
        self._thread.start()
        self._write_federated_token()
        for observe in list(start_observers):
            observe(self)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self) -> None:
        """Fresh tenant state, empty log and events, no faults, default knobs (what ``graphsim_session`` does per test)."""
        self._apply_defaults()
        self.state = TenantState(self._spec)
        self.state.consistency_lag = self.consistency_lag
        self.log.clear()
        self.destructive_events.clear()
        self.faults.clear()
        self.clock.offset = 0.0
        self.batch.reseed(self.seed)
        self.budget = throttling_budget.build(self, self._budget_setting)
        self._write_federated_token()

    def set_budget(self, setting) -> None:
        """Turn the throttling budget on (True, or a dict of ``ThrottlingBudget`` keywords) or off (None) until ``reset()``."""
        self.budget = throttling_budget.build(self, setting)

    # ------------------------------------------------------------------ credentials
    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    def app(self, client_id: str | None = None) -> dict:
        return self.state.apps[client_id] if client_id else self.state.default_app()

    def app_certificates(self, client_id: str) -> list:
        app = self.state.apps[client_id]
        return [certs.app_certificate(f"{self.state.domain}:{app['name']}")[1]] if app["certificate"] else []

    def certificate_path(self, client_id: str | None = None) -> str | None:
        app = self.app(client_id)
        return certs.app_certificate(f"{self.state.domain}:{app['name']}")[0] if app["certificate"] else None

    @property
    def credentials(self) -> dict:
        """The default app's credentials: client_id, client_secret, certificate_path, certificate_thumbprint, federated_token_file."""
        app = self.app()
        cert_path = self.certificate_path()
        return {
            "tenant_id": self.tenant_id,
            "client_id": app["client_id"],
            "client_secret": app["secrets"][0] if app["secrets"] else None,
            "certificate_path": cert_path,
            "certificate_thumbprint": certs.sha1_hex(self.app_certificates(app["client_id"])[0]) if cert_path else None,
            "federated_token_file": self._federated_token_path(app),
        }

    def module_auth(self, method: str = "secret", client_id: str | None = None) -> dict:
        """Module options that point a module at this simulator; ``method``: secret | certificate | federated | access_token."""
        app = self.app(client_id)
        options = {"tenant_id": self.tenant_id, "client_id": app["client_id"], "graph_endpoint": self.base_url,
                   "authority_host": self.base_url, "ca_path": self.ca_path}
        if method == "secret":
            options["client_secret"] = app["secrets"][0]
        elif method == "certificate":
            options["client_certificate_path"] = self.certificate_path(app["client_id"])
        elif method == "federated":
            options["federated_token_file"] = self._federated_token_path(app)
        elif method == "access_token":
            del options["client_id"]
            options["access_token"] = self.issue_token(client_id=app["client_id"])
        else:
            raise ValueError(f"method must be secret, certificate, federated or access_token, got {method!r}")
        return options

    def environment(self) -> dict:
        """The environment variables the collection reads, for subprocesses (ansible-playbook, AWX-like runs)."""
        creds = self.credentials
        return {"ENTRA_GRAPH_ENDPOINT": self.base_url, "AZURE_AUTHORITY_HOST": self.base_url, "ENTRA_CA_PATH": self.ca_path,
                "AZURE_TENANT_ID": self.tenant_id, "AZURE_CLIENT_ID": creds["client_id"],
                "AZURE_CLIENT_SECRET": creds["client_secret"]}

    def issue_token(self, roles=None, lifetime: float | None = None, client_id: str | None = None,
                    resource: str = "https://graph.microsoft.com") -> str:
        """A Graph access token (for ``access_token`` tests); ``roles`` defaults to the app's granted permissions."""
        return self.identity.issue(self.app(client_id), resource=resource, lifetime=lifetime, roles=roles)

    def set_app_roles(self, client_id: str, roles) -> None:
        """Grant exactly ``roles`` to the app; tokens issued from now on carry them (earlier tokens keep theirs, as in Entra)."""
        self.state.apps[client_id]["roles"] = list(roles)

    def set_app_scoped_administrative_units(self, client_id: str, units) -> None:
        """Give the app a Microsoft Entra role scoped to exactly these administrative units (ids or names): the only
        way an app may change objects in a restricted management unit (admin-units-restricted-management.md)."""
        self.state.apps[client_id]["scoped_administrative_units"] = [
            unit if unit in self.state.aus else self.state.id_of("administrativeUnit", unit) for unit in units]

    def issue_federated_assertion(self, subject: str | None = None, issuer: str | None = None, audience: str | None = None,
                                  lifetime: float = 3600, path: str | None = None, client_id: str | None = None) -> str:
        """Write an external IdP's token (what Kubernetes/GitHub put in AZURE_FEDERATED_TOKEN_FILE); returns the path.

        Defaults come from the app's first federated credential, so the result is accepted.
        """
        app = self.app(client_id)
        credential = (app["federated_credentials"] or [{}])[0]
        token = self.identity.federated_assertion(
            subject=subject or credential.get("subject", "system:serviceaccount:default:default"),
            issuer=issuer or self.federation_issuer(credential),
            audience=audience or (credential.get("audiences") or ["api://AzureADTokenExchange"])[0], lifetime=lifetime)
        path = path or os.path.join(certs.material_dir(), f"federated-{uuid.uuid4().hex}.jwt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(token)
        return path

    def federation_issuer(self, credential: dict) -> str:
        issuer = credential.get("issuer")
        return issuer if issuer else f"{self.base_url}/federation"

    def _federated_token_path(self, app: dict) -> str | None:
        if not app["federated_credentials"] or self.base_url is None:
            return None
        return os.path.join(certs.material_dir(), f"federated-{self._port_id()}-{app['client_id']}.jwt")

    def _port_id(self) -> str:
        return self.base_url.rsplit(":", 1)[1] if self.base_url else "0"

    def _write_federated_token(self) -> None:
        for app in self.state.apps.values():
            path = self._federated_token_path(app)
            if path:
                self.issue_federated_assertion(path=path, client_id=app["client_id"], lifetime=86400)

    def secrets(self) -> list:
        """Every credential this simulator knows or made: apps' client secrets, certificate private key
        bodies, federated assertions and access tokens issued so far (what must never show anywhere)."""
        found = [secret for app in self.state.apps.values() for secret in app["secrets"]]
        for app in self.state.apps.values():
            path = self.certificate_path(app["client_id"])
            if path:
                with open(path, encoding="utf-8") as handle:
                    pem = handle.read()
                key = pem.split("PRIVATE KEY-----", 1)[1].split("-----END", 1)[0]
                found += [line for line in key.split() if len(line) >= 16]
        return found + list(self.identity.issued)

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, call: Call, batch_id: str | None = None, refusal: GraphError | None = None) -> Reply:
        """Answer one request (HTTP or $batch item), log it, inject faults; the HTTP layer does the socket work.

        ``refusal``: a $batch item the batch layer already refused (logged and answered with that error).
        """
        started = time.monotonic()
        entry = LogEntry(method=call.method, path=call.path, query=dict(call.query), in_batch=call.in_batch,
                         request_id=call.request_id, client_request_id=call.client_request_id, raw_path=call.raw_path,
                         batch_id=batch_id,
                         headers={k: v for k, v in call.headers.items() if k not in ("authorization", "cookie")})
        rule = None if refusal else self.faults.pick(call.method, call.path, in_batch=call.in_batch)
        if refusal is not None:
            reply = self.graph.error_reply(refusal, call)
        elif rule is not None and rule.kind in FAULT_ERRORS:
            if rule.applied:
                self._answer(call)  # carried out; only the answer is the fault
                entry.applied = True
            code, message = FAULT_ERRORS[rule.kind]
            headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
            reply = self.graph.error_reply(GraphError(rule.kind, code, message, headers), call)
            entry.fault = rule.kind
        elif rule is not None and rule.kind == "reset":
            reply = Reply(0)
            entry.fault = "reset"
        elif rule is not None and rule.kind == "html":
            reply = Reply(502, PROXY_ERROR_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            entry.fault = "html"
        elif (admission := self.budget.admit(call) if self.budget is not None else None) and admission.reply is not None:
            reply = admission.reply  # over the throttling budget: refused before anything is carried out
        else:
            if rule is not None and rule.kind == "slow":
                time.sleep(rule.delay)
            elif rule is not None and rule.kind == "expire_token":
                self.clock.advance(self.token_lifetime + 1)
            reply = self._answer(call)
            if rule is not None and rule.kind == "batch_status" and 200 <= reply.status < 300:
                reply.status = rule.status
                if rule.retry_after is not None:
                    reply.headers["Retry-After"] = str(rule.retry_after)
            if admission is not None:
                reply.headers.update(admission.headers)
            if rule is not None:
                entry.fault = rule.kind  # truncate: carried out, answer cut short
        reply.fault = entry.fault if entry.fault in ("reset", "truncate") else None
        reply.headers.setdefault("request-id", call.request_id)
        reply.headers.setdefault("client-request-id", call.client_request_id or call.request_id)
        if reply.body is not None and not isinstance(reply.body, bytes):
            reply.headers.setdefault("Content-Type", JSON_TYPE if "/oauth2/" not in call.path else "application/json; charset=utf-8")
        entry.status = reply.status if entry.fault != "reset" else None
        entry.bind_hosts = list(call.bind_hosts)
        entry.body = self._log_body(call, entry)
        entry.duration = time.monotonic() - started
        self.log.append(entry)
        return reply

    def _log_body(self, call: Call, entry: LogEntry):
        if call.log_body is not None:
            return call.log_body
        if not entry.is_write or not call.body:
            return None
        try:
            return _scrub(call.json())
        except ValueError:
            return None

    def _answer(self, call: Call) -> Reply:
        first = call.path.split("/", 2)[1] if call.path.count("/") >= 1 else ""
        if first in VERSIONS:
            if call.path.rstrip("/") == f"/{first}/$batch" and call.method == "POST" and not call.in_batch:
                return self.batch.handle(call, first)
            return self.graph.handle(call)
        if self.identity.handles(call.path):
            return self.identity.handle(call)
        return Reply(404, {"error": {"code": "NotFound", "message": f"No such endpoint: {call.path}"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, context, sim):
        self.ssl_context, self.sim = context, sim
        super().__init__(address, handler)

    def get_request(self):
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body go out without Nagle's 40 ms wait
        # The TLS handshake happens in the handler's thread, so a slow client cannot stall accept().
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        pass  # clients that hang up (or that tests cut off on purpose) are not errors of the simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one TLS record for headers + body; handle_one_request flushes
    server_version = "graphsim"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # the request log is the record; stderr stays quiet

    def setup(self):
        super().setup()
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            raise

    def do_GET(self):
        self._serve()

    do_POST = do_DELETE = do_PATCH = do_PUT = do_GET

    def _serve(self):
        sim = self.server.sim
        raw = self.path.split("#", 1)[0]  # a raw '#' starts a fragment: nothing after it is part of the request
        raw_path, _mark, raw_query = raw.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = Headers(self.headers.items())
        call = Call(
            method=self.command, path=urllib.parse.unquote(raw_path),
            query={k: v[-1] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()},
            headers=headers, body=body, request_id=str(uuid.uuid4()),
            client_request_id=headers.get("client-request-id"), raw_path=raw_path,
        )
        if sim.latency:
            time.sleep(sim.latency)
        reply = sim.dispatch(call)
        if reply.fault == "reset":
            self._reset()
            return
        payload = reply.payload()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.fault == "truncate":
            self.send_header("Content-Length", str(len(payload) + 64))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _reset(self):
        """Abort the TCP connection (RST) without an HTTP answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.socket.close(self.connection)
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass
