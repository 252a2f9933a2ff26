# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""entra.membership.offboard_report: the offboarding run's report, kept on the controller as the run goes.

Documented in plugins/modules/offboard_report.py. Runs on the controller (no module is sent);
each phase is one locked read-modify-write of the run's JSON report (plugin_utils/_report_files.py).
"""

from __future__ import annotations

import os

from ansible.utils.display import Display

from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data
from ansible_collections.entra.membership.plugins.plugin_utils import _report_files as files
from ansible_collections.entra.membership.plugins.plugin_utils._report_action import PhasedReportAction

display = Display()

PHASES = ('start', 'plan', 'record', 'finish')
STEPS = report_data.STEP_ORDER + (report_data.RESIDUAL_STEP, report_data.KEPT_ACCESS_STEP)
UNMATCHED_HINT = ('nothing was changed. Correct the entry (names and patterns match the display names of the users\' memberships, '
                  'ignoring case), or set offboard_allow_unmatched_exclusions: true to run anyway')

ARGUMENT_SPEC = {
    'phase': {'type': 'str', 'required': True, 'choices': list(PHASES)},
    'report_dir': {'type': 'path', 'default': files.DEFAULT_REPORT_DIR},
    'users': {'type': 'list', 'elements': 'str'},
    'options': {'type': 'dict', 'default': {}},
    'path': {'type': 'path'},
    'plans': {'type': 'list', 'elements': 'raw'},
    'hosts': {'type': 'list', 'elements': 'str'},
    'discovery': {'type': 'list', 'elements': 'raw', 'default': []},
    'chunk_size': {'type': 'int', 'default': report_data.DEFAULT_CHUNK_SIZE},
    'allow_unmatched_exclusions': {'type': 'bool', 'default': False},
    'step': {'type': 'str', 'choices': list(STEPS)},
    'result': {'type': 'raw'},
    'chunk': {'type': 'dict'},
    'prediction': {'type': 'bool', 'default': False},
    'kinds': {'type': 'list', 'elements': 'str', 'default': []},
}
REQUIRED_IF = [('phase', 'start', ('users',)), ('phase', 'plan', ('path', 'plans')),
               ('phase', 'record', ('path', 'step', 'result')), ('phase', 'finish', ('path',))]


class ActionModule(PhasedReportAction):
    """Write the offboarding report before the first write, update it after every module call, finish it."""

    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF

    # -------------------------------------------------------------------------------------------
    def _phase_start(self, args, task_vars):
        """Claim a new report file before anything is read: a run stopped even during discovery leaves one."""
        directory = files.report_directory(args['report_dir'])
        started = report_data.utc_now()
        # The action runs in a process forked from ansible-playbook's: its parent is the run.
        run = {'started': report_data.timestamp(started), 'run_by': files.run_by(task_vars), 'check_mode': self._task.check_mode,
               'options': args['options'], 'users': args['users'], 'controller': files.process_identity(os.getppid())}
        with files.directory_lock(directory):
            while True:
                report = report_data.new_report(dict(run, run_id=files.new_run_id(started)))
                path = files.report_file(directory)(report)
                try:
                    files.write_json(path, report, new=True)
                    break
                except FileExistsError:
                    continue
        scopes = args['options'].get('offboard_scopes') or []
        return {'run_id': report['run_id'], 'path': path, 'report_dir': directory, 'include': report_data.include_kinds(scopes),
                'kept_access_include': report_data.kept_access_kinds(scopes)}

    # -------------------------------------------------------------------------------------------
    def _phase_plan(self, args, _task_vars):
        """The whole plan on record before the first write; earlier unfinished runs for these users continued; typos stopped."""
        path = args['path']
        directory = os.path.dirname(path)
        plans_by_host = self._plans_by_host(args['plans'], args['hosts'])
        plans = [plan for host_plans in plans_by_host.values() for plan in host_plans]
        discovery = [answer for answer in args['discovery'] if isinstance(answer, dict)]
        first = discovery[0] if discovery else {}
        unmatched = report_data.unmatched_exclusions(plans)
        warnings = []
        with files.directory_lock(directory):
            report = files.read_json(path)
            report_data.set_plan(report, plans, tenant=first.get('tenant_id'), cloud=first.get('cloud'))
            for answer in discovery:
                report_data.add_stats(report, answer.get('graph_stats'))
            earlier, already_continued, problems = self._earlier_reports(directory, report)
            warnings += problems
            continued = [earlier_report for earlier_report in earlier
                         if earlier_report['run_id'] not in already_continued and self._continues(earlier_report, report)]
            alive = [earlier_report for earlier_report in continued if files.unfinished_run_alive(earlier_report)]
            if alive:
                return self._refuse(path, report, 'run %s (ansible-playbook pid %s on this host) is still offboarding %s: wait for it '
                                    'to finish, or stop it, then run again; nothing was changed'
                                    % (alive[0]['run_id'], alive[0]['controller']['pid'], self._shared_users(alive[0], report)))
            if unmatched:
                problem = '; '.join('%s matched no membership of any user' % entry for entry in unmatched)
                if not (report['check_mode'] or args['allow_unmatched_exclusions']):
                    return self._refuse(path, report, '%s: %s' % (problem, UNMATCHED_HINT))
                warnings.append(problem)
            if not report['check_mode']:
                for earlier_report in continued:
                    if earlier_report['status'] == report_data.RUNNING:
                        files.notice_interrupted(files.report_file(directory)(earlier_report), earlier_report, report['run_id'])
            report_data.carry_forward(report, continued, files.report_file(directory))
            report_data.note_earlier_reports(report, earlier, files.report_file(directory))
            report['warnings'] = report.get('warnings', []) + warnings
            report_data.summarize(report)
            report['updated'] = report_data.timestamp(report_data.utc_now())
            files.write_json(path, report)
            files.write_markdown(path, report)
        work = {host: self._work(host_plans, args['chunk_size']) for host, host_plans in plans_by_host.items()}
        return {'path': path, 'run_id': report['run_id'], 'report': report, 'work': work, 'warnings': warnings,
                'continues': report['continues']}

    @staticmethod
    def _plans_by_host(plans, hosts):
        """``plans`` is one plan list per host (inventory mode) or the plans of the one host; ``hosts`` names them in order."""
        if plans and all(isinstance(plan, dict) for plan in plans):
            plans = [plans]
        hosts = hosts or ['localhost']
        if len(hosts) != len(plans):
            raise ValueError('plans holds %d plan lists for %d hosts' % (len(plans), len(hosts)))
        return {host: [plan for plan in host_plans or [] if isinstance(plan, dict)] for host, host_plans in zip(hosts, plans)}

    @staticmethod
    def _earlier_reports(directory, report):
        """The real runs' reports in the directory but this one (oldest first), without those a restore has undone; and the
        run ids another run already continues (each unfinished run is continued once: later runs carry it on from there)."""
        found, problems = files.reports_in(directory, files.OFFBOARD_REPORTS)
        restored, restore_problems = files.reports_in(directory, files.RESTORE_REPORTS)
        undone = {source.get('run_id') for _path, data in restored if isinstance(data, dict) for source in data.get('restores') or []}
        earlier, continued = [], set()
        for path, data in found:
            try:
                data = report_data.load_report(data, path)
            except report_data.ReportError as error:
                problems.append(str(error))
                continue
            if data['run_id'] == report['run_id'] or data['run_id'] in undone:
                continue
            earlier.append(data)
            continued.update(entry.get('run_id') for entry in data.get('continues') or [] if isinstance(entry, dict))
        return earlier, continued, problems + restore_problems

    @staticmethod
    def _continues(earlier, report):
        """An earlier unfinished run that no other run has continued, for at least one of this run's users."""
        if earlier.get('status') not in report_data.UNFINISHED or earlier.get('check_mode'):
            return False
        return bool(ActionModule._shared_users(earlier, report))

    @staticmethod
    def _shared_users(earlier, report):
        return ', '.join(report_data.user_label(user) for user in earlier.get('users') or []
                         if any(report_data.same_user(user, mine) for mine in report['users']))

    @staticmethod
    def _refuse(path, report, message):
        report['status'] = report_data.FAILED
        report['stage'] = 'refused'
        report['warnings'] = report.get('warnings', []) + [message]
        report['finished'] = report['updated'] = report_data.timestamp(report_data.utc_now())
        for user in report['users']:
            user['status'] = report_data.FAILED
            user['memberships'] = []  # nothing was sent: no line may claim a removal could have happened
        files.write_json(path, report)
        files.write_markdown(path, report)
        return {'failed': True, 'msg': message, 'path': path}

    @staticmethod
    def _work(plans, chunk_size):
        """The host's module calls in removal order: per kind, every user's changes together, at most ``chunk_size`` a call.

        A membership call is ``memberships`` pairs; the other modules take ``users`` and ``targets`` and act on every
        pair of them, which touches nothing unplanned: what a user holds of those targets is in its plan unless the
        module would refuse it too (held through a group, the last Global Administrator).
        """
        calls = []
        for kind in report_data.STEP_ORDER:
            step = report_data.STEP_KINDS[kind]
            entries = [(plan, target) for plan in plans if not plan.get('error') for target in (plan.get('remove') or {}).get(kind) or []]
            chunks = report_data.chunked(entries, chunk_size)
            what = 'memberships' if step.membership else 'changes'
            for number, chunk in enumerate(chunks, start=1):
                users = list(dict.fromkeys(report_data.user_label(plan) for plan, _target in chunk))
                whose = users[0] if len(users) == 1 else '%d users' % len(users)
                call = {'kind': kind, 'module': step.module,
                        'memberships': [{'target': target['id'], 'member': plan['id']} for plan, target in chunk],
                        'label': '%s %d/%d: %d %s of %s' % (step.scope, number, len(chunks), len(chunk), what, whose)}
                if not step.membership:
                    call['users'] = list(dict.fromkeys(plan['id'] for plan, _target in chunk))
                    call['targets'] = list(dict.fromkeys(target['id'] for _plan, target in chunk))
                calls.append(call)
        return calls

    # -------------------------------------------------------------------------------------------
    def _phase_record(self, args, _task_vars):
        """One module call's answer into the report, rewritten at once: what it confirms is on record before the next write."""
        path = args['path']
        with files.directory_lock(os.path.dirname(path)):
            report = files.read_json(path)
            answer = args['result'] if isinstance(args['result'], dict) else {}
            progress = None
            if args['step'] == report_data.RESIDUAL_STEP:
                report_data.record_residual(report, answer.get('users') or [])
                report_data.add_stats(report, answer.get('graph_stats'))
                report['stage'] = 'residual'
            elif args['step'] == report_data.KEPT_ACCESS_STEP:
                report_data.record_kept_access(report, args['kinds'], answer.get('users') or [], answer.get('msg'))
                report_data.add_stats(report, answer.get('graph_stats'))
            elif args['prediction']:
                report_data.record_prediction(report, args['step'], args['result'])
            else:
                pairs = [(entry['member'], entry['target']) for entry in (args['chunk'] or {}).get('memberships') or []]
                progress = report_data.record_step(report, args['step'], pairs, args['result'])
            report_data.summarize(report)
            report['updated'] = report_data.timestamp(report_data.utc_now())
            files.write_json(path, report)
        if progress is None:
            return {'path': path}
        done, total = progress
        scope = report_data.STEP_KINDS[args['step']].scope
        what = 'memberships' if report_data.STEP_KINDS[args['step']].membership else 'changes'
        message = '%s: %d/%d %s done%s' % (scope, done, total, what, ' (preview)' if report['check_mode'] else '')
        display.display('%s (%s)' % (message, (args['chunk'] or {}).get('label', '')))
        return {'path': path, 'done': done, 'total': total, 'msg': message}

    # -------------------------------------------------------------------------------------------
    def _phase_finish(self, args, _task_vars):
        """The run's end: statuses, totals, time taken, the Markdown; returns what the play shows and asserts on."""
        path = args['path']
        with files.directory_lock(os.path.dirname(path)):
            report = files.read_json(path)
            if report['status'] in report_data.UNFINISHED:
                report_data.finish_report(report, report_data.timestamp(report_data.utc_now()))
                files.write_json(path, report)
                files.write_markdown(path, report)
        unremovable = {user['user']: [report_data.target_name(kept['target']) for kept in user['kept']
                                      if kept['kept_because'] == report_data.UNREMOVABLE]
                       for user in report['users']}
        return {'path': path, 'markdown_path': path[:-len('.json')] + '.md', 'run_id': report['run_id'], 'status': report['status'],
                'report': report, 'lines': report_data.summary_lines(report, path),
                'failed_users': [user['user'] for user in report['users'] if user['status'] == report_data.FAILED],
                'unremovable': unremovable}
