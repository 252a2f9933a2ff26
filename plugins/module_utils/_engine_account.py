# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access engine of entra_user_account: the account itself, whether it may sign in and its sign-in sessions.

Each user given has one grant per setting asked: ``account_enabled`` (``PATCH /users/{id}`` with ``accountEnabled``, "Update
user", https://learn.microsoft.com/graph/api/user-update) and ``sign_in_sessions`` (``POST /users/{id}/revokeSignInSessions``,
user-revokesigninsessions, which moves ``signInSessionsValidFromDateTime`` to now and cannot be undone). What needs no write
(disabled already, enabled already, a guest whose sessions live at home) is decided from the account as read, before check mode
and the real run part ways, so both report it alike.

Guard: an account that holds an active privileged directory role at the tenant (a role Graph marks ``isPrivileged``, directly or
through a role-assignable group) is not disabled unless ``disable_privileged`` says so: disabling administrators is how tenants
lock themselves out. Graph has its own rule for such users (users.md, "Who can perform sensitive actions"): only an app that
itself holds the Privileged Authentication Administrator or Global Administrator role may disable, re-enable or sign them out.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._access_base import AccessEngine, Grant, assignment_outcome, predicted_outcome
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import ABSENT, FAILED, PRESENT, SKIPPED, outcome, read_failure, refusal_outcome
from ansible_collections.entra.membership.plugins.module_utils._references import object_id_segment
from ansible_collections.entra.membership.plugins.module_utils._resolve import filter_literal

ACCOUNT_ENABLED = 'account_enabled'
SIGN_IN_SESSIONS = 'sign_in_sessions'
USER_SELECT = 'id,displayName,userPrincipalName,accountEnabled,signInSessionsValidFromDateTime,userType,onPremisesSyncEnabled'
# user-update: accountEnabled takes User.EnableDisableAccount.All (with a user read, such as User.Read.All, which resolving the
# users needs anyway), or User.ReadWrite.All, Directory.ReadWrite.All.
ENABLE_PERMISSIONS = ('User.EnableDisableAccount.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All')
# user-revokesigninsessions: User.RevokeSessions.All (least privileged), User.ReadWrite.All, Directory.ReadWrite.All.
REVOKE_PERMISSIONS = ('User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All')
# users.md, "Who can perform sensitive actions": the roles an app must hold itself to disable or sign out a privileged user.
GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10'
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = '7be44c8a-adaf-4e2a-84d6-ab2649e08a13'
SENSITIVE_ACTION_ROLES = frozenset((GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR))
SENSITIVE_ACTION_NOTE = ('a user who holds a privileged role can be disabled, enabled or signed out only by an app that itself holds the '
                         'Privileged Authentication Administrator or Global Administrator role')
ROLE_READ_PERMISSION = 'RoleManagement.Read.Directory with GroupMember.Read.All (the members of role-assignable groups), or Directory.Read.All'
ROLES = '/roleManagement/directory'
USER_TYPE = '#microsoft.graph.user'
GROUP_TYPE = '#microsoft.graph.group'
SERVICE_PRINCIPAL_TYPE = '#microsoft.graph.servicePrincipal'
IRREVERSIBLE = ('irreversible: revoked sessions cannot be restored; the user signs in again once the account may sign in, '
                'and restoring the account does not bring the sessions back')
GUEST_SESSIONS = ("a guest signs in at its home organization, whose sessions Graph does not revoke (user-revokesigninsessions); "
                  'disabling the account is what blocks it here')


