# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The engine of entra_group_owner: the directory ``$ref`` engine on a group's ``owners``, with the last-owner guard.

Graph refuses to remove the last owner (a user object) of a group ("Remove group owner",
https://learn.microsoft.com/graph/api/group-delete-owners). So the owners of every group are read
before a removal: when the owners given would leave a group without a user owner, the substitutes
(users given, or each leaving owner's ``manager``) are added first, in their own round of writes,
and only the groups whose substitutes are in lose their leaving owners. A team's owners must also
be its members to act in the team ("Add owners", https://learn.microsoft.com/graph/api/group-post-owners,
its Important note), so a substitute of a team's group is made a member too.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._engine_base import READ_PAGE_SIZE, Pair
from ansible_collections.entra.membership.plugins.module_utils._engine_directory import (
    GROUPS,
    DirectoryKind,
    DirectoryMembers,
    group_owner_refusal,
    ref_path,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    ABSENT,
    ADDED,
    FAILED,
    PRESENT,
    outcome,
    read_failure,
    ref_addition_outcome,
    refusal_outcome,
)
from ansible_collections.entra.membership.plugins.module_utils._references import MAX_MEMBERS, checked_references, member_problem, object_id_segment
from ansible_collections.entra.membership.plugins.module_utils._resolve import USER_SELECT, Member, resolve_members, user_path

MANAGER = 'manager'
USER_TYPE = '#microsoft.graph.user'

OWNERS = DirectoryKind(
    target_type='group', option='groups', noun='group',
    select=GROUPS.select,
    odata_type=None,                      # no memberOf read: an app cannot list a user's ownedObjects (user-list-ownedobjects: "Not supported")
    # group-post-owners, group-delete-owners: GroupMember.ReadWrite.All is not enough for owners.
    write_permissions=('Group.ReadWrite.All', 'Directory.ReadWrite.All'),
    refusal=group_owner_refusal,
    relationship='owners',
)


class SubstitutePair(Pair):
    """A substitute owner the engine adds before a group's last owner leaves."""

    __slots__ = ('substitute_for', 'added_as_member')

    def __init__(self, target_ref, target, member_ref, member, substitute_for):
        super().__init__(target_ref, target, member_ref, member)
        self.substitute_for = substitute_for     # the refs of the leaving owners it stands in for
        self.added_as_member = False             # a team's group: made a member too, so that it can act in the team


def checked_substitutes(refs):
    """``substitute_owners`` as given, checked like members (``manager`` is a word, not a user); ValueError names the bad one."""
    refs = list(refs or [])
    users = [ref for ref in refs if ref != MANAGER]
    checked = checked_references('substitute_owners', users, member_problem, MAX_MEMBERS)
    return ([MANAGER] if MANAGER in refs else []) + checked


class GroupOwners(DirectoryMembers):
    """The owners of groups: ``$ref`` writes on ``owners``, with the last-owner guard and its substitutes."""

    option = OWNERS.option
    member_option = 'owners'

    def __init__(self, substitute_owners=None, allow_ownerless=False):
        super().__init__(OWNERS)
        self.substitutes = checked_substitutes(substitute_owners)
        self.allow_ownerless = allow_ownerless
        self._added = []

    def option_warnings(self, params):
        if params['state'] == 'present' and (self.substitutes or self.allow_ownerless):
            return ['substitute_owners and allow_ownerless are ignored with state=present: they guard removals']
        return []

    def member_refusal(self, member, state):
        if state == 'present' and member.object_type not in (None, 'user', 'servicePrincipal'):
            return refusal_outcome('NotAUserOrServicePrincipal', "'%s' is a %s: a group's owners are users or service principals"
                                   % (member.ref, member.object_type))
        return None

    def added_pairs(self):
        return list(self._added)

    def result_fields(self, pair):
        if isinstance(pair, SubstitutePair):
            return {'substitute_for': list(pair.substitute_for), 'added_as_member': pair.added_as_member}
        return {'substitute_for': None, 'added_as_member': False}

    def decide_open_pairs(self, client, pairs, state, check_mode, diff_mode):
        """Read every group's owners (the guard needs them, and they spare the writes a re-run does not need), then predict or write."""
        resolved = [pair for pair in pairs if pair.target.id and pair.member_id]
        owners = self._read_owners(client, resolved)
        for pair in resolved:
            if pair.outcome is None and pair.was_member is not None:
                if state == 'absent' and not pair.was_member:
                    pair.outcome = outcome(ABSENT)
                elif state == 'present' and pair.was_member:
                    pair.outcome = outcome(PRESENT)
        if state == 'absent':
            self._guard_last_owners(client, pairs, owners, check_mode)
        open_pairs = [pair for pair in pairs if pair.outcome is None]
        if open_pairs:
            if check_mode:
                self._predict(client, open_pairs, state)
            else:
                self._write(client, open_pairs, state)

    # -- reads --------------------------------------------------------------------------------------

    @staticmethod
    def _read_owners(client, pairs):
        """``{group id: ({owner id: is a user}, None) or (None, GraphError)}``; sets ``was_member`` (here: was an owner).

        v1.0 does not list service principal owners (group-list-owners), so only a user's absence from the list is
        taken as "not an owner"; for anything else the write's answer decides. A failed read fails its pairs.
        """
        group_ids = list(dict.fromkeys(pair.target.id.lower() for pair in pairs))
        params = {'$select': 'id', '$top': str(READ_PAGE_SIZE)}
        reads = read_collections(client, [GraphRequest('GET', '/groups/%s/owners' % object_id_segment(group_id), params=params)
                                          for group_id in group_ids])
        owners = {}
        for group_id, (items, error) in zip(group_ids, reads):
            owners[group_id] = (None, error) if error is not None else (
                {str(item.get('id') or '').lower(): item.get('@odata.type') == USER_TYPE for item in items}, None)
        for pair in pairs:
            found, error = owners[pair.target.id.lower()]
            if error is not None:
                if pair.outcome is None:
                    pair.outcome = read_failure(error)
                continue
            listed = pair.member_id.lower() in found
            pair.was_member = True if listed else (False if pair.member.object_type == 'user' else None)
        return owners

    # -- the last-owner guard -------------------------------------------------------------------------

    def _guard_last_owners(self, client, pairs, owners, check_mode):
        """Find the groups the given owners would leave without a user owner; add substitutes there first, or refuse."""
        by_group = {}
        for pair in pairs:
            if pair.outcome is None and pair.was_member:
                by_group.setdefault(pair.target.id.lower(), []).append(pair)
        orphaned = {}
        for group_id, leaving in by_group.items():
            found = owners[group_id][0]
            leaving_ids = {pair.member_id.lower() for pair in leaving}
            if not any(is_user and owner_id not in leaving_ids for owner_id, is_user in found.items()) and any(found[key] for key in leaving_ids):
                orphaned[group_id] = leaving
        if not orphaned or self.allow_ownerless:
            for leaving in orphaned.values():
                self._predict_last_owner_refusal(leaving, check_mode)
            return
        if not self.substitutes:
            for leaving in orphaned.values():
                self._refuse(leaving, 'add another owner first, name one in substitute_owners (a user, or manager for the leaving owner\'s '
                                      'manager), or set allow_ownerless: true to send the removal anyway')
            return
        candidates = self._substitute_candidates(client, orphaned)
        planned = []
        for group_id, leaving in orphaned.items():
            leaving_ids = {pair.member_id.lower() for pair in leaving}
            chosen, problems = [], []
            for pair in leaving:
                for substitute, problem in candidates[pair.member_id.lower()]:
                    if problem:
                        problems.append(problem)
                    elif substitute.id.lower() not in leaving_ids and substitute.id.lower() not in {chosen_one.id.lower() for chosen_one in chosen}:
                        chosen.append(substitute)
            if not chosen:
                reason = '; '.join(dict.fromkeys(problems)) or 'every substitute given is leaving too'
                self._refuse(leaving, 'no substitute owner could be found (%s): name one in substitute_owners, or set allow_ownerless: true '
                                      'to send the removal anyway' % reason)
                continue
            names = [pair.member_ref for pair in leaving]
            planned.extend(SubstitutePair(leaving[0].target_ref, leaving[0].target, substitute.ref, substitute, names) for substitute in chosen)
        self._added = planned
        if planned:
            self._add_substitutes(client, planned, orphaned, check_mode)

    def _refuse(self, leaving, what_to_do):
        group = leaving[0].target
        names = ', '.join(pair.member_ref for pair in leaving)
        for pair in leaving:
            pair.outcome = refusal_outcome('LastOwner', "group '%s' would have no owner left once %s leave%s: Graph keeps the last owner of a group; %s"
                                           % (group.display_name, names, '' if len(leaving) > 1 else 's', what_to_do))

    @staticmethod
    def _predict_last_owner_refusal(leaving, check_mode):
        """With allow_ownerless the removal is sent: Graph refuses the last user owner, which check mode predicts."""
        if not check_mode:
            return
        last = [pair for pair in leaving if pair.outcome is None][-1:]
        for pair in last:
            pair.outcome = outcome(FAILED, error_dict(400, 'Request_BadRequest', 'Graph refuses to remove the last owner (a user) of a group '
                                                      '(group-delete-owners; predicted)'))

    def _substitute_candidates(self, client, orphaned):
        """``{leaving owner id: [(Member, None) | (None, problem)]}``: the users given, then (``manager``) that owner's manager."""
        given = [ref for ref in self.substitutes if ref != MANAGER]
        members = resolve_members(client, given) if given else {}
        fixed = []
        for ref in given:
            member = members[ref]
            if member.error is not None:
                fixed.append((None, "substitute '%s' could not be read: %s" % (ref, member.error.message)))
            elif not member.found:
                fixed.append((None, "substitute '%s' does not exist" % ref))
            elif member.object_type != 'user':
                fixed.append((None, "substitute '%s' is a %s, not a user" % (ref, member.object_type)))
            else:
                fixed.append((member, None))
        leaving = {pair.member_id.lower(): pair for group in orphaned.values() for pair in group}
        managers = self._managers(client, leaving) if MANAGER in self.substitutes else {}
        return {owner_id: fixed + managers.get(owner_id, []) for owner_id in leaving}

    @staticmethod
    def _managers(client, leaving):
        """``{owner id: [(Member, None) | (None, problem)]}``, one batched ``GET /users/{id}/manager`` per leaving owner."""
        owner_ids = list(leaving)
        responses = client.batch([GraphRequest('GET', '%s/manager' % user_path(owner_id), params={'$select': USER_SELECT}) for owner_id in owner_ids])
        managers = {}
        for owner_id, response in zip(owner_ids, responses):
            ref = leaving[owner_id].member_ref
            if response.ok and isinstance(response.body, dict) and response.body.get('id'):
                managers[owner_id] = [(manager_member(response.body), None)]
            elif response.status == 404:
                managers[owner_id] = [(None, "'%s' has no manager" % ref)]
            else:
                why = response.error.message if response.error else response.status
                managers[owner_id] = [(None, "the manager of '%s' could not be read: %s" % (ref, why))]
        return managers

    def _add_substitutes(self, client, planned, orphaned, check_mode):
        """Add the substitutes (and, on a team's group, make them members); a group whose substitutes all failed keeps its owners."""
        team_groups = {pair.target.id.lower() for pair in planned if 'Team' in ((pair.target.raw or {}).get('resourceProvisioningOptions') or [])}
        members = self._read_members(client, team_groups) if team_groups else {}
        for pair in planned:
            group_members, error = members.get(pair.target.id.lower(), (set(), None))
            if error is not None:
                pair.outcome = read_failure(error)
            pair.added_as_member = pair.target.id.lower() in team_groups and pair.member_id.lower() not in group_members
        to_write = [pair for pair in planned if pair.outcome is None]
        if check_mode:
            granted = client.granted_permissions()
            for pair in to_write:
                pair.outcome = self.kind.predicted_denial(granted, pair.target) or outcome(ADDED)
        else:
            self._write_substitutes(client, to_write)
        for group_id, leaving in orphaned.items():
            added = [pair for pair in planned if pair.target.id.lower() == group_id and pair.outcome.status in (ADDED, PRESENT)]
            if not added:
                errors = [pair.outcome.error.get('message') for pair in planned if pair.target.id.lower() == group_id and pair.outcome.error]
                self._refuse(leaving, 'its substitute owners could not be added (%s); nothing was removed from it' % '; '.join(errors))

    def _write_substitutes(self, client, pairs):
        version = client.api_version
        requests = []
        for pair in pairs:
            body = {'@odata.id': client.directory_object_ref(pair.member_id)}
            requests.append(GraphRequest('POST', ref_path(self.kind, version, pair.target.id), body=body))
            if pair.added_as_member:
                requests.append(GraphRequest('POST', ref_path(GROUPS, version, pair.target.id), body=dict(body)))
        responses = iter(client.batch(requests))
        for pair in pairs:
            pair.outcome = ref_addition_outcome(next(responses), denial_explanation=self.kind.denial_explanation(pair.target), was_member=False)
            if pair.added_as_member:
                membership = ref_addition_outcome(next(responses), denial_explanation=GROUPS.denial_explanation(pair.target), was_member=False)
                pair.added_as_member = membership.status == ADDED
                if membership.status == FAILED and pair.outcome.status != FAILED:
                    pair.outcome = membership._replace(error=dict(membership.error, message='added as an owner but not as a member of the team: %s'
                                                                  % membership.error.get('message')))

    @staticmethod
    def _read_members(client, group_ids):
        group_ids = list(group_ids)
        params = {'$select': 'id', '$top': str(READ_PAGE_SIZE)}
        reads = read_collections(client, [GraphRequest('GET', '/groups/%s/members' % object_id_segment(group_id), params=params) for group_id in group_ids])
        return {group_id: (None, error) if error is not None else ({str(item.get('id') or '').lower() for item in items}, None)
                for group_id, (items, error) in zip(group_ids, reads)}


def manager_member(body):
    """The resolved Member of a manager Graph returned, named by its user principal name."""
    ref = body.get('userPrincipalName') or body['id']
    return Member(ref, body['id'], body.get('userPrincipalName'), body.get('displayName'), True, None, 'user')
