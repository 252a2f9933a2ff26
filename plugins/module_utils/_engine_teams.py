# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Teams engine of teams_member: ``POST /teams/{id}/members/remove`` and ``/members/add``, 20 members a request.

Each team's roster is read once, before any write: it gives the roles the results report, the
owners the last-owner guard protects, and ``present`` (Teams' add does not say "already a member").
A user the roster does not list is looked for in the team's group too, as a roster may lag behind
it: only when the group agrees is the pair ``absent`` without a request, so a re-run sends no write;
otherwise the removal is sent and Graph's 207 ``NotFound`` says ``absent`` with authority
("conversationMember: remove", https://learn.microsoft.com/graph/api/conversationmember-remove).

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._engine_base import (
    MemberEngine,
    decide_from_reads,
    dynamic_membership_refusal,
    read_memberships,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    ABSENT,
    ADDED,
    FAILED,
    PRESENT,
    REMOVED,
    outcome,
    predicted_denial,
    read_failure,
    refusal_outcome,
    team_write_outcomes,
)
from ansible_collections.entra.membership.plugins.module_utils._references import object_id_segment

TEAMS_CHUNK = 20              # Graph's maximum of values in one members/remove or members/add
MEMBER_TYPE = 'microsoft.graph.aadUserConversationMember'
WRITE_PERMISSIONS = ('TeamMember.ReadWrite.All',)
NO_OWNER = 'the team would have no owner: add another owner first'


def member_value(client, user_id, roles=None):
    """One ``values`` item: an aadUserConversationMember bound to the user on the cloud's own Graph host."""
    value = {'@odata.type': MEMBER_TYPE, 'user@odata.bind': client.user_bind(user_id)}
    if roles is not None:
        value['roles'] = list(roles)
    return value


def roster_role(item):
    """'owner' or 'member' from a conversationMember's ``roles`` (a guest who is no owner is a member)."""
    return 'owner' if 'owner' in (item.get('roles') or []) else 'member'


def _is_guest(pair, roster_entry):
    if roster_entry is not None:
        return 'guest' in (roster_entry.get('roles') or [])
    return '#ext#' in (pair.member.upn or pair.member_ref or '').lower()


class TeamMembers(MemberEngine):
    """The engine of teams; a group without a team is already a resolution error (NotATeam)."""

    option = 'teams'
    target_type = 'team'
    noun = 'team'
    select = 'groupTypes,membershipRule'
    with_role = True

    def __init__(self, role=None, allow_ownerless=False):
        self.role = role or 'member'
        self.allow_ownerless = allow_ownerless

    def option_warnings(self, params):
        if params['state'] == 'absent' and params.get('role'):
            return ["role '%s' is ignored with state=absent: members are removed whatever their role" % params['role']]
        return []

    def target_refusal(self, target):
        # A team whose group has dynamic membership answers roster writes 403 Forbidden (microsoft-graph-docs issue
        # 12712): refused before anything is sent, with its group's reason, as discovery gives it.
        refusal = dynamic_membership_refusal('group', target)
        return refusal_outcome(*refusal) if refusal else None

    def member_refusal(self, member, state):
        if member.object_type in (None, 'user'):
            return None
        if state == 'absent':
            return outcome(ABSENT)  # only users are in a team's roster
        return refusal_outcome('NotAUser', "'%s' is a %s: only users can be members of a team" % (member.ref, member.object_type))

    def requested_role(self, pair):
        """The role ``pair`` asks for with state=present: its own (a ``memberships`` entry's), else the module's."""
        return pair.requested_role or self.role

    def diff_label(self, pair, after=False):
        role = self.requested_role(pair) if after and pair.outcome is not None and pair.outcome.status == ADDED else pair.role
        return '%s (%s)' % (pair.member_ref, role or 'member')

    def roster_denial(self, target):
        """Why a 403 on reading ``target``'s roster (team-list-members' table: TeamMember.Read.All or TeamMember.ReadWrite.All)."""
        return ("the app may not read the members of team '%s', which every change reads first: it needs TeamMember.Read.All "
                "(TeamMember.ReadWrite.All, which changing them needs, reads them too)" % target.display_name)

    def denial_explanation(self, target):
        return "the app may not change the members of team '%s': it needs %s" % (target.display_name, ' or '.join(WRITE_PERMISSIONS))

    def decide_open_pairs(self, client, pairs, state, check_mode, diff_mode):
        """Read the roster of every team with an open pair (every resolved pair's in diff mode), then predict or write."""
        resolved = [pair for pair in pairs if pair.target.id and pair.member_id and (diff_mode or pair.outcome is None)]
        rosters = self._read_rosters(client, resolved)
        for pair in resolved:
            roster, error = rosters[pair.target.id.lower()]
            if error is not None:
                if pair.outcome is None:
                    pair.outcome = read_failure(error, self.roster_denial(pair.target) if error.status == 403 else None)
                continue
            entry = roster.get(pair.member_id.lower())
            pair.role = roster_role(entry) if entry is not None else None
            pair.was_member = entry is not None
        open_pairs = [pair for pair in pairs if pair.outcome is None]
        if state == 'absent':
            self._ask_the_group_about_the_unlisted(client, open_pairs)
            decide_from_reads(open_pairs, state)
            self._refuse_removing_every_owner([pair for pair in open_pairs if pair.outcome is None], rosters)
        else:
            self._decide_already_present(open_pairs)
        open_pairs = [pair for pair in open_pairs if pair.outcome is None]
        if not open_pairs:
            return
        if check_mode:
            self._predict(client, open_pairs, state, rosters)
        else:
            self._write(client, open_pairs, state)

    # -- the plan -----------------------------------------------------------------------------------

    @staticmethod
    def _read_rosters(client, pairs):
        """``{team id: ({user id: conversationMember}, None) or (None, GraphError)}``, each team read once."""
        team_ids = list(dict.fromkeys(pair.target.id.lower() for pair in pairs))
        reads = read_collections(client, [GraphRequest('GET', '/teams/%s/members' % object_id_segment(team_id)) for team_id in team_ids])
        rosters = {}
        for team_id, (items, error) in zip(team_ids, reads):
            if error is not None:
                rosters[team_id] = (None, error)
            else:
                rosters[team_id] = ({str(item['userId']).lower(): item for item in items if isinstance(item, dict) and item.get('userId')}, None)
        return rosters

    @staticmethod
    def _ask_the_group_about_the_unlisted(client, pairs):
        """For a member the roster does not list, ask the team's group: a roster can lag behind its group (a member
        added to the group minutes ago), so only a group that agrees makes the pair ``absent`` without a removal.
        A group the app may not read leaves the pair to the removal's answer (207 ``NotFound``: ``absent``)."""
        unlisted = [pair for pair in pairs if pair.was_member is False]
        for pair in unlisted:
            pair.was_member = None
        read_memberships(client, unlisted, lambda team_id: '/groups/%s/members' % object_id_segment(team_id))

    def _refuse_removing_every_owner(self, pairs, rosters):
        """Refuse to remove every owner of a team: Teams will not do it, and an ownerless team has nobody to manage it."""
        if self.allow_ownerless:
            return
        by_team = {}
        for pair in pairs:
            by_team.setdefault(pair.target.id.lower(), []).append(pair)
        for team_id, team_pairs in by_team.items():
            roster = rosters[team_id][0] or {}
            owners = {user_id for user_id, item in roster.items() if roster_role(item) == 'owner'}
            leaving = [pair for pair in team_pairs if pair.member_id.lower() in owners]
            if owners and owners <= {pair.member_id.lower() for pair in leaving}:
                names = ', '.join(pair.member_ref for pair in leaving)
                for pair in leaving:
                    pair.outcome = refusal_outcome('LastOwner', "%s (team '%s' has no owner other than %s); or set allow_ownerless: true to send "
                                                   "the removal anyway" % (NO_OWNER, pair.target.display_name, names))

    def _decide_already_present(self, pairs):
        """Already in the team with the role asked for (an owner is a member too): nothing to send."""
        for pair in pairs:
            if pair.was_member and (self.requested_role(pair) == 'member' or pair.role == 'owner'):
                pair.outcome = outcome(PRESENT)

    def _predict(self, client, pairs, state, rosters):
        granted = client.granted_permissions()
        owners_left = {}
        for pair in pairs:
            team_id = pair.target.id.lower()
            roster = rosters[team_id][0] or {}
            entry = roster.get(pair.member_id.lower())
            denial = predicted_denial(granted, WRITE_PERMISSIONS, self.denial_explanation(pair.target))
            if denial:
                pair.outcome = denial
            elif state == 'absent' and not pair.was_member:
                pair.outcome = outcome(ABSENT)
            elif state == 'absent' and pair.role == 'owner':
                # Reached only with allow_ownerless: Teams removes owners in turn and refuses the last one.
                left = owners_left.setdefault(team_id, sum(1 for item in roster.values() if roster_role(item) == 'owner'))
                if left <= 1:
                    pair.outcome = outcome(FAILED, error_dict(400, 'BadRequest', 'Teams refuses to remove the last owner of a team (predicted)'))
                else:
                    owners_left[team_id] = left - 1
                    pair.outcome = outcome(REMOVED)
            elif state == 'absent':
                pair.outcome = outcome(REMOVED)
            elif self.requested_role(pair) == 'owner' and _is_guest(pair, entry):
                pair.outcome = outcome(FAILED, error_dict(400, 'BadRequest', 'a guest cannot be an owner of a team (predicted; Teams refuses it)'))
            else:
                pair.outcome = outcome(ADDED)

    # -- the real run -------------------------------------------------------------------------------

    def _roles_sent(self, pair, state):
        """A value's ``roles``: none on removal, ``["owner"]`` or ``[]`` on addition."""
        if state == 'absent':
            return None
        return ['owner'] if self.requested_role(pair) == 'owner' else []

    def _write(self, client, pairs, state):
        action = 'remove' if state == 'absent' else 'add'
        chunks = []
        by_team = {}
        for pair in pairs:
            by_team.setdefault(pair.target.id.lower(), []).append(pair)
        for team_id, team_pairs in by_team.items():
            for start in range(0, len(team_pairs), TEAMS_CHUNK):
                chunks.append((team_id, team_pairs[start:start + TEAMS_CHUNK]))
        requests = [GraphRequest('POST', '/teams/%s/members/%s' % (object_id_segment(team_id), action),
                                 body={'values': [member_value(client, pair.member_id, self._roles_sent(pair, state)) for pair in chunk]})
                    for team_id, chunk in chunks]
        for (team_id, chunk), response in zip(chunks, client.batch(requests)):
            members_before = {pair.member_id.lower() for pair in chunk if pair.was_member}
            outcomes = team_write_outcomes(response, [pair.member_id for pair in chunk], state, denial_explanation=self.denial_explanation(chunk[0].target),
                                           members_before=members_before)
            for pair in chunk:
                pair.outcome = outcomes[pair.member_id]
