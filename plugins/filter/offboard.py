# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The data shaping of the ``entra.membership.offboard`` role and ``playbooks/restore.yml``.

Pure functions, one per step of the runbook, so the role's tasks stay a readable list of
module calls and each decision (what is kept and why, how a module answer becomes a report
line, what a restore re-adds) is unit-tested on its own. Each filter is documented in the
YAML file of its name next to this one (``ansible-doc -t filter entra.membership.<name>``).
"""

from __future__ import annotations

import fnmatch
import json
from typing import NamedTuple

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id

REPORT_KIND = 'entra.membership.offboard'
REPORT_VERSION = 1


class MembershipKind(NamedTuple):
    """What the runbook needs to know of one kind of membership (team, group, administrative unit)."""

    scope: str                # its offboard_scopes value, and its key in the role's registered removals and restore plans
    exclusion_option: str     # the role option that keeps some of them


KINDS = {
    'team': MembershipKind('teams', 'offboard_exclude_teams'),
    'group': MembershipKind('groups', 'offboard_exclude_groups'),
    'administrative_unit': MembershipKind('administrative_units', 'offboard_exclude_administrative_units'),
}
# Teams first: the Teams API guards the last owner and records the role; removing the team's
# group directly would bypass both. Administrative units last: scoped administrators of a unit
# keep reach over the user until the end, should anything before fail.
REMOVAL_ORDER = ('team', 'group', 'administrative_unit')
SCOPES = ('groups', 'administrative_units', 'teams')
LIST_OPTIONS = ('offboard_users', 'offboard_exclude_groups', 'offboard_exclude_administrative_units', 'offboard_exclude_teams',
                'offboard_include_patterns', 'offboard_scopes')
PATTERN_CHARACTERS = frozenset('*?[')

# Why a membership is kept, in the order they are decided.
OUT_OF_SCOPE = 'out_of_scope'
EXCLUDED = 'excluded'
NOT_INCLUDED = 'not_included'
UNREMOVABLE = 'unremovable'
# teams_member's refusal to leave a team without an owner: the membership cannot go, like a dynamic group's.
LAST_OWNER_CODE = 'LastOwner'
LAST_OWNER_REASON = ("the user is the team's only owner and Teams does not leave a team without one: "
                     'make someone else an owner, then run the offboarding again')
NOT_FOUND_MESSAGE = 'no user with this id or user principal name in the tenant'
PREVIEW_FILE_WORD = 'PREVIEW'
RESTORE_KINDS = ('administrative_units', 'groups', 'team_member', 'team_owner')


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

def split_entries(value, option):
    """A list as given, or the text of an AWX survey textarea: one entry per line, or comma-separated on one line."""
    if value is None:
        return []
    if isinstance(value, str):
        separator = '\n' if '\n' in value else ','
        value = value.split(separator)
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError('%s must be a list or a newline-separated string, got %s: %r' % (option, type(value).__name__, value))
    entries = []
    for entry in value:
        if not isinstance(entry, str):
            raise AnsibleFilterError('%s: every entry must be a string, got %r' % (option, entry))
        entry = entry.strip()
        if entry and entry not in entries:
            entries.append(entry)
    return entries


def offboard_inputs(raw):
    """The role's list options as clean lists; ``raw`` maps option names to what the caller gave."""
    if not isinstance(raw, dict):
        raise AnsibleFilterError('offboard_inputs expects a dict of the role options, got %r' % (raw,))
    inputs = {option: split_entries(raw.get(option), option) for option in LIST_OPTIONS}
    if not inputs['offboard_users']:
        raise AnsibleFilterError('offboard_users is required: give at least one user principal name or object id, got %r'
                                 % (raw.get('offboard_users'),))
    if raw.get('offboard_scopes') is None:
        inputs['offboard_scopes'] = list(SCOPES)
    unknown = [scope for scope in inputs['offboard_scopes'] if scope not in SCOPES]
    if unknown or not inputs['offboard_scopes']:
        raise AnsibleFilterError('offboard_scopes must be one or more of %s, got %r' % (', '.join(SCOPES), raw.get('offboard_scopes')))
    return inputs


