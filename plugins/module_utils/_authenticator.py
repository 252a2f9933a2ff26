# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Picks the auth method from the options, and gives its tokens to the Graph client: one refresh for all threads.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import threading

from ansible_collections.entra.membership.plugins.module_utils._auth_access_token import AccessTokenAuth
from ansible_collections.entra.membership.plugins.module_utils._auth_base import HAS_MSAL, MSAL_IMPORT_ERROR, MsalAuthMethodBase
from ansible_collections.entra.membership.plugins.module_utils._auth_client_certificate import ClientCertificateAuth
from ansible_collections.entra.membership.plugins.module_utils._auth_client_secret import ClientSecretAuth
from ansible_collections.entra.membership.plugins.module_utils._auth_federated_token import FederatedTokenAuth

# keyed by ConnectionSettings.credential, the option that authenticates
AUTH_METHODS = {
    'access_token': AccessTokenAuth,
    'client_certificate_path': ClientCertificateAuth,
    'client_secret': ClientSecretAuth,
    'federated_token_file': FederatedTokenAuth,
}


def missing_library(settings):
    """``(name, import error)`` of a library the selected auth method needs and this host lacks, else None."""
    if issubclass(AUTH_METHODS[settings.credential], MsalAuthMethodBase) and not HAS_MSAL:
        return 'msal', MSAL_IMPORT_ERROR
    return None


class Authenticator:
    """Gives Graph access tokens; every token obtained is handed to ``on_token`` (e.g. ``module.no_log_values.add``)."""

    def __init__(self, settings, http_client, on_token=None):
        self._settings = settings
        self._on_token = on_token
        self._lock = threading.Lock()
        self._token = None
        self._tokens = set()
        self.method = AUTH_METHODS[settings.credential](settings, http_client)

    @property
    def secrets(self):
        """Every value that must never be shown: the options' secrets, the method's (assertions read), tokens obtained."""
        return set(self._settings.secrets) | set(self.method.secrets()) | self._tokens

    def token(self, force_refresh=False, rejected=None):
        """A token for the Graph scope; ``rejected`` is the token Graph just refused (refreshed once, for all threads)."""
        with self._lock:
            if force_refresh and rejected and self._token and self._token != rejected:
                return self._token  # another thread has already replaced the refused token
            token = self.method.token(force_refresh=force_refresh)
            self._remember(token)
            return token

    def _remember(self, token):
        self._token = token
        if token not in self._tokens:
            self._tokens.add(token)
            if self._on_token:
                self._on_token(token)
