# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Discovery for entra_member_of_info: a user's direct groups, administrative units and teams, with what Graph lets an app change.

Every round (users, memberships, team owners) is one ``$batch`` for all users together, so many
users cost a handful of requests. Removability comes from the member engines' own guards
(``_engine_directory.GROUPS.refusal`` / ``ADMINISTRATIVE_UNITS.refusal``), so discovery and removal never disagree.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._connection_options import API_VERSION_ARGSPEC
from ansible_collections.entra.membership.plugins.module_utils._discovery_access import ACCESS_KINDS, add_access
from ansible_collections.entra.membership.plugins.module_utils._discovery_account import ACCOUNT_KINDS, add_account
from ansible_collections.entra.membership.plugins.module_utils._engine_base import READ_PAGE_SIZE
from ansible_collections.entra.membership.plugins.module_utils._engine_directory import ADMINISTRATIVE_UNITS, GROUPS
from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import failure, led_by_reasons
from ansible_collections.entra.membership.plugins.module_utils._references import MAX_MEMBERS, checked_references, member_problem, object_id_segment
from ansible_collections.entra.membership.plugins.module_utils._resolve import Target, fold_members, resolve_members

TRANSITIVE_REASON = 'reached through nested group membership'
TEAM_ROLE_OWNER = 'owner'
TEAM_ROLE_MEMBER = 'member'
LIMITED_INFORMATION = 'LimitedInformation'
MEMBERSHIP_KINDS = ('groups', 'administrative_units', 'teams')   # what discovery returns unless told otherwise (include)
# What each read is and the permission it needs: Graph's 403 does not say which one is missing.
_READS = {
    'user': ("the user '%s'", 'User.Read.All'),
    'memberships': ("the memberships of '%s'", 'Directory.Read.All (or Group.ReadBasic.All)'),
    'transitive_groups': ("the nested group memberships of '%s'", 'GroupMember.Read.All (or Directory.Read.All)'),
    'owners': ("the owners of the teams of '%s'", 'GroupMember.Read.All (or Directory.Read.All)'),
}
# What lets an app see the properties of a membership's object in a memberOf answer (includes/limited-info.md).
_TYPE_READS = {
    'group': 'GroupMember.Read.All (or Group.Read.All, Directory.Read.All)',
    'administrative_unit': 'AdministrativeUnit.Read.All (or Directory.Read.All)',
}


def _select(kind):
    return ','.join(dict.fromkeys(['id', 'displayName'] + kind.select.split(',')))


def _limited_information(raw, kind):
    """``(code, message)`` when Graph gave only the id (every group and unit has a name): the app may not read this kind,
    so whether it can be changed is unknown, not "removable"."""
    if raw.get('displayName') is None:
        return (LIMITED_INFORMATION, "%s %s is not readable with the app's permissions: grant %s (Graph returned only its id, so whether "
                                     "it can be changed is unknown)" % (kind.noun, raw.get('id'), _TYPE_READS[kind.target_type]))
    return None


def _decision(kind, raw):
    """``removable``, ``reason``, ``reason_code`` of one membership, from the member modules' own guards."""
    refusal = _limited_information(raw, kind) or kind.refusal(Target(raw.get('id'), raw.get('id'), raw.get('displayName'), kind.target_type, raw))
    if refusal is None:
        return {'removable': True, 'reason': None, 'reason_code': None}
    code, message = refusal
    return {'removable': False, 'reason': message, 'reason_code': code}


def is_team(raw):
    return 'Team' in (raw.get('resourceProvisioningOptions') or [])


def group_entry(raw):
    """One direct group membership as the module returns it."""
    group_types = list(raw.get('groupTypes') or [])
    entry = {
        'id': raw.get('id'),
        'display_name': raw.get('displayName'),
        'type': GROUPS.target_type,
        'group_types': group_types,
        'dynamic': 'DynamicMembership' in group_types,
        'on_premises_sync_enabled': bool(raw.get('onPremisesSyncEnabled')),
        'mail_enabled': bool(raw.get('mailEnabled')),
        'security_enabled': bool(raw.get('securityEnabled')),
        'is_assignable_to_role': bool(raw.get('isAssignableToRole')),
        'management_restricted': bool(raw.get('isManagementRestricted')),
        'is_team': is_team(raw),
    }
    entry.update(_decision(GROUPS, raw))
    return entry


def administrative_unit_entry(raw):
    """One direct administrative unit membership as the module returns it."""
    entry = {
        'id': raw.get('id'),
        'display_name': raw.get('displayName'),
        'type': ADMINISTRATIVE_UNITS.target_type,
        'dynamic': str(raw.get('membershipType') or '').lower() == 'dynamic',
        'restricted': bool(raw.get('isMemberManagementRestricted')),
    }
    entry.update(_decision(ADMINISTRATIVE_UNITS, raw))
    return entry


