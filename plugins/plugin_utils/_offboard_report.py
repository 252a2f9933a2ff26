# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The offboarding report as data: what a run plans, what each step did, what restore puts back.

Pure functions over plain dicts (no files, no Ansible objects), shared by the
``entra.membership.offboard_report`` and ``offboard_restore`` action plugins and the
``entra.membership.offboard_*`` filters. The report is a journal: written before the first
write with every planned change (status ``planned``), then each step's answers replace the
plan's lines, so a run stopped at any instant leaves a report naming everything it might have
changed (docs/offboarding.md, "When a run stops halfway").

A kind of change is one row of ``STEP_KINDS``: what its plan line records and how restore
puts it back. The role and ``playbooks/restore.yml`` then need one task each for its module.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from typing import Callable, NamedTuple

from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id

REPORT_KIND = 'entra.membership.offboard'
RESTORE_REPORT_KIND = 'entra.membership.restore'
REPORT_VERSION = 2
# Version 1 (collection 1.0) reports have no plan lines, only the modules' statuses: restore reads them the same way.
READABLE_VERSIONS = (1, 2)
PREVIEW_FILE_WORD = 'PREVIEW'

# A run's status: running until it finishes; interrupted once a later run or restore noticed it will never finish.
RUNNING = 'running'
DONE = 'done'
FAILED = 'failed'
INTERRUPTED = 'interrupted'
UNFINISHED = (RUNNING, INTERRUPTED)

# A plan line's status: planned until its module call answered, then the module's status.
PLANNED = 'planned'
REMOVED = 'removed'
ABSENT = 'absent'
LINE_FAILED = 'failed'

# Why a membership is kept, in the order they are decided.
OUT_OF_SCOPE = 'out_of_scope'
EXCLUDED = 'excluded'
NOT_INCLUDED = 'not_included'
UNREMOVABLE = 'unremovable'
# A role, app assignment or license a group gives: it ends with the group membership (the groups scope), not on its own.
THROUGH_GROUP = 'through_group'
HELD_THROUGH_GROUP_CODE = 'HeldThroughGroup'
# teams_member's refusal to leave a team without an owner: the membership cannot go, like a dynamic group's.
LAST_OWNER_CODE = 'LastOwner'
LAST_OWNER_REASON = ("the user is the team's only owner and Teams does not leave a team without one: "
                     'make someone else an owner, then run the offboarding again')
NOT_FOUND_MESSAGE = 'no user with this id or user principal name in the tenant'
NO_ANSWER_MESSAGE = 'the module returned no result for this membership'


def _team_restore_args(line):
    return {'role': 'owner' if line.get('role') == 'owner' else 'member'}


def _no_restore_args(_line):
    return {}


def _role_restore_args(line):
    return {'scope': line.get('scope') or '/', 'assignment_type': line.get('assignment_type') or 'active',
            'end_date_time': (line.get('schedule') or {}).get('end_date_time')}


def _app_restore_args(line):
    return {'app_role_id': line.get('app_role_id')}


def _license_restore_args(line):
    return {'disabled_plans': sorted(line.get('disabled_plans') or [])}


def _substitute_restore_args(line):
    return {'added_as_member': bool(line.get('added_as_member'))}


def _always(_line):
    return True


def _account_restorable(line):
    """Only the account's enabling comes back, and only where it was enabled: revoked sessions stay revoked."""
    return line.get('setting') == ACCOUNT_SETTING and line.get('previous') is not False


class StepKind(NamedTuple):
    """One kind of change the offboarding makes: how it is planned, done, recorded and undone."""

    type: str                  # the line's type in the report
    scope: str                 # its offboard_scopes value ('' for a kind recorded within another's step)
    exclusion_option: str      # the role option that keeps some of them (None: offboard_scopes alone decides)
    module: str                # the module that removes (and, with state: present, restores) it
    targets_option: str        # that module's option naming the targets
    recorded: tuple            # what a plan line keeps of the discovered entry besides the target (restore needs it)
    restore_args: Callable     # plan line -> the module's extra options that put it back as it was
    result_type: str = ''      # the target type in the module's results, when it is not the line's type
    key_fields: tuple = ()     # besides user and target, what tells two lines of one user apart
    change: str = 'removed'    # the status of a line that changed something (restore undoes it)
    reversible: Callable = _always  # plan line -> whether restore can undo it at all
    discovered: str = ''       # entra_member_of_info's include kind that lists them (memberships: '')

    @property
    def membership(self):
        """A membership kind: the member modules' ``memberships`` option does it, many users in one call."""
        return not self.discovered


ACCOUNT_SETTING = 'account_enabled'
SESSIONS_SETTING = 'sign_in_sessions'

