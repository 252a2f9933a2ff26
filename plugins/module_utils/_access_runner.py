# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The run of an access module (entra_directory_role_assignment, entra_app_role_assignment, ...): options, plan, diff, result.

Input is checked before any request; principals are resolved (batched) and the selection read, so a
name that matches nothing fails the task before any write. Then what each principal holds is read;
with state absent every selected grant held directly is open, one held through a group is
``skipped`` with the reason; with state present every grant asked for is open unless it is held.
The engine's guards see every open grant of the run at once, then it predicts (check mode) or writes.
Results, summary and msg come from ``_outcomes`` and ``_access_base``.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._access_base import Grant, SelectionError, grant_result
from ansible_collections.entra.membership.plugins.module_utils._connection_options import API_VERSION_ARGSPEC
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    CHANGES,
    PRESENT,
    REMOVED,
    SKIPPED,
    module_result,
    outcome,
    read_failure,
)
from ansible_collections.entra.membership.plugins.module_utils._references import MAX_MEMBERS, checked_references, member_problem
from ansible_collections.entra.membership.plugins.module_utils._resolve import fold_members, resolve_members
from ansible_collections.entra.membership.plugins.module_utils._unknown_members import UNKNOWN_MEMBERS_ARGSPEC, UnknownMembers


def access_argument_spec(principals_option='principals', with_state=True, **extra):
    """The argument_spec of an access module: its principals option, ``state`` (unless ``with_state`` is false),
    ``api_version``, and ``extra``."""
    spec = {principals_option: dict(type='list', elements='str', required=True), 'api_version': dict(API_VERSION_ARGSPEC),
            'unknown_members': dict(UNKNOWN_MEMBERS_ARGSPEC)}
    if with_state:
        spec['state'] = dict(type='str', default='absent', choices=['absent', 'present'])
    spec.update(extra)
    return spec


def run_access_module(module, module_name, engine):
    """The whole task for ``engine``; ends in exit_json, or fail_json when a grant failed or anything else went wrong."""
    module.run_task(lambda: _access_task(module, module_name, engine))


def _principal_grant(engine, ref, member, status_outcome):
    """A result for a principal as a whole (not found, unreadable, refused): its target is the kind, with no id."""
    grant = Grant(ref, member, {'id': None, 'display_name': None, 'type': engine.target_type}, None)
    grant.outcome = status_outcome
    return grant


def _unusable_principal(engine, ref, member, state, unknown):
    """The outcome of a principal nothing can be read or written for, or None when it is usable."""
    if member.error is not None:
        return read_failure(member.error)
    if not member.found:
        return unknown.outcome(ref)
    return engine.principal_refusal(member, state)


def _plan(client, engine, principals, state, params, unknown):
    """Every grant of the run, the undecided ones open: principal by principal in input order, each in the order the engine gives."""
    planned = {}
    usable = {}
    for ref, member in principals.items():
        refused = _unusable_principal(engine, ref, member, state, unknown)
        if refused is None:
            usable[ref] = member
        elif state == 'present' and member.found:
            planned[ref] = engine.wanted(ref, member, params)
            for grant in planned[ref]:
                grant.outcome = refused
        else:
            planned[ref] = [_principal_grant(engine, ref, member, refused)]
    held = engine.holdings(client, usable) if usable else {}
    for ref, member in usable.items():
        held_grants, error = held[ref]
        if state == 'absent':
            planned[ref] = _held_grants(engine, ref, member, held_grants, error)
            continue
        direct = {grant.key for grant in held_grants or [] if grant.through is None}
        planned[ref] = engine.wanted(ref, member, params)
        for grant in planned[ref]:
            if error is not None:
                grant.outcome = read_failure(error)
            else:
                grant.held = grant.key in direct
                grant.outcome = outcome(PRESENT) if grant.held else None
    return [grant for ref in principals for grant in planned[ref]]


def _held_grants(engine, ref, member, held_grants, error):
    """State absent: what ``member`` holds, the grants held through a group ``skipped``; one failed grant when unreadable."""
    if error is not None:
        return [_principal_grant(engine, ref, member, read_failure(error))]
    for grant in held_grants:
        grant.held = grant.through is None
        grant.outcome = outcome(SKIPPED) if grant.through else None
    return held_grants


def _diff(grants, engine):
    """One before/after per principal, limited to the selection: what it held directly, and what it holds after."""
    per_principal = {}
    for grant in grants:
        if grant.principal_id is None or grant.key is None or grant.through is not None or grant.held is None:
            continue
        entry = per_principal.setdefault(grant.principal_id, {'ref': grant.principal_ref, 'before': [], 'after': []})
        status = grant.outcome.status if grant.outcome is not None else None
        label = engine.diff_label(grant)
        if grant.held:
            entry['before'].append(label)
        if (grant.held and status != REMOVED) or (not grant.held and status in CHANGES):
            entry['after'].append(label)
    diffs = []
    for principal_id, entry in per_principal.items():
        header = "%s '%s' (%s)" % (engine.principal_noun, entry['ref'], principal_id)
        diffs.append({'before_header': header, 'after_header': header,
                      'before': {engine.target_type: sorted(entry['before'])}, 'after': {engine.target_type: sorted(entry['after'])}})
    return diffs


def _access_task(module, module_name, engine):
    params = module.params
    state = params.get('state') or 'absent'
    check_mode = module.check_mode
    try:
        refs = checked_references(engine.principals_option, params[engine.principals_option], member_problem, MAX_MEMBERS)
        engine.checked_options(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False)
    for warning in engine.option_warnings(params):
        module.warn(warning)
    if not refs:
        return module_result(module_name, 'principal', [], 0, check_mode)

    client = module.client
    members = resolve_members(client, refs)
    refs = fold_members(members, module.warn, option=engine.principals_option)
    try:
        engine.resolve_selection(client, params)
    except SelectionError as exc:
        module.fail_json(msg=str(exc), changed=False)

    unknown = UnknownMembers(client, refs, members, params['unknown_members'], creates=engine.creates(state, params))
    unknown.warn(module, engine.principals_option)
    grants = _plan(client, engine, {ref: members[ref] for ref in refs}, state, params, unknown)
    open_grants = [grant for grant in grants if grant.outcome is None]
    engine.refuse(client, open_grants, state)
    open_grants = [grant for grant in open_grants if grant.outcome is None]
    if open_grants:
        if check_mode:
            engine.predict(client, open_grants, state)
        else:
            engine.write(client, open_grants, state)

    results = [grant_result(grant, engine.detail_fields, engine.through_reason(grant) if grant.through else None) for grant in grants]
    result = module_result(module_name, 'principal', results, len(refs), check_mode, interrupted_by=module.interrupted_by,
                           unknown_members=unknown.noted)
    if not results:
        result['msg'] = '%s%s: nothing to do (%s hold none of the access selected)' % (
            module_name, ' (check mode, nothing changed)' if check_mode else '', engine.principals_option)
    if module.diff_mode:
        result['diff'] = _diff(grants, engine)
    return result