def team_entry(group, role):
    """A team the user is in: it is its group, so it can be changed exactly when its group can."""
    return {'id': group['id'], 'display_name': group['display_name'], 'type': 'team', 'role': role,
            'removable': group['removable'], 'reason': group['reason'], 'reason_code': group['reason_code']}


def transitive_entry(raw):
    return {'id': raw.get('id'), 'display_name': raw.get('displayName'), 'type': GROUPS.target_type,
            'removable': False, 'reason': TRANSITIVE_REASON, 'reason_code': 'NestedMembership'}


def read_error(graph_error, user_ref, what):
    """A read's GraphError as ``users[].error``; a 403 says which permission that read needs, unless it already names one."""
    explanation = None
    if graph_error.status == 403 and '.Read' not in (graph_error.message or ''):
        explanation = 'reading %s needs the permission %s' % (_READS[what][0] % user_ref, _READS[what][1])
    return failure(graph_error, explanation).error


class UserMemberships:
    """What discovery knows of one user given; ``result()`` is its entry of ``users``."""

    def __init__(self, ref, member, include_transitive):
        self.ref = ref
        self.member = member
        self.include_transitive = include_transitive
        self.error = None
        self.groups = []
        self.administrative_units = []
        self.teams = []
        self.transitive_groups = []
        if member.error is not None:
            self.error = read_error(member.error, ref, 'user')
        elif member.found and member.object_type != 'user':
            self.error = error_dict(None, 'NotAUser', "'%s' is a %s, not a user: entra_member_of_info reads users' memberships"
                                    % (ref, member.object_type or 'directory object'))

    @property
    def readable(self):
        return self.member.found and self.error is None

    def fail(self, error):
        if self.error is None:  # the first error is the one to act on; the others follow from the same cause
            self.error = error

    def result(self):
        found = self.member.found
        entry = {
            'user': self.ref,
            'id': self.member.id if found else None,
            'user_principal_name': self.member.upn if found else None,
            'display_name': self.member.display_name if found else None,
            'found': found,
            'error': self.error,
            'groups': self.groups,
            'administrative_units': self.administrative_units,
            'teams': self.teams,
        }
        if self.include_transitive:
            entry['transitive_groups'] = self.transitive_groups
        return entry


def _membership_requests(user_id, include_transitive):
    """The user's direct memberships in one read (groups, administrative units and directory roles, told apart by
    ``@odata.type``), without an OData cast: a cast needs an advanced query (user-list-memberof, "Request headers")."""
    segment = object_id_segment(user_id)
    page = str(READ_PAGE_SIZE)
    select = ','.join(dict.fromkeys(_select(GROUPS).split(',') + _select(ADMINISTRATIVE_UNITS).split(',')))
    requests = {'memberships': GraphRequest('GET', '/users/%s/memberOf' % segment, params={'$select': select, '$top': page})}
    if include_transitive:
        requests['transitive_groups'] = GraphRequest('GET', '/users/%s/transitiveMemberOf' % segment,
                                                     params={'$select': 'id,displayName', '$top': page})
    return requests


def _of_type(items, kind):
    return [item for item in items if isinstance(item, dict) and item.get('@odata.type') == kind.odata_type]


def _read_memberships(client, users, include_transitive):
    keys, requests = [], []
    for user in users:
        for what, request in _membership_requests(user.member.id, include_transitive).items():
            keys.append((user, what))
            requests.append(request)
    for (user, what), (items, error) in zip(keys, read_collections(client, requests)):
        if error is not None:
            user.fail(read_error(error, user.ref, what))
            continue
        if what == 'memberships':
            user.groups = [group_entry(item) for item in _of_type(items, GROUPS)]
            user.administrative_units = [administrative_unit_entry(item) for item in _of_type(items, ADMINISTRATIVE_UNITS)]
        else:
            user.transitive_groups = _of_type(items, GROUPS)  # raw until the direct groups are known


def _read_team_owners(client, users):
    """``{team id: (owner ids, error)}`` for every team any user is in, one batched read for all."""
    team_ids = list(dict.fromkeys(group['id'].lower() for user in users for group in user.groups if group['is_team']))
    requests = [GraphRequest('GET', '/groups/%s/owners' % object_id_segment(team_id), params={'$select': 'id', '$top': str(READ_PAGE_SIZE)})
                for team_id in team_ids]
    owners = {}
    for team_id, (items, error) in zip(team_ids, read_collections(client, requests)):
        owners[team_id] = ({str(item.get('id') or '').lower() for item in items or []}, error)
    return owners


