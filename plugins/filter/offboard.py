# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The data shaping of the ``entra.membership.offboard`` role and ``playbooks/restore.yml``.

Pure functions, so the role's tasks stay a readable list of module calls and each decision
(what is kept and why, how a module answer becomes a report line, what a restore re-adds) is
unit-tested on its own. The role reads its inputs and plans with these filters; the report
itself is kept by the ``entra.membership.offboard_report`` action plugin, on the same functions
(plugins/plugin_utils/_offboard_report.py) that the report filters of 1.0 use here. Each filter
is documented in the YAML file of its name next to this one (``ansible-doc -t filter entra.membership.<name>``).
"""

from __future__ import annotations

import fnmatch
import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id
from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data

LIST_OPTIONS = ('offboard_users', 'offboard_exclude_groups', 'offboard_exclude_administrative_units', 'offboard_exclude_teams',
                'offboard_include_patterns', 'offboard_scopes', 'offboard_substitute_owners')
SCOPES = tuple(kind.scope for kind in report_data.STEP_KINDS.values() if kind.scope)
# The scopes of 1.0, still the default: memberships only. The others (the account, ownership, roles, apps,
# licenses) are turned on by name; what they cover is then reported as access the user keeps.
DEFAULT_SCOPES = tuple(report_data.STEP_KINDS[kind].scope for kind in report_data.MEMBERSHIP_KINDS)
PATTERN_CHARACTERS = frozenset('*?[')
LAST_OWNER_REASON = report_data.LAST_OWNER_REASON


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
        raise ValueError('%s must be a list or a newline-separated string, got %s: %r' % (option, type(value).__name__, value))
    entries = []
    for entry in value:
        if not isinstance(entry, str):
            raise ValueError('%s: every entry must be a string, got %r' % (option, entry))
        entry = entry.strip()
        if entry and entry not in entries:
            entries.append(entry)
    return entries


def read_inputs(raw):
    """``(inputs, problems)``: the role's list options as clean lists, and every problem with them, each naming option and value."""
    if not isinstance(raw, dict):
        return None, ['offboard_inputs expects a dict of the role options, got %r' % (raw,)]
    inputs, problems, unreadable = {}, [], set()
    for option in LIST_OPTIONS:
        try:
            inputs[option] = split_entries(raw.get(option), option)
        except ValueError as error:
            inputs[option] = []
            unreadable.add(option)
            problems.append(str(error))
    if not inputs['offboard_users'] and 'offboard_users' not in unreadable:
        problems.append('offboard_users is required: give at least one user principal name or object id, got %r' % (raw.get('offboard_users'),))
    if raw.get('offboard_scopes') is None:
        inputs['offboard_scopes'] = list(DEFAULT_SCOPES)
    unknown = [scope for scope in inputs['offboard_scopes'] if scope not in SCOPES]
    if 'offboard_scopes' not in unreadable and (unknown or not inputs['offboard_scopes']):
        problems.append('offboard_scopes must be one or more of %s, got %r' % (', '.join(SCOPES), raw.get('offboard_scopes')))
    chunk_size = raw.get('offboard_chunk_size', report_data.DEFAULT_CHUNK_SIZE)
    # -e offboard_chunk_size=40 gives the text '40': Ansible's argument validation takes it as the number.
    if isinstance(chunk_size, bool) or not str(chunk_size).strip().isdigit() or int(chunk_size) < 1:
        problems.append('offboard_chunk_size must be a whole number of memberships, at least 1, got %r' % (chunk_size,))
    return inputs, problems


def offboard_input_problems(raw):
    """Every problem with the role's inputs (an empty list when there is none), for an assert that shows only the cause."""
    return read_inputs(raw)[1]


def offboard_inputs(raw):
    """The role's list options as clean lists; ``raw`` maps option names to what the caller gave."""
    inputs, problems = read_inputs(raw)
    if problems:
        raise AnsibleFilterError('; '.join(problems))
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


