"""The Microsoft identity platform slice: OIDC discovery, the v2.0 token endpoint, access tokens.

Error bodies follow the shape shown in "Microsoft Entra authentication and authorization error
codes" (https://learn.microsoft.com/entra/identity-platform/reference-error-codes):
``error``, ``error_description`` ("AADSTSnnnn: ...\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp: ..."),
``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``, ``error_uri``.
"""
from __future__ import annotations

import base64
import datetime
import re
import secrets
import urllib.parse
import uuid

import jwt

from . import certs
from .protocol import Reply

# Graph's resource (audience) per cloud; tokens for any of them are accepted, plus the simulator's own URL.
GRAPH_RESOURCES = (
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
DEFAULT_FEDERATION_ISSUER_PATH = "/federation"
TOKEN_SIGNING_KID = "graphsim-token-signing"

_OIDC_PATH = re.compile(r"^/(?P<tenant>[^/]+)(?P<v2>/v2\.0)?/\.well-known/openid-configuration$")
_TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_KEYS_PATH = re.compile(r"^/(?P<tenant>[^/]+)/discovery/(v2\.0/)?keys$")

# The federated identity credential errors all end with the same advice.
_FIC_ADVICE = ("Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. "
               "https://learn.microsoft.com/entra/workload-id/workload-identity-federation")


class IdentityError(Exception):
    def __init__(self, status: int, error: str, code: int, text: str):
        super().__init__(f"AADSTS{code}: {text}")
        self.status, self.error, self.code, self.text = status, error, code, text


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%m/%d/%Y %H:%M:%S")


class Identity:
    """Answers ``/{tenant}/...`` identity requests for a ``GraphSimulator``."""

    def __init__(self, sim):
        self.sim = sim
        self._opaque = {}  # opaque token -> claims
        self.issued = []   # every access token and federated assertion made, for the secret scan (sim.secrets())

    # ------------------------------------------------------------------ routing
    def handles(self, path: str) -> bool:
        return bool(_OIDC_PATH.match(path) or _TOKEN_PATH.match(path) or _KEYS_PATH.match(path))

    def handle(self, call) -> Reply:
        try:
            match = _OIDC_PATH.match(call.path)
            if match and call.method == "GET":
                return self._openid_configuration(match["tenant"], bool(match["v2"]))
            match = _KEYS_PATH.match(call.path)
            if match and call.method == "GET":
                return Reply(200, {"keys": [self.signing_jwk()]})
            match = _TOKEN_PATH.match(call.path)
            if match and call.method == "POST":
                return self._token(call, match["tenant"])
            raise IdentityError(405, "invalid_request", 900561,
                                "The endpoint only accepts POST requests." if _TOKEN_PATH.match(call.path)
                                else "The endpoint only accepts GET requests.")
        except IdentityError as exc:
            return self.error_reply(exc, call)

    def error_reply(self, exc: IdentityError, call) -> Reply:
        now = self.sim.clock.now()
        timestamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = call.request_id
        correlation_id = call.client_request_id or str(uuid.uuid4())
        description = (f"AADSTS{exc.code}: {exc.text}\r\nTrace ID: {trace_id}\r\n"
                       f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}")
        return Reply(exc.status, {
            "error": exc.error,
            "error_description": description,
            "error_codes": [exc.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.sim.base_url}/error?code={exc.code}",
        }, {"x-ms-request-id": trace_id})

    # ------------------------------------------------------------------ discovery
    def _tenant(self, tenant: str, status: int = 400):
        state = self.sim.state
        if tenant.lower() not in {state.tenant_id, state.domain.lower(), state.initial_domain.lower()}:
            raise IdentityError(status, "invalid_request", 90002,
                                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                                "signing into the correct cloud. Check with your subscription administrator, this may happen "
                                "if there are no active subscriptions for the tenant.")
        return state.tenant_id

    def token_endpoint(self, tenant: str | None = None) -> str:
        return f"{self.sim.base_url}/{tenant or self.sim.state.tenant_id}/oauth2/v2.0/token"

    def _openid_configuration(self, tenant: str, v2: bool) -> Reply:
        tenant_id = self._tenant(tenant)
        base = f"{self.sim.base_url}/{tenant_id}"
        return Reply(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token" if v2 else f"{base}/oauth2/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0" if v2 else f"https://sts.windows.net/{tenant_id}/",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "roles"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        })

    def signing_jwk(self) -> dict:
        numbers = certs.rsa_key("token-signing").public_key().public_numbers()

        def encode(value: int) -> str:
            return certs.b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))
        return {"kty": "RSA", "use": "sig", "kid": TOKEN_SIGNING_KID, "n": encode(numbers.n), "e": encode(numbers.e)}

    # ------------------------------------------------------------------ token endpoint
    def _token(self, call, tenant: str) -> Reply:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(call.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        basic = call.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):  # client_secret_basic
            client_id, _colon, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", urllib.parse.unquote_plus(client_id))
            form.setdefault("client_secret", urllib.parse.unquote_plus(secret))
        call.log_body = {k: v for k, v in form.items() if k in ("grant_type", "client_id", "scope", "client_assertion_type")}
        tenant_id = self._tenant(tenant)
        grant_type = self._required(form, "grant_type")
        if grant_type != "client_credentials":
            raise IdentityError(400, "unsupported_grant_type", 70003,
                                f"The app requested an unsupported grant type '{grant_type}'.")
        client_id = self._required(form, "client_id")
        app = self.sim.state.apps.get(client_id)
        if app is None:
            raise IdentityError(400, "unauthorized_client", 700016,
                                f"Application with identifier '{client_id}' was not found in the directory "
                                f"'{self.sim.state.display_name}'. This can happen if the application has not been installed by "
                                "the administrator of the tenant or consented to by any user in the tenant. You may have sent "
                                "your authentication request to the wrong tenant.")
        resource = self._resource(self._required(form, "scope"))
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise IdentityError(400, "invalid_request", 900144,
                                    "The request body must contain the following parameter: 'client_assertion_type'.")
            method = self._check_assertion(app, form["client_assertion"], tenant, tenant_id)
        elif form.get("client_secret"):
            if form["client_secret"] not in app["secrets"]:
                raise IdentityError(401, "invalid_client", 7000215,
                                    "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                                    f"secret value, not the client secret ID, for a secret added to app '{client_id}'.")
            method = "secret"
        else:
            raise IdentityError(401, "invalid_client", 7000218,
                                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        lifetime = self.sim.token_lifetime
        token = self.issue(app, resource=resource, lifetime=lifetime, method=method)
        return Reply(200, {"token_type": "Bearer", "expires_in": int(lifetime), "ext_expires_in": int(lifetime),
                           "access_token": token})

    @staticmethod
    def _required(form: dict, name: str) -> str:
        if not form.get(name):
            raise IdentityError(400, "invalid_request", 900144,
                                f"The request body must contain the following parameter: '{name}'.")
        return form[name]

    def _resource(self, scope: str) -> str:
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise IdentityError(400, "invalid_scope", 1002012,
                                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                                "value with /.default suffixed to the resource identifier (application ID URI).")
        resource = scopes[0][: -len("/.default")].rstrip("/")
        if resource not in GRAPH_RESOURCES + (GRAPH_APP_ID, self.sim.base_url):
            raise IdentityError(400, "invalid_resource", 500011,
                                f"The resource principal named {resource} was not found in the tenant named "
                                f"{self.sim.state.display_name}. This can happen if the application has not been installed by "
                                "the administrator of the tenant or consented to by any user in the tenant. You might have "
                                "sent your authentication request to the wrong tenant.")
        return resource

    # ------------------------------------------------------------------ client assertions
    def _check_assertion(self, app: dict, assertion: str, tenant: str, tenant_id: str) -> str:
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise IdentityError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from None
        if "x5t" in header or "x5t#S256" in header:
            return self._check_certificate_assertion(app, assertion, header, claims, tenant, tenant_id)
        return self._check_federated_assertion(app, assertion, claims)

    def _check_time(self, claims: dict) -> None:
        now = self.sim.clock.now()
        # Entra allows a few minutes of clock skew on assertions.
        if "exp" not in claims or now > claims["exp"] + 300 or now < claims.get("nbf", 0) - 300:
            raise IdentityError(400, "invalid_client", 700024,
                                f"Client assertion is not within its valid time range. Current time: {_iso(now)}, assertion "
                                f"valid from {_iso(claims.get('nbf', claims.get('iat', 0)))}, expiry time of assertion "
                                f"{_iso(claims.get('exp', 0))}. Review the documentation at "
                                "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")

    def _check_certificate_assertion(self, app, assertion, header, claims, tenant, tenant_id) -> str:
        cert = None
        for registered in self.sim.app_certificates(app["client_id"]):
            prints = certs.thumbprints(registered)
            # base64url with or without padding: MSAL keeps the '=', RFC 7515 drops it.
            if any(str(header.get(name, "")).rstrip("=") == prints[name] for name in ("x5t#S256", "x5t")):
                cert = registered
        if cert is None:
            presented = header.get("x5t") or header.get("x5t#S256")
            raise IdentityError(401, "invalid_client", 700027,
                                "The certificate with identifier used to sign the client assertion is not registered on "
                                f"application. [Reason - The key was not found., Thumbprint of key used by client: '{presented}', "
                                f"Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys "
                                f"for app Id '{app['client_id']}'.]")
        try:
            jwt.decode(assertion, cert.public_key(), algorithms=["RS256", "PS256"],
                       options={"verify_exp": False, "verify_aud": False, "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWTError:
            raise IdentityError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from None
        if claims.get("iss") != app["client_id"] or claims.get("sub") != app["client_id"]:
            raise IdentityError(401, "invalid_client", 700021,
                                "Client assertion application identifier doesn't match 'client_id' parameter. "
                                "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
        audiences = {self.token_endpoint(name) for name in (tenant, tenant_id, self.sim.state.domain, self.sim.state.initial_domain)}
        if claims.get("aud") not in audiences:
            raise IdentityError(401, "invalid_client", 700023,
                                "Client assertion audience claim does not match Realm issuer. Review the documentation at "
                                "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
        self._check_time(claims)
        return "certificate"

    def _check_federated_assertion(self, app, assertion, claims) -> str:
        credentials = app["federated_credentials"]
        by_issuer = [c for c in credentials if self.sim.federation_issuer(c) == claims.get("iss")]
        if not by_issuer:
            raise IdentityError(400, "invalid_request", 700211,
                                f"No matching federated identity record found for presented assertion issuer '{claims.get('iss')}'. "
                                + _FIC_ADVICE)
        by_subject = [c for c in by_issuer if c["subject"] == claims.get("sub")]
        if not by_subject:
            raise IdentityError(400, "invalid_request", 700213,
                                f"No matching federated identity record found for presented assertion subject '{claims.get('sub')}'. "
                                + _FIC_ADVICE)
        presented = claims.get("aud")
        presented = presented if isinstance(presented, list) else [presented]
        if not any(aud in c.get("audiences", [FEDERATION_AUDIENCE]) for c in by_subject for aud in presented):
            raise IdentityError(400, "invalid_request", 700212,
                                f"No matching federated identity record found for presented assertion audience '{presented[0]}'. "
                                + _FIC_ADVICE)
        try:
            jwt.decode(assertion, certs.rsa_key("federation").public_key(), algorithms=["RS256"],
                       options={"verify_exp": False, "verify_aud": False, "verify_nbf": False, "verify_iat": False})
        except jwt.PyJWTError:
            raise IdentityError(400, "invalid_request", 50013,
                                "Assertion failed signature validation. [Reason - The key was not found.]") from None
        self._check_time(claims)
        return "federated"

    def federated_assertion(self, subject: str, issuer: str, audience: str = FEDERATION_AUDIENCE, lifetime: float = 3600) -> str:
        """A JWT as the external identity provider (Kubernetes, GitHub, ...) would put in the token file."""
        now = self.sim.clock.now()
        claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": int(now), "nbf": int(now), "exp": int(now + lifetime),
                  "jti": str(uuid.uuid4())}
        assertion = jwt.encode(claims, certs.private_pem(certs.rsa_key("federation")), algorithm="RS256", headers={"kid": "graphsim-idp"})
        self.issued.append(assertion)
        return assertion

    # ------------------------------------------------------------------ access tokens
    def issue(self, app: dict | None, resource: str = GRAPH_RESOURCES[0], lifetime: float | None = None,
              roles=None, method: str = "secret") -> str:
        now = self.sim.clock.now()
        lifetime = self.sim.token_lifetime if lifetime is None else lifetime
        app = app or self.sim.state.default_app()
        tenant_id = self.sim.state.tenant_id
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now), "nbf": int(now), "exp": int(now + lifetime),
            "appid": app["client_id"],
            "appidacr": {"secret": "1"}.get(method, "2"),
            "idtyp": "app",
            "oid": app["service_principal_id"], "sub": app["service_principal_id"],
            "roles": sorted(app["roles"] if roles is None else roles),
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        if self.sim.token_format == "opaque":
            token = "gsim." + secrets.token_urlsafe(48)
            self._opaque[token] = claims
        else:
            token = jwt.encode(claims, certs.private_pem(certs.rsa_key("token-signing")), algorithm="RS256",
                               headers={"kid": TOKEN_SIGNING_KID, "x5t": TOKEN_SIGNING_KID})
        self.issued.append(token)
        return token

    def validate(self, token: str):
        """(claims, None) for a good Graph token, else (None, the message Graph answers with 401)."""
        if not token:
            return None, "Access token is empty."
        claims = self._opaque.get(token)
        if claims is None:
            if token.count(".") != 2:
                return None, "IDX14100: JWT is not well formed, there are no dots (.)."
            try:
                public = certs.rsa_key("token-signing").public_key()
                claims = jwt.decode(token, public, algorithms=["RS256"],
                                    options={"verify_exp": False, "verify_aud": False, "verify_nbf": False, "verify_iat": False})
            except jwt.PyJWTError:
                return None, "Access token validation failure."
        now = self.sim.clock.now()
        if now >= claims["exp"] or now < claims["nbf"] - 300:
            return None, "Access token has expired or is not yet valid."
        if claims["aud"] not in GRAPH_RESOURCES + (GRAPH_APP_ID, self.sim.base_url):
            return None, "Access token validation failure. Invalid audience."
        if claims.get("tid") != self.sim.state.tenant_id:
            return None, "Access token validation failure."
        return claims, None