def _add_teams(user, owners):
    for group in user.groups:
        if not group['is_team']:
            continue
        owner_ids, error = owners[group['id'].lower()]
        if error is not None:
            user.fail(read_error(error, user.ref, 'owners'))
            role = None
        else:
            role = TEAM_ROLE_OWNER if user.member.id.lower() in owner_ids else TEAM_ROLE_MEMBER
        user.teams.append(team_entry(group, role))


def _fail_on_limited_information(user):
    """Memberships Graph named only by id make the user's answer incomplete: which of them are teams is unknown too."""
    hidden = [entry for entry in user.groups + user.administrative_units if entry['reason_code'] == LIMITED_INFORMATION]
    if hidden:
        user.fail(error_dict(None, LIMITED_INFORMATION,
                             "Graph returned only the ids of %d of the memberships of '%s' (each entry's reason names the permission the app lacks): "
                             "which are teams and whether they can be changed is unknown" % (len(hidden), user.ref)))


def _keep_nested_only(user):
    direct = {group['id'].lower() for group in user.groups}
    user.transitive_groups = [transitive_entry(item) for item in user.transitive_groups if str(item.get('id') or '').lower() not in direct]


def discover(client, user_refs, include_transitive=False, warn=None, memberships=True):
    """One ``users`` entry per distinct user, in the order given (refs already checked and folded as text).

    A user given twice in different forms (its id and its UPN) is read once, under the first form, with a warning.
    ``memberships`` false (no membership kind asked for) reads the users alone: memberOf needs a permission
    (user-list-memberof) that an app reading only roles, licenses or the account need not hold.
    """
    members = resolve_members(client, user_refs)
    user_refs = fold_members(members, warn or (lambda message: None), option='users')
    users = [UserMemberships(ref, members[ref], include_transitive) for ref in user_refs]
    readable = [user for user in users if user.readable] if memberships else []
    if readable:
        _read_memberships(client, readable, include_transitive)
        owners = _read_team_owners(client, readable)
        for user in readable:
            _fail_on_limited_information(user)
            _add_teams(user, owners)
            if include_transitive:
                _keep_nested_only(user)
    return [user.result() for user in users]


def compose_msg(module_name, entries):
    """``entra_member_of_info: 2 users read, 1 not found, 1 failed ('x@contoso.com')``."""
    failed = [entry['user'] for entry in entries if entry['error'] is not None]
    missing = [entry for entry in entries if not entry['found'] and entry['error'] is None]
    read = len(entries) - len(failed) - len(missing)
    if not entries:
        return '%s: nothing to do (no users given)' % module_name
    parts = ['%d %s read' % (read, 'user' if read == 1 else 'users')]
    if missing:
        parts.append('%d not found (%s)' % (len(missing), ', '.join("'%s'" % entry['user'] for entry in missing)))
    if failed:
        parts.append('%d failed (%s)' % (len(failed), ', '.join("'%s'" % ref for ref in failed)))
    reasons = list(dict.fromkeys(entry['error']['message'] for entry in entries if entry['error'] is not None and entry['error'].get('message')))
    return '%s: %s' % (module_name, led_by_reasons(reasons, ', '.join(parts)))


def discovery_argument_spec():
    """The argument_spec of entra_member_of_info (the connection options are added by EntraModule)."""
    return dict(
        users=dict(type='list', elements='str', required=True),
        include_transitive=dict(type='bool', default=False),
        include=dict(type='list', elements='str', choices=list(MEMBERSHIP_KINDS + ACCESS_KINDS + ACCOUNT_KINDS), default=list(MEMBERSHIP_KINDS)),
        api_version=dict(API_VERSION_ARGSPEC),
    )


def run_discovery(module, module_name):
    """The whole task of entra_member_of_info; ends in exit_json, or fail_json when any user could not be read in full."""
    module.run_task(lambda: _discovery_task(module, module_name))


def _discovery_task(module, module_name):
    params = module.params
    try:
        user_refs = checked_references('users', params['users'], member_problem, MAX_MEMBERS)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False)
    include = params['include']
    memberships = params['include_transitive'] or any(kind in include for kind in MEMBERSHIP_KINDS)
    users = discover(module.client, user_refs, params['include_transitive'], warn=module.warn, memberships=memberships) if user_refs else []
    if users:
        add_access(module.client, users, include)
        add_account(module.client, users, include)
    for entry in users:
        for kind in MEMBERSHIP_KINDS:
            if kind not in include:
                entry.pop(kind)  # read all the same when one is asked for: teams come from the groups, and the failure of a read is the user's
    return dict(changed=False, msg=compose_msg(module_name, users), users=users, tenant_id=params['tenant_id'] or None, cloud=params['cloud'],
                failed=any(entry['error'] is not None for entry in users))
