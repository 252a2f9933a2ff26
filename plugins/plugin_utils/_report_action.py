# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the report's action plugins share: one phase per task, on the controller, never ``changed``.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data


class PhasedReportAction(ActionBase):
    """Runs ``_phase_<phase>(args, task_vars)`` after checking the task's arguments; a report problem fails the task by its message."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True  # check mode writes a PREVIEW report: the preview is the point of check mode
    ARGUMENT_SPEC: dict = {}
    REQUIRED_IF: list = []

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC, required_if=self.REQUIRED_IF)
        result['changed'] = False  # a report is no change to the tenant: a re-run must show changed=0
        try:
            result.update(getattr(self, '_phase_' + args['phase'])(args, task_vars))
        except report_data.ReportError as error:
            result.update(failed=True, msg=str(error))
        except (OSError, ValueError) as error:
            result.update(failed=True, msg='%s (%s): %s' % (self._task.action, args['phase'], error))
        return result
