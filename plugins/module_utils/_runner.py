# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run of entra_group_member, entra_au_member and teams_member: options, plan, diff, result.

Input is checked before any request; every target and member is resolved (batched); the pairs that
need no write (a missing target, a guard's refusal, a missing member) are decided here, the others
by the module's MemberEngine. Results, summary and msg come from ``_outcomes``.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._connection_options import API_VERSION_ARGSPEC
from ansible_collections.entra.membership.plugins.module_utils._engine_base import Pair
from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    SKIPPED,
    TEAM_ROLES,
    membership_after,
    membership_before,
    module_result,
    outcome,
    pair_result,
    read_failure,
    target_view,
)
from ansible_collections.entra.membership.plugins.module_utils._references import (
    MAX_MEMBERS,
    MAX_TARGETS,
    checked_memberships,
    checked_references,
    fold_key,
    member_problem,
    target_problem,
)
from ansible_collections.entra.membership.plugins.module_utils._resolve import fold_members, resolve_members, resolve_targets
from ansible_collections.entra.membership.plugins.module_utils._unknown_members import UNKNOWN_MEMBERS_ARGSPEC, UnknownMembers


MEMBERSHIPS = 'memberships'


def member_argument_spec(targets_option, members_option='members', **extra):
    """The argument_spec of a member module: its target option, its members option, the shared options, and ``extra``.

    Either ``memberships`` or the targets option with ``members``: see ``member_option_rules``. A module whose members
    option has another name (entra_group_owner's ``owners``) has no ``memberships``: both its options are required.
    """
    spec = dict(
        state=dict(type='str', default='absent', choices=['absent', 'present']),
        unknown_members=dict(UNKNOWN_MEMBERS_ARGSPEC),
        api_version=dict(API_VERSION_ARGSPEC),
    )
    alone = members_option != 'members'
    spec[members_option] = dict(type='list', elements='str', required=alone)
    if not alone:
        spec[MEMBERSHIPS] = dict(type='list', elements='dict')
    spec[targets_option] = dict(type='list', elements='str', required=alone)
    spec.update(extra)
    return spec


def member_option_rules(targets_option):
    """AnsibleModule's checks of a member module: ``memberships``, or the targets option and ``members`` together."""
    return dict(
        mutually_exclusive=[(MEMBERSHIPS, targets_option), (MEMBERSHIPS, 'members')],
        required_one_of=[(MEMBERSHIPS, targets_option)],
        required_together=[(targets_option, 'members')],
    )


# -- the plan ---------------------------------------------------------------------------------------

def _decided_without_writing(pair, engine, state, unknown):
    """The outcome of a pair that needs no membership read or write: a bad target or member; None otherwise."""
    if pair.target.error is not None:
        return read_failure(pair.target.error)
    refusal = engine.target_refusal(pair.target)
    if refusal:
        return refusal
    if pair.member.error is not None:
        return read_failure(pair.member.error)
    if not pair.member.found:
        return unknown.outcome(pair.member_ref)
    return engine.member_refusal(pair.member, state)


def _targets_given_twice(targets, option, label):
    """The message naming the targets given more than once (by name and by id, say), or None."""
    by_id = {}
    for ref, target in targets.items():
        if target.id:
            by_id.setdefault(target.id.lower(), []).append(ref)
    clashes = ['%s (%s)' % (' and '.join("'%s'" % ref for ref in refs), target_id) for target_id, refs in by_id.items() if len(refs) > 1]
    if clashes:
        return '%s: these name the same %s: %s; give each %s once' % (option, label, '; '.join(clashes), label)
    return None


def _diff(pairs, engine):
    """One before/after per resolved target, limited to the members given; members (and targets) with nothing known are left out."""
    per_target = {}
    for pair in pairs:
        if pair.target is None or not pair.target.id or (pair.outcome is not None and pair.outcome.status == SKIPPED):
            continue
        entry = per_target.setdefault(pair.target.id, {'target': pair.target, 'before': [], 'after': [], 'known': False})
        before = membership_before(pair.outcome, pair.was_member)
        if before is None:
            continue
        entry['known'] = True
        after = membership_after(pair.outcome, before)
        label = engine.diff_label(pair)
        if before:
            entry['before'].append(label)
        if after:
            entry['after'].append(engine.diff_label(pair, after=True))
    diffs = []
    for entry in per_target.values():
        if entry['known'] is False:
            continue
        header = "%s '%s' (%s)" % (engine.noun, entry['target'].display_name, entry['target'].id)
        diffs.append({'before_header': header, 'after_header': header,
                      'before': {engine.member_option: sorted(entry['before'])}, 'after': {engine.member_option: sorted(entry['after'])}})
    return diffs


def run_member_module(module, module_name, engine):
    """The whole task for ``engine``; ends in exit_json, or fail_json when a pair failed or anything else went wrong."""
    module.run_task(lambda: _member_task(module, module_name, engine))


