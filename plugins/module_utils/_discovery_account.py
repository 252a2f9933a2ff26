# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""entra_member_of_info's ``include`` kinds of the account itself: ``licenses`` and ``account``.

Each is read by the engine that changes it (``_engine_licenses``, ``_engine_account``), with the same guards, so discovery
and removal never disagree: ``licenses`` are entries like the other access kinds (``_discovery_access``); ``account`` is one
dict per user, since a user has one account.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._discovery_access import _access_entries
from ansible_collections.entra.membership.plugins.module_utils._engine_account import AccountSettings
from ansible_collections.entra.membership.plugins.module_utils._engine_licenses import ALL_DIRECT, DirectLicenses
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._outcomes import FAILED
from ansible_collections.entra.membership.plugins.module_utils._resolve import Member

ACCOUNT_KINDS = ('licenses', 'account')


def _licenses(client, users, members):
    engine = DirectLicenses()
    engine.resolve_selection(client, {'skus': [ALL_DIRECT], 'disabled_plans': []})
    _access_entries(client, users, members, engine, 'licenses')


def _accounts(client, users, members):
    """One ``account`` per user: its state and whether entra_user_account would disable it (its guards, with its defaults)."""
    engine = AccountSettings()
    engine.checked_options({'account_enabled': False, 'revoke_sessions': False, 'disable_privileged': False})
    held = engine.holdings(client, {user['user']: members[user['user']] for user in users})
    try:
        holders = engine.privileged_holders(client)
    except GraphError:
        holders = None   # the guard fails the same way below, and says why
    engine.refuse(client, [grant for grants, error in held.values() if error is None for grant in grants], 'absent')
    for user in users:
        grants, error = held[user['user']]
        if error is not None:
            user['error'] = user['error'] or error.to_dict()
            continue
        account = engine.accounts[user['user']]
        decided = grants[0].outcome
        refused = decided.error if decided is not None and decided.status == FAILED else None
        user['account'] = {
            'account_enabled': account.get('accountEnabled'),
            'sign_in_sessions_valid_from': account.get('signInSessionsValidFromDateTime'),
            'user_type': account.get('userType'),
            'on_premises_sync_enabled': bool(account.get('onPremisesSyncEnabled')),
            'privileged_roles': holders.roles_of(user['id']) if holders is not None else None,
            'removable': refused is None,
            'reason': refused['message'] if refused else None,
            'reason_code': refused['code'] if refused else None,
        }


def add_account(client, entries, include):
    """Add the ``include`` kinds of the account itself to the ``users`` entries of the users that were read."""
    kinds = [kind for kind in ACCOUNT_KINDS if kind in include]
    for entry in entries:
        for kind in kinds:
            entry[kind] = [] if kind == 'licenses' else None
    users = [entry for entry in entries if entry['found'] and entry['error'] is None]
    if not users:
        return
    members = {entry['user']: Member(entry['user'], entry['id'], entry['user_principal_name'], entry['display_name'], True, None, 'user')
               for entry in users}
    readers = {'licenses': _licenses, 'account': _accounts}
    for kind in kinds:
        try:
            readers[kind](client, users, members)
        except GraphError as error:
            for user in users:
                user['error'] = user['error'] or error.to_dict()
