# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every authentication method implements, and the MSAL client-credentials flow three of them share.

Each ``_auth_*.py`` method is an ``AuthMethodBase``: built from the validated ConnectionSettings
and the run's HTTP session, it gives tokens (``token``) and names the values it must never show
(``secrets``), as community.hashi_vault's ``HashiVaultAuthMethodBase`` methods all ``authenticate``.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from urllib.parse import quote

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError, GraphError, scrub

# msal is imported by the first token request that needs it (_import_msal), not here: a run with
# access_token never loads it, and a module's start-up stays short. Whether it is installed is
# known without importing it, so EntraModule still fails early and clearly when it is missing.
HAS_MSAL = find_spec('msal') is not None
MSAL_IMPORT_ERROR = None if HAS_MSAL else "ModuleNotFoundError: No module named 'msal'"

# What to check for the errors people actually meet; the AADSTS text itself follows in the message.
_AADSTS_HINTS = {
    7000215: 'check client_secret: it must be the secret value, not its id, and not expired',
    7000222: 'the client secret has expired: create a new one',
    700016: 'no such application in this tenant: check client_id, tenant_id and cloud',
    90002: 'no such tenant in this cloud: check tenant_id and cloud',
    900023: 'tenant_id is not a valid tenant id or domain',
    700024: 'the federated token has expired: is the process that refreshes federated_token_file running?',
    700027: 'the certificate is not registered on the application, or the assertion signature is invalid',
    700213: 'no federated identity credential on the application matches the token\'s issuer and subject',
    70021: 'no federated identity credential on the application matches the token',
    7000112: 'the application is disabled',
}
# MSAL's ValueError when the login host's OpenID configuration for the tenant cannot be read: it hides Entra's answer
# (AADSTS90002 for a tenant that cloud does not know), which _authority_failure reads itself.
_AUTHORITY_UNREADABLE = 'Unable to get authority configuration'
_AUTHORITY_HINT = ('the login host has no OpenID configuration for this tenant: check tenant_id, cloud and authority_host')
DESCRIPTION_LIMIT = 400   # characters of Entra's own prose in a message; the trace and correlation ids follow whole


def _import_msal(method_name):
    """msal, imported on first use; missing or broken (one of its own dependencies missing), a clear EntraAuthError."""
    try:
        import msal  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise EntraAuthError('%s (needed to authenticate with a %s: %s)' % (missing_required_lib('msal'), method_name, exc)) from None
    return msal


class AuthMethodBase:
    """One way to obtain Graph access tokens; ``NAME`` says which in messages."""

    NAME = None

    def __init__(self, settings, http_client):
        self._settings = settings
        self._http_client = http_client

    def token(self, force_refresh=False):
        """An access token for the cloud's Graph scope; ``force_refresh`` after Graph refused the previous one."""
        raise NotImplementedError('%s must implement token' % type(self).__name__)

    def secrets(self):
        """The values of this method that must never be shown (beyond the options' own secrets)."""
        raise NotImplementedError('%s must implement secrets' % type(self).__name__)