# ---------------------------------------------------------------------------------------------
# Plan
# ---------------------------------------------------------------------------------------------

def _matches(entry, target):
    """An exclusion or include entry: an object id, a display name, or a shell-style pattern (case does not matter, as in Entra)."""
    if is_object_id(entry):
        return entry.lower() == (target.get('id') or '').lower()
    name = (target.get('display_name') or '').lower()
    if PATTERN_CHARACTERS & set(entry):
        return fnmatch.fnmatchcase(name, entry.lower())
    return name == entry.lower()


def _target(entry, kind):
    return {'id': entry.get('id'), 'display_name': entry.get('display_name'), 'type': kind}


def _kept(entry, kind, kept_because, reason):
    kept = {'target': _target(entry, kind), 'kept_because': kept_because, 'reason': reason}
    if kind == 'team':
        kept['role'] = entry.get('role')
    return kept


def _memberships_by_kind(user):
    """team / group / administrative_unit -> entries. A team's group is the team: it is listed (and removed) once, as a team."""
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


def _kept_record(entry, kind, inputs, used):
    """The kept record of a membership, with the reason to keep it; None when it is to be removed."""
    scope, exclusion_option = KINDS[kind]
    if scope not in inputs['offboard_scopes']:
        return _kept(entry, kind, OUT_OF_SCOPE, '%s not in offboard_scopes' % scope)
    for exclusion in inputs[exclusion_option]:
        if _matches(exclusion, entry):
            used.add((exclusion_option, exclusion))
            return _kept(entry, kind, EXCLUDED, "matches %s entry '%s'" % (exclusion_option, exclusion))
    patterns = inputs['offboard_include_patterns']
    if patterns and not any(_matches(pattern, entry) for pattern in patterns):
        return _kept(entry, kind, NOT_INCLUDED, 'matches none of offboard_include_patterns')
    if entry.get('removable') is False:
        return _kept(entry, kind, UNREMOVABLE, entry.get('reason') or 'Graph does not let an application change this membership')
    return None


def _user_identity(user):
    return {'user': user.get('user'), 'id': user.get('id'), 'user_principal_name': user.get('user_principal_name'),
            'display_name': user.get('display_name')}


def _discovered_users(discovery, inputs):
    """entra_member_of_info's ``users``; when the module failed as a whole, each user given with the module's error."""
    if isinstance(discovery, list):
        return discovery
    if not isinstance(discovery, dict):
        raise AnsibleFilterError('offboard_plan expects the registered result of entra_member_of_info, got %r' % (discovery,))
    if isinstance(discovery.get('users'), list):
        return discovery['users']
    error = _task_error(discovery)
    error['code'] = 'DiscoveryFailed'
    return [{'user': user, 'found': False, 'error': error} for user in inputs['offboard_users']]


def offboard_plan(discovery, inputs):
    """Per user discovered by entra_member_of_info: what to remove, per kind, and what to keep, each with its reason."""
    plans = []
    for user in _discovered_users(discovery, inputs):
        plan = dict(_user_identity(user), error=user.get('error'), remove={kind: [] for kind in REMOVAL_ORDER}, kept=[])
        if plan['error'] is None and not user.get('found'):
            plan['error'] = error_dict(404, 'UserNotFound', NOT_FOUND_MESSAGE)
        used = set()
        if plan['error'] is None:
            for kind, entries in _memberships_by_kind(user).items():
                for entry in entries:
                    kept = _kept_record(entry, kind, inputs, used)
                    if kept:
                        plan['kept'].append(kept)
                    else:
                        removal = _target(entry, kind)
                        if kind == 'team':
                            removal['role'] = entry.get('role')
                        plan['remove'][kind].append(removal)
        plan['unmatched_exclusions'] = ['%s: %s' % (option, exclusion) for option in (KINDS[kind].exclusion_option for kind in REMOVAL_ORDER)
                                        for exclusion in inputs[option] if (option, exclusion) not in used]
        plans.append(plan)
    return plans