class _Request:
    """What the task asks for, checked as text: the pairs' references in order, and the distinct targets and members to resolve."""

    def __init__(self, params, engine):
        self.from_memberships = params.get(MEMBERSHIPS) is not None
        if self.from_memberships:
            roles = TEAM_ROLES if engine.with_role else None
            self.entries = checked_memberships(MEMBERSHIPS, params[MEMBERSHIPS], roles)
            self.target_refs = list(dict.fromkeys(target for target, _member, _role in self.entries))
            self.member_refs = list(dict.fromkeys(member for _target, member, _role in self.entries))
        else:
            for option in (engine.option, engine.member_option):
                if params[option] is None:  # given as null: AnsibleModule counts it as given
                    raise ValueError('%s is null: give a list (it may be empty), or give %s instead of %s and members'
                                     % (option, MEMBERSHIPS, engine.option))
            self.target_refs = checked_references(engine.option, params[engine.option], target_problem, MAX_TARGETS)
            self.member_refs = checked_references(engine.member_option, params[engine.member_option], member_problem, MAX_MEMBERS)
            self.entries = [(target, member, None) for target in self.target_refs for member in self.member_refs]
        self.default_role = params.get('role')


def _object_key(ref, resolved):
    """What two references to one object share once resolved: its id; otherwise the reference as text."""
    found = getattr(resolved, 'found', True)
    if resolved is not None and found and resolved.id:
        return resolved.id.lower()
    return fold_key(ref)


def _membership_pairs(module, request, targets, members):
    """One Pair per entry of ``memberships``, in order; an entry naming the same target and member as an earlier one is
    ``skipped`` (the earlier one decides), with one warning listing them."""
    pairs, first_index, repeats = [], {}, []
    for index, (target_ref, member_ref, role) in enumerate(request.entries):
        pair = Pair(target_ref, targets[target_ref], member_ref, members[member_ref], role or request.default_role)
        key = (_object_key(target_ref, pair.target), _object_key(member_ref, pair.member))
        if key in first_index:
            earlier = '%s[%d]' % (MEMBERSHIPS, first_index[key])
            pair.outcome = outcome(SKIPPED, error_dict(None, 'RepeatedMembership', 'the same target and member as %s, whose result is theirs' % earlier))
            repeats.append('%s[%d] repeats %s' % (MEMBERSHIPS, index, earlier))
        else:
            first_index[key] = index
        pairs.append(pair)
    if repeats:
        listed = ', '.join(repeats[:10]) + (', and %d more' % (len(repeats) - 10) if len(repeats) > 10 else '')
        module.warn('%s: %d %s the target and member of an earlier one (%s); each is handled once, the repeats are reported skipped'
                    % (MEMBERSHIPS, len(repeats), 'entries repeat' if len(repeats) > 1 else 'entry repeats', listed))
    target_count = len({_object_key(ref, targets[ref]) for ref in request.target_refs})
    return pairs, target_count


def _list_pairs(module, engine, request, targets, members):
    """Every target with every member (the targets option and ``members``), targets first; the same target twice is an error."""
    clash = _targets_given_twice(targets, engine.option, engine.noun)
    if clash:
        module.fail_json(msg=clash, changed=False)
    member_refs = fold_members(members, module.warn, option=engine.member_option)
    pairs = [Pair(target_ref, targets[target_ref], member_ref, members[member_ref], request.default_role)
             for target_ref in request.target_refs for member_ref in member_refs]
    return pairs, len(request.target_refs)


def _member_task(module, module_name, engine):
    params = module.params
    state = params['state']
    check_mode = module.check_mode
    try:
        request = _Request(params, engine)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False)
    for warning in engine.option_warnings(params):
        module.warn(warning)
    if not request.entries:
        return module_result(module_name, engine.target_type, [], len(request.target_refs), check_mode,
                             nothing_given=MEMBERSHIPS if request.from_memberships else None)

    client = module.client
    targets = resolve_targets(client, engine.target_type, request.target_refs, engine.select)
    members = resolve_members(client, request.member_refs)
    if request.from_memberships:
        pairs, target_count = _membership_pairs(module, request, targets, members)
    else:
        pairs, target_count = _list_pairs(module, engine, request, targets, members)
    unknown = UnknownMembers(client, [pair.member_ref for pair in pairs], members, params['unknown_members'], creates=state == 'present')
    for pair in pairs:
        if pair.outcome is None:
            pair.outcome = _decided_without_writing(pair, engine, state, unknown)
    unknown.warn(module, MEMBERSHIPS if request.from_memberships else engine.member_option)
    engine.decide_open_pairs(client, pairs, state, check_mode, module.diff_mode)
    pairs += engine.added_pairs()

    results = [dict(pair_result(target_view(pair.target_ref, pair.target, engine.target_type), pair.member_ref, pair.member_id, pair.outcome,
                                pair.role, engine.with_role), **engine.result_fields(pair)) for pair in pairs]
    result = module_result(module_name, engine.target_type, results, target_count, check_mode, interrupted_by=module.interrupted_by,
                           unknown_members=unknown.noted)
    if module.diff_mode:
        result['diff'] = _diff(pairs, engine)
    return result
