# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The authentication and endpoint options every module shares, and their validation.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ansible.module_utils.common.validation import check_type_path
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.entra.membership.plugins.module_utils._clouds import (
    API_VERSIONS,
    CLOUD_ENV_VARS,
    CLOUD_NAMES,
    DEFAULT_CLOUD,
    Endpoints,
    cloud_from_environment,
    resolve_endpoints,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError
from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id


# The environment variables behind each option, first found wins (the collection's interface, docs/dev/interface.md).
ENV_VARS = {
    'tenant_id': ('AZURE_TENANT_ID', 'AZURE_TENANT'),
    'client_id': ('AZURE_CLIENT_ID',),
    'client_secret': ('AZURE_CLIENT_SECRET', 'AZURE_SECRET'),
    'client_certificate_path': ('AZURE_CLIENT_CERTIFICATE_PATH',),
    'client_certificate_password': ('AZURE_CLIENT_CERTIFICATE_PASSWORD',),
    'federated_token_file': ('AZURE_FEDERATED_TOKEN_FILE',),
    'access_token': ('ENTRA_ACCESS_TOKEN',),
    'cloud': CLOUD_ENV_VARS,
    'graph_endpoint': ('ENTRA_GRAPH_ENDPOINT',),
    'authority_host': ('AZURE_AUTHORITY_HOST',),
    'ca_path': ('ENTRA_CA_PATH',),
    'validate_certs': ('ENTRA_VALIDATE_CERTS',),
}

# One of these authenticates; order = precedence only in the messages, never silently.
CREDENTIAL_OPTIONS = ('client_secret', 'client_certificate_path', 'federated_token_file', 'access_token')
# Their environment values are applied by with_environment_credentials, not by AnsibleModule's fallbacks:
# an explicit credential beats one only in the environment, so which ones the task gave must stay known.
CREDENTIAL_INPUTS = CREDENTIAL_OPTIONS + ('client_certificate_password',)


def _first_set(names, environ):
    """The value of the first variable of ``names`` that is set and not blank, else None.

    AWX credential types inject every variable they declare, empty or not: an empty
    AZURE_CLIENT_SECRET must not hide AZURE_SECRET, nor an empty ENTRA_VALIDATE_CERTS fail the bool check.
    """
    for name in names:
        value = environ.get(name)
        if value is not None and value.strip():
            return value
    return None


# {variable: value} each env_fallback supplied, so that a message can name the variable behind a bad value.
_SUPPLIED = {}


def env_fallback(*names):
    """Like Ansible's env_fallback, but an empty variable counts as unset and the next one is tried."""
    value = _first_set(names, os.environ)
    if value is None:
        raise AnsibleFallbackNotFound
    _SUPPLIED[next(name for name in names if os.environ.get(name) == value)] = value
    return value


def _label(option, params, given_credentials=()):
    """``option``, or ``option (from VARIABLE)`` when its value is the one that variable supplied (the task gave none)."""
    value = params.get(option)
    if value in (None, '') or option in given_credentials:
        return option
    for name in ENV_VARS.get(option, ()):
        supplied = _SUPPLIED.get(name) if option not in CREDENTIAL_INPUTS else _first_set((name,), os.environ)
        if supplied is not None and os.environ.get(name) == supplied and value in (supplied, check_type_path(supplied)):
            return '%s (from %s)' % (option, name)
    return option


def _fallback(option):
    return (cloud_from_environment,) if option == 'cloud' else (env_fallback, list(ENV_VARS[option]))


# Keep in step with plugins/doc_fragments/graph.py (validate-modules compares them).
ARGSPEC = dict(
    tenant_id=dict(type='str', fallback=_fallback('tenant_id')),
    client_id=dict(type='str', fallback=_fallback('client_id')),
    client_secret=dict(type='str', no_log=True),
    client_certificate_path=dict(type='path'),
    client_certificate_password=dict(type='str', no_log=True),
    federated_token_file=dict(type='path'),
    access_token=dict(type='str', no_log=True),
    cloud=dict(type='str', default=DEFAULT_CLOUD, choices=CLOUD_NAMES, fallback=_fallback('cloud')),
    graph_endpoint=dict(type='str', fallback=_fallback('graph_endpoint')),
    authority_host=dict(type='str', fallback=_fallback('authority_host')),
    ca_path=dict(type='path', fallback=_fallback('ca_path')),
    validate_certs=dict(type='bool', default=True, fallback=_fallback('validate_certs')),
    timeout=dict(type='int', default=30),
    max_retries=dict(type='int', default=6),
    max_concurrency=dict(type='int', default=4),
)

# Not a connection option (each module documents it, through the members.api_version fragment), but the same everywhere.
API_VERSION_ARGSPEC = dict(type='str', default=API_VERSIONS[0], choices=list(API_VERSIONS))

SECRET_OPTIONS = tuple(name for name, spec in ARGSPEC.items() if spec.get('no_log'))
MAX_CONCURRENCY_LIMIT = 16

_TENANT = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?\Z')  # a GUID or a verified domain; \Z: no trailing newline


def env_vars(option):
    """The environment variables that feed ``option``, in the order they are tried."""
    return tuple(ENV_VARS.get(option, ()))


def _given(params, option):
    value = params.get(option)
    return value not in (None, '')


def with_environment_credentials(params, environ=None):
    """``(params, given)``: the credential inputs the task left unset filled in from the environment, and the names of
    those the task (or module_defaults) gave. An empty or null value counts as unset, as an empty variable does."""
    environ = os.environ if environ is None else environ
    given = {name for name in CREDENTIAL_INPUTS if _given(params, name)}
    merged = dict(params)
    for name in CREDENTIAL_INPUTS:
        value = None if name in given else _first_set(ENV_VARS[name], environ)
        if value is not None:
            merged[name] = check_type_path(value) if ARGSPEC[name]['type'] == 'path' else value
    return merged, given


def describe(option):
    """``option`` and where else it can come from, for messages: ``tenant_id (env AZURE_TENANT_ID, AZURE_TENANT)``."""
    names = env_vars(option)
    return '%s (env %s)' % (option, ', '.join(names)) if names else option


@dataclass(frozen=True)
class ConnectionSettings:
    """The validated options: what the authenticator and the client are built from."""

    endpoints: Endpoints
    credential: str                 # the one option of CREDENTIAL_OPTIONS that authenticates
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    federated_token_file: str | None = None
    access_token: str | None = field(default=None, repr=False)
    ca_path: str | None = None
    validate_certs: bool = True
    timeout: int = 30
    max_retries: int = 6
    max_concurrency: int = 4

    @property
    def secrets(self):
        """Values to scrub from anything we say (tokens are added by the authenticator as they come)."""
        return tuple(value for value in (self.client_secret, self.client_certificate_password, self.access_token) if value)

    @property
    def verify(self):
        """requests' ``verify``: False, the CA bundle to trust, or True (the system/requests default)."""
        if not self.validate_certs:
            return False
        return self.ca_path or True


def _select_credential(params, explicit):
    """The credential to use: an explicitly given one beats those only found in the environment.

    AWX's Azure credential injects AZURE_SECRET into every job; a task that passes
    client_certificate_path means that certificate, not a conflict. Two credentials given
    explicitly, or two found in the environment with none given, are a conflict: we never guess.
    """
    present = [name for name in CREDENTIAL_OPTIONS if _given(params, name)]
    chosen = [name for name in present if name in explicit] or present
    if len(chosen) > 1:
        source = 'were given' if any(name in explicit for name in chosen) else 'were found in the environment'
        raise EntraConfigError('%s %s; they are mutually exclusive: give exactly one credential'
                               % (' and '.join(describe(name) for name in chosen), source))
    if not chosen:
        raise EntraConfigError('no credential: give one of %s' % ', '.join(describe(name) for name in CREDENTIAL_OPTIONS))
    return chosen[0]


def _readable_file(option, path):
    if not os.path.isfile(path):
        raise EntraConfigError("%s '%s' does not exist or is not a file" % (option, path))
    if not os.access(path, os.R_OK):
        raise EntraConfigError("%s '%s' is not readable" % (option, path))


def _check_certificate_file(path):
    _readable_file('client_certificate_path', path)
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('ascii', 'replace')
    except OSError as exc:
        raise EntraConfigError("client_certificate_path '%s' cannot be read: %s" % (path, exc.strerror)) from None
    missing = [what for what, marker in (('private key', 'PRIVATE KEY-----'), ('certificate', '-----BEGIN CERTIFICATE-----')) if marker not in text]
    if missing:
        raise EntraConfigError("client_certificate_path '%s' must be a PEM file holding the private key and the certificate; "
                               "it has no %s" % (path, ' and no '.join(missing)))


def _positive_int(params, option, minimum, maximum=None):
    value = params.get(option)
    if value is None:
        return ARGSPEC[option]['default']
    if value < minimum or (maximum is not None and value > maximum):
        bounds = 'between %d and %d' % (minimum, maximum) if maximum is not None else 'at least %d' % minimum
        raise EntraConfigError('%s must be %s, got %s' % (option, bounds, value))
    return value


def connection_settings(params, explicit=None):
    """Validate the options in ``params`` (after Ansible's own checks and fallbacks) into ConnectionSettings.

    ``explicit`` names the options the task (or module_defaults) gave; the others came from the
    environment or defaults. None means "all of them" (callers outside a module).
    """
    explicit = set(params) if explicit is None else set(explicit)
    credential = _select_credential(params, explicit)
    labels = {option: _label(option, params, explicit & set(CREDENTIAL_INPUTS)) for option in ENV_VARS}
    endpoints = resolve_endpoints(params.get('cloud'), params.get('graph_endpoint') or None, params.get('authority_host') or None, labels)

    if credential != 'access_token':
        for option in ('tenant_id', 'client_id'):
            if not _given(params, option):
                raise EntraConfigError('%s is required with %s' % (describe(option), credential))
        if not _TENANT.match(params['tenant_id']):
            raise EntraConfigError("%s must be a tenant id (GUID) or a verified domain name, got '%s'" % (labels['tenant_id'], params['tenant_id']))
        if not is_object_id(params['client_id']):
            raise EntraConfigError("%s must be the application (client) id, a GUID, got '%s'" % (labels['client_id'], params['client_id']))

    if credential == 'client_certificate_path':
        _check_certificate_file(params['client_certificate_path'])
    elif 'client_certificate_password' in explicit and _given(params, 'client_certificate_password'):
        raise EntraConfigError('client_certificate_password was given without client_certificate_path (authenticating with %s)' % credential)
    if credential == 'federated_token_file':
        _readable_file(labels['federated_token_file'], params['federated_token_file'])

    ca_path = params.get('ca_path') or None
    if ca_path and not (os.path.isfile(ca_path) or os.path.isdir(ca_path)):
        raise EntraConfigError("%s '%s' does not exist" % (labels['ca_path'], ca_path))

    chosen_only = {name: params[name] for name in CREDENTIAL_OPTIONS if name == credential}
    return ConnectionSettings(
        endpoints=endpoints,
        credential=credential,
        tenant_id=params.get('tenant_id') or None,
        client_id=params.get('client_id') or None,
        client_certificate_password=(params.get('client_certificate_password') or None) if credential == 'client_certificate_path' else None,
        ca_path=ca_path,
        validate_certs=params.get('validate_certs') is not False,
        timeout=_positive_int(params, 'timeout', 1),
        max_retries=_positive_int(params, 'max_retries', 0, 20),
        max_concurrency=_positive_int(params, 'max_concurrency', 1, MAX_CONCURRENCY_LIMIT),
        **chosen_only
    )