# In removal order. The account first: nothing changes while the user can still sign in and act. Ownership
# next: substitutes become owners before anyone leaves (a team's sole owner can then leave the team). Teams
# before groups: the Teams API guards the last owner and records the role; removing the team's group directly
# would bypass both. Directory roles after app roles and groups: an administrator scoped to a unit keeps reach
# over the user until the end, should anything before fail; administrative units after them for the same
# reason. Licenses last: group-based licenses end with their groups, and the direct ones keep the mailbox and
# files reachable for the steps before. Restore goes the other way (RESTORE_ORDER).
STEP_KINDS = OrderedDict((kind.type, kind) for kind in (
    StepKind('account', 'account', None, 'entra.membership.entra_user_account', 'users', ('setting', 'previous', 'note'),
             _no_restore_args, key_fields=('setting',), reversible=_account_restorable, discovered='account'),
    # Recorded within the owners' step: the substitute owners it adds first (restore takes them off again).
    StepKind('owner_substitute', '', None, 'entra.membership.entra_group_owner', 'groups',
             ('member_id', 'member', 'substitute_for', 'added_as_member'), _substitute_restore_args,
             result_type='group', change='added', discovered='owned_groups'),
    StepKind('group_owner', 'owned_groups', None, 'entra.membership.entra_group_owner', 'groups', (), _no_restore_args,
             result_type='group', discovered='owned_groups'),
    StepKind('team', 'teams', 'offboard_exclude_teams', 'entra.membership.teams_member', 'teams', ('role',), _team_restore_args),
    StepKind('group', 'groups', 'offboard_exclude_groups', 'entra.membership.entra_group_member', 'groups', (), _no_restore_args),
    StepKind('app_role', 'app_roles', None, 'entra.membership.entra_app_role_assignment', 'applications',
             ('app_role_id', 'app_role', 'through'), _app_restore_args, result_type='application', key_fields=('app_role_id',),
             discovered='app_roles'),
    StepKind('directory_role', 'directory_roles', None, 'entra.membership.entra_directory_role_assignment', 'roles',
             ('scope', 'scope_display_name', 'assignment_type', 'schedule', 'through'), _role_restore_args,
             key_fields=('scope', 'assignment_type'), discovered='directory_roles'),
    StepKind('administrative_unit', 'administrative_units', 'offboard_exclude_administrative_units',
             'entra.membership.entra_au_member', 'administrative_units', (), _no_restore_args),
    StepKind('license', 'licenses', None, 'entra.membership.entra_user_license', 'skus',
             ('sku_part_number', 'disabled_plans', 'disabled_plan_names', 'through'), _license_restore_args,
             result_type='sku', discovered='licenses'),
))
REMOVAL_ORDER = tuple(STEP_KINDS)
# The steps the role runs (one module call each, per chunk): the substitutes are recorded within the owners' step.
STEP_ORDER = tuple(kind.type for kind in STEP_KINDS.values() if kind.scope)
# The other way round, except that owners come back before their substitutes leave (the substitutes are no
# longer last owners then), and the account is enabled once everything else is back.
RESTORE_ORDER = ('license', 'administrative_unit', 'directory_role', 'app_role', 'group', 'team', 'group_owner', 'owner_substitute',
                 'account')
MEMBERSHIP_KINDS = tuple(kind.type for kind in STEP_KINDS.values() if kind.membership)
RESIDUAL_STEP = 'residual'
# Access the run leaves alone (kinds outside offboard_scopes), read at the end for the report's "keeps" lines.
KEPT_ACCESS_STEP = 'kept_access'
# Memberships per module call: about a minute of Graph's documented write budget for one application in one
# tenant (3,000 writes per 2 min 30 s), so that every call is recorded and shows progress within about a minute.
DEFAULT_CHUNK_SIZE = 1200


def step_of_scope(scope):
    return next(kind for kind in STEP_KINDS.values() if kind.scope == scope)


class ReportError(ValueError):
    """A report that cannot be read or used: the message names its source and what is wrong."""