# ---------------------------------------------------------------------------------------------
# Outcome: module answers -> one report entry per user
# ---------------------------------------------------------------------------------------------

def _task_error(registered):
    message = registered.get('msg') or 'the module returned no result for this membership'
    return error_dict(None, 'ModuleFailed', to_text(message))


def _action(planned, kind, registered):
    """The report line of one planned removal, from the registered result of that kind's module call."""
    line = {'target': {key: planned[key] for key in ('id', 'display_name')}, 'status': 'failed', 'request_id': None, 'error': None}
    line['target']['type'] = kind
    if kind == 'team':
        line['role'] = planned.get('role')
    results = registered.get('results') if isinstance(registered, dict) else None
    answered = {}
    for result in results or []:
        if isinstance(result, dict) and isinstance(result.get('target'), dict):
            answered[(result['target'].get('id') or '').lower()] = result
    result = answered.get((planned.get('id') or '').lower())
    if result is None:
        line['error'] = _task_error(registered if isinstance(registered, dict) else {})
        return line
    line.update(status=result.get('status'), request_id=result.get('request_id'), error=result.get('error'))
    if kind == 'team' and result.get('role'):
        line['role'] = result['role']
    return line


def _is_last_owner_refusal(line):
    return line['status'] == 'failed' and (line.get('error') or {}).get('code') == LAST_OWNER_CODE


def _residual(plan, after, actions, check_mode):
    """What the user still reaches once the removals are done: kept memberships, direct ones left, nested groups."""
    residual = {'as_of': 'before the removals (preview: nothing was removed)' if check_mode else 'after the removals',
                'kept': plan['kept'], 'remaining': [], 'nested_groups': [], 'error': None}
    if after is None:
        residual['error'] = 'no residual discovery for this user'
        return residual
    if after.get('error') or not after.get('found'):
        residual['error'] = (after.get('error') or {}).get('message') or NOT_FOUND_MESSAGE
        return residual
    accounted = {(kept['target']['id'] or '').lower() for kept in plan['kept']}
    failures = {}
    for action in actions:
        if action['status'] == 'failed':
            failures[action['target']['id'].lower()] = action
        elif check_mode:
            accounted.add(action['target']['id'].lower())
    for kind, entries in _memberships_by_kind(after).items():
        for entry in entries:
            entry_id = (entry.get('id') or '').lower()
            if entry_id in accounted:
                continue
            failed = failures.get(entry_id)
            reason = ('the removal failed: %s' % (failed['error'] or {}).get('message') if failed
                      else 'a direct membership the plan did not see (added during the run?)')
            residual['remaining'].append({'target': _target(entry, kind), 'reason': reason})
    residual['nested_groups'] = [{'target': _target(group, 'group'),
                                  'reason': group.get('reason') or 'reached through nested group membership'}
                                 for group in after.get('transitive_groups') or []]
    return residual


def _count(entry):
    summary = dict.fromkeys(('removed', 'absent', 'failed', 'kept', 'unremovable'), 0)
    for action in entry['memberships']:
        summary[action['status']] = summary.get(action['status'], 0) + 1
    summary['kept'] = len(entry['kept'])
    summary['unremovable'] = sum(1 for kept in entry['kept'] if kept['kept_because'] == UNREMOVABLE)
    return summary


