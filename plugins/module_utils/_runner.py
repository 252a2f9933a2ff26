# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What entra_group_member, entra_au_member and teams_member share: options, input checks, the plan, the run.

A run: check the options (before any request), resolve every target and member (batched), decide
what needs no write (a missing target, a guard, a missing member), then hand the open pairs to
the module's engine (``_engine_directory`` or ``_engine_teams``), which reads what it must and
writes what it must. Results, summary, msg and failure come from ``_outcomes``.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import re

from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    ABSENT,
    ADDED,
    FAILED,
    PRESENT,
    REMOVED,
    module_result,
    outcome,
    pair_result,
    read_failure,
    target_view,
)
from ansible_collections.entra.membership.plugins.module_utils._resolve import (
    is_object_id,
    resolve_members,
    resolve_targets,
    shown,
    text_problem,
    upn_problem,
)

MAX_MEMBERS = 10000
MAX_TARGETS = 10000
MAX_NAME_LENGTH = 256
_LISTED_PROBLEMS = 10
# Hex groups joined by dashes: meant as an object id even when it is not a valid one.
_ID_ATTEMPT = re.compile(r'^[0-9a-fA-F]+(?:-[0-9a-fA-F]+){2,}$')


def member_argument_spec(targets_option, **extra):
    """The argument_spec of a member module: its target option, the shared options, and ``extra``."""
    spec = dict(
        members=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='absent', choices=['absent', 'present']),
        api_version=dict(type='str', default='v1.0', choices=['v1.0', 'beta']),
    )
    spec[targets_option] = dict(type='list', elements='str', required=True)
    spec.update(extra)
    return spec


# -- input checks, before any request -------------------------------------------------------------

def member_problem(value):
    """Why ``value`` cannot be a member reference, or None."""
    if not value or not value.strip():
        return 'an empty value'
    if is_object_id(value):
        return None
    if '@' in value:
        problem = upn_problem(value)
        return "'%s' is not a user principal name: %s" % (shown(value), problem) if problem else None
    if _ID_ATTEMPT.match(value.strip()):
        return "'%s' is not a valid object id (a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)" % shown(value)
    return "'%s' is neither an object id (GUID) nor a user principal name (which contains @)" % shown(value)


def target_problem(value):
    """Why ``value`` cannot be a target reference (an id or an exact display name), or None."""
    if not value or not value.strip():
        return 'an empty value'
    if is_object_id(value):
        return None
    if _ID_ATTEMPT.match(value.strip()):
        return "'%s' is not a valid object id (a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)" % shown(value)
    problem = text_problem(value)
    if problem:
        return "'%s': %s" % (shown(value), problem)
    if value != value.strip():
        return "'%s' has leading or trailing spaces, which no display name has" % shown(value)
    if len(value) > MAX_NAME_LENGTH:
        return "'%s...' is longer than a display name can be (%d characters)" % (shown(value[:40]), MAX_NAME_LENGTH)
    return None


def _fold_key(value):
    # Ids and user principal names compare without case in Entra ID; display names are matched exactly.
    return value.lower() if is_object_id(value) or '@' in value else value


def checked_references(option, values, problem, limit):
    """``values`` without duplicates (first one wins), or a ValueError naming ``option`` and the bad values."""
    values = list(values or [])
    if len(values) > limit:
        raise ValueError('%s has %d items; at most %d are accepted in one task: split them over several tasks' % (option, len(values), limit))
    problems = [text for text in (problem(value) for value in values) if text]
    if problems:
        listed = '; '.join(problems[:_LISTED_PROBLEMS]) + ('; and %d more' % (len(problems) - _LISTED_PROBLEMS) if len(problems) > _LISTED_PROBLEMS else '')
        raise ValueError('%s: %s' % (option, listed))
    seen, folded = set(), []
    for value in values:
        key = _fold_key(value)
        if key not in seen:
            seen.add(key)
            folded.append(value)
    return folded


# -- Graph helpers the engines share ---------------------------------------------------------------

def read_collections(client, graph_requests):
    """For each collection request: ``(items, None)`` with every page followed, or ``(None, GraphError)``.

    The first pages travel together in ``$batch``; the rare further pages follow one by one.
    """
    collected = []
    for response in client.batch(graph_requests):
        if not response.ok:
            collected.append((None, response.error))
            continue
        body = response.body if isinstance(response.body, dict) else {}
        items = list(body.get('value') or [])
        next_link = body.get('@odata.nextLink')
        try:
            if next_link:
                items.extend(client.paged(next_link))
        except GraphError as exc:
            collected.append((None, exc))
            continue
        collected.append((items, None))
    return collected


def denied_prediction(granted, needed, explanation):
    """The ``failed`` a real run would get for lack of one of ``needed``, when the token's permissions are known."""
    if granted is None or granted & set(needed):
        return None
    return outcome(FAILED, {'status': 403, 'code': 'Authorization_RequestDenied', 'message': '%s (predicted from the permissions in the token)'
                            % explanation, 'request_id': None})


# -- the plan ---------------------------------------------------------------------------------------

