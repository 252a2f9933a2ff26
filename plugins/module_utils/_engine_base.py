# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a member engine is: the contract the runner drives, and the (target, member) pair it decides.

An engine knows one kind of target (its guards, its reads and its writes) and nothing of Ansible:
it is given the module's parameters as a dict and a GraphClient, and returns warnings and outcomes.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import ABSENT, PRESENT, outcome
from ansible_collections.entra.membership.plugins.module_utils._references import object_id_segment

READ_PAGE_SIZE = 999          # Graph's maximum $top for members and memberOf
# The member types whose own memberOf Graph serves to an app: a user's (user-list-memberof) and a service
# principal's (serviceprincipal-list-memberof). v1.0's group-list-members leaves service principals out ("Known
# issue"), so theirs is the only place to see them: read it whatever the strategy.
MEMBER_OF_PATHS = {None: '/users/%s/memberOf', 'user': '/users/%s/memberOf', 'servicePrincipal': '/servicePrincipals/%s/memberOf'}
_ALWAYS_BY_MEMBER = frozenset(('servicePrincipal',))


def dynamic_membership_refusal(noun, target):
    """``(code, message)`` when ``target`` (its raw flags read) has dynamic membership, else None: Entra ID alone
    changes its members. One text for a group, an administrative unit and a team (a team is its group)."""
    raw = target.raw or {}
    dynamic = 'DynamicMembership' in (raw.get('groupTypes') or []) or str(raw.get('membershipType') or '').lower() == 'dynamic'
    if not dynamic:
        return None
    rule = ' (%s)' % raw['membershipRule'] if raw.get('membershipRule') else ''
    return ('DynamicMembership', "%s '%s' has dynamic membership: Entra ID adds and removes its members by its rule%s; "
                                 "change the membershipRule (or the member's attributes it matches) instead" % (noun, target.display_name, rule))


class Pair:
    """One (target, member) pair on its way to a result."""

    __slots__ = ('target_ref', 'target', 'member_ref', 'member', 'outcome', 'role', 'was_member', 'requested_role')

    def __init__(self, target_ref, target, member_ref, member, requested_role=None):
        self.target_ref = target_ref
        self.target = target
        self.member_ref = member_ref
        self.member = member
        self.requested_role = requested_role  # teams, state present: the role this pair asks for (None: the engine's default)
        self.outcome = None        # an Outcome once decided
        self.role = None           # teams: the member's role before the change
        self.was_member = None     # before the change, when a read or the outcome tells

    @property
    def member_id(self):
        return self.member.id if self.member is not None and self.member.found else None


class MemberEngine:
    """The engine of one member module. Subclasses set the attributes and implement ``decide_open_pairs``."""

    option = None          # the module option naming the targets, e.g. 'groups'
    member_option = 'members'  # the module option naming the members ('owners' for a group's owners)
    target_type = None     # results' target.type: group | administrative_unit | team
    noun = None            # the target in messages: 'group', 'administrative unit', 'team'
    select = None          # properties read with each target for the guards (comma-separated), or None
    with_role = False      # whether results carry the member's Teams role

    def option_warnings(self, params):  # pylint: disable=unused-argument
        """Warnings about the module's own options (``params``), before any request."""
        return []

    def target_refusal(self, target):  # pylint: disable=unused-argument
        """The ``failed`` Outcome of a guard's refusal when no write may go to ``target`` (a resolved Target), else None."""
        return None

    def member_refusal(self, member, state):  # pylint: disable=unused-argument
        """The Outcome decided for ``member`` (a resolved Member) before any write, else None."""
        return None

    def diff_label(self, pair, after=False):  # pylint: disable=unused-argument
        """How ``pair``'s member shows in diff mode, before (or ``after``) the change."""
        return pair.member_ref

    def decide_open_pairs(self, client, pairs, state, check_mode, diff_mode):
        """Decide every pair still open (``pair.outcome is None``): read what must be read, then predict or write."""
        raise NotImplementedError('%s must implement decide_open_pairs' % type(self).__name__)

    def added_pairs(self):
        """Pairs the engine wrote (or would write) of its own accord while deciding, e.g. a substitute owner; reported after the given ones."""
        return []

    def result_fields(self, pair):  # pylint: disable=unused-argument
        """Fields ``pair``'s result carries besides the member modules' own (what a restore needs)."""
        return {}