class PrivilegedHolders:
    """Who holds an active privileged role at the tenant (``/``), read once for the whole run, and which apps may act on them.

    Graph marks a role privileged with ``isPrivileged`` (unifiedRoleDefinition), in beta only; each such role's active assignments
    come from ``roleAssignments`` with the principal expanded (those at ``/`` count), a group's holders from its members.
    """

    def __init__(self, users, sensitive_action_apps):
        self.users = users                                   # user id -> ["Helpdesk Administrator", "Password Administrator through group 'X'"]
        self.sensitive_action_apps = sensitive_action_apps   # application (client) ids holding Global or Privileged Authentication Administrator

    @classmethod
    def read(cls, client):
        """The holders, or a GraphError (explained) when they cannot be read."""
        try:
            definitions = list(client.paged('%s/beta%s/roleDefinitions' % (client.graph_url, ROLES),
                                            params={'$select': 'id,templateId,displayName,isPrivileged'}))
        except GraphError as error:
            raise cls._explained(error) from None
        privileged = {}
        for definition in definitions:
            if definition.get('isPrivileged'):
                for role_id in (definition.get('id'), definition.get('templateId')):
                    if role_id:
                        privileged[str(role_id).lower()] = definition.get('displayName') or role_id
        # Each role's assignments as rbacapplication-list-roleassignments shows them (a filter on roleDefinitionId, the
        # principal expanded), 20 to a $batch; the tenant-wide ones are kept here.
        role_ids = {str(definition['id']).lower() for definition in definitions if definition.get('isPrivileged') and definition.get('id')}
        role_ids = sorted(role_ids.union(SENSITIVE_ACTION_ROLES))
        reads = read_collections(client, [GraphRequest('GET', '%s/roleAssignments' % ROLES, params={
            '$filter': 'roleDefinitionId eq %s' % filter_literal(role_id), '$expand': 'principal($select=id,displayName,appId)'})
            for role_id in role_ids])
        assignments = []
        for items, error in reads:
            if error is not None:
                raise cls._explained(error)
            assignments.extend(item for item in items if item.get('directoryScopeId') == '/')
        users, groups, apps = {}, {}, set()
        for assignment in assignments:
            role_id = str(assignment.get('roleDefinitionId') or '').lower()
            principal = assignment.get('principal') or {}
            kind = principal.get('@odata.type')
            if role_id in SENSITIVE_ACTION_ROLES and kind == SERVICE_PRINCIPAL_TYPE and principal.get('appId'):
                apps.add(str(principal['appId']).lower())
            if role_id not in privileged or not principal.get('id'):
                continue
            if kind == USER_TYPE:
                users.setdefault(str(principal['id']).lower(), []).append(privileged[role_id])
            elif kind == GROUP_TYPE:
                groups.setdefault(str(principal['id']).lower(), (principal.get('displayName'), []))[1].append(privileged[role_id])
        members = read_collections(client, [GraphRequest('GET', '/groups/%s/members' % object_id_segment(group_id), params={'$select': 'id'})
                                            for group_id in groups])
        for (name, roles), (items, group_error) in zip(groups.values(), members):
            if group_error is not None:
                raise cls._explained(group_error)
            for item in items:
                if item.get('@odata.type') == USER_TYPE and item.get('id'):
                    users.setdefault(str(item['id']).lower(), []).extend("%s through group '%s'" % (role, name) for role in roles)
        return cls(users, apps)

    @staticmethod
    def _explained(error):
        needs = ' needs %s' % ROLE_READ_PERMISSION if error.status == 403 else ''
        return GraphError(error.status, error.code, 'reading who holds a privileged directory role%s (Graph: %s)' % (needs, error.message),
                          error.request_id)

    def roles_of(self, user_id):
        return self.users.get(str(user_id or '').lower(), [])


