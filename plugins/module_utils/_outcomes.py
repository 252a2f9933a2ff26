# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The per-member result model of the member modules, and the ONE place that turns Graph's answers into statuses.

One ``(target, member)`` pair gives one result dict (docs/dev/interface.md, "What the member modules
return"). Every status that depends on Graph's answer to a write is decided here, so the
message-text matching Graph forces on us lives in one place.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id

REMOVED = 'removed'
ADDED = 'added'
ABSENT = 'absent'
PRESENT = 'present'
FAILED = 'failed'
SKIPPED = 'skipped'
STATUSES = (REMOVED, ADDED, ABSENT, PRESENT, FAILED, SKIPPED)
CHANGES = frozenset((REMOVED, ADDED))

TEAM_ROLES = ('owner', 'member')

TARGET_NOUNS = {
    'group': ('group', 'groups'),
    'administrative_unit': ('administrative unit', 'administrative units'),
    'team': ('team', 'teams'),
    'principal': ('principal', 'principals'),   # the access modules count the principals they were given
}

_STATUS_WORDS = {REMOVED: 'removed', ADDED: 'added', ABSENT: 'already absent', PRESENT: 'already present',
                 FAILED: 'failed', SKIPPED: 'skipped'}

# Graph gives these two situations the same code (Request_BadRequest) as real refusals, so only their
# text tells them apart; Graph's error reference does not list them, and Microsoft's own
# group-membership-management service matches the same two texts. Matched in lower case, on a stable prefix.
_REF_NOT_PRESENT = 'one or more removed object references do not exist'
_REF_ALREADY_PRESENT = 'one or more added object references already exist'
_DENIAL_STATUS = 403
# An assignment's "already there" and "not there" answers (app role assignments, directory role assignments and their
# PIM requests), matched on Graph's code or the start of its message: "Permission being assigned already exists on the
# object" (appRoleAssignment), "A conflicting object with one or more of the specified property values is present in the
# directory." (roleAssignment), RoleAssignmentExists / RoleAssignmentDoesNotExist (unifiedRoleEligibilityScheduleRequest,
# unifiedRoleAssignmentScheduleRequest).
_ASSIGNMENT_PRESENT = ('permission being assigned already exists', 'a conflicting object with one or more of the specified property values',
                       'roleassignmentexists')
_ASSIGNMENT_NOT_PRESENT = ('roleassignmentdoesnotexist',)
# assignLicense's "not held directly" answers (400 Request_BadRequest, user-assignlicense): "User does not have a corresponding
# license." and, when only a group gives the sku, "User license is inherited from group membership and cannot be removed directly
# from the user." Both name no sku, so they say which sku is gone only when the request removed one.
_LICENSE_NOT_HELD = ('user does not have a corresponding license', 'user license is inherited from group membership')


class Outcome(namedtuple('Outcome', 'status error request_id')):
    """How one pair ended: a status, Graph's normalised error (a dict) or None, the request-id of the write that decided it."""

    __slots__ = ()


def outcome(status, error=None, request_id=None):
    if status not in STATUSES:
        raise ValueError('status must be one of %s, got %s' % (', '.join(STATUSES), status))
    return Outcome(status, error, request_id)


def refusal_outcome(code, message, status=None):
    """``failed`` by a guard's refusal, decided before anything was sent: nothing to point at but the reason."""
    return outcome(FAILED, error_dict(status, code, message))


def failure(graph_error, explanation=None):
    """``failed`` with Graph's normalised error; ``explanation`` (why and what to do) goes before Graph's own words."""
    error = graph_error.to_dict()
    if explanation:
        error['message'] = '%s (Graph: %s)' % (explanation, error['message']) if error.get('message') else explanation
    return outcome(FAILED, error, graph_error.request_id)


def read_failure(graph_error, explanation=None):
    """``failed`` because something read before writing failed (the target, the member, a roster): no write decided it.
    ``explanation`` (what the read needs) goes before Graph's words, as ``failure`` puts it."""
    return outcome(FAILED, failure(graph_error, explanation).error, None)


def predicted_denial(granted, needed, denial_explanation):
    """The ``failed`` a real run would get for lack of one of ``needed``, when the token's permissions are known."""
    if granted is None or granted & set(needed):
        return None
    message = '%s (predicted from the permissions in the token)' % denial_explanation
    return outcome(FAILED, error_dict(_DENIAL_STATUS, 'Authorization_RequestDenied', message))


def _explanation_for(response, denial_explanation):
    return denial_explanation if denial_explanation and response.status == _DENIAL_STATUS else None


def _message_of(response):
    return ((response.error.message if response.error else '') or '').lower()


def _replayed(response):
    return bool(getattr(response, 'replayed', False))


def ref_removal_outcome(response, denial_explanation=None, was_member=None):
    """A ``DELETE .../members/{id}/$ref`` answer, the target known to exist (its flags were read before writing).

    204: removed. 404 names the *target* and says "not a member" here, never "no such target";
    Graph's replication-lag 400 means the same. ``denial_explanation``: why a 403 happened on this target.
    A "not a member" that answers a repeated DELETE (the first one's answer was lost) may be
    the echo of our own removal: ``was_member`` (read before writing) then decides.
    """
    if response.ok:
        return outcome(REMOVED, None, response.request_id)
    if response.status == 404 or (response.status == 400 and _REF_NOT_PRESENT in _message_of(response)):
        if _replayed(response):
            return _echo_of_own_write(response, was_member, REMOVED, ABSENT, 'not a member')
        return outcome(ABSENT, None, response.request_id)
    return failure(response.error, _explanation_for(response, denial_explanation))


def ref_addition_outcome(response, denial_explanation=None, was_member=None):
    """A ``POST .../members/$ref`` answer: 204 added; "already exist" present (added, when it answers
    a repeated POST of a member that was not there before); anything else failed."""
    if response.ok:
        return outcome(ADDED, None, response.request_id)
    if response.status == 400 and _REF_ALREADY_PRESENT in _message_of(response):
        if _replayed(response):
            return _echo_of_own_write(response, None if was_member is None else not was_member, ADDED, PRESENT, 'already a member')
        return outcome(PRESENT, None, response.request_id)
    return failure(response.error, _explanation_for(response, denial_explanation))


def _echo_of_own_write(response, changed_by_us, changed, unchanged, answer):
    """A write sent again (the first attempt's answer was lost, or a 429/5xx that may hide a success) meets ``answer``:
    ``changed`` when the read before writing says the first attempt did it, ``unchanged`` when it says there was
    nothing to do, ``failed`` when no read could tell, rather than a guess either way."""
    if changed_by_us is None:
        message = ("the write was sent again after an answer that may hide its success, and Graph now says '%s': this run may have done it, "
                   "but the membership could not be read before writing; check mode or a re-run shows where it stands" % answer)
        return outcome(FAILED, error_dict(response.status, 'UnknownOutcome', message, response.request_id), response.request_id)
    return outcome(changed if changed_by_us else unchanged, None, response.request_id)


def _answers(response, texts):
    said = ('%s %s' % ((response.error.code if response.error else '') or '', _message_of(response))).lower()
    return response.status in (400, 409) and any(text in said for text in texts)


def assignment_removal_outcome(response, denial_explanation=None, held=None):
    """The answer to removing an assignment (a DELETE of it, or a PIM ``adminRemove`` request): 2xx removed; 404 or
    Graph's "does not exist" absent (removed, when it answers a repeated write of one ``held`` before); else failed."""
    if response.ok:
        return outcome(REMOVED, None, response.request_id)
    if response.status == 404 or _answers(response, _ASSIGNMENT_NOT_PRESENT):
        return outcome(REMOVED if held and _replayed(response) else ABSENT, None, response.request_id)
    return failure(response.error, _explanation_for(response, denial_explanation))


def assignment_addition_outcome(response, denial_explanation=None, held=None):
    """The answer to creating an assignment (a POST, or a PIM ``adminAssign`` request): 2xx added; Graph's "already
    exists" present (added, when it answers a repeated write of one not ``held`` before); else failed."""
    if response.ok:
        return outcome(ADDED, None, response.request_id)
    if _answers(response, _ASSIGNMENT_PRESENT):
        return outcome(ADDED if held is False and _replayed(response) else PRESENT, None, response.request_id)
    return failure(response.error, _explanation_for(response, denial_explanation))


def license_removal_outcome(response, denial_explanation=None, held=None, removed_together=1):
    """The answer to ``POST /users/{id}/assignLicense`` with ``removeLicenses``: 200 removed; "not held directly" absent when
    the request removed this sku alone (removed, when it answers a repeated write of one ``held`` before); with several skus
    in one request Graph does not say which one is gone, so nothing is known of this one: failed, to be run again."""
    if response.ok:
        return outcome(REMOVED, None, response.request_id)
    if _answers(response, _LICENSE_NOT_HELD):
        if held and _replayed(response):
            return outcome(REMOVED, None, response.request_id)
        if removed_together == 1:
            return outcome(ABSENT, None, response.request_id)
        return failure(response.error, 'the direct licenses changed since they were read, and Graph does not say which of the %d removed '
                                       'together it no longer finds: run again' % removed_together)
    return failure(response.error, _explanation_for(response, denial_explanation))


def team_write_outcomes(response, user_ids, state, denial_explanation=None, members_before=None):
    """``{user_id: Outcome}`` for one Teams ``members/remove`` (state absent) or ``members/add`` (state present) request.

    Remove: 204 means every member of the chunk is removed. Add: 200 (or 204) means every member
    is added. 207 (or a 200 that lists results) carries one ``aadUserConversationMemberResult``
    per user: ``error: null`` is success, ``NotFound`` is ``absent`` on removal (the user is not in
    the team), an "already" error is ``present`` on addition, anything else ``failed`` with Graph's
    error. A user the answer does not mention is ``failed`` when Graph reported partial success
    (207): nothing says what happened to it, a re-run will. A ``NotFound`` that answers a repeated
    removal (the first answer was lost) of a user in ``members_before`` (the roster read before
    writing, lower-case ids) is that user's removal by the first request.
    """
    success = REMOVED if state == 'absent' else ADDED
    request_id = response.request_id
    if not response.ok:
        failed = failure(response.error, _explanation_for(response, denial_explanation))
        return dict.fromkeys(user_ids, failed)
    reported = {}
    body = response.body if isinstance(response.body, dict) else {}
    for item in body.get('value') or []:
        if isinstance(item, dict) and item.get('userId'):
            reported[str(item['userId']).lower()] = item.get('error')
    outcomes = {}
    for user_id in user_ids:
        key = str(user_id).lower()
        if key not in reported:
            if response.status == 207:
                outcomes[user_id] = outcome(FAILED, error_dict(207, 'MissingMemberResult', "Graph's 207 answer has no result for this member; "
                                                               'run again to see where it stands', request_id), request_id)
            else:
                outcomes[user_id] = outcome(success, None, request_id)
            continue
        error = reported[key]
        if not error:
            outcomes[user_id] = outcome(success, None, request_id)
            continue
        code = str(error.get('code') or 'UnknownError') if isinstance(error, dict) else 'UnknownError'
        message = str(error.get('message') or '') if isinstance(error, dict) else str(error)
        if state == 'absent' and code.lower() == 'notfound':
            removed_by_us = _replayed(response) and key in (members_before or ())
            outcomes[user_id] = outcome(REMOVED if removed_by_us else ABSENT, None, request_id)
        elif state == 'present' and 'already' in message.lower():
            outcomes[user_id] = outcome(PRESENT, None, request_id)
        else:
            outcomes[user_id] = outcome(FAILED, error_dict(response.status, code, message, request_id), request_id)
    return outcomes


def membership_before(outcome_, known=None):
    """Whether the member was in the target before the change, as its Outcome tells; ``known`` (a read's answer) otherwise."""
    told = {REMOVED: True, PRESENT: True, ABSENT: False, ADDED: False}.get(outcome_.status) if outcome_ is not None else None
    return known if told is None else told


def membership_after(outcome_, before):
    """Whether the member is in the target after the change: a removal or an addition changes ``before``, nothing else does."""
    return {REMOVED: False, ADDED: True}.get(outcome_.status, before) if outcome_ is not None else before


def target_view(ref, target, target_type):
    """``{id, display_name, type}`` of a target; one that did not resolve shows what was given."""
    if target is not None and target.id:
        return {'id': target.id, 'display_name': target.display_name, 'type': target_type}
    given_id = ref.lower() if is_object_id(ref) else None
    return {'id': given_id, 'display_name': None if given_id else ref, 'type': target_type}


def pair_result(target, member, member_id, result_outcome, role=None, with_role=False):
    """One entry of ``results``; ``with_role`` adds the Teams role (before the change)."""
    entry = {
        'target': dict(target),
        'member': member,
        'member_id': member_id,
        'status': result_outcome.status,
        'error': result_outcome.error,
        'request_id': result_outcome.request_id,
    }
    if with_role:
        entry['role'] = role
    return entry


def summarize(results):
    """``{status: count}`` for every status, zeros included, so a playbook can read any key."""
    summary = dict.fromkeys(STATUSES, 0)
    for entry in results:
        summary[entry['status']] += 1
    return summary


LEADING_REASONS = 3               # distinct failure reasons that lead msg; the rest are counted
LISTED_UNKNOWN = 3                # unknown members msg names; the rest are counted


def _listed(items, limit, more):
    shown_items = ', '.join(items[:limit])
    return shown_items + (' and %d %s' % (len(items) - limit, more) if len(items) > limit else '')


def failure_reasons(results):
    """The distinct messages of the failed pairs, in the order of ``results``."""
    return list(dict.fromkeys(entry['error']['message'] for entry in results
                              if entry['status'] == FAILED and entry.get('error') and entry['error'].get('message')))


def led_by_reasons(reasons, text):
    """``text`` after the first LEADING_REASONS distinct failure ``reasons`` (then "and N more"), so that a failed task
    shows its cause where Ansible prints ``msg``: ``no group has the display name 'X'. 1 failed across 1 group``."""
    if not reasons:
        return text
    lead = '; '.join(reasons[:LEADING_REASONS])
    if len(reasons) > LEADING_REASONS:
        lead += '; and %d more' % (len(reasons) - LEADING_REASONS)
    return '%s. %s' % (lead.rstrip('.'), text[0].upper() + text[1:])  # Graph's messages often end with their own '.'


def compose_msg(module_name, target_type, summary, target_count, check_mode=False, nothing_given=None, interrupted_by=None, reasons=(),
                unknown_members=()):
    """``entra_group_member: <up to three failure reasons>; and N more. 2 removed, 1 already absent, 1 failed across 2 groups;
    1 member matches no object: 'x'``.

    ``reasons`` (distinct failure messages) lead, so a failed task shows its cause where Ansible prints ``msg``;
    ``nothing_given`` names what was empty when there is nothing to do (default: the members, or the targets when there
    are none); ``interrupted_by`` the signal that stopped the run; ``unknown_members`` the members no object matched.
    """
    head = '%s (check mode, nothing changed)' % module_name if check_mode else module_name
    if interrupted_by:
        head = '%s (interrupted by %s)' % (head, interrupted_by)
    counts = ['%d %s' % (summary[status], _STATUS_WORDS[status]) for status in STATUSES if summary.get(status)]
    singular, plural = TARGET_NOUNS[target_type]
    if not counts:
        return '%s: nothing to do (no %s given)' % (head, nothing_given or ('members' if target_count else plural))
    text = '%s across %d %s' % (', '.join(counts), target_count, singular if target_count == 1 else plural)
    text = led_by_reasons(reasons, text)
    if unknown_members:
        text += '; %d %s no object: %s' % (len(unknown_members), 'member matches' if len(unknown_members) == 1 else 'members match',
                                           _listed(["'%s'" % ref for ref in unknown_members], LISTED_UNKNOWN, 'more'))
    return '%s: %s' % (head, text)


def module_result(module_name, target_type, results, target_count, check_mode=False, nothing_given=None, interrupted_by=None,
                  unknown_members=()):
    """Everything the module returns: ``changed``, ``failed`` (whether it must fail), ``msg``, ``summary``, ``results``, ``check_mode``."""
    summary = summarize(results)
    return {
        'changed': any(summary[status] for status in CHANGES),
        'failed': bool(summary[FAILED]),
        'msg': compose_msg(module_name, target_type, summary, target_count, check_mode, nothing_given, interrupted_by,
                           failure_reasons(results), unknown_members),
        'summary': summary,
        'results': results,
        'check_mode': bool(check_mode),
    }
