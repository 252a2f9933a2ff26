# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access engine of entra_directory_role_assignment: a principal's Microsoft Entra roles, active and PIM-eligible.

What a principal holds: its active assignments (``GET /roleManagement/directory/roleAssignments``, "List
unifiedRoleAssignments", https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments), their
schedules (``roleAssignmentSchedules``: a time-bound one has an end) and its PIM eligibilities
(``roleEligibilitySchedules``), tenant-wide (``/``) or scoped to an administrative unit. A permanent active
assignment is removed with ``DELETE roleAssignments/{id}``, a time-bound one and an eligibility with an
``adminRemove`` schedule request (rbacapplication-post-roleassignmentschedulerequests,
rbacapplication-post-roleeligibilityschedulerequests); ``adminAssign`` (or ``POST roleAssignments``) re-creates them.
Roles held through a role-assignable group are reported, never removed here. Graph does not refuse removing
the last Global Administrator (only a signed-in user removing their own), so that guard is ours.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timezone

from ansible_collections.entra.membership.plugins.module_utils._access_base import (
    ALL,
    AccessEngine,
    Grant,
    SelectionError,
    assignment_outcome,
    checked_selection,
    predicted_outcome,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import read_failure, refusal_outcome
from ansible_collections.entra.membership.plugins.module_utils._references import assignment_id_segment, is_object_id, object_id_segment, shown
from ansible_collections.entra.membership.plugins.module_utils._resolve import filter_literal, resolve_targets

TENANT_SCOPE = '/'
ACTIVE = 'active'
ELIGIBLE = 'eligible'
ASSIGNMENT_TYPES = (ACTIVE, ELIGIBLE)
GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10'   # the built-in role's template id (= its id)
ROLES = '/roleManagement/directory'
_UNIT_SCOPE = re.compile(r'^/administrativeUnits/([0-9a-fA-F-]{36})$')
PRINCIPAL_TYPES = ('user', 'group', 'servicePrincipal')
GROUP_TYPE = '#microsoft.graph.group'
USER_TYPE = '#microsoft.graph.user'
JUSTIFICATION = {'absent': 'Removed by entra.membership (offboarding)', 'present': 'Restored by entra.membership'}
# rbacapplication-post-roleassignments (and DELETE): RoleManagement.ReadWrite.Directory; the PIM requests also take
# their own ReadWrite permissions (rbacapplication-post-roleassignmentschedulerequests, -roleeligibilityschedulerequests).
WRITE_PERMISSIONS = {
    'assignment': ('RoleManagement.ReadWrite.Directory',),
    ACTIVE: ('RoleAssignmentSchedule.ReadWrite.Directory', 'RoleManagement.ReadWrite.Directory'),
    ELIGIBLE: ('RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.ReadWrite.Directory'),
}
READ_PERMISSION = 'RoleManagement.Read.Directory (and, for PIM schedules, a tenant with Microsoft Entra ID P2)'


def parse_end(value):
    """An ISO 8601 date and time with its zone (``2030-06-30T00:00:00Z``), as Graph's ``endDateTime``; ValueError otherwise."""
    text = str(value).strip()
    moment = datetime.fromisoformat(text[:-1] + '+00:00' if text.endswith('Z') else text)
    if moment.tzinfo is None:
        raise ValueError('no time zone')
    return text


def schedule_end(schedule_info):
    """The end of a schedule's ``scheduleInfo`` (None: no expiration)."""
    expiration = (schedule_info or {}).get('expiration') or {}
    return expiration.get('endDateTime') if expiration.get('type') == 'afterDateTime' else None


def _explained(error, what):
    """A read's 403 names the permission it needs (Graph's own words say only "insufficient privileges")."""
    if error.status != 403:
        return error
    return GraphError(403, error.code, "reading %s needs %s (Graph: %s)" % (what, READ_PERMISSION, error.message), error.request_id)


def unit_scope(unit_id):
    return '/administrativeUnits/%s' % unit_id.lower()


class DirectoryRoleAssignments(AccessEngine):
    """A principal's directory role assignments: active (permanent or time-bound) and PIM-eligible."""

    target_type = 'directory_role'
    noun = 'directory role'
    detail_fields = ('scope', 'scope_display_name', 'assignment_type', 'schedule', 'assignment_id')

    def __init__(self):
        self.definitions = {}       # role definition id -> definition
        self.roles = None           # selected role definition ids, None for all
        self.scopes = None          # selected directoryScopeIds, None for all
        self.scope_names = {TENANT_SCOPE: 'tenant'}
        self.types = ASSIGNMENT_TYPES
        self.end = None

    # -- options and selection --------------------------------------------------------------------------

    def checked_options(self, params):
        state = params['state']
        checked_selection('roles', params['roles'], state)
        checked_selection('scopes', params['scopes'], state, fixed=[TENANT_SCOPE] + [scope for scope in params['scopes'] if _UNIT_SCOPE.match(scope or '')])
        self.types = tuple(params['assignment_types'] or ())
        if not self.types:
            raise ValueError('assignment_types: give active, eligible or both')
        end = params.get('end_date_time')
        if end is not None and state != 'present':
            raise ValueError('end_date_time: only for state=present (a removal takes whatever schedule the assignment has)')
        if end is not None:
            try:
                self.end = parse_end(end)
            except ValueError:
                raise ValueError("end_date_time: '%s' is not an ISO 8601 date and time with a time zone, such as 2030-06-30T00:00:00Z" % shown(end))

    def principal_refusal(self, member, state):
        if member.object_type in PRINCIPAL_TYPES or member.object_type is None:
            return None
        return refusal_outcome('NotAPrincipal', "'%s' is a %s: directory roles are assigned to users, role-assignable groups and "
                               "service principals" % (member.ref, member.object_type))

    def resolve_selection(self, client, params):
        try:
            self.definitions = {str(item['id']).lower(): item for item in client.paged('%s/roleDefinitions' % ROLES, params={
                '$select': 'id,displayName,templateId,isBuiltIn'}) if item.get('id')}
        except GraphError as error:
            raise _explained(error, "the tenant's role definitions") from None
        if params['roles'] != [ALL]:
            self.roles = list(dict.fromkeys(self._role_id(ref) for ref in params['roles']))
        if params['scopes'] != [ALL]:
            self.scopes = list(dict.fromkeys(self._scopes(client, params['scopes'])))

    def _role_id(self, ref):
        lowered = ref.lower()
        for role_id, definition in self.definitions.items():
            if lowered in (role_id, str(definition.get('templateId') or '').lower()) or definition.get('displayName') == ref:
                return role_id
        names = [definition.get('displayName') or '' for definition in self.definitions.values()]
        near = [name for name in names if name.lower() == lowered] or difflib.get_close_matches(ref, names, n=3, cutoff=0.75)
        hint = '; did you mean %s?' % ', '.join("'%s'" % name for name in near) if near else ''
        raise SelectionError("roles: no directory role has the %s '%s'%s" % ('id or template id' if is_object_id(ref) else 'name', shown(ref), hint))

    def _scopes(self, client, refs):
        units = [ref for ref in refs if ref != TENANT_SCOPE]
        unit_refs = [_UNIT_SCOPE.match(ref).group(1) if _UNIT_SCOPE.match(ref) else ref for ref in units]
        targets = resolve_targets(client, 'administrative_unit', unit_refs) if unit_refs else {}
        for ref in refs:
            if ref == TENANT_SCOPE:
                yield TENANT_SCOPE
                continue
            target = targets[_UNIT_SCOPE.match(ref).group(1) if _UNIT_SCOPE.match(ref) else ref]
            if target.error is not None:
                raise SelectionError('scopes: %s' % target.error.message)
            self.scope_names[unit_scope(target.id)] = target.display_name
            yield unit_scope(target.id)

    # -- reads ------------------------------------------------------------------------------------------

    def _principal_reads(self, principal_id, with_schedules=True):
        """The reads of what ``principal_id`` holds itself: (what, GraphRequest)."""
        literal = filter_literal(principal_id.lower())
        reads = []
        if ACTIVE in self.types:
            reads.append((ACTIVE, GraphRequest('GET', '%s/roleAssignments' % ROLES, params={'$filter': 'principalId eq %s' % literal})))
            if with_schedules:
                reads.append(('schedules', GraphRequest('GET', '%s/roleAssignmentSchedules' % ROLES, params={'$filter': 'principalId eq %s' % literal})))
        if ELIGIBLE in self.types:
            reads.append((ELIGIBLE, GraphRequest('GET', '%s/roleEligibilitySchedules' % ROLES, params={'$filter': 'principalId eq %s' % literal})))
        return reads

    def holdings(self, client, principals):
        keys, requests = [], []
        for ref, member in principals.items():
            for what, request in self._principal_reads(member.id):
                keys.append((ref, what))
                requests.append(request)
            if member.object_type in (None, 'user'):
                keys.append((ref, 'groups'))
                requests.append(GraphRequest('GET', '/users/%s/memberOf' % object_id_segment(member.id),
                                             params={'$select': 'id,displayName,isAssignableToRole'}))
        reads = dict(zip(keys, read_collections(client, requests)))
        groups = {}
        for (ref, what), (items, error) in reads.items():
            if what == 'groups' and error is None:
                for item in items:
                    if item.get('@odata.type') == GROUP_TYPE and item.get('isAssignableToRole') and item.get('id'):
                        groups[item['id'].lower()] = {'id': item['id'], 'display_name': item.get('displayName'), 'type': 'group'}
        group_keys, group_requests = [], []
        for group_id in groups:
            for what, request in self._principal_reads(group_id, with_schedules=False):
                group_keys.append((group_id, what))
                group_requests.append(request)
        group_reads = dict(zip(group_keys, read_collections(client, group_requests)))
        held = {}
        for ref, member in principals.items():
            error = next((error for (key, _what), (_items, error) in reads.items() if key == ref and error is not None), None)
            member_groups = [groups[str(item.get('id')).lower()] for item in (reads.get((ref, 'groups')) or ([], None))[0] or []
                             if str(item.get('id') or '').lower() in groups]
            error = error or next((group_reads[key][1] for group in member_groups for key in group_reads
                                   if key[0] == group['id'].lower() and group_reads[key][1] is not None), None)
            if error is not None:
                held[ref] = ([], _explained(error, "the directory roles of '%s'" % ref))
                continue
            own = {what: reads[(ref, what)][0] for what in (ACTIVE, 'schedules', ELIGIBLE) if (ref, what) in reads}
            grants = self._grants(ref, member, own)
            for group in member_groups:
                inherited = {what: group_reads[(group['id'].lower(), what)][0] for what in (ACTIVE, ELIGIBLE)
                             if (group['id'].lower(), what) in group_reads}
                grants.extend(self._grants(ref, member, inherited, through=group))
            held[ref] = ([grant for grant in grants if self._selected(grant)], None)
        self._name_scopes(client, held)
        return held

    def _grants(self, ref, member, reads, through=None):
        ends = {(str(item.get('roleDefinitionId')).lower(), item.get('directoryScopeId')): schedule_end(item.get('scheduleInfo'))
                for item in reads.get('schedules') or []}
        grants = []
        for item in reads.get(ACTIVE) or []:
            key = (str(item.get('roleDefinitionId')).lower(), item.get('directoryScopeId'))
            grants.append(self._grant(ref, member, item, ACTIVE, {'start_date_time': None, 'end_date_time': ends.get(key)}, through))
        for item in reads.get(ELIGIBLE) or []:
            info = item.get('scheduleInfo') or {}
            grants.append(self._grant(ref, member, item, ELIGIBLE, {'start_date_time': info.get('startDateTime'), 'end_date_time': schedule_end(info)},
                                      through))
        return grants

    def _grant(self, ref, member, item, assignment_type, schedule, through):
        role_id = str(item.get('roleDefinitionId') or '').lower()
        scope = item.get('directoryScopeId') or TENANT_SCOPE
        if _UNIT_SCOPE.match(scope):
            scope = unit_scope(_UNIT_SCOPE.match(scope).group(1))
        target = {'id': role_id, 'display_name': (self.definitions.get(role_id) or {}).get('displayName'), 'type': 'directory_role'}
        details = {'scope': scope, 'scope_display_name': self.scope_names.get(scope), 'assignment_type': assignment_type, 'schedule': schedule,
                   'assignment_id': None if through else item.get('id')}
        return Grant(ref, member, target, (role_id, scope, assignment_type), details, graph_id=item.get('id'), through=through)

    def _selected(self, grant):
        role_id, scope, assignment_type = grant.key
        role_selected = self.roles is None or role_id in self.roles
        scope_selected = self.scopes is None or scope in self.scopes
        return role_selected and scope_selected and assignment_type in self.types

    def _name_scopes(self, client, held):
        """Name the administrative units the held assignments are scoped to (one batched read of those not named yet)."""
        unknown = list(dict.fromkeys(grant.details['scope'] for grants, _error in held.values() for grant in grants
                                     if grant.details['scope'] not in self.scope_names))
        ids = [_UNIT_SCOPE.match(scope).group(1) for scope in unknown if _UNIT_SCOPE.match(scope)]
        for ref, target in (resolve_targets(client, 'administrative_unit', ids) if ids else {}).items():
            if target.error is None:
                self.scope_names[unit_scope(ref)] = target.display_name
        for grants, _error in held.values():
            for grant in grants:
                grant.details['scope_display_name'] = self.scope_names.get(grant.details['scope'])

    def wanted(self, principal_ref, principal, params):
        grants = []
        for role_id in self.roles:
            for scope in self.scopes:
                for assignment_type in self.types:
                    target = {'id': role_id, 'display_name': self.definitions[role_id].get('displayName'), 'type': 'directory_role'}
                    details = {'scope': scope, 'scope_display_name': self.scope_names.get(scope), 'assignment_type': assignment_type,
                               'schedule': {'start_date_time': None, 'end_date_time': self.end}, 'assignment_id': None}
                    grants.append(Grant(principal_ref, principal, target, (role_id, scope, assignment_type), details))
        return grants

    # -- the last Global Administrator ------------------------------------------------------------------

    def refuse(self, client, grants, state):
        """Never remove the last active Global Administrator at the tenant: read the role's holders (users, directly or
        through a group) and refuse every removal that would leave none."""
        if state != 'absent':
            return
        leaving = [grant for grant in grants if grant.key == (GLOBAL_ADMINISTRATOR, TENANT_SCOPE, ACTIVE)]
        if not leaving:
            return
        holders, error = self._global_administrators(client)
        if error is not None:
            for grant in leaving:
                grant.outcome = read_failure(error)
            return
        leaving_ids = {grant.principal_id.lower() for grant in leaving}
        if holders - leaving_ids:
            return
        names = ', '.join(grant.principal_ref for grant in leaving)
        for grant in leaving:
            grant.outcome = refusal_outcome('LastGlobalAdministrator', "removing the Global Administrator role of %s would leave the tenant without "
                                            "an active Global Administrator: assign the role to someone else first" % names)

    @staticmethod
    def _global_administrators(client):
        """``({user ids}, None)`` holding Global Administrator actively at ``/``, directly or through a group; or ``(None, error)``."""
        ((items, error),) = read_collections(client, [GraphRequest('GET', '%s/roleAssignments' % ROLES, params={
            '$filter': 'roleDefinitionId eq %s' % filter_literal(GLOBAL_ADMINISTRATOR), '$expand': 'principal($select=id)'})])
        if error is not None:
            return None, error
        users, groups = set(), []
        for item in items:
            if item.get('directoryScopeId') != TENANT_SCOPE:
                continue
            principal = item.get('principal') or {}
            if principal.get('@odata.type') == USER_TYPE:
                users.add(str(principal.get('id')).lower())
            elif principal.get('@odata.type') == GROUP_TYPE:
                groups.append(str(principal.get('id')).lower())
        members = read_collections(client, [GraphRequest('GET', '/groups/%s/members' % object_id_segment(group_id), params={'$select': 'id'})
                                            for group_id in groups])
        for group_items, group_error in members:
            if group_error is not None:
                return None, group_error
            users.update(str(item.get('id')).lower() for item in group_items if item.get('@odata.type') == USER_TYPE)
        return users, None

    # -- decisions ----------------------------------------------------------------------------------------

    @staticmethod
    def _how(grant, state):
        """``(permission kind, request)`` that removes (or creates) ``grant``."""
        role_id, scope, assignment_type = grant.key
        end = grant.details['schedule'].get('end_date_time')
        if assignment_type == ACTIVE and end is None:
            if state == 'absent':
                return 'assignment', GraphRequest('DELETE', '%s/roleAssignments/%s' % (ROLES, assignment_id_segment(grant.graph_id)))
            return 'assignment', GraphRequest('POST', '%s/roleAssignments' % ROLES, body={
                'principalId': grant.principal_id, 'roleDefinitionId': role_id, 'directoryScopeId': scope})
        body = {'action': 'adminRemove' if state == 'absent' else 'adminAssign', 'principalId': grant.principal_id,
                'roleDefinitionId': role_id, 'directoryScopeId': scope, 'justification': JUSTIFICATION[state]}
        if state == 'present':
            body['scheduleInfo'] = {'startDateTime': datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
                                    'expiration': {'type': 'afterDateTime', 'endDateTime': end} if end else {'type': 'noExpiration'}}
        collection = 'roleAssignmentScheduleRequests' if assignment_type == ACTIVE else 'roleEligibilityScheduleRequests'
        return assignment_type, GraphRequest('POST', '%s/%s' % (ROLES, collection), body=body)

    @staticmethod
    def denial_explanation(grant, kind):
        return "the app may not change the directory roles of '%s': it needs %s" % (grant.principal_ref, ' or '.join(WRITE_PERMISSIONS[kind]))

    def predict(self, client, grants, state):
        granted = client.granted_permissions()
        for grant in grants:
            kind, _request = self._how(grant, state)
            grant.outcome = predicted_outcome(granted, WRITE_PERMISSIONS[kind], self.denial_explanation(grant, kind), state)

    def write(self, client, grants, state):
        planned = [self._how(grant, state) for grant in grants]
        for grant, (kind, _request), response in zip(grants, planned, client.batch([request for _kind, request in planned])):
            grant.outcome = assignment_outcome(state, response, self.denial_explanation(grant, kind), grant.held)
            if state == 'present' and response.ok and isinstance(response.body, dict):
                grant.details['assignment_id'] = response.body.get('targetScheduleId') or response.body.get('id')

    def diff_label(self, grant):
        scope = grant.details['scope']
        where = 'tenant' if scope == TENANT_SCOPE else "administrative unit '%s'" % (grant.details.get('scope_display_name') or scope)
        end = grant.details['schedule'].get('end_date_time')
        return '%s (%s, %s%s)' % (grant.target.get('display_name') or grant.target['id'], grant.details['assignment_type'], where,
                                  ', until %s' % end if end else '')
