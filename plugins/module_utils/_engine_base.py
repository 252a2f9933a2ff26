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
