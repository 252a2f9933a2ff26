# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Authentication with an application's client secret.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._auth_base import MsalAuthMethodBase


class ClientSecretAuth(MsalAuthMethodBase):
    NAME = 'client secret'

    def client_credential(self):
        return self._settings.client_secret

    def secrets(self):
        return (self._settings.client_secret,)
