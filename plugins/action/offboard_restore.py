# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""entra.membership.offboard_restore: what playbooks/restore.yml adds back, and the restore's own report.

Documented in plugins/modules/offboard_restore.py. Runs on the controller (no module is sent).
"""

from __future__ import annotations

import os


from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data
from ansible_collections.entra.membership.plugins.plugin_utils import _report_files as files
from ansible_collections.entra.membership.plugins.plugin_utils._report_action import PhasedReportAction

ARTIFACT_SOURCE = '(the offboard_report artifact)'
RESTORE_REPORT_VERSION = 1

ARGUMENT_SPEC = {
    'phase': {'type': 'str', 'required': True, 'choices': ['plan', 'finish']},
    'reports': {'type': 'raw'},
    'plan': {'type': 'dict'},
    'results': {'type': 'list', 'elements': 'raw'},
    'report_dir': {'type': 'path'},
    'chunk_size': {'type': 'int', 'default': report_data.DEFAULT_CHUNK_SIZE},
}
REQUIRED_IF = [('phase', 'plan', ('reports',)), ('phase', 'finish', ('plan', 'results'))]


def given_reports(reports):
    """The reports as given: a path, a mapping (an AWX artifact), a list of them, or paths one per line (an AWX survey)."""
    if reports is None:
        raise report_data.ReportError('restore_report is required: the path of the JSON report of an offboarding run (or a list of '
                                      'them), e.g. -e restore_report=~/.ansible/entra.membership/reports/offboard-<run id>.json; '
                                      'in an AWX workflow the offboarding job\'s artifact offboard_report does as well')
    if isinstance(reports, (str, dict)):
        reports = [reports]
    if not isinstance(reports, list) or not reports:
        raise report_data.ReportError('restore_report must be the path of an offboarding JSON report, or a list of them, got %r'
                                      % (reports,))
    given = []
    for entry in reports:
        if isinstance(entry, str):
            given.extend(line.strip() for line in entry.splitlines() if line.strip())
        elif isinstance(entry, dict):
            given.append(entry)
        else:
            raise report_data.ReportError('restore_report entries must be paths or reports, got %r' % (entry,))
    return given


class ActionModule(PhasedReportAction):
    """Read offboarding reports into what to add back; write the restore's report."""

    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF

    def _read(self, entry):
        """``(report, path or None)``, validated; a path is relative to where ansible-playbook runs, as on any command line."""
        if isinstance(entry, dict):
            return report_data.load_report(entry, ARTIFACT_SOURCE), None
        path = os.path.abspath(os.path.expanduser(entry))
        source = 'restore_report %s' % entry
        if not os.path.isfile(path):
            raise report_data.ReportError('%s: no such file (restore_report must be the path of the JSON report of an offboarding run, '
                                          'e.g. ~/.ansible/entra.membership/reports/offboard-<run id>.json)' % source)
        try:
            data = files.read_json(path)
        except ValueError as error:
            raise report_data.ReportError('%s is not a JSON offboarding report: %s' % (source, error))
        return report_data.load_report(data, source), path

    def _phase_plan(self, args, _task_vars):
        reports, sources = [], []
        for entry in given_reports(args['reports']):
            report, path = self._read(entry)
            source = path or ARTIFACT_SOURCE
            if report.get('check_mode'):
                raise report_data.ReportError('restore_report %s is a PREVIEW (check mode) report: nothing was removed by that run. '
                                              'Restore from the report of the real run.' % source)
            if files.unfinished_run_alive(report):
                raise report_data.ReportError('restore_report %s: run %s is still going (ansible-playbook pid %s on this host): wait '
                                              'for it to finish, or stop it, then restore'
                                              % (source, report['run_id'], report['controller']['pid']))
            if report.get('status') == report_data.RUNNING and path and not self._task.check_mode:
                with files.directory_lock(os.path.dirname(path)):
                    files.notice_interrupted(path, report, 'restore')
            reports.append(report)
            sources.append({'run_id': report.get('run_id'), 'file': path, 'status': report.get('status')})
        order = sorted(range(len(reports)), key=lambda index: (reports[index].get('started') or '', reports[index].get('run_id') or ''))
        plan = report_data.restore_plan([reports[index] for index in order], args['chunk_size'])
        started = report_data.utc_now()
        first_file = next((source['file'] for source in sources if source['file']), None)
        return dict(plan, sources=[sources[index] for index in order], run_id=files.new_run_id(started),
                    started=report_data.timestamp(started), report_dir=os.path.dirname(first_file) if first_file else None,
                    calls_by_type={kind: [call for call in plan['calls'] if call['type'] == kind] for kind in report_data.RESTORE_ORDER})

    def _phase_finish(self, args, task_vars):
        plan = args['plan']
        check_mode = self._task.check_mode
        summary = report_data.restore_summary(args['results'], check_mode, plan.get('not_restorable'))
        pairs, failed_calls = report_data.restore_results(args['results'])
        users = {user['id'].lower(): {'user': user['user'], 'id': user['id'], 'memberships': []} for user in plan.get('users') or []}
        for pair in pairs:
            user = users.setdefault((pair.get('member_id') or pair.get('member') or '').lower(),
                                    {'user': pair.get('member'), 'id': pair.get('member_id'), 'memberships': []})
            user['memberships'].append({key: pair.get(key) for key in ('target', 'status', 'role', 'request_id', 'error')})
        for failure in failed_calls:
            call = failure['call']
            for entry in call.get('memberships') or []:
                user = users.setdefault(entry['member'].lower(), {'user': entry['member'], 'id': entry['member'], 'memberships': []})
                user['memberships'].append({'target': {'id': entry['target'], 'display_name': None, 'type': call.get('type')},
                                            'status': 'failed', 'role': entry.get('role'), 'request_id': None,
                                            'error': {'status': None, 'code': 'ModuleFailed', 'message': failure['message'],
                                                      'request_id': None}})
        report = {
            'report_kind': report_data.RESTORE_REPORT_KIND,
            'report_version': RESTORE_REPORT_VERSION,
            'run_id': plan.get('run_id'),
            'started': plan.get('started'),
            'finished': report_data.timestamp(report_data.utc_now()),
            'run_by': files.run_by(task_vars),
            'check_mode': check_mode,
            'status': report_data.FAILED if summary['counts']['failed'] else report_data.DONE,
            'restores': plan.get('sources') or [],
            'summary': summary['counts'],
            'failures': summary['failed'],
            'not_restorable': plan.get('not_restorable') or [],
            'users': list(users.values()),
        }
        directory = files.report_directory(args['report_dir'] or plan.get('report_dir') or files.DEFAULT_REPORT_DIR)
        name = 'restore%s-%s.json' % ('-' + report_data.PREVIEW_FILE_WORD if check_mode else '', report['run_id'])
        path = os.path.join(directory, name)
        with files.directory_lock(directory):
            files.write_json(path, report, new=True)
        return {'path': path, 'counts': summary['counts'], 'failures': summary['failed'],
                'lines': summary['lines'] + ['Restore report: %s' % path], 'report': report}
