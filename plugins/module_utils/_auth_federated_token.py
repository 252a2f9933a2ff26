# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Workload identity federation: a client assertion read from ``federated_token_file``.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import threading

from ansible_collections.entra.membership.plugins.module_utils._auth_base import MsalAuthMethodBase
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError


class FederatedTokenAuth(MsalAuthMethodBase):
    NAME = 'federated token file'

    def __init__(self, settings, http_client):
        super().__init__(settings, http_client)
        self._path = settings.federated_token_file
        self._seen = set()
        self._lock = threading.Lock()

    def _read_assertion(self):
        # Read on every token request, never cached: the platform (Kubernetes' projected service
        # account token, a CI's OIDC token) rotates the file, as Azure's workload identity expects.
        try:
            with open(self._path, encoding='utf-8') as handle:
                assertion = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise EntraAuthError("federated_token_file '%s' cannot be read: %s" % (self._path, getattr(exc, 'strerror', None) or exc)) from None
        if not assertion:
            raise EntraAuthError("federated_token_file '%s' is empty" % self._path)
        with self._lock:
            self._seen.add(assertion)
        return assertion

    def client_credential(self):
        return {'client_assertion': self._read_assertion}

    def secrets(self):
        with self._lock:
            return tuple(self._seen)
