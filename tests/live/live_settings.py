"""What the live check is pointed at: the ENTRA_LIVE_* environment variables, read and checked.

The live check takes its tenant and credentials from ENTRA_LIVE_* only, never from the AZURE_*
variables the modules fall back to: a maintainer's shell (or an AWX credential) holding a
production tenant's AZURE_* must not turn `make live-check` on that tenant. Only where Graph and
the login host are (the collection's own endpoint variables, CONNECTION_PASSTHROUGH) comes from the
environment as it is, so that CI can point the same suite at the Graph simulator.
docs/development.md ("The live-tenant check") documents every variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.entra.membership.plugins.module_utils._clouds import cloud_from_environment
from ansible_collections.entra.membership.plugins.module_utils._connection_options import ENV_VARS, connection_settings
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError
from ansible_collections.entra.membership.plugins.module_utils._references import member_problem, target_problem

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_REPORT = os.path.join(REPO_ROOT, ".build", "live-check-report.md")
DEFAULT_SETTLE_SECONDS = 120
# Where Graph, the login host and their CA are: read by the modules themselves (their env fallbacks),
# kept for the ansible-playbook run, and the only AZURE_* / ENTRA_* variables the check leaves in place.
CONNECTION_PASSTHROUGH = tuple(name for option in ("cloud", "graph_endpoint", "authority_host", "ca_path") for name in ENV_VARS[option])
SECRET_CREDENTIALS = ("ENTRA_LIVE_CLIENT_SECRET", "ENTRA_LIVE_CLIENT_CERTIFICATE_PATH")


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    required: bool = False


VARIABLES = (
    Variable("ENTRA_LIVE_TENANT_ID", "the tenant: its id (GUID) or a verified domain", required=True),
    Variable("ENTRA_LIVE_CLIENT_ID", "the application (client) id of the app the check signs in as", required=True),
    Variable("ENTRA_LIVE_CLIENT_SECRET", "a client secret of that app (or ENTRA_LIVE_CLIENT_CERTIFICATE_PATH)"),
    Variable("ENTRA_LIVE_CLIENT_CERTIFICATE_PATH", "a PEM file with the app's certificate and private key (or ENTRA_LIVE_CLIENT_SECRET)"),
    Variable("ENTRA_LIVE_CLIENT_CERTIFICATE_PASSWORD", "the password of that PEM's private key, if it has one"),
    Variable("ENTRA_LIVE_USER", "the test user, a user principal name or object id", required=True),
    Variable("ENTRA_LIVE_GROUP", "a security or Microsoft 365 group dedicated to testing, the test user a member (id or display name)"),
    Variable("ENTRA_LIVE_ADMINISTRATIVE_UNIT", "an administrative unit dedicated to testing, the test user a member (id or display name)"),
    Variable("ENTRA_LIVE_TEAM", "a team dedicated to testing, the test user a member or a co-owner, never its only owner "
                                "(its group's id or display name)"),
    Variable("ENTRA_LIVE_WRITE", "1: also remove the test user from the dedicated group, unit and team, and put it back; "
                                 "unset or 0: read only"),
    Variable("ENTRA_LIVE_SETTLE_SECONDS", "how long a read-back waits for Graph to show a change (default %d)" % DEFAULT_SETTLE_SECONDS),
    Variable("ENTRA_LIVE_REPORT", "where the compatibility report is written (default .build/live-check-report.md)"),
)
VARIABLE_NAMES = tuple(variable.name for variable in VARIABLES)
# ENTRA_LIVE_* target variable of each target type the member modules know.
TARGET_VARIABLES = {"group": "ENTRA_LIVE_GROUP", "administrative_unit": "ENTRA_LIVE_ADMINISTRATIVE_UNIT", "team": "ENTRA_LIVE_TEAM"}
# The variable behind each module option the check sets, for messages about a bad value.
_OPTION_VARIABLES = {
    "tenant_id": "ENTRA_LIVE_TENANT_ID", "client_id": "ENTRA_LIVE_CLIENT_ID", "client_secret": "ENTRA_LIVE_CLIENT_SECRET",
    "client_certificate_path": "ENTRA_LIVE_CLIENT_CERTIFICATE_PATH", "client_certificate_password": "ENTRA_LIVE_CLIENT_CERTIFICATE_PASSWORD",
    **{option: " or ".join(ENV_VARS[option]) for option in ("cloud", "graph_endpoint", "authority_host", "ca_path")},
}


class LiveSettingsError(ValueError):
    """A variable is set to a value the check cannot use; the message names it and the value (never a secret's)."""


class Secret(str):
    """A credential: its value goes to the modules (JSON keeps it), its repr never shows it (pytest's assertion messages)."""

    def __repr__(self):
        return "'<secret>'"


@dataclass(frozen=True)
class LiveSettings:
    tenant_id: str
    client_id: str
    user: str
    credential: dict                                  # module options: client_secret, or client_certificate_path (+ password)
    targets: dict = field(default_factory=dict)       # target type -> id or display name, the dedicated ones given
    write: bool = False
    settle_seconds: int = DEFAULT_SETTLE_SECONDS
    report_path: str = DEFAULT_REPORT
    connection: dict = field(default_factory=dict)    # CONNECTION_PASSTHROUGH variables that are set

    def module_auth(self):
        """The module options that sign in as the live app (endpoints come from CONNECTION_PASSTHROUGH, as for any user)."""
        return {"tenant_id": self.tenant_id, "client_id": self.client_id, **self.credential}

    def connection_params(self):
        """Module options for a client of our own, as a module would see them: module_auth() plus the endpoint variables."""
        params = dict(self.module_auth())
        try:
            params["cloud"] = cloud_from_environment(self.connection)
        except AnsibleFallbackNotFound:
            pass
        for option in ("graph_endpoint", "authority_host", "ca_path"):
            params[option] = next((self.connection[name] for name in ENV_VARS[option] if name in self.connection), None)
        return params

    def playbook_environment(self):
        """What ansible-playbook gets besides PATH, HOME and the locale: the variables AWX's Azure credential would inject."""
        environment = dict(self.connection, AZURE_TENANT_ID=self.tenant_id, AZURE_CLIENT_ID=self.client_id)
        if "client_secret" in self.credential:
            environment["AZURE_CLIENT_SECRET"] = str(self.credential["client_secret"])
        else:
            environment["AZURE_CLIENT_CERTIFICATE_PATH"] = self.credential["client_certificate_path"]
            if "client_certificate_password" in self.credential:
                environment["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = str(self.credential["client_certificate_password"])
        return environment


def _value(environ, name):
    value = environ.get(name, "").strip()
    return value or None


def missing_variables(environ=None) -> list:
    """``[(variable, meaning)]`` of what a run needs and does not have; the credential is one entry naming both its variables."""
    environ = os.environ if environ is None else environ
    missing = []
    for variable in VARIABLES:
        if variable.required and not _value(environ, variable.name):
            missing.append((variable.name, variable.meaning))
        elif variable.name == SECRET_CREDENTIALS[0] and not any(_value(environ, name) for name in SECRET_CREDENTIALS):
            missing.append((" or ".join(SECRET_CREDENTIALS), "the app's credential"))
    return missing


def _flag(environ, name):
    value = _value(environ, name)
    if value in (None, "0"):
        return False
    if value == "1":
        return True
    raise LiveSettingsError("%s must be 1 (write) or 0 / unset (read only), got '%s'" % (name, value))


def _seconds(environ, name, default):
    value = _value(environ, name)
    if value is None:
        return default
    if not value.isdigit() or not 0 < int(value) <= 3600:
        raise LiveSettingsError("%s must be a whole number of seconds from 1 to 3600, got '%s'" % (name, value))
    return int(value)


def _credential(environ):
    secret = _value(environ, "ENTRA_LIVE_CLIENT_SECRET")
    certificate = _value(environ, "ENTRA_LIVE_CLIENT_CERTIFICATE_PATH")
    password = _value(environ, "ENTRA_LIVE_CLIENT_CERTIFICATE_PASSWORD")
    if secret and certificate:
        raise LiveSettingsError("ENTRA_LIVE_CLIENT_SECRET and ENTRA_LIVE_CLIENT_CERTIFICATE_PATH are both set: set one of them")
    if secret:
        if password:
            raise LiveSettingsError("ENTRA_LIVE_CLIENT_CERTIFICATE_PASSWORD is set without ENTRA_LIVE_CLIENT_CERTIFICATE_PATH")
        return {"client_secret": Secret(secret)}
    credential = {"client_certificate_path": certificate}
    if password:
        credential["client_certificate_password"] = Secret(password)
    return credential


def _report_path(environ):
    path = _value(environ, "ENTRA_LIVE_REPORT") or DEFAULT_REPORT
    if os.path.isdir(path):
        raise LiveSettingsError("ENTRA_LIVE_REPORT must be a file to write, got '%s' (a directory)" % path)
    return os.path.abspath(path)


def read_settings(environ=None) -> LiveSettings:
    """The settings of a run whose required variables are all set (see missing_variables); LiveSettingsError on a bad value."""
    environ = os.environ if environ is None else environ
    settings = LiveSettings(
        tenant_id=_value(environ, "ENTRA_LIVE_TENANT_ID"),
        client_id=_value(environ, "ENTRA_LIVE_CLIENT_ID"),
        user=_value(environ, "ENTRA_LIVE_USER"),
        credential=_credential(environ),
        targets={kind: _value(environ, name) for kind, name in TARGET_VARIABLES.items() if _value(environ, name)},
        write=_flag(environ, "ENTRA_LIVE_WRITE"),
        settle_seconds=_seconds(environ, "ENTRA_LIVE_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS),
        report_path=_report_path(environ),
        connection={name: environ[name] for name in CONNECTION_PASSTHROUGH if _value(environ, name)},
    )
    _check_references(settings)
    validated_connection(settings)
    return settings


def _check_references(settings):
    problem = member_problem(settings.user)
    if problem:
        raise LiveSettingsError("ENTRA_LIVE_USER must be a user principal name or an object id: %s" % problem)
    for kind, value in settings.targets.items():
        problem = target_problem(value)
        if problem:
            raise LiveSettingsError("%s must be an object id or a display name: %s" % (TARGET_VARIABLES[kind], problem))


def validated_connection(settings):
    """The collection's ConnectionSettings of the live app; a bad value is a LiveSettingsError naming its variable."""
    try:
        return connection_settings(settings.connection_params())
    except EntraConfigError as exc:
        message = str(exc)
        option = next((option for option in _OPTION_VARIABLES if message.startswith(option)), None)
        raise LiveSettingsError("%s: %s" % (_OPTION_VARIABLES[option], message) if option else message) from None