def offboard_outcome(plans, removals, after_users=None, check_mode=False):
    """Per user: each planned removal with its status, request id and error; kept entries; residual access."""
    by_user = {}
    for removal in removals or []:
        by_user[removal.get('user')] = removal
    after_by_user = {user.get('user'): user for user in after_users or []}
    entries = []
    for plan in plans:
        entry = dict(_user_identity(plan), error=plan['error'], memberships=[], kept=list(plan['kept']),
                     unmatched_exclusions=plan.get('unmatched_exclusions', []))
        registered = by_user.get(plan['user'], {})
        for kind in REMOVAL_ORDER:
            for planned in plan['remove'][kind]:
                line = _action(planned, kind, registered.get(KINDS[kind].scope) or {})
                if _is_last_owner_refusal(line):
                    target = dict(planned, role=line.get('role'))
                    entry['kept'].append(_kept(target, kind, UNREMOVABLE, LAST_OWNER_REASON))
                else:
                    entry['memberships'].append(line)
        entry['residual'] = _residual(dict(plan, kept=entry['kept']), after_by_user.get(plan['user']), entry['memberships'], check_mode)
        entry['summary'] = _count(entry)
        entry['status'] = 'failed' if entry['error'] or entry['summary']['failed'] else 'done'
        entries.append(entry)
    return entries


# ---------------------------------------------------------------------------------------------
# Report: the outcomes of every host of the run, merged
# ---------------------------------------------------------------------------------------------

def _flatten(outcomes):
    users = []
    for outcome in outcomes:
        if outcome is not None:
            users.extend(outcome if isinstance(outcome, list) else [outcome])
    return users


def offboard_report(outcomes, run):
    """The run's report: ``outcomes`` is a list of offboard_outcome lists (one per host), ``run`` the run's facts."""
    outcomes = list(outcomes or [])
    users = _flatten(outcomes)
    totals = dict.fromkeys(('users', 'users_failed', 'removed', 'absent', 'failed', 'kept', 'unremovable'), 0)
    for user in users:
        totals['users'] += 1
        totals['users_failed'] += user['status'] == 'failed'
        for key in ('removed', 'absent', 'failed', 'kept', 'unremovable'):
            totals[key] += user['summary'].get(key, 0)
    # In inventory mode, a host that stopped before recording its outcome (None) is named, not silently dropped.
    missing_hosts = [host for host, outcome in zip(run.get('hosts') or [], outcomes) if outcome is None]
    totals['failed'] += len(missing_hosts)
    unmatched = None
    for user in users:
        mine = set(user.get('unmatched_exclusions') or [])
        unmatched = mine if unmatched is None else unmatched & mine
    warnings = ['%s matched no membership of any user' % entry for entry in sorted(unmatched or ())]
    warnings += ['host %s stopped before its user was offboarded: see the play output' % host for host in missing_hosts]
    report = {
        'report_kind': REPORT_KIND,
        'report_version': REPORT_VERSION,
        'run_id': run.get('run_id'),
        'started': run.get('started'),
        'finished': run.get('finished'),
        'tenant': run.get('tenant'),
        'cloud': run.get('cloud'),
        'run_by': run.get('run_by'),
        'check_mode': bool(run.get('check_mode')),
        'options': run.get('options') or {},
        'status': 'failed' if totals['users_failed'] or missing_hosts else 'done',
        'summary': totals,
        'warnings': warnings,
        'users': [{key: value for key, value in user.items() if key != 'unmatched_exclusions'} for user in users],
    }
    return report


def offboard_report_name(report):
    """The report's file name without extension; a preview says so in its name."""
    preview = '-' + PREVIEW_FILE_WORD if report.get('check_mode') else ''
    return 'offboard%s-%s' % (preview, report.get('run_id'))


def _name(target):
    return target.get('display_name') or target.get('id') or '?'


def _user_label(user):
    return user.get('user_principal_name') or user.get('user') or user.get('id') or '?'


