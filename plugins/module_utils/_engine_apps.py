# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access engine of entra_app_role_assignment: a principal's assignments to enterprise applications.

A principal's own assignments are ``GET /users/{id}/appRoleAssignments`` ("List appRoleAssignments granted
to a user", https://learn.microsoft.com/graph/api/user-list-approleassignments); one is removed with
``DELETE /users/{id}/appRoleAssignments/{assignment id}`` and re-created with ``POST`` (principalId, resourceId,
appRoleId). A user also reaches an application through a group that holds an assignment (group-based
assignment reaches direct members only): those are read from each of the user's groups and reported, never
removed here.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._access_base import (
    ALL,
    AccessEngine,
    Grant,
    SelectionError,
    assignment_outcome,
    checked_selection,
    predicted_outcome,
)
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import refusal_outcome
from ansible_collections.entra.membership.plugins.module_utils._references import assignment_id_segment, is_object_id, object_id_segment, shown
from ansible_collections.entra.membership.plugins.module_utils._resolve import filter_literal

DEFAULT_ACCESS_ROLE = '00000000-0000-0000-0000-000000000000'   # appRoleAssignment: the app's default access, when it defines no roles
WRITE_PERMISSIONS = ('AppRoleAssignment.ReadWrite.All',)      # user-post-approleassignments, user-delete-approleassignments: only it
SERVICE_PRINCIPAL_SELECT = 'id,displayName,appId,appRoles'
PRINCIPAL_COLLECTIONS = {'user': '/users', 'group': '/groups', 'servicePrincipal': '/servicePrincipals'}
GROUP_TYPE = '#microsoft.graph.group'


def role_name(service_principal, app_role_id):
    """An app role's value (else its display name); the default access role's name; the id when the app does not define it."""
    if app_role_id == DEFAULT_ACCESS_ROLE:
        return 'default access'
    for role in (service_principal or {}).get('appRoles') or []:
        if str(role.get('id') or '').lower() == app_role_id:
            return role.get('value') or role.get('displayName') or app_role_id
    return app_role_id


def _roles_by_name(service_principal):
    """``{id or value (lower case): role id}`` of an application's roles."""
    names = {}
    for role in service_principal.get('appRoles') or []:
        role_id = str(role.get('id') or '').lower()
        names[role_id] = role_id
        if role.get('value'):
            names[str(role['value']).lower()] = role_id
    return names