class MsalAuthMethodBase(AuthMethodBase):
    """The client credentials grant through MSAL's ConfidentialClientApplication and its in-memory token cache.

    A subclass says only what its credential is (``client_credential``, as MSAL takes it).
    """

    def __init__(self, settings, http_client):
        super().__init__(settings, http_client)
        self._app = None

    def client_credential(self):
        """MSAL's ``client_credential``: a secret, ``{private_key, thumbprint}`` or ``{client_assertion}``."""
        raise NotImplementedError('%s must implement client_credential' % type(self).__name__)

    def token(self, force_refresh=False):
        # MSAL's in-memory cache answers most calls; it renews a token close to expiry by itself.
        try:
            app = self._msal_app()
            if force_refresh:
                app.remove_tokens_for_client()
            result = app.acquire_token_for_client(scopes=[self._settings.endpoints.scope])
        except EntraAuthError as exc:
            raise EntraAuthError('Authentication failed for %s: %s' % (self._who(), scrub(exc, self._all_secrets()))) from None
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # MSAL raises ValueError for a login host without an OpenID configuration and lets
            # requests' transport errors through: all of them mean "no token", said plainly.
            if isinstance(exc, ValueError) and _AUTHORITY_UNREADABLE in str(exc):
                raise self._authority_failure() from None
            raise EntraAuthError('Authentication failed for %s: %s' % (self._who(), self._describe(exc))) from None
        if not result or 'access_token' not in result:
            raise self._failure(result or {})
        return result['access_token']

    def _all_secrets(self):
        return set(self._settings.secrets) | set(self.secrets())

    def _who(self):
        return "client_id '%s' in tenant '%s' (%s)" % (self._settings.client_id, self._settings.tenant_id, self.NAME)

    def _msal_app(self):
        if self._app is None:
            msal = _import_msal(self.NAME)
            endpoints = self._settings.endpoints
            self._app = msal.ConfidentialClientApplication(
                self._settings.client_id,
                client_credential=self.client_credential(),
                authority='%s/%s' % (endpoints.authority_host, self._settings.tenant_id),
                # An overridden login host is unknown to Microsoft's instance discovery; the national
                # clouds' hosts are in MSAL's own list, so they need nothing special.
                instance_discovery=False if endpoints.authority_overridden else None,
                http_client=self._http_client,
                token_cache=msal.TokenCache(),  # memory only: nothing is written to disk
                app_name='entra.membership',
            )
        return self._app

    def _describe(self, exc):
        module = type(exc).__module__ or ''
        if module.startswith(('requests', 'urllib3')):
            return str(GraphError.from_exception(exc, self._settings.endpoints.authority_host, self._settings.timeout, self._settings.ca_path).message)
        return scrub(' '.join(str(exc).split()), self._all_secrets())[:400]

    def _authority_failure(self):
        """Entra's own answer to the OpenID configuration MSAL could not read (AADSTS90002: no such tenant in this
        cloud), as any other AADSTS failure; a host that gives no such answer, the hint of what to check."""
        endpoints = self._settings.endpoints
        url = '%s/%s/v2.0/.well-known/openid-configuration' % (endpoints.authority_host, quote(self._settings.tenant_id, safe=''))
        try:
            body = self._http_client.get(url).json()
        except Exception:  # pylint: disable=broad-exception-caught
            body = None  # no answer to read: the hint alone says what to check
        if isinstance(body, dict) and (body.get('error_codes') or isinstance(body.get('error'), str)):  # an OAuth error, not Graph's
            return self._failure(body)
        return EntraAuthError('Authentication failed for %s: %s' % (self._who(), _AUTHORITY_HINT))

    def _failure(self, result):
        """An EntraAuthError from Entra's error answer: its AADSTS code, its prose (cut at a word), the hint for the code,
        then its trace and correlation ids whole, as Microsoft support asks for them."""
        description = ' '.join(str(result.get('error_description') or '').split())
        codes = result.get('error_codes') or [int(found) for found in re.findall(r'AADSTS(\d+)', description)[:1]]
        code = 'AADSTS%s' % codes[0] if codes else (result.get('error') or 'unknown_error')
        prose = re.split(r'\s*\bTrace ID:', re.sub(r'^AADSTS\d+:\s*', '', description))[0]
        prose = scrub(prose, self._all_secrets())
        if len(prose) > DESCRIPTION_LIMIT:
            prose = prose[:DESCRIPTION_LIMIT].rsplit(' ', 1)[0] + ' ...'
        hint = _AADSTS_HINTS.get(codes[0]) if codes else None
        ids = [(label, result.get(key) or _id_in(description, label)) for key, label in (('trace_id', 'Trace ID'), ('correlation_id', 'Correlation ID'))]
        shown_ids = ', '.join('%s %s' % (label.lower(), value) for label, value in ids if value)
        message = 'Authentication failed for %s: %s %s: %s%s%s' % (
            self._who(), code, result.get('error') or '', prose or 'no description', ' (%s)' % hint if hint else '',
            ' [%s]' % shown_ids if shown_ids else '')
        return EntraAuthError(message, code=code)


def _id_in(description, label):
    """The id after ``label:`` in an Entra error description, whole (a GUID), or None."""
    found = re.search(r'%s:\s*([0-9A-Fa-f-]{36})' % re.escape(label), description)
    return found.group(1) if found else None