def offboard_summary(report):
    """A one-screen table of the report for the play output: one line per user, then what failed and what was kept."""
    verb = 'would remove' if report.get('check_mode') else 'removed'
    lines = ['%s run %s (%s): %s' % ('PREVIEW (check mode), nothing changed:' if report.get('check_mode') else 'Offboarding',
                                     report.get('run_id'), report.get('tenant') or 'tenant from the environment', report.get('status')),
             '%-40s %8s %8s %8s %8s  %s' % ('user', verb.split()[-1], 'absent', 'kept', 'failed', 'status')]
    for user in report.get('users', []):
        summary = user['summary']
        counts = (summary['removed'], summary['absent'], summary['kept'], summary['failed'])
        lines.append('%-40s %8d %8d %8d %8d  %s' % ((_user_label(user)[:40],) + counts + (user['status'],)))
    for user in report.get('users', []):
        if user.get('error'):
            lines.append('FAILED %s: %s' % (_user_label(user), user['error'].get('message')))
        for action in user['memberships']:
            if action['status'] == 'failed':
                message = (action.get('error') or {}).get('message')
                lines.append('FAILED %s in %s %s: %s' % (_user_label(user), action['target']['type'], _name(action['target']), message))
        for kept in user['kept']:
            lines.append('kept   %s in %s %s: %s' % (_user_label(user), kept['target']['type'], _name(kept['target']), kept['reason']))
    lines.extend('warning: %s' % warning for warning in report.get('warnings', []))
    return lines


def _md(text):
    return to_text(text if text is not None else '').replace('|', '\\|').replace('\n', ' ')


def offboard_markdown(report):
    """The report as Markdown, for people: run facts, per user what was removed, kept (and why), failed, and still reached."""
    preview = report.get('check_mode')
    out = ['# Offboarding %s%s' % ('PREVIEW ' if preview else '', report.get('run_id')), '']
    if preview:
        out += ['**Preview (check mode): nothing was changed.** Statuses say what a real run would do.', '']
    for label, key in (('Tenant', 'tenant'), ('Cloud', 'cloud'), ('Run by', 'run_by'), ('Started', 'started'),
                       ('Finished', 'finished'), ('Status', 'status')):
        out.append('- %s: %s' % (label, _md(report.get(key))))
    summary = report.get('summary', {})
    users = summary.get('users', 0)
    counts = ['%s %s' % (users, 'user' if users == 1 else 'users')]
    counts += ['%s %s' % (summary.get(key, 0), key) for key in ('removed', 'absent', 'kept', 'failed')]
    out.append('- Totals: %s' % ', '.join(counts))
    out += ['- Warning: %s' % _md(warning) for warning in report.get('warnings', [])]
    for user in report.get('users', []):
        out += ['', '## %s (%s)' % (_md(user.get('display_name') or _user_label(user)), _md(_user_label(user))), '']
        if user.get('error'):
            out += ['**Failed:** %s' % _md(user['error'].get('message')), '']
        if user['memberships']:
            out += ['| type | target | status | role | error | request id |', '|---|---|---|---|---|---|']
            out += ['| %s | %s | %s | %s | %s | %s |' % (a['target']['type'], _md(_name(a['target'])), a['status'], a.get('role') or '',
                                                         _md((a.get('error') or {}).get('message')), a.get('request_id') or '')
                    for a in user['memberships']]
            out.append('')
        residual = user.get('residual') or {}
        still = [(k['target'], '%s: %s' % (k['kept_because'], k['reason'])) for k in user['kept']]
        still += [(r['target'], r['reason']) for r in residual.get('remaining', []) + residual.get('nested_groups', [])]
        if still:
            out += ['Still reached (%s):' % _md(residual.get('as_of', '')), '']
            out += ['- %s %s: %s' % (target['type'], _md(_name(target)), _md(reason)) for target, reason in still]
        if residual.get('error'):
            out.append('- residual access unknown: %s' % _md(residual['error']))
    return '\n'.join(out) + '\n'


# ---------------------------------------------------------------------------------------------
# Restore: a report -> what to add back
# ---------------------------------------------------------------------------------------------