class AppRoleAssignments(AccessEngine):
    """A principal's assignments to enterprise applications (service principals)."""

    target_type = 'application'
    noun = 'application'
    detail_fields = ('app_role_id', 'app_role', 'assignment_id')

    def __init__(self):
        self.applications = None        # {service principal id: service principal}, None for all
        self.service_principals = {}    # every service principal read, by id
        self.app_roles = []             # the app_roles option: ids or values, lower case

    # -- options and selection ------------------------------------------------------------------------

    def checked_options(self, params):
        checked_selection('applications', params['applications'], params['state'])
        self.app_roles = [str(role).lower() for role in params.get('app_roles') or []]
        if any(not role.strip() for role in self.app_roles):
            raise ValueError('app_roles: an empty value was given')

    def principal_refusal(self, member, state):
        if member.object_type in PRINCIPAL_COLLECTIONS or member.object_type is None:
            return None
        return refusal_outcome('NotAPrincipal', "'%s' is a %s: applications are assigned to users, groups and service principals"
                               % (member.ref, member.object_type))

    def resolve_selection(self, client, params):
        names = params['applications']
        if names == [ALL]:
            return
        requests = {}
        for name in names:
            if is_object_id(name):  # an object id, or the application's (client) id
                requests[(name, 'id')] = GraphRequest('GET', '/servicePrincipals/%s' % name.lower(), params={'$select': SERVICE_PRINCIPAL_SELECT})
                requests[(name, 'appId')] = GraphRequest('GET', '/servicePrincipals', params={
                    '$filter': 'appId eq %s' % filter_literal(name.lower()), '$select': SERVICE_PRINCIPAL_SELECT})
            else:
                requests[(name, 'name')] = GraphRequest('GET', '/servicePrincipals', params={
                    '$filter': 'displayName eq %s' % filter_literal(name), '$select': SERVICE_PRINCIPAL_SELECT})
        answers = dict(zip(requests, client.batch(list(requests.values()))))
        self.applications = {}
        for name in names:
            found = self._matches(name, answers)
            if not found:
                raise SelectionError("applications: no service principal (enterprise application) has the %s '%s'"
                                     % ('id or application id' if is_object_id(name) else 'display name', shown(name)))
            if len(found) > 1:
                raise SelectionError("applications: %d service principals have the display name '%s' (%s): give the id instead"
                                     % (len(found), shown(name), ', '.join(item['id'] for item in found)))
            self.applications[found[0]['id'].lower()] = found[0]
        self.service_principals.update(self.applications)
        self._check_app_roles(params['state'])

    @staticmethod
    def _matches(name, answers):
        found = []
        for (asked, how), response in answers.items():
            if asked != name:
                continue
            if response.status == 404 and how == 'id':
                continue
            response.raise_for_error()
            body = response.body if isinstance(response.body, dict) else {}
            items = [body] if how == 'id' else list(body.get('value') or [])
            found.extend(item for item in items if item.get('id') and (how != 'name' or item.get('displayName') == name))
        return list({item['id'].lower(): item for item in found}.values())

    def _check_app_roles(self, state):
        """Every role named belongs to an application given; with state present each application gets a role to assign."""
        defined = {}
        for service_principal in self.applications.values():
            defined.update(_roles_by_name(service_principal))
        unknown = [role for role in self.app_roles if role not in defined and role != DEFAULT_ACCESS_ROLE]
        if unknown:
            raise SelectionError("app_roles: %s %s not an app role of %s" % (
                ', '.join("'%s'" % shown(role) for role in unknown), 'is' if len(unknown) == 1 else 'are',
                ', '.join("'%s' (roles: %s)" % (sp.get('displayName'), _role_names(sp)) for sp in self.applications.values())))
        if state != 'present':
            return
        for service_principal in self.applications.values():
            if service_principal.get('appRoles') and not self._roles_for(service_principal):
                raise SelectionError("app_roles: application '%s' defines app roles (%s): name the one to assign" % (
                    service_principal.get('displayName'), ', '.join(role.get('value') or role.get('id') for role in service_principal['appRoles'])))

    def _roles_for(self, service_principal):
        """The role ids of ``app_roles`` this application defines; [] when none is named."""
        names = _roles_by_name(service_principal)
        return list(dict.fromkeys(names[role] for role in self.app_roles if role in names))

    # -- reads ------------------------------------------------------------------------------------------

    def _selected(self, resource_id, app_role_id):
        if self.applications is not None and resource_id not in self.applications:
            return False
        if not self.app_roles:
            return True
        names = _roles_by_name(self.service_principals.get(resource_id) or {})
        return any(names.get(role, role) == app_role_id for role in self.app_roles)

    def holdings(self, client, principals):
        keys, requests = [], []
        for ref, member in principals.items():
            collection = PRINCIPAL_COLLECTIONS.get(member.object_type or 'user')
            keys.append((ref, 'own'))
            requests.append(GraphRequest('GET', '%s/%s/appRoleAssignments' % (collection, object_id_segment(member.id))))
            if collection == '/users':  # a group's assignment reaches its direct members (users), not nested groups
                keys.append((ref, 'groups'))
                requests.append(GraphRequest('GET', '/users/%s/memberOf' % object_id_segment(member.id), params={'$select': 'id,displayName'}))
        reads = dict(zip(keys, read_collections(client, requests)))
        groups = {}
        for (ref, what), (items, error) in reads.items():
            if what == 'groups' and error is None:
                for item in items:
                    if item.get('@odata.type') == GROUP_TYPE and item.get('id'):
                        groups[item['id'].lower()] = {'id': item['id'], 'display_name': item.get('displayName'), 'type': 'group'}
        group_ids = list(groups)
        group_reads = dict(zip(group_ids, read_collections(client, [GraphRequest('GET', '/groups/%s/appRoleAssignments' % object_id_segment(group_id))
                                                                    for group_id in group_ids])))
        held = {}
        for ref, member in principals.items():
            items, error = reads[(ref, 'own')]
            member_groups, groups_error = reads.get((ref, 'groups'), ([], None))
            error = error or groups_error
            if error is None:
                for item in member_groups:
                    group_items, group_error = group_reads.get(str(item.get('id') or '').lower(), ([], None))
                    error = error or group_error
            held[ref] = ([], error) if error is not None else (self._grants(ref, member, items, member_groups, groups, group_reads), None)
        self._read_resources(client, held)
        for ref, (grants, error) in held.items():
            held[ref] = ([grant for grant in grants if self._selected(grant.target['id'].lower(), grant.details['app_role_id'])], error)
            for grant in held[ref][0]:
                resource = self.service_principals.get(grant.target['id'].lower())
                grant.target['display_name'] = grant.target['display_name'] or (resource or {}).get('displayName')
                grant.details['app_role'] = role_name(resource, grant.details['app_role_id'])
        return held

    def _grants(self, ref, member, items, member_groups, groups, group_reads):
        grants = [self._grant(ref, member, item) for item in items]
        for group in member_groups:
            group_id = str(group.get('id') or '').lower()
            if group_id not in groups:
                continue
            for item in group_reads[group_id][0] or []:
                grants.append(self._grant(ref, member, item, through=groups[group_id]))
        return grants

    @staticmethod
    def _grant(ref, member, item, through=None):
        resource_id = str(item.get('resourceId') or '').lower()
        app_role_id = str(item.get('appRoleId') or DEFAULT_ACCESS_ROLE).lower()
        target = {'id': resource_id, 'display_name': item.get('resourceDisplayName'), 'type': 'application'}
        details = {'app_role_id': app_role_id, 'app_role': None, 'assignment_id': None if through else item.get('id')}
        return Grant(ref, member, target, (resource_id, app_role_id), details, graph_id=item.get('id'), through=through)

    def _read_resources(self, client, held):
        """Read the applications held but not yet known, to name their roles (one batched GET each)."""
        wanted = list(dict.fromkeys(grant.target['id'] for grants, _error in held.values() for grant in grants
                                    if grant.target['id'] not in self.service_principals))
        responses = client.batch([GraphRequest('GET', '/servicePrincipals/%s' % object_id_segment(resource_id),
                                               params={'$select': SERVICE_PRINCIPAL_SELECT}) for resource_id in wanted])
        for resource_id, response in zip(wanted, responses):
            if response.ok and isinstance(response.body, dict):
                self.service_principals[resource_id] = response.body

    def wanted(self, principal_ref, principal, params):
        grants = []
        for resource_id, service_principal in self.applications.items():
            for app_role_id in self._roles_for(service_principal) or [DEFAULT_ACCESS_ROLE]:
                target = {'id': resource_id, 'display_name': service_principal.get('displayName'), 'type': 'application'}
                details = {'app_role_id': app_role_id, 'app_role': role_name(service_principal, app_role_id), 'assignment_id': None}
                grants.append(Grant(principal_ref, principal, target, (resource_id, app_role_id), details))
        return grants

    # -- decisions ----------------------------------------------------------------------------------------

    @staticmethod
    def denial_explanation(grant):
        return "the app may not change the application assignments of '%s': it needs %s" % (grant.principal_ref, ' or '.join(WRITE_PERMISSIONS))

    def predict(self, client, grants, state):
        granted = client.granted_permissions()
        for grant in grants:
            grant.outcome = predicted_outcome(granted, WRITE_PERMISSIONS, self.denial_explanation(grant), state)

    def write(self, client, grants, state):
        requests = []
        for grant in grants:
            path = '%s/%s/appRoleAssignments' % (PRINCIPAL_COLLECTIONS.get(grant.principal.object_type or 'user'), object_id_segment(grant.principal_id))
            if state == 'absent':
                requests.append(GraphRequest('DELETE', '%s/%s' % (path, assignment_id_segment(grant.graph_id))))
            else:
                requests.append(GraphRequest('POST', path, body={'principalId': grant.principal_id, 'resourceId': grant.target['id'],
                                                                 'appRoleId': grant.details['app_role_id']}))
        for grant, response in zip(grants, client.batch(requests)):
            grant.outcome = assignment_outcome(state, response, self.denial_explanation(grant), grant.held)
            if state == 'present' and response.ok and isinstance(response.body, dict):
                grant.details['assignment_id'] = response.body.get('id')

    def diff_label(self, grant):
        return '%s: %s' % (grant.target.get('display_name') or grant.target.get('id'), grant.details.get('app_role') or grant.details.get('app_role_id'))


def _role_names(service_principal):
    """The values of an application's app roles, for a message naming what could have been meant."""
    names = ', '.join(role.get('value') or role.get('id') for role in service_principal.get('appRoles') or [])
    return names or 'none: default access'
