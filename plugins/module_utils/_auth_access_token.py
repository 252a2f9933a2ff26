# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Authentication with an access token obtained elsewhere (no MSAL, no refresh).

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._auth_base import AuthMethodBase
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError


class AccessTokenAuth(AuthMethodBase):
    NAME = 'access token'

    def __init__(self, settings, http_client):
        super().__init__(settings, http_client)
        token = settings.access_token.strip()
        # Tolerate a pasted "Bearer <token>": the header is ours to write.
        if token[:7].lower() == 'bearer ':
            token = token[7:].strip()
        self._token = token

    def token(self, force_refresh=False):
        if force_refresh:
            # Whoever issued it must issue a new one: we hold no credential to do so.
            raise EntraAuthError('Microsoft Graph rejected the access_token (expired, revoked or issued for another resource '
                                 'or cloud): obtain a new token for the Graph resource of this cloud, or authenticate with a '
                                 'client secret, certificate or federated token file instead', code='InvalidAuthenticationToken')
        return self._token

    def secrets(self):
        return (self._token,)
