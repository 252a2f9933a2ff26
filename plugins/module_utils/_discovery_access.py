# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""entra_member_of_info's ``include`` kinds beyond memberships: owned groups, directory roles, app role assignments.

Each kind is read by the engine that changes it (``_engine_owners``, ``_engine_roles``, ``_engine_apps``),
from the same reads and the same guards, so discovery and removal never disagree. Every entry carries
``removable``, ``reason`` and ``reason_code``; ``through`` names the group an entry is held through.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._engine_apps import AppRoleAssignments
from ansible_collections.entra.membership.plugins.module_utils._engine_base import READ_PAGE_SIZE
from ansible_collections.entra.membership.plugins.module_utils._engine_directory import GROUPS
from ansible_collections.entra.membership.plugins.module_utils._engine_owners import OWNERS, USER_TYPE
from ansible_collections.entra.membership.plugins.module_utils._engine_roles import ASSIGNMENT_TYPES, DirectoryRoleAssignments
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import FAILED
from ansible_collections.entra.membership.plugins.module_utils._references import object_id_segment
from ansible_collections.entra.membership.plugins.module_utils._resolve import Member, Target

ACCESS_KINDS = ('owned_groups', 'directory_roles', 'app_roles')
EXPAND_LIMIT = 20      # Graph expands at most 20 objects of a relationship (query-parameters, known issue 13635)
_OWNED_SELECT = 'id,displayName,' + GROUPS.select


def _removable(refusal=None):
    if refusal is None:
        return {'removable': True, 'reason': None, 'reason_code': None}
    code, message = refusal
    return {'removable': False, 'reason': message, 'reason_code': code}


# -- owned groups -----------------------------------------------------------------------------------

def _owners_in_full(client, groups):
    """``{group id: {owner id: is a user}}``; a group whose expansion may have been cut at 20 is read again in full."""
    owners = {}
    again = []
    for group in groups:
        expanded = group.get('owners') or []
        owners[group['id'].lower()] = {str(item.get('id') or '').lower(): item.get('@odata.type') == USER_TYPE for item in expanded}
        if len(expanded) >= EXPAND_LIMIT:
            again.append(group['id'].lower())
    reads = read_collections(client, [GraphRequest('GET', '/groups/%s/owners' % object_id_segment(group_id), params={
        '$select': 'id', '$top': str(READ_PAGE_SIZE)}) for group_id in again])
    for group_id, (items, error) in zip(again, reads):
        if error is not None:
            raise error
        owners[group_id] = {str(item.get('id') or '').lower(): item.get('@odata.type') == USER_TYPE for item in items}
    return owners


def owned_group_entry(group, user_id, owners):
    """One group ``user_id`` owns: removable as entra_group_owner decides it; ``sole_owner`` when no other user owns it."""
    others = [owner for owner, is_user in owners.items() if is_user and owner != user_id]
    entry = {'id': group['id'], 'display_name': group.get('displayName'), 'type': 'group',
             'is_team': 'Team' in (group.get('resourceProvisioningOptions') or []), 'sole_owner': not others}
    entry.update(_removable(OWNERS.refusal(Target(group['id'], group['id'], group.get('displayName'), 'group', group))))
    if entry['removable'] and not others:
        entry['reason'] = ('the only owner: Graph keeps the last owner of a group, so entra_group_owner adds substitute_owners '
                           '(a user, or the manager) before removing it')
    return entry


def _owned_groups(client, users):
    """Every group, read once with its owners expanded: an app cannot list a user's ownedObjects (user-list-ownedobjects)."""
    groups = list(client.paged('/groups', params={'$select': _OWNED_SELECT, '$expand': 'owners($select=id)'}))
    owners = _owners_in_full(client, groups)
    for user in users:
        user_id = user['id'].lower()
        user['owned_groups'] = [owned_group_entry(group, user_id, owners[group['id'].lower()]) for group in groups
                                if user_id in owners[group['id'].lower()]]


# -- directory roles and app role assignments ------------------------------------------------------------

def _grant_entry(grant, engine, refused=None):
    entry = {'id': grant.target['id'], 'display_name': grant.target['display_name'], 'type': grant.target['type'],
             'through': dict(grant.through) if grant.through else None}
    entry.update(grant.details)
    if grant.through:
        entry.update({'removable': False, 'reason': engine.through_reason(grant), 'reason_code': 'HeldThroughGroup'})
    elif refused is not None:
        entry.update({'removable': False, 'reason': refused.error['message'], 'reason_code': refused.error['code']})
    else:
        entry.update(_removable())
    return entry


def _access_entries(client, users, members, engine, key):
    held = engine.holdings(client, {user['user']: members[user['user']] for user in users})
    open_grants = [grant for grants, error in held.values() if error is None for grant in grants if grant.through is None]
    engine.refuse(client, open_grants, 'absent')  # the guards removal would apply (the last Global Administrator)
    for user in users:
        grants, error = held[user['user']]
        if error is not None:
            user['error'] = user['error'] or error.to_dict()
            user[key] = []
            continue
        user[key] = [_grant_entry(grant, engine, grant.outcome if grant.outcome and grant.outcome.status == FAILED else None)
                     for grant in grants]


def add_access(client, entries, include):
    """Add the ``include`` kinds beyond memberships to the ``users`` entries of the users that were read."""
    users = [entry for entry in entries if entry['found'] and entry['error'] is None]
    members = {entry['user']: Member(entry['user'], entry['id'], entry['user_principal_name'], entry['display_name'], True, None, 'user')
               for entry in users}
    for kind in ACCESS_KINDS:
        if kind not in include:
            continue
        for entry in entries:
            entry[kind] = []
        if not users:
            continue
        try:
            if kind == 'owned_groups':
                _owned_groups(client, users)
            elif kind == 'directory_roles':
                engine = DirectoryRoleAssignments()
                engine.types = ASSIGNMENT_TYPES
                engine.resolve_selection(client, {'roles': ['all'], 'scopes': ['all']})
                _access_entries(client, users, members, engine, kind)
            else:
                engine = AppRoleAssignments()
                engine.resolve_selection(client, {'applications': ['all']})
                _access_entries(client, users, members, engine, kind)
        except GraphError as error:
            for user in users:
                user['error'] = user['error'] or error.to_dict()
