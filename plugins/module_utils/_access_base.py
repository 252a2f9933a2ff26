# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an access engine is: the contract ``_access_runner`` drives, and the grant it decides.

The modules that take away "a principal's access" beyond memberships (directory roles, enterprise
app assignments, licenses, the account) have no list of targets to walk: they read what each
principal holds, keep what the module's options select, and decide each item, a ``Grant``, on the
member modules' outcome model (``_outcomes``). An engine knows one kind of access (its reads, its
guards, its writes) and nothing of Ansible: it gets the module's parameters as a dict and a GraphClient.
docs/dev/architecture.md, "Access engines", is the contract.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    ADDED,
    REMOVED,
    assignment_addition_outcome,
    assignment_removal_outcome,
    outcome,
    pair_result,
    predicted_denial,
)
from ansible_collections.entra.membership.plugins.module_utils._references import shown, target_problem

ALL = 'all'


class SelectionError(ValueError):
    """Bad input found while resolving the selection (a role name that does not exist, an ambiguous application name).

    The runner ends the task with its message before any write; the message names the option and the value.
    """


class Grant:
    """One piece of access a principal holds, or is to hold, on its way to a result."""

    __slots__ = ('principal_ref', 'principal', 'target', 'key', 'details', 'graph_id', 'through', 'held', 'outcome')

    def __init__(self, principal_ref, principal, target, key, details=None, graph_id=None, through=None):
        self.principal_ref = principal_ref   # as given
        self.principal = principal           # the resolved Member (``_resolve``)
        self.target = target                 # {id, display_name, type}: the application, the directory role, the sku, ...
        self.key = key                       # what makes two grants of one principal the same (held vs wanted), hashable
        self.details = dict(details or {})   # the fields a result carries so that state=present re-creates it exactly
        self.graph_id = graph_id             # Graph's id of the held item (an assignment's id), what a removal names
        self.through = through               # {id, display_name, type} of the group it is held through; never changed here
        self.held = None                     # held directly before the change, when a read tells
        self.outcome = None                  # an Outcome once decided

    @property
    def principal_id(self):
        return self.principal.id if self.principal is not None and self.principal.found else None


def checked_selection(option, values, state, fixed=()):
    """Check a selection option (names or ids, or ``all`` alone and only with state absent); ValueError names the option and the value.

    ``fixed`` are words taken as they are (``/`` for the tenant scope).
    """
    if not values:
        raise ValueError('%s: give at least one value, or all' % option)
    if ALL in values and len(values) > 1:
        raise ValueError("%s: 'all' stands alone; it was given with %s" % (option, ', '.join("'%s'" % shown(value) for value in values if value != ALL)))
    if ALL in values and state == 'present':
        raise ValueError("%s: 'all' is only for state=absent; name what to assign" % option)
    for value in values:
        problem = None if value == ALL or value in fixed else target_problem(value)
        if problem:
            raise ValueError("%s: '%s' is not valid: %s" % (option, shown(value), problem))


def predicted_outcome(granted, needed, denial_explanation, state):
    """Check mode's outcome of an open grant: the denial the token's permissions predict, else removed (added)."""
    return predicted_denial(granted, needed, denial_explanation) or outcome(REMOVED if state == 'absent' else ADDED)


def assignment_outcome(state, response, denial_explanation, held):
    """The outcome of an assignment's removal (state absent) or creation (state present), from Graph's answer."""
    outcome_of = assignment_removal_outcome if state == 'absent' else assignment_addition_outcome
    return outcome_of(response, denial_explanation=denial_explanation, held=held)


def grant_result(grant, detail_fields=(), reason=None):
    """One entry of ``results``: the member modules' shape (``target``, ``member``, ``member_id``, ``status``, ``error``,
    ``request_id``), plus ``through`` and ``reason`` and the grant's ``details`` (each of ``detail_fields``, None when unknown)."""
    entry = pair_result(grant.target, grant.principal_ref, grant.principal_id, grant.outcome)
    entry['through'] = dict(grant.through) if grant.through else None
    entry['reason'] = reason
    entry.update(dict.fromkeys(detail_fields))
    entry.update(grant.details)
    return entry


class AccessEngine:
    """The engine of one access module. Subclasses set the attributes and implement the reads and writes.

    The runner calls, in this order: ``checked_options`` (no request), ``option_warnings``, ``resolve_selection``
    (reads; SelectionError ends the task before any write), then per principal ``holdings`` (state absent: what
    is held and selected; state present: also to tell what is already there), ``wanted`` (state present),
    ``refuse`` (guards over every open grant at once), and ``predict`` (check mode) or ``write``.
    """

    principals_option = 'principals'   # the module option naming the principals ('users' for account and licenses)
    principal_noun = 'principal'       # one of them in messages and diff headers ('user')
    target_type = None                 # results' target.type: directory_role | application | sku | account
    noun = None                        # the target in messages
    states = ('absent', 'present')
    detail_fields = ()                 # the keys of ``Grant.details``: every result carries them (None when unknown)

    def checked_options(self, params):  # pylint: disable=unused-argument
        """Check the module's own options without any request; raise ValueError naming the option and the value."""
        return None

    def option_warnings(self, params):  # pylint: disable=unused-argument
        """Warnings about the module's own options, before any request."""
        return []

    def creates(self, state, params):  # pylint: disable=unused-argument
        """Whether the task would create something for a principal (then one no object matches fails, whatever
        ``unknown_members`` says: there is nothing to give access to)."""
        return state == 'present'

    def principal_refusal(self, member, state):  # pylint: disable=unused-argument
        """The Outcome decided for a resolved principal before anything is read of it (e.g. not a user), else None."""
        return None

    def resolve_selection(self, client, params):  # pylint: disable=unused-argument
        """Read what the options name (role definitions, service principals, skus); raise SelectionError on bad input."""
        return None

    def holdings(self, client, principals):
        """``{principal ref: ([Grant held], GraphError or None)}`` for the resolved ``{ref: Member}``: the grants each holds,
        directly or (``grant.through`` set) through a group, already limited to the selection."""
        raise NotImplementedError('%s must implement holdings' % type(self).__name__)

    def wanted(self, principal_ref, principal, params):
        """State present: the grants ``principal`` is to hold (``key`` and ``details`` set, ``held`` unknown)."""
        raise NotImplementedError('%s must implement wanted' % type(self).__name__)

    def refuse(self, client, grants, state):  # pylint: disable=unused-argument
        """Guards over every open grant of the run at once (the last Global Administrator; may read): set ``outcome`` of the refused ones."""
        return None

    def predict(self, client, grants, state):
        """Check mode: set the outcome a real run would give each open grant, sending no write."""
        raise NotImplementedError('%s must implement predict' % type(self).__name__)

    def write(self, client, grants, state):
        """Send the writes of the open grants (batched) and set each grant's outcome from Graph's answer."""
        raise NotImplementedError('%s must implement write' % type(self).__name__)

    def through_reason(self, grant):
        """Why a grant held through a group is not removed here, and what removes it."""
        group = grant.through
        return ("held through group '%s' (%s), not directly: removing '%s' from that group (entra_group_member) takes it away"
                % (group.get('display_name'), group.get('id'), grant.principal_ref))

    def diff_label(self, grant):
        """How ``grant`` shows in diff mode."""
        return grant.target.get('display_name') or grant.target.get('id')