def _kept_record(entry, kind, inputs, used):
    """The kept record of a membership (or role, app, ...), with the reason to keep it; None when it is to be removed.

    Exclusions and include patterns choose among memberships; the other kinds go by offboard_scopes alone.
    """
    step = report_data.STEP_KINDS[kind]
    if step.scope not in inputs['offboard_scopes']:
        return report_data.kept_record(entry, kind, report_data.OUT_OF_SCOPE, '%s not in offboard_scopes' % step.scope)
    for exclusion in inputs[step.exclusion_option] if step.exclusion_option else ():
        if _matches(exclusion, entry):
            used.add((step.exclusion_option, exclusion))
            return report_data.kept_record(entry, kind, report_data.EXCLUDED, "matches %s entry '%s'" % (step.exclusion_option, exclusion))
    patterns = inputs['offboard_include_patterns']
    if step.membership and patterns and not any(_matches(pattern, entry) for pattern in patterns):
        return report_data.kept_record(entry, kind, report_data.NOT_INCLUDED, 'matches none of offboard_include_patterns')
    if entry.get('reason_code') == report_data.HELD_THROUGH_GROUP_CODE:
        return report_data.kept_record(entry, kind, report_data.THROUGH_GROUP, entry.get('reason'))
    if entry.get('removable') is False and entry.get('reason_code') not in STEP_GUARDS.get(kind, ()):
        return report_data.kept_record(entry, kind, report_data.UNREMOVABLE,
                                       entry.get('reason') or 'Graph does not let an application change this membership')
    return None


# Refusals discovery foresees that the role's own step settles: a privileged account can be disabled once its
# roles go in the same run (or with offboard_disable_privileged); otherwise the module's refusal fails the user.
STEP_GUARDS = {'account': ('PrivilegedAccount',)}


def _task_error(registered):
    message = registered.get('msg') or report_data.NO_ANSWER_MESSAGE
    return error_dict(None, 'ModuleFailed', to_text(message))


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
        plan = {'user': user.get('user'), 'id': user.get('id'), 'user_principal_name': user.get('user_principal_name'),
                'display_name': user.get('display_name'), 'error': user.get('error'),
                'remove': {kind: [] for kind in report_data.REMOVAL_ORDER}, 'kept': []}
        if plan['error'] is None and not user.get('found'):
            plan['error'] = error_dict(404, 'UserNotFound', report_data.NOT_FOUND_MESSAGE)
        used = set()
        if plan['error'] is None:
            for kind, entries in report_data.access_by_kind(user).items():
                for entry in entries:
                    kept = _kept_record(entry, kind, inputs, used)
                    if kept:
                        plan['kept'].append(kept)
                    else:
                        removal = {'id': entry.get('id'), 'display_name': entry.get('display_name'), 'type': kind}
                        removal.update((field, entry.get(field)) for field in report_data.STEP_KINDS[kind].recorded)
                        plan['remove'][kind].append(removal)
        plan['unmatched_exclusions'] = ['%s: %s' % (step.exclusion_option, exclusion) for step in report_data.STEP_KINDS.values()
                                        if step.exclusion_option
                                        for exclusion in inputs[step.exclusion_option] if (step.exclusion_option, exclusion) not in used]
        plans.append(plan)
    return plans


# ---------------------------------------------------------------------------------------------
# The report filters of 1.0, on the report model the action plugins keep
# ---------------------------------------------------------------------------------------------