def _load_report(report, source):
    if isinstance(report, (str, bytes)):
        try:
            report = json.loads(to_text(report))
        except ValueError as error:
            raise AnsibleFilterError('restore_report %s is not a JSON offboarding report: %s' % (source, error))
    if not isinstance(report, dict) or report.get('report_kind') != REPORT_KIND:
        raise AnsibleFilterError("restore_report %s is not an offboarding report of entra.membership (report_kind is not '%s')"
                                 % (source, REPORT_KIND))
    if report.get('report_version') != REPORT_VERSION:
        raise AnsibleFilterError('restore_report %s: report_version %r is not supported (this collection reads version %d)'
                                 % (source, report.get('report_version'), REPORT_VERSION))
    if report.get('check_mode'):
        raise AnsibleFilterError('restore_report %s is a PREVIEW (check mode) report: nothing was removed by that run. '
                                 'Restore from the report of the real run.' % source)
    if not isinstance(report.get('users'), list):
        raise AnsibleFilterError("restore_report %s has no 'users' list" % source)
    return report


def offboard_restore_plan(report, source='(given)'):
    """Per user of a real run's report: the groups, units and teams (by role) it was removed from, to add back."""
    report = _load_report(report, source)
    plans = []
    for position, user in enumerate(report['users']):
        if not isinstance(user, dict) or not isinstance(user.get('memberships'), list):
            raise AnsibleFilterError('restore_report %s: users[%d] has no memberships list' % (source, position))
        plan = {'user': _user_label(user), 'id': user.get('id'), 'groups': [], 'administrative_units': [], 'team_owner': [], 'team_member': []}
        for action in user['memberships']:
            target = action.get('target') if isinstance(action, dict) else None
            if not isinstance(target, dict) or not is_object_id(target.get('id') or '') or target.get('type') not in KINDS:
                raise AnsibleFilterError('restore_report %s: a membership of users[%d] has no valid target: %r' % (source, position, action))
            if action.get('status') != 'removed':
                continue
            if not is_object_id(plan['id'] or ''):
                raise AnsibleFilterError('restore_report %s: users[%d] has removed memberships but no object id' % (source, position))
            if target['type'] == 'team':
                plan['team_owner' if action.get('role') == 'owner' else 'team_member'].append(target['id'])
            else:
                plan[KINDS[target['type']].scope].append(target['id'])
        if any(plan[kind] for kind in RESTORE_KINDS):
            plans.append(plan)
    return plans


def offboard_restore_summary(registered_loops, check_mode=False):
    """The restore playbook's outcome from its registered module loops: counts, and one line per failure."""
    counts = {'added': 0, 'present': 0, 'failed': 0}
    failed = []
    for registered in registered_loops or []:
        for call in (registered or {}).get('results') or []:
            if call.get('skipped'):
                continue
            pairs = call.get('results')
            if not isinstance(pairs, list):
                counts['failed'] += 1
                failed.append('%s: %s' % ((call.get('item') or {}).get('user'), to_text(call.get('msg') or 'the module failed')))
                continue
            for pair in pairs:
                counts[pair.get('status')] = counts.get(pair.get('status'), 0) + 1
                if pair.get('status') == 'failed':
                    message = (pair.get('error') or {}).get('message')
                    failed.append('%s in %s %s: %s' % (pair.get('member'), pair['target'].get('type'), _name(pair['target']), message))
    verb = 'would add back' if check_mode else 'added back'
    lines = ['Restore: %d %s, %d already there, %d failed' % (counts['added'], verb, counts['present'], counts['failed'])]
    lines.extend('FAILED %s' % line for line in failed)
    return {'counts': counts, 'failed': failed, 'lines': lines}


class FilterModule:
    """entra.membership's offboarding filters."""

    def filters(self):
        return {
            'offboard_inputs': offboard_inputs,
            'offboard_plan': offboard_plan,
            'offboard_outcome': offboard_outcome,
            'offboard_report': offboard_report,
            'offboard_report_name': offboard_report_name,
            'offboard_summary': offboard_summary,
            'offboard_markdown': offboard_markdown,
            'offboard_restore_plan': offboard_restore_plan,
            'offboard_restore_summary': offboard_restore_summary,
        }