class Pair:
    """One (target, member) pair on its way to a result."""

    __slots__ = ('target_ref', 'target', 'member_ref', 'member', 'outcome', 'role', 'was_member')

    def __init__(self, target_ref, target, member_ref, member):
        self.target_ref = target_ref
        self.target = target
        self.member_ref = member_ref
        self.member = member
        self.outcome = None        # an Outcome once decided
        self.role = None           # teams: the member's role before the change
        self.was_member = None     # before the change, when a read or the outcome tells

    @property
    def member_id(self):
        return self.member.id if self.member is not None and self.member.found else None

    def decide(self, decided):
        self.outcome = decided


def _missing_member(ref):
    return outcome(FAILED, {'status': 404, 'code': 'Request_ResourceNotFound', 'message': "member '%s' does not exist" % ref, 'request_id': None})


def _decided_without_writing(pair, engine, state):
    """The outcome of a pair that needs no membership read or write: a bad target or member; None otherwise."""
    if pair.target.error is not None:
        return read_failure(pair.target.error)
    guard = engine.refusal(pair.target)
    if guard:
        return guard
    if pair.member.error is not None:
        return read_failure(pair.member.error)
    if not pair.member.found:
        # Something that does not exist is in nothing: nothing to remove, nothing that could be added.
        return outcome(ABSENT) if state == 'absent' else _missing_member(pair.member_ref)
    return engine.member_refusal(pair.member, state)


def _same_targets(targets, option, label):
    by_id = {}
    for ref, target in targets.items():
        if target.id:
            by_id.setdefault(target.id.lower(), []).append(ref)
    clashes = ['%s (%s)' % (' and '.join("'%s'" % ref for ref in refs), target_id) for target_id, refs in by_id.items() if len(refs) > 1]
    if clashes:
        return '%s: these name the same %s: %s; give each %s once' % (option, label, '; '.join(clashes), label)
    return None


def _fold_members(members, warn, option='members'):
    """Member refs to use: a second ref to an already listed object (an id and its UPN) is dropped with a warning."""
    seen, kept = {}, []
    for ref, member in members.items():
        key = member.id.lower() if member.found and member.id else None
        if key and key in seen:
            warn("%s: '%s' and '%s' are the same object (%s); it is handled once, as '%s'" % (option, seen[key], ref, member.id, seen[key]))
            continue
        if key:
            seen[key] = ref
        kept.append(ref)
    return kept


def _was_member(pair):
    if pair.outcome is not None and pair.outcome.status in (REMOVED, PRESENT):
        return True
    if pair.outcome is not None and pair.outcome.status in (ABSENT, ADDED):
        return False
    return pair.was_member


def _diff(pairs, engine):
    """One before/after per resolved target, limited to the members given; members (and targets) with nothing known are left out."""
    per_target = {}
    for pair in pairs:
        if pair.target is None or not pair.target.id:
            continue
        entry = per_target.setdefault(pair.target.id, {'target': pair.target, 'before': [], 'after': [], 'known': False})
        before = _was_member(pair)
        if before is None:
            continue
        entry['known'] = True
        after = {REMOVED: False, ADDED: True}.get(pair.outcome.status, before) if pair.outcome else before
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
                      'before': {'members': sorted(entry['before'])}, 'after': {'members': sorted(entry['after'])}})
    return diffs


def run_member_module(module, module_name, engine):
    """The whole task for ``engine`` (a directory or Teams engine); ends in exit_json or fail_json."""
    params = module.params
    state = params['state']
    check_mode = module.check_mode
    try:
        target_refs = checked_references(engine.option, params[engine.option], target_problem, MAX_TARGETS)
        member_refs = checked_references('members', params['members'], member_problem, MAX_MEMBERS)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False)
    engine.check_options(module)

    if not member_refs or not target_refs:
        result = module_result(module_name, engine.target_type, [], len(target_refs), check_mode)
        result.pop('failed')
        module.exit_json(**result)

    client = module.client
    with module.graph_errors(changed=False):
        targets = resolve_targets(client, engine.target_type, target_refs, engine.select)
        members = resolve_members(client, member_refs)
    clash = _same_targets(targets, engine.option, engine.noun)
    if clash:
        module.fail_json(msg=clash, changed=False)
    member_refs = _fold_members(members, module.warn)

    pairs = [Pair(target_ref, targets[target_ref], member_ref, members[member_ref]) for target_ref in target_refs for member_ref in member_refs]
    for pair in pairs:
        pair.decide(_decided_without_writing(pair, engine, state))

    with module.graph_errors(changed=False):
        engine.settle(client, pairs, state, check_mode, module._diff)

    results = [pair_result(target_view(pair.target_ref, pair.target, engine.target_type), pair.member_ref, pair.member_id, pair.outcome,
                           pair.role, engine.with_role) for pair in pairs]
    result = module_result(module_name, engine.target_type, results, len(target_refs), check_mode)
    if module._diff:
        result['diff'] = _diff(pairs, engine)
    if result.pop('failed'):
        module.fail_json(**result)
    module.exit_json(**result)