def read_memberships(client, pairs, members_path):
    """Set ``pair.was_member`` of every pair whose target and member are resolved, from Graph's reads; return
    ``{pair index: GraphError}`` for the pairs no read could tell (``pairs`` indexes).

    Each read answers many pairs: a member's ``memberOf`` (one object, typically one page) answers it in all its
    targets, a target's ``members`` (``members_path(target_id)``, pages of 999) every member in it. Members are read
    when they are no more than the targets, targets otherwise; a service principal always by its own memberOf (v1.0
    group members omit it). A pair whose first read failed (a 403: the app may read the target's members but not the
    member's memberOf, or the other way round) is asked the other way. memberOf is read without a cast and matched
    by id, so it needs no advanced query (user-list-memberof) and an id-only entry (limited information) still counts.
    """
    indexed = [(index, pair) for index, pair in enumerate(pairs) if pair.target is not None and pair.target.id and pair.member_id]
    members = {pair.member_id.lower() for _index, pair in indexed if pair.member.object_type in MEMBER_OF_PATHS}
    targets = {pair.target.id.lower() for _index, pair in indexed}
    members_first = len(members) <= len(targets)
    first, second = {}, {}
    for index, pair in indexed:
        by_member = pair.member.object_type in MEMBER_OF_PATHS and (members_first or pair.member.object_type in _ALWAYS_BY_MEMBER)
        (first if by_member else second)[index] = pair
    errors = {}
    unanswered = _read_pairs(client, first, members_path, by_member=True, errors=errors)
    second.update((index, pair) for index, pair in unanswered.items() if pair.member.object_type not in _ALWAYS_BY_MEMBER)
    unanswered = _read_pairs(client, second, members_path, by_member=False, errors=errors)
    retry = {index: pair for index, pair in unanswered.items() if index not in first and pair.member.object_type in MEMBER_OF_PATHS}
    _read_pairs(client, retry, members_path, by_member=True, errors=errors)
    return {index: error for index, error in errors.items() if pairs[index].was_member is None}


def _read_pairs(client, pairs, members_path, by_member, errors):
    """Read ``pairs`` (``{index: pair}``) by member or by target; set ``was_member``; return the pairs left unanswered,
    recording their errors in ``errors``."""
    if not pairs:
        return {}

    def key(pair):
        return pair.member_id.lower() if by_member else pair.target.id.lower()
    keys = list(dict.fromkeys(key(pair) for pair in pairs.values()))
    types = {pair.member_id.lower(): pair.member.object_type for pair in pairs.values()}
    paths = [MEMBER_OF_PATHS[types[one]] % object_id_segment(one) if by_member else members_path(one) for one in keys]
    params = {'$select': 'id', '$top': str(READ_PAGE_SIZE)}
    read = dict(zip(keys, read_collections(client, [GraphRequest('GET', path, params=params) for path in paths])))
    unanswered = {}
    for index, pair in pairs.items():
        items, error = read[key(pair)]
        if error is not None:
            errors[index] = error
            unanswered[index] = pair
            continue
        other = pair.target.id.lower() if by_member else pair.member_id.lower()
        pair.was_member = any(str(item.get('id') or '').lower() == other for item in items)
    return unanswered


def decide_from_reads(pairs, state):
    """Decide, without a write, every open pair whose membership read shows there is nothing to do: not a member with
    state=absent, ``absent``; a member with state=present, ``present``. A re-run then sends no write at all, as an
    Ansible user expects of an idempotent task; a pair no read could tell stays open, and its write's answer decides."""
    nothing_to_do = {'absent': (False, ABSENT), 'present': (True, PRESENT)}[state]
    for pair in pairs:
        if pair.outcome is None and pair.was_member is nothing_to_do[0]:
            pair.outcome = outcome(nothing_to_do[1])