def chunked(items, size):
    """``items`` in lists of at most ``size`` (at least 1): one module call each, so every call is bounded and recorded."""
    size = max(int(size), 1)
    return [items[start:start + size] for start in range(0, len(items), size)]


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def timestamp(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _seconds_between(started, ended):
    try:
        first = datetime.datetime.strptime(started, '%Y-%m-%dT%H:%M:%SZ')
        last = datetime.datetime.strptime(ended, '%Y-%m-%dT%H:%M:%SZ')
    except (TypeError, ValueError):
        return None
    return max((last - first).total_seconds(), 0.0)


def user_names(user):
    """Every name a report knows a user by (id, user principal name, as given), without case: UPNs compare without it."""
    return {str(name).lower() for name in (user.get('id'), user.get('user_principal_name'), user.get('user')) if name}


def same_user(one, other):
    """Two entries name the same user: a run stopped during discovery knows its users only as given, a later one by id too."""
    return bool(user_names(one) & user_names(other))


def user_label(user):
    return user.get('user_principal_name') or user.get('user') or user.get('id') or '?'


def target_name(target):
    return target.get('display_name') or target.get('id') or '?'


def _identity(user):
    return {'user': user.get('user'), 'id': user.get('id'), 'user_principal_name': user.get('user_principal_name'),
            'display_name': user.get('display_name')}


def kept_record(entry, kind, kept_because, reason):
    kept = {'target': {'id': entry.get('id'), 'display_name': entry.get('display_name'), 'type': kind},
            'kept_because': kept_because, 'reason': reason}
    for field in STEP_KINDS[kind].recorded:
        kept[field] = entry.get(field)
    return kept


def planned_line(entry, kind):
    """A plan line, before its module call: the target and what restore needs to put it back."""
    line = {'target': {'id': entry.get('id'), 'display_name': entry.get('display_name'), 'type': kind},
            'status': PLANNED, 'request_id': None, 'error': None}
    for field in STEP_KINDS[kind].recorded:
        line[field] = entry.get(field)
    return line


# ---------------------------------------------------------------------------------------------
# A run's report, from its start to its end
# ---------------------------------------------------------------------------------------------

def new_report(run):
    """The report a run writes before it reads anything: who runs it, for whom, with which options; nothing planned yet."""
    return {
        'report_kind': REPORT_KIND,
        'report_version': REPORT_VERSION,
        'run_id': run['run_id'],
        'status': RUNNING,
        'stage': 'discovery',
        'check_mode': bool(run.get('check_mode')),
        'started': run.get('started'),
        'updated': run.get('started'),
        'finished': None,
        'tenant': None,
        'cloud': None,
        'run_by': run.get('run_by'),
        'controller': run.get('controller'),
        'options': run.get('options') or {},
        'continues': [],
        'stats': {'module_runs': 0, 'requests': 0, 'batches': 0, 'retries': 0, 'throttled': 0, 'waited_seconds': 0.0},
        'summary': {},
        'warnings': [],
        'users': [{'user': user, 'id': None, 'user_principal_name': None, 'display_name': None, 'status': RUNNING,
                   'error': None, 'memberships': [], 'kept': [], 'carried': [], 'residual': None, 'kept_access': None,
                   'summary': {}, 'earlier_report': None}
                  for user in run.get('users') or []],
    }


def user_entry(plan):
    """A user's report entry from its plan: every planned removal as a ``planned`` line, the kept ones with their reason."""
    entry = dict(_identity(plan), status=RUNNING, error=plan.get('error'), memberships=[], kept=list(plan.get('kept') or []),
                 carried=[], residual=None, kept_access=None, summary={}, earlier_report=None)
    for kind in REMOVAL_ORDER:
        entry['memberships'].extend(planned_line(target, kind) for target in (plan.get('remove') or {}).get(kind) or [])
    if entry['error']:
        entry['status'] = FAILED
    return entry


def unmatched_exclusions(plans):
    """Exclusion entries that matched no membership of any user of the run (each user's plan lists its own)."""
    unmatched = None
    for plan in plans:
        if plan.get('error'):
            continue
        mine = set(plan.get('unmatched_exclusions') or [])
        unmatched = mine if unmatched is None else unmatched & mine
    return sorted(unmatched or ())


def add_stats(report, graph_stats):
    """Count one module run and what it asked of Graph (its ``graph_stats``) into the run's totals."""
    stats = report.setdefault('stats', {})
    stats['module_runs'] = stats.get('module_runs', 0) + 1
    for key, value in (graph_stats or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            stats[key] = round(stats.get(key, 0) + value, 3)


def set_plan(report, plans, tenant=None, cloud=None):
    """Put the whole plan into the report: from here on, every change the run may make is on record."""
    report['users'] = [user_entry(plan) for plan in plans]
    report['tenant'] = tenant
    report['cloud'] = cloud
    report['stage'] = 'removal'
    return report


def carry_forward(report, earlier_reports, report_file_of):
    """What the runs this one continues removed, or might have, carried into this report's users (``carried``).

    ``earlier_reports``: the unfinished reports of earlier runs for some of these users, oldest first.
    Each line keeps the run it came from, so a restore from this report alone undoes them too.
    """
    continued = []
    for earlier in earlier_reports:
        carried_any = False
        for user in earlier.get('users') or []:
            mine = next((entry for entry in report['users'] if same_user(entry, user)), None)
            if mine is None:
                continue
            carried_any = True
            for line in list(user.get('carried') or []) + list(user.get('memberships') or []):
                if restorable(line):
                    mine['carried'].append(dict(line, from_run=line.get('from_run') or earlier['run_id']))
        if carried_any:
            continued.append({'run_id': earlier['run_id'], 'file': report_file_of(earlier), 'status': earlier.get('status')})
    report['continues'] = continued
    return continued


def note_earlier_reports(report, earlier_reports, report_file_of):
    """For each user, the newest earlier report that holds removals of theirs (what a re-run with nothing to do points at)."""
    for user in report['users']:
        for earlier in reversed(earlier_reports):
            theirs = next((entry for entry in earlier.get('users') or [] if same_user(entry, user)), None)
            if theirs and any(restorable(line) for line in list(theirs.get('memberships') or []) + list(theirs.get('carried') or [])):
                user['earlier_report'] = {'run_id': earlier['run_id'], 'file': report_file_of(earlier)}
                break


def _norm(value):
    return str(value).lower() if value is not None else ''


def _result_key(member_id, target_id, extra=()):
    return (_norm(member_id), _norm(target_id)) + tuple(_norm(value) for value in extra)


def line_member(user, line):
    """Whose line it is in Graph: the user's, or (a substitute owner) the one the line names."""
    return line.get('member_id') or user.get('id')


def _line_key(user, line):
    kind = STEP_KINDS[line['target']['type']]
    return _result_key(line_member(user, line), line['target']['id'], [line.get(field) for field in kind.key_fields])


def result_kind(step, result):
    """The report kind of one of ``step``'s module results: the owners' module answers for its substitutes too."""
    if step == 'group_owner' and result.get('substitute_for'):
        return 'owner_substitute'
    return step


def _result_line_key(kind, result):
    return _result_key(result.get('member_id'), result['target'].get('id'), [result.get(field) for field in STEP_KINDS[kind].key_fields])


def _no_answer_error(registered):
    message = registered.get('msg') if isinstance(registered, dict) else None
    return error_dict(None, 'ModuleFailed', str(message or NO_ANSWER_MESSAGE))


def _answer_into(line, result):
    line.update(status=result.get('status'), request_id=result.get('request_id'), error=result.get('error'))
    for field in STEP_KINDS[line['target']['type']].recorded:
        if result.get(field):
            line[field] = result[field]


def substitute_line(result, status=None):
    """A substitute owner the owners' step adds (or, from its preview, will add): restore takes it off again."""
    line = planned_line(dict(result['target'], member_id=result.get('member_id'), member=result.get('member'),
                             substitute_for=result.get('substitute_for'), added_as_member=result.get('added_as_member')),
                        'owner_substitute')
    if status is None:
        _answer_into(line, result)
    else:
        line['status'] = status
    return line


def _add_line(user, line):
    """A line the plan did not hold, among the user's lines in removal order (a substitute before the ownerships it stands for)."""
    position = REMOVAL_ORDER.index(line['target']['type'])
    lines = user['memberships']
    after = [index for index, existing in enumerate(lines) if REMOVAL_ORDER.index(existing['target']['type']) <= position]
    lines.insert(after[-1] + 1 if after else 0, line)


def _owner_of(report, names):
    """The report's user a substitute stands in for (the first of the leaving owners it names)."""
    wanted = {_norm(name) for name in names or []}
    return next((user for user in report['users'] if user_names(user) & wanted), None)


def _step_answers(step, registered):
    answers = OrderedDict()
    results = registered.get('results') if isinstance(registered, dict) else None
    result_type = STEP_KINDS[step].result_type or step
    for result in results or []:
        if isinstance(result, dict) and isinstance(result.get('target'), dict) and result['target'].get('type') == result_type:
            kind = result_kind(step, result)
            answers[_result_line_key(kind, result)] = (kind, result)
    return answers


def _handed_over(user, group_id):
    """The user's ownership of this group goes in this run, with a substitute owner added first."""
    statuses = {(line['target']['type'], line['status']) for line in user['memberships'] if _norm(line['target']['id']) == _norm(group_id)}
    substituted = ('owner_substitute', 'added') in statuses or ('owner_substitute', PLANNED) in statuses
    return substituted and ('group_owner', REMOVED) in statuses


def record_prediction(report, step, registered):
    """A preview of the owners' step (its module in check mode) before it writes: the substitutes it will add, on record
    as ``planned`` lines, so that a run stopped during the step leaves a report naming them too."""
    known = {_line_key(user, line) for user in report['users'] for line in user['memberships']}
    added = 0
    for key, (kind, result) in _step_answers(step, registered).items():
        if kind != 'owner_substitute' or key in known or result.get('status') != 'added':
            continue
        owner = _owner_of(report, result.get('substitute_for'))
        if owner is not None:
            _add_line(owner, substitute_line(result, PLANNED))
            added += 1
    if isinstance(registered, dict) and not registered.get('skipped'):
        add_stats(report, registered.get('graph_stats'))
    return added


def record_step(report, kind, pairs, registered):
    """One module call's answer into the lines it was called for; returns ``(done, total)`` of that kind.

    ``pairs``: ``(member id, target id)`` of every line the call was responsible for. A line the
    answer does not mention (the module failed as a whole) is ``failed`` with the module's message:
    nothing says what happened to it, and restore treats it as maybe removed. A change the plan
    did not foresee (a substitute owner, an assignment made since the discovery) is recorded too.
    """
    answers = _step_answers(kind, registered)
    wanted = {_result_key(member_id, target_id) for member_id, target_id in pairs}
    kinds = {kind} | {answer_kind for answer_kind, _result in answers.values()}
    done = total = 0
    for user in report['users']:
        moved = []
        for line in user['memberships']:
            if line['target']['type'] not in kinds:
                continue
            key = _line_key(user, line)
            answer = answers.pop(key, None)
            if answer is not None:
                _answer_into(line, answer[1])
            elif key[:2] in wanted and line['target']['type'] == kind:
                line.update(status=LINE_FAILED, error=_no_answer_error(registered))
            if kind == 'team' and line['status'] == LINE_FAILED and (line.get('error') or {}).get('code') == LAST_OWNER_CODE:
                if report.get('check_mode') and _handed_over(user, line['target']['id']):
                    # The preview's owners step changed nothing: the real run's substitute is in by the time the user leaves.
                    line.update(status=REMOVED, error=None, note='once the substitute owner is in (owned_groups)')
                else:
                    moved.append(line)
            if line['target']['type'] == kind:
                total += 1
                done += line['status'] != PLANNED
        for line in moved:
            # A last owner the discovery did not see coming (a co-owner left meanwhile): kept, as discovery would have.
            user['memberships'].remove(line)
            user['kept'].append(kept_record(dict(line['target'], role=line.get('role')), kind, UNREMOVABLE, LAST_OWNER_REASON))
    for answer_kind, result in answers.values():
        if result.get('status') != STEP_KINDS[answer_kind].change:
            continue
        if answer_kind == 'owner_substitute':
            owner = _owner_of(report, result.get('substitute_for'))
            line = substitute_line(result)
        else:
            owner = next((user for user in report['users'] if _norm(user.get('id')) == _norm(result.get('member_id'))), None)
            line = planned_line(dict(result['target'], **{field: result.get(field) for field in STEP_KINDS[answer_kind].recorded}),
                                answer_kind)
            _answer_into(line, result)
        if owner is not None:
            _add_line(owner, line)
    if isinstance(registered, dict) and not registered.get('skipped'):
        add_stats(report, registered.get('graph_stats'))
    return done, total


def _residual(user, after, check_mode):
    """What the user still reaches once the removals are done: kept memberships, direct ones left, nested groups."""
    residual = {'as_of': 'before the removals (preview: nothing was removed)' if check_mode else 'after the removals',
                'kept': user['kept'], 'remaining': [], 'nested_groups': [], 'error': None}
    if after is None:
        residual['error'] = 'no residual discovery for this user'
        return residual
    if after.get('error') or not after.get('found'):
        residual['error'] = (after.get('error') or {}).get('message') or NOT_FOUND_MESSAGE
        return residual
    accounted = {(kept['target']['id'] or '').lower() for kept in user['kept']}
    failures = {}
    for line in user['memberships']:
        if line['status'] == LINE_FAILED:
            failures[(line['target']['id'] or '').lower()] = line
        elif check_mode:
            accounted.add((line['target']['id'] or '').lower())
    for kind, entries in memberships_by_kind(after).items():
        for entry in entries:
            entry_id = (entry.get('id') or '').lower()
            if entry_id in accounted:
                continue
            failed = failures.get(entry_id)
            reason = ('the removal failed: %s' % (failed['error'] or {}).get('message') if failed
                      else 'a direct membership the plan did not see (added during the run?)')
            residual['remaining'].append({'target': {'id': entry.get('id'), 'display_name': entry.get('display_name'), 'type': kind},
                                          'reason': reason})
    residual['nested_groups'] = [{'target': {'id': group.get('id'), 'display_name': group.get('display_name'), 'type': 'group'},
                                  'reason': group.get('reason') or 'reached through nested group membership'}
                                 for group in after.get('transitive_groups') or []]
    return residual


def memberships_by_kind(user):
    """team / group / administrative_unit -> discovered entries. A team's group is the team: listed (and removed) once, as a team."""
    teams = list(user.get('teams') or [])
    team_ids = {(team.get('id') or '').lower() for team in teams}
    groups = []
    for group in user.get('groups') or []:
        group_id = (group.get('id') or '').lower()
        if group_id in team_ids:
            continue
        if group.get('is_team'):
            # A team-enabled group the discovery could not list as a team (its roster was unreadable): still a team.
            teams.append(dict(group, type='team', role=None))
            team_ids.add(group_id)
            continue
        groups.append(group)
    return {'team': teams, 'group': groups, 'administrative_unit': list(user.get('administrative_units') or [])}


def account_entries(user):
    """The account as plan entries: its sessions and its being enabled, when it is enabled (a disabled account
    refreshes no session and has nothing to disable). Discovery's ``account`` is one dict, null for a user not found."""
    account = user.get('account')
    if not isinstance(account, dict) or account.get('account_enabled') is not True:
        return []
    target = {'id': user.get('id'), 'display_name': user.get('display_name') or user.get('user_principal_name'), 'type': 'account'}
    return [dict(target, setting=SESSIONS_SETTING, previous=account.get('sign_in_sessions_valid_from'), removable=True),
            dict(target, setting=ACCOUNT_SETTING, previous=True, removable=account.get('removable'), reason=account.get('reason'),
                 reason_code=account.get('reason_code'))]


def access_by_kind(user):
    """Every kind -> the discovered entries (``entra_member_of_info`` with the include kinds of the run's scopes)."""
    found = memberships_by_kind(user)
    for kind in STEP_KINDS.values():
        if kind.type == 'account':
            found[kind.type] = account_entries(user)
        elif kind.discovered and kind.scope:
            found[kind.type] = list(user.get(kind.discovered) or [])
    return found


def include_kinds(scopes):
    """entra_member_of_info's ``include`` for the given scopes: the memberships always (teams come from the groups)."""
    return ['groups', 'administrative_units', 'teams'] + [kind.discovered for kind in STEP_KINDS.values()
                                                          if kind.scope in scopes and kind.discovered]


def kept_access_kinds(scopes):
    """The include kinds the run leaves alone: read at the end for the report's "keeps" lines."""
    return [kind.discovered for kind in STEP_KINDS.values() if kind.scope and kind.discovered and kind.scope not in scopes]


def _role_words(entry):
    where = '' if entry.get('scope') in (None, '/') else ' over %s' % (entry.get('scope_display_name') or entry.get('scope'))
    how = ', eligible (PIM)' if entry.get('assignment_type') == 'eligible' else ''
    through = " through group '%s'" % target_name(entry['through']) if entry.get('through') else ''
    return '%s%s%s%s' % (entry.get('display_name') or entry.get('id'), where, how, through)


def _kept_access_words(kind, entries):
    """One kind of access a user keeps, in plain words (None: nothing of it)."""
    if kind == 'account':
        if not isinstance(entries, dict):
            return None
        if entries.get('account_enabled'):
            return 'account enabled, can sign in (sign-in sessions valid since %s)' % (entries.get('sign_in_sessions_valid_from') or '?')
        return 'account disabled'
    if not entries:
        return None
    if kind == 'owned_groups':
        return 'owns %d group%s (%s)' % (len(entries), '' if len(entries) == 1 else 's',
                                         ', '.join(target_name(entry) for entry in entries))
    if kind == 'directory_roles':
        return 'still %s' % ', '.join(_role_words(entry) for entry in entries)
    if kind == 'app_roles':
        return 'assigned to %s' % ', '.join("app '%s' (%s)%s" % (target_name(entry), entry.get('app_role') or 'default access',
                                                                 " through group '%s'" % target_name(entry['through'])
                                                                 if entry.get('through') else '') for entry in entries)
    return 'holds %d license%s (%s)' % (len(entries), '' if len(entries) == 1 else 's',
                                        ', '.join('%s%s' % (target_name(entry), " through group '%s'" % target_name(entry['through'])
                                                            if entry.get('through') else '') for entry in entries))


def record_kept_access(report, kinds, answer_users, error=None):
    """The access outside the run's scopes (read at its end) into each user's ``kept_access``: kind -> plain words,
    and ``error`` when it could not be read (it is then unknown, which does not fail the user)."""
    for user in report['users']:
        if user.get('error'):
            continue
        found = next((entry for entry in answer_users or [] if same_user(entry, user)), None)
        kept = {'kinds': list(kinds), 'lines': [], 'error': None}
        if found is None or found.get('error') or not found.get('found'):
            kept['error'] = ((found or {}).get('error') or {}).get('message') or error or 'not read'
        else:
            kept['lines'] = [words for words in (_kept_access_words(kind, found.get(kind)) for kind in kinds) if words]
        user['kept_access'] = kept


def record_residual(report, after_users):
    """The residual discovery's answer (``entra_member_of_info``'s ``users``) into the users it read; the others keep theirs."""
    for user in report['users']:
        after = next((entry for entry in after_users or [] if same_user(entry, user)), None)
        if after is not None and not user.get('error'):
            user['residual'] = _residual(user, after, report.get('check_mode'))


def _user_summary(user):
    summary = dict.fromkeys(('removed', 'absent', 'failed', 'planned', 'kept', 'unremovable', 'carried'), 0)
    for line in user['memberships']:
        summary[line['status']] = summary.get(line['status'], 0) + 1
    summary['kept'] = len(user['kept'])
    summary['unremovable'] = sum(1 for kept in user['kept'] if kept['kept_because'] == UNREMOVABLE)
    summary['carried'] = len(user.get('carried') or [])
    return summary


TOTALS = ('removed', 'absent', 'failed', 'planned', 'kept', 'unremovable', 'carried')


def summarize(report):
    """Per-user and run totals from the lines as they stand (at any moment of the run)."""
    totals = dict(users=0, users_failed=0, **dict.fromkeys(TOTALS, 0))
    for user in report['users']:
        user['summary'] = _user_summary(user)
        totals['users'] += 1
        totals['users_failed'] += user['status'] == FAILED
        for key in TOTALS:
            totals[key] += user['summary'].get(key, 0)
    report['summary'] = totals
    return totals


def finish_report(report, finished, unmatched=()):
    """The run's end: every user ``done`` or ``failed`` (a line still ``planned`` has no answer: failed), totals, warnings."""
    for user in report['users']:
        unanswered = [line for line in user['memberships'] if line['status'] == PLANNED]
        for line in unanswered:
            line.update(status=LINE_FAILED, error=error_dict(None, 'NoAnswer', 'the run ended before this removal was recorded; '
                                                             'it may have happened: restore treats it as removed'))
        if user['residual'] is None and not user.get('error'):
            user['residual'] = _residual(user, None, report.get('check_mode'))
        failed = user.get('error') or any(line['status'] == LINE_FAILED for line in user['memberships'])
        user['status'] = FAILED if failed else DONE
    totals = summarize(report)
    warnings = [warning for warning in report.get('warnings') or [] if warning]
    warnings += ['%s matched no membership of any user' % entry for entry in unmatched
                 if '%s matched no membership of any user' % entry not in warnings]
    report['warnings'] = warnings
    report['finished'] = finished
    report['updated'] = finished
    report['stage'] = 'finished'
    report['status'] = FAILED if totals['users_failed'] else DONE
    elapsed = _seconds_between(report.get('started'), finished)
    stats = report.setdefault('stats', {})
    stats['elapsed_seconds'] = elapsed
    stats['removals_per_second'] = round(totals['removed'] / elapsed, 2) if elapsed else None
    return report


# ---------------------------------------------------------------------------------------------
# Reading reports: validation, and what restore puts back
# ---------------------------------------------------------------------------------------------

def restorable(line):
    """Whether restore puts this line back: removed, or maybe removed.

    ``planned``: its call never answered (the run stopped). ``failed`` without a definitive answer
    from Graph (no HTTP status, 207 without this member's result, 408, 429, 5xx): the write may
    have happened. Adding back is idempotent, so a membership that never went comes back ``present``.
    Not restored: ``absent`` (it was not a member), and failures Graph or a guard answered
    definitively (4xx: the membership stayed); nor what cannot be undone (revoked sessions), nor an
    account that was disabled before the run. A substitute owner's change is ``added``: restore takes it off.
    """
    kind = STEP_KINDS.get((line.get('target') or {}).get('type'))
    if kind is None or not kind.reversible(line):
        return False
    status = line.get('status')
    if status in (kind.change, PLANNED):
        return True
    if status != LINE_FAILED:
        return False
    error = line.get('error') or {}
    http_status = error.get('status')
    if not isinstance(http_status, int):
        return True
    return not 400 <= http_status < 500 or http_status in (408, 429)


def report_name(report):
    """The report's file name without extension; a preview says so in its name."""
    preview = '-' + PREVIEW_FILE_WORD if report.get('check_mode') else ''
    return 'offboard%s-%s' % (preview, report.get('run_id'))


def load_report(report, source):
    """A report read back (restore, continuation): validated enough that what restore does with it is safe."""
    if not isinstance(report, dict) or report.get('report_kind') != REPORT_KIND:
        raise ReportError("%s is not an offboarding report of entra.membership (report_kind is not '%s')" % (source, REPORT_KIND))
    if report.get('report_version') not in READABLE_VERSIONS:
        raise ReportError('%s: report_version %r is not supported (this collection reads versions %s)'
                          % (source, report.get('report_version'), ', '.join(str(version) for version in READABLE_VERSIONS)))
    if not isinstance(report.get('users'), list):
        raise ReportError("%s has no 'users' list" % source)
    for position, user in enumerate(report['users']):
        if not isinstance(user, dict) or not isinstance(user.get('memberships'), list):
            raise ReportError('%s: users[%d] has no memberships list' % (source, position))
        for line in list(user['memberships']) + list(user.get('carried') or []):
            target = line.get('target') if isinstance(line, dict) else None
            if not isinstance(target, dict) or not is_object_id(target.get('id') or '') or target.get('type') not in STEP_KINDS:
                raise ReportError('%s: a membership of users[%d] has no valid target: %r' % (source, position, line))
            if restorable(line) and not is_object_id(user.get('id') or ''):
                raise ReportError('%s: users[%d] has removed memberships but no object id' % (source, position))
    return report


def _restore_label(kind, number, count, size, members):
    what = 'memberships' if kind.membership else 'changes'
    return '%s %d/%d: %d %s of %d %s' % (kind.scope or 'substitute owners', number, count, size, what, len(members),
                                         'user' if len(members) == 1 else 'users')


def _grouped_calls(kind, entries, chunk_size):
    """Calls of a kind whose module takes users and targets (not pairs): one target and one set of restore options a call,
    so that no user gets what another had (a module call applies every target to every user given)."""
    groups = OrderedDict()
    for entry in entries:
        options = {key: value for key, value in entry.items() if key not in ('member', 'target')}
        target = None if kind.type == 'account' else entry['target']
        groups.setdefault(repr((target, sorted(options.items()))), (target, options, []))[2].append(entry['member'])
    calls = []
    for target, options, members in groups.values():
        for chunk in chunked(members, chunk_size or len(members) or 1):
            calls.append(dict(options, type=kind.type, target=target, members=chunk))
    for number, call in enumerate(calls, start=1):
        call['label'] = _restore_label(kind, number, len(calls), len(call['members']), call['members'])
    return calls


def restore_plan(reports, chunk_size=None):
    """What to put back from one or more reports (oldest first): per kind, module calls in restore order.

    Every restorable line of every report, carried lines included, once per (user, target, ...): the
    oldest report's line wins, since it saw the access before anything was removed (a team owner
    stays an owner even if a later run saw less). A membership kind's call is ``memberships`` entries
    ``{target, member}`` plus the options that put each back as it was (a team's ``role``), at most
    ``chunk_size`` a call; another kind's call is one ``target`` (none for accounts), its ``members``
    and those options (a role's scope, type and end; an app role; a license's disabled plans).
    ``not_restorable``: what was changed and cannot be undone (revoked sessions).
    """
    seen = set()
    entries = OrderedDict((kind, []) for kind in RESTORE_ORDER)
    users = OrderedDict()
    not_restorable = []
    for report in reports:
        for user in report['users']:
            for line in list(user.get('carried') or []) + list(user['memberships']):
                kind = STEP_KINDS[line['target']['type']]
                if not restorable(line):
                    if not kind.reversible(line) and line.get('status') in (kind.change, PLANNED):
                        not_restorable.append({'user': user_label(user), 'id': user.get('id'), 'setting': line.get('setting'),
                                               'note': line.get('note') or 'cannot be undone'})
                    continue
                key = _line_key(user, line)
                if (kind.type,) + key in seen:
                    continue
                seen.add((kind.type,) + key)
                entries[kind.type].append(dict({'target': line['target']['id'], 'member': line_member(user, line)},
                                               **kind.restore_args(line)))
                users.setdefault(user['id'].lower(), {'id': user['id'], 'user': user_label(user)})
    calls = []
    for kind_type in RESTORE_ORDER:
        kind = STEP_KINDS[kind_type]
        if not kind.membership:
            calls.extend(_grouped_calls(kind, entries[kind_type], chunk_size))
            continue
        chunks = chunked(entries[kind_type], chunk_size or len(entries[kind_type]) or 1)
        for number, chunk in enumerate(chunks, start=1):
            members = {entry['member'].lower() for entry in chunk}
            calls.append({'type': kind_type, 'memberships': chunk, 'label': _restore_label(kind, number, len(chunks), len(chunk), members)})
    return {'calls': [call for call in calls if call.get('memberships') or call.get('members')], 'memberships': len(seen),
            'users': list(users.values()), 'not_restorable': not_restorable}


def restore_results(registered_loops):
    """Each pair the restore's module calls answered, and each call that failed as a whole, from the registered loops."""
    pairs, failed_calls = [], []
    for registered in registered_loops or []:
        for call in (registered or {}).get('results') or []:
            if not isinstance(call, dict) or call.get('skipped'):
                continue
            answered = call.get('results')
            if not isinstance(answered, list):
                failed_calls.append({'call': call.get('item') or {}, 'message': str(call.get('msg') or 'the module failed')})
                continue
            pairs.extend(pair for pair in answered if isinstance(pair, dict))
    return pairs, failed_calls


def restore_summary(registered_loops, check_mode=False, not_restorable=()):
    """The restore's outcome: counts of added back / already present / failed, and one line per failure."""
    pairs, failed_calls = restore_results(registered_loops)
    counts = {'added': 0, 'present': 0, 'failed': 0}
    failed = []
    for pair in pairs:
        counts[pair.get('status')] = counts.get(pair.get('status'), 0) + 1
        if pair.get('status') == 'failed':
            target = pair.get('target') or {}
            message = (pair.get('error') or {}).get('message')
            failed.append('%s in %s %s: %s' % (pair.get('member'), target.get('type'), target_name(target), message))
    for failure in failed_calls:
        counts['failed'] += len(failure['call'].get('memberships') or []) or 1
        failed.append('%s: %s' % (failure['call'].get('label') or failure['call'].get('user'), failure['message']))
    verb = 'would add back' if check_mode else 'added back'
    headline = 'Restore: %d %s, %d already there, %d failed' % (counts['added'], verb, counts['present'], counts['failed'])
    if counts.get('removed') or counts.get('absent'):
        # The substitute owners (and their memberships) the offboarding added, taken off again.
        taken = 'would be taken' if check_mode else 'taken'
        headline += '; substitutes: %d %s off, %d already gone' % (counts.get('removed', 0), taken, counts.get('absent', 0))
    lines = [headline]
    lines.extend('FAILED %s' % line for line in failed)
    lines.extend('not restorable: %s, %s: %s' % (entry['user'], (entry.get('setting') or 'change').replace('_', ' '), entry['note'])
                 for entry in not_restorable or [])
    return {'counts': counts, 'failed': failed, 'lines': lines}


# ---------------------------------------------------------------------------------------------
# For people: the play output's summary and the Markdown file
# ---------------------------------------------------------------------------------------------

def _stats_line(report):
    stats = report.get('stats') or {}
    elapsed = stats.get('elapsed_seconds')
    if elapsed is None:
        return None
    rate = stats.get('removals_per_second')
    return ('%s s, %s memberships/s, %d module runs, %d Graph requests, %s s waited on throttling (%d throttled)'
            % (int(round(elapsed)), rate if rate is not None else '-', stats.get('module_runs', 0), stats.get('requests', 0),
               stats.get('waited_seconds', 0), stats.get('throttled', 0)))


def summary_lines(report, path=None):
    """A one-screen table of the report for the play output: one line per user, then what failed and what was kept."""
    preview = report.get('check_mode')
    verb = 'would remove' if preview else 'removed'
    lines = ['%s run %s (%s): %s' % ('PREVIEW (check mode), nothing changed:' if preview else 'Offboarding',
                                     report.get('run_id'), report.get('tenant') or 'tenant from the environment', report.get('status'))]
    for continued in report.get('continues') or []:
        lines.append('continues run %s (%s): its removals are carried into this report' % (continued['run_id'], continued['status']))
    lines.append('%-40s %8s %8s %8s %8s  %s' % ('user', verb.split()[-1], 'absent', 'kept', 'failed', 'status'))
    for user in report.get('users', []):
        summary = user.get('summary') or _user_summary(user)
        counts = (summary['removed'], summary['absent'], summary['kept'], summary['failed'])
        line = '%-40s %8d %8d %8d %8d  %s' % ((user_label(user)[:40],) + counts + (user['status'],))
        if summary['carried']:
            line += ' (+%d carried from earlier runs)' % summary['carried']
        elif not summary['removed'] and user.get('earlier_report'):
            line += ' (nothing to remove: the removals are in %s)' % user['earlier_report']['file']
        lines.append(line)
    for user in report.get('users', []):
        if user.get('error'):
            lines.append('FAILED %s: %s' % (user_label(user), user['error'].get('message')))
        for line in user['memberships']:
            if line['status'] == LINE_FAILED:
                lines.append('FAILED %s in %s %s: %s' % (user_label(user), line['target']['type'], target_name(line['target']),
                                                         (line.get('error') or {}).get('message')))
        for kept in user['kept']:
            lines.append('kept   %s in %s %s: %s' % (user_label(user), kept['target']['type'], target_name(kept['target']), kept['reason']))
        lines.extend('keeps  %s: %s' % (user_label(user), words) for words in kept_access_lines(user))
    stats = _stats_line(report)
    if stats:
        lines.append('took ' + stats)
    lines.extend('warning: %s' % warning for warning in report.get('warnings', []))
    if path:
        lines.append('Report: %s and .md' % path)
    return lines


def kept_access_lines(user):
    """What the user keeps outside the run's scopes, in plain words (read at the end of the run)."""
    kept = user.get('kept_access') or {}
    if kept.get('error'):
        return ['%s unknown (outside offboard_scopes, not read: %s)' % (', '.join(kept.get('kinds') or []), kept['error'])]
    return list(kept.get('lines') or [])


def line_detail(line):
    """What tells a report line apart beyond its target, and what restore needs, in a few words."""
    kind = line['target']['type']
    if kind == 'directory_role':
        return '%s, %s%s' % (line.get('scope_display_name') or line.get('scope'), line.get('assignment_type'),
                             ', until %s' % line['schedule']['end_date_time'] if (line.get('schedule') or {}).get('end_date_time') else '')
    if kind == 'app_role':
        return line.get('app_role') or ''
    if kind == 'license':
        return 'disabled plans: %s' % ', '.join(line.get('disabled_plan_names') or []) if line.get('disabled_plan_names') else ''
    if kind == 'account':
        return ('sign-in sessions (cannot be undone)' if line.get('setting') == SESSIONS_SETTING
                else 'sign-in %s' % ('enabled before' if line.get('previous') else 'disabled before'))
    if kind == 'owner_substitute':
        return 'substitute owner %s' % (line.get('member') or line.get('member_id'))
    return line.get('role') or ''


def _md(text):
    return str(text if text is not None else '').replace('|', '\\|').replace('\n', ' ')


def _md_lines_table(lines, with_run=False):
    header = '| type | target | status | role, detail | error | request id |' + (' from run |' if with_run else '')
    out = [header, '|---|---|---|---|---|---|' + ('---|' if with_run else '')]
    for line in lines:
        cells = (line['target']['type'], _md(target_name(line['target'])), line['status'], _md(line_detail(line)),
                 _md((line.get('error') or {}).get('message')), line.get('request_id') or '')
        row = '| %s | %s | %s | %s | %s | %s |' % cells
        out.append(row + (' %s |' % line.get('from_run') if with_run else ''))
    return out + ['']


def markdown(report):
    """The report as Markdown, for people: run facts, per user what was removed, kept (and why), failed, and still reached."""
    preview = report.get('check_mode')
    out = ['# Offboarding %s%s' % ('PREVIEW ' if preview else '', report.get('run_id')), '']
    if preview:
        out += ['**Preview (check mode): nothing was changed.** Statuses say what a real run would do.', '']
    if report.get('status') in UNFINISHED:
        out += ['**This run did not finish (%s).** Lines still `planned` may have been removed: restore puts them back. '
                'The JSON report next to this file is kept current as the run goes; this file shows the plan.' % report['status'], '']
    for label, key in (('Tenant', 'tenant'), ('Cloud', 'cloud'), ('Run by', 'run_by'), ('Started', 'started'),
                       ('Finished', 'finished'), ('Status', 'status')):
        out.append('- %s: %s' % (label, _md(report.get(key))))
    summary = report.get('summary') or {}
    users = summary.get('users', len(report.get('users') or []))
    totals = ['%s %s' % (users, 'user' if users == 1 else 'users')]
    totals += ['%s %s' % (summary.get(key, 0), key) for key in ('removed', 'absent', 'kept', 'failed')]
    out.append('- Totals: %s' % ', '.join(totals))
    stats = _stats_line(report)
    if stats:
        out.append('- Took: %s' % stats)
    out += ['- Continues run %s (%s)' % (_md(continued['run_id']), _md(continued['status'])) for continued in report.get('continues') or []]
    out += ['- Warning: %s' % _md(warning) for warning in report.get('warnings', [])]
    for user in report.get('users', []):
        out += ['', '## %s (%s)' % (_md(user.get('display_name') or user_label(user)), _md(user_label(user))), '']
        if user.get('error'):
            out += ['**Failed:** %s' % _md(user['error'].get('message')), '']
        if user['memberships']:
            out += _md_lines_table(user['memberships'])
        if user.get('carried'):
            out += ['Carried from the runs this one continues (restore puts these back too):', '']
            out += _md_lines_table(user['carried'], with_run=True)
        if not user['memberships'] and user.get('earlier_report'):
            out += ['Nothing to remove: the removals are in %s.' % _md(user['earlier_report']['file']), '']
        residual = user.get('residual') or {}
        still = [(k['target'], '%s: %s' % (k['kept_because'], k['reason'])) for k in user['kept']]
        still += [(r['target'], r['reason']) for r in residual.get('remaining', []) + residual.get('nested_groups', [])]
        if still:
            out += ['Still reached (%s):' % _md(residual.get('as_of', 'as planned')), '']
            out += ['- %s %s: %s' % (target['type'], _md(target_name(target)), _md(reason)) for target, reason in still]
        if residual.get('error'):
            out.append('- residual access unknown: %s' % _md(residual['error']))
        keeps = kept_access_lines(user)
        if keeps:
            out += ['', 'Keeps (outside offboard_scopes, left as it is):', '']
            out += ['- %s' % _md(words) for words in keeps]
    return '\n'.join(out) + '\n'