class AccountSettings(AccessEngine):
    """A user's account: ``account_enabled`` (disable or enable sign-in) and ``sign_in_sessions`` (revoke them)."""

    principals_option = 'users'
    principal_noun = 'user'
    target_type = 'account'
    noun = 'account'
    detail_fields = ('setting', 'previous', 'reversible', 'note')

    def __init__(self):
        self.account_enabled = None     # the option: False disables, True enables, None leaves it
        self.revoke_sessions = False
        self.disable_privileged = False
        self.client_id = None           # the app's own client id, to foresee Graph's rule for privileged users in check mode
        self.accounts = {}              # user ref -> the user as read (USER_SELECT)
        self.holders = None             # PrivilegedHolders once read, or the GraphError that kept them from being read

    def checked_options(self, params):
        self.account_enabled = params['account_enabled']
        self.revoke_sessions = bool(params['revoke_sessions'])
        self.disable_privileged = bool(params['disable_privileged'])
        self.client_id = str(params.get('client_id') or '').lower() or None
        if self.account_enabled is None and not self.revoke_sessions:
            raise ValueError('account_enabled, revoke_sessions: nothing to do; give account_enabled (false disables the account, true '
                             'enables it) or revoke_sessions: true')
        if self.disable_privileged and self.account_enabled is not False:
            raise ValueError('disable_privileged: only with account_enabled: false (it lets this task disable accounts that hold a privileged role)')

    def creates(self, state, params):
        # Enabling an account (a restore) needs the account: a user that does not exist fails, never 'absent'.
        return params['account_enabled'] is True

    def principal_refusal(self, member, state):
        if member.object_type in (None, 'user'):
            return None
        return refusal_outcome('NotAUser', "'%s' is a %s: only users have an account to disable or sessions to revoke" % (member.ref, member.object_type))

    # -- reads ------------------------------------------------------------------------------------------

    def holdings(self, client, principals):
        refs = list(principals)
        responses = client.batch([GraphRequest('GET', '/users/%s' % object_id_segment(principals[ref].id), params={'$select': USER_SELECT})
                                  for ref in refs])
        held = {}
        for ref, response in zip(refs, responses):
            if not response.ok:
                held[ref] = ([], response.error)
                continue
            account = response.body if isinstance(response.body, dict) else {}
            self.accounts[ref] = account
            target = {'id': principals[ref].id, 'display_name': account.get('displayName') or principals[ref].display_name, 'type': 'account'}
            grants = []
            if self.revoke_sessions:  # revoked first, then the account changes: see write()
                grants.append(Grant(ref, principals[ref], dict(target), (SIGN_IN_SESSIONS,), {
                    'setting': SIGN_IN_SESSIONS, 'previous': account.get('signInSessionsValidFromDateTime'), 'reversible': False,
                    'note': GUEST_SESSIONS if self._is_guest(ref) else IRREVERSIBLE}))
            if self.account_enabled is not None:
                grants.append(Grant(ref, principals[ref], dict(target), (ACCOUNT_ENABLED,), {
                    'setting': ACCOUNT_ENABLED, 'previous': account.get('accountEnabled'), 'reversible': True, 'note': None}))
            held[ref] = (grants, None)
        return held

    def _is_guest(self, ref):
        return str(self.accounts.get(ref, {}).get('userType') or '').lower() == 'guest'

    def wanted(self, principal_ref, principal, params):
        raise NotImplementedError('entra_user_account has no state: account_enabled says what the account becomes')

    # -- what needs no write, and the guards ----------------------------------------------------------------

    def refuse(self, client, grants, state):
        """Decide every grant that needs no write; refuse to change an account synced from on-premises, and to disable one
        that holds a privileged role (unless ``disable_privileged``)."""
        for grant in grants:
            account = self.accounts[grant.principal_ref]
            enabled = account.get('accountEnabled') is not False
            grant.held = enabled if grant.key == (ACCOUNT_ENABLED,) else enabled and not self._is_guest(grant.principal_ref)
            if grant.key == (SIGN_IN_SESSIONS,):
                if self._is_guest(grant.principal_ref):
                    grant.outcome = outcome(SKIPPED)
                elif not enabled:
                    grant.outcome = outcome(ABSENT)   # a disabled account refreshes no session
                continue
            if enabled == self.account_enabled:
                grant.outcome = outcome(PRESENT if enabled else ABSENT)
            elif account.get('onPremisesSyncEnabled'):
                grant.outcome = refusal_outcome('OnPremisesSynced', "the account of '%s' is synced from on-premises Active Directory, which "
                                                'decides whether it is enabled: change it there' % grant.principal_ref)
        if self.account_enabled is False and not self.disable_privileged:
            self._refuse_privileged(client, [grant for grant in grants if grant.outcome is None and grant.key == (ACCOUNT_ENABLED,)])

    def _refuse_privileged(self, client, grants):
        if not grants:
            return
        try:
            holders = self.privileged_holders(client)
        except GraphError as error:
            failed = read_failure(error)
            failed.error['message'] = '%s; disable_privileged: true disables the account without this check' % failed.error['message']
            for grant in grants:
                grant.outcome = failed
            return
        for grant in grants:
            roles = holders.roles_of(grant.principal_id)
            if roles:
                grant.outcome = refusal_outcome('PrivilegedAccount', "'%s' holds the privileged directory role%s %s: disabling administrators is "
                                                'how tenants lock themselves out. Remove the roles first (entra_directory_role_assignment), '
                                                'or set disable_privileged: true to disable it anyway'
                                                % (grant.principal_ref, 's' if len(roles) > 1 else '', '; '.join(roles)))

    def privileged_holders(self, client):
        """Who holds a privileged role, read once on first need; raises (every time) the GraphError that kept it from being read."""
        if self.holders is None:
            try:
                self.holders = PrivilegedHolders.read(client)
            except GraphError as error:
                self.holders = error
        if isinstance(self.holders, GraphError):
            raise self.holders
        return self.holders

    # -- decisions ----------------------------------------------------------------------------------------

    def denial_explanation(self, grant):
        if grant.key == (SIGN_IN_SESSIONS,):
            return "the app may not revoke the sessions of '%s': it needs %s; %s" % (
                grant.principal_ref, ' or '.join(REVOKE_PERMISSIONS), SENSITIVE_ACTION_NOTE)
        return "the app may not %s the account of '%s': it needs %s (with User.Read.All); %s" % (
            'enable' if self.account_enabled else 'disable', grant.principal_ref, ' or '.join(ENABLE_PERMISSIONS), SENSITIVE_ACTION_NOTE)

    def _direction(self, grant):
        """Enabling an account adds what disabling removes: 'present' for it, 'absent' for the rest (disabling, revoking)."""
        return 'present' if grant.key == (ACCOUNT_ENABLED,) and self.account_enabled else 'absent'

    def predict(self, client, grants, state):
        granted = client.granted_permissions()
        for grant in grants:
            needed = REVOKE_PERMISSIONS if grant.key == (SIGN_IN_SESSIONS,) else ENABLE_PERMISSIONS
            grant.outcome = predicted_outcome(granted, needed, self.denial_explanation(grant), self._direction(grant))
            if grant.outcome.status != FAILED:
                grant.outcome = self._predicted_sensitive_denial(client, grant) or grant.outcome

    def _predicted_sensitive_denial(self, client, grant):
        """Graph's 403 for a privileged user when this app holds neither role itself; foreseen only when both can be read."""
        if self.client_id is None:
            return None
        try:
            holders = self.privileged_holders(client)
        except GraphError:
            return None
        if not holders.roles_of(grant.principal_id) or self.client_id in holders.sensitive_action_apps:
            return None
        return refusal_outcome('Authorization_RequestDenied', "'%s' holds a privileged role (%s), and %s (predicted from the roles the app "
                               'holds)' % (grant.principal_ref, '; '.join(holders.roles_of(grant.principal_id)), SENSITIVE_ACTION_NOTE), 403)

    def write(self, client, grants, state):
        # Sessions first: a run cut short after the revocation leaves the account as it was, and a re-run does both again;
        # the other way round it would find the account disabled and never revoke.
        for setting in (SIGN_IN_SESSIONS, ACCOUNT_ENABLED):
            chosen = [grant for grant in grants if grant.key == (setting,)]
            if setting == SIGN_IN_SESSIONS:
                requests = [GraphRequest('POST', '/users/%s/revokeSignInSessions' % object_id_segment(grant.principal_id)) for grant in chosen]
            else:
                requests = [GraphRequest('PATCH', '/users/%s' % object_id_segment(grant.principal_id), body={'accountEnabled': bool(self.account_enabled)})
                            for grant in chosen]
            for grant, response in zip(chosen, client.batch(requests)):
                grant.outcome = assignment_outcome(self._direction(grant), response, self.denial_explanation(grant), grant.held)

    def diff_label(self, grant):
        if grant.key == (SIGN_IN_SESSIONS,):
            return 'sign-in sessions valid from %s' % grant.details.get('previous')
        return 'enabled'