def offboard_outcome(plans, removals, after_users=None, check_mode=False):
    """Per user: each planned removal with its status, request id and error; kept entries; residual access.

    ``removals``: per user, ``{user, teams, groups, administrative_units}`` of the registered module calls.
    """
    by_user = {removal.get('user'): removal for removal in removals or []}
    entries = []
    for plan in plans:
        scratch = {'check_mode': check_mode, 'users': [report_data.user_entry(plan)], 'stats': {}}
        entry = scratch['users'][0]
        registered = by_user.get(plan['user'], {})
        for kind in report_data.REMOVAL_ORDER:
            pairs = [(plan.get('id'), line['target']['id']) for line in entry['memberships'] if line['target']['type'] == kind]
            answer = registered.get(report_data.STEP_KINDS[kind].scope) or {}
            if pairs:
                report_data.record_step(scratch, kind, pairs, {} if answer.get('skipped') else answer)
        if after_users is not None:
            report_data.record_residual(scratch, after_users)
        report_data.finish_report(scratch, None)
        entry['unmatched_exclusions'] = plan.get('unmatched_exclusions', [])
        entries.append(entry)
    return entries


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
    report = report_data.new_report(dict(run, users=[]))
    report['users'] = [{key: value for key, value in user.items() if key != 'unmatched_exclusions'} for user in users]
    report.update(tenant=run.get('tenant'), cloud=run.get('cloud'), started=run.get('started'))
    # In inventory mode, a host that stopped before recording its outcome (None) is named, not silently dropped.
    missing_hosts = [host for host, outcome in zip(run.get('hosts') or [], outcomes) if outcome is None]
    report_data.finish_report(report, run.get('finished'), report_data.unmatched_exclusions(users))
    report['warnings'] += ['host %s stopped before its user was offboarded: see the play output' % host for host in missing_hosts]
    if missing_hosts:
        report['status'] = report_data.FAILED
        report['summary']['failed'] += len(missing_hosts)
    return report


def offboard_report_name(report):
    """The report's file name without extension; a preview says so in its name."""
    return report_data.report_name(report)


def offboard_summary(report):
    """A one-screen table of the report for the play output: one line per user, then what failed and what was kept."""
    return report_data.summary_lines(report)


def offboard_markdown(report):
    """The report as Markdown, for people."""
    return report_data.markdown(report)


def offboard_restore_plan(report, source='(given)'):
    """Per user of a real run's report: the groups, units and teams (by role) to add back (removed, or maybe removed)."""
    source = 'restore_report %s' % source
    if isinstance(report, (str, bytes)):
        try:
            report = json.loads(to_text(report))
        except ValueError as error:
            raise AnsibleFilterError('%s is not a JSON offboarding report: %s' % (source, error))
    try:
        report = report_data.load_report(report, source)
    except report_data.ReportError as error:
        raise AnsibleFilterError(str(error))
    if report.get('check_mode'):
        raise AnsibleFilterError('%s is a PREVIEW (check mode) report: nothing was removed by that run. '
                                 'Restore from the report of the real run.' % source)
    plans = {}
    result = report_data.restore_plan([report])
    labels = {user['id'].lower(): user['user'] for user in result['users']}
    for call in result['calls']:
        # The 1.0 filter's answer has memberships only; restore.yml puts back the other kinds (ownership, roles, ...).
        for entry in call.get('memberships') or []:
            plan = plans.setdefault(entry['member'].lower(), {'user': labels[entry['member'].lower()], 'id': entry['member'], 'groups': [],
                                                              'administrative_units': [], 'team_owner': [], 'team_member': []})
            key = 'team_' + entry['role'] if call['type'] == 'team' else report_data.STEP_KINDS[call['type']].scope
            plan[key].append(entry['target'])
    return list(plans.values())


def offboard_restore_summary(registered_loops, check_mode=False):
    """The restore playbook's outcome from its registered module loops: counts, and one line per failure."""
    return report_data.restore_summary(registered_loops, check_mode)


class FilterModule:
    """entra.membership's offboarding filters."""

    def filters(self):
        return {
            'offboard_inputs': offboard_inputs,
            'offboard_input_problems': offboard_input_problems,
            'offboard_plan': offboard_plan,
            'offboard_outcome': offboard_outcome,
            'offboard_report': offboard_report,
            'offboard_report_name': offboard_report_name,
            'offboard_summary': offboard_summary,
            'offboard_markdown': offboard_markdown,
            'offboard_restore_plan': offboard_restore_plan,
            'offboard_restore_summary': offboard_restore_summary,
        }
