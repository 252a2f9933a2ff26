#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The documentation of the action plugin of the same name (plugins/action/offboard_report.py), which does the work.

from __future__ import annotations

DOCUMENTATION = r'''
module: offboard_report
short_description: Keep the offboarding report of a run, from before its first write to its end
version_added: 1.1.0
description:
  - The report of the C(entra.membership.offboard) role, kept on the controller as the run goes, so that a run stopped at any
    instant (AWX cancel, timeout, a lost node) leaves a report that names every change it might have made.
    C(playbooks/restore.yml) reads it.
  - Runs on the controller only; talks to no remote host and not to Graph. Every phase is one read-modify-write of the run's
    JSON report under an exclusive lock on the report directory (the forks of an inventory-mode run take turns), written to a
    temporary file in the same directory, flushed to disk and renamed over the report, so the file is whole at every instant.
  - O(phase=start) claims a new report file (C(offboard-<run id>.json), C(offboard-PREVIEW-<run id>.json) in check mode) before
    anything is read, with status C(running); it never overwrites a file. The run id (UTC time and a random suffix) and
    the report's C(run_by) (AWX's C(awx_user_name), else the account running C(ansible-playbook)) come from here.
  - O(phase=plan) puts the whole plan into it before the first write, every planned removal as a line with status C(planned),
    and writes the Markdown twin. It continues earlier runs for the same users that did not finish (see O(phase)), and refuses
    (before any write) an exclusion entry that matched nothing, unless O(allow_unmatched_exclusions).
  - O(phase=record) replaces the lines one module call answered with that call's statuses, and prints the progress.
  - O(phase=finish) ends the run, C(done) or C(failed), with totals, time taken and the Markdown twin.
  - Used by the C(entra.membership.offboard) role; see the collection's C(docs/offboarding.md).
author:
  - Contributors to the entra.membership collection (@entra)
options:
  phase:
    description:
      - V(start), V(plan), V(record) or V(finish), in that order; V(record) once per module call.
      - V(plan) looks in the report directory for reports of earlier runs with status C(running) or C(interrupted) that share
        users with this run and that no other run continues yet. A C(running) one whose C(ansible-playbook) is still running on
        this host stops this run (before any write); otherwise it is marked C(interrupted) and continued, its planned and
        confirmed removals carried into this report (C(carried)), its run id in RV(continues).
    type: str
    required: true
    choices: [start, plan, record, finish]
  report_dir:
    description:
      - O(phase=start) only. Where the report goes; created (mode C(0750)) if missing; an existing directory keeps its mode.
    type: path
    default: ~/.ansible/entra.membership/reports
  users:
    description: O(phase=start) only. The users of the run, as given.
    type: list
    elements: str
  options:
    description: O(phase=start) only. The options of the run, recorded in the report.
    type: dict
    default: {}
  path:
    description: The report file, RV(path) of O(phase=start). Required but for O(phase=start).
    type: path
  plans:
    description:
      - O(phase=plan) only. The plans made by P(entra.membership.offboard_plan#filter), one list per host of O(hosts) (inventory
        mode), or the one host's list.
    type: list
    elements: raw
  hosts:
    description: O(phase=plan) only. The hosts whose plans O(plans) holds, in order; RV(work) is keyed by them.
    type: list
    elements: str
  discovery:
    description: O(phase=plan) only. The registered results of M(entra.membership.entra_member_of_info) (tenant, cloud, Graph statistics).
    type: list
    elements: raw
    default: []
  chunk_size:
    description: O(phase=plan) only. At most this many memberships per module call in RV(work).
    type: int
    default: 1200
  allow_unmatched_exclusions:
    description:
      - O(phase=plan) only. An exclusion entry that matched no membership of any user fails the run before any write; V(true)
        makes it a warning. In check mode it is always a warning.
    type: bool
    default: false
  step:
    description:
      - O(phase=record) only. What O(result) answers, V(team), V(group), V(administrative_unit) (a member module's call),
        V(account), V(group_owner), V(app_role), V(directory_role), V(license) (the module of that scope), V(residual) (the
        residual M(entra.membership.entra_member_of_info)), or V(kept_access) (the access outside the scopes, O(kinds)).
    type: str
    choices: [account, group_owner, team, group, app_role, directory_role, administrative_unit, license, residual, kept_access]
  result:
    description: O(phase=record) only. The registered result of that module call.
    type: raw
  chunk:
    description: O(phase=record) only. The entry of RV(work) the call was made for (its C(memberships) are the lines it answers).
    type: dict
  prediction:
    description:
      - O(phase=record) with O(step=group_owner) only. O(result) is the owners' module run in check mode before the real call;
        the substitute owners it will add go on record as C(planned) lines, so a run stopped during the step names them.
    type: bool
    default: false
  kinds:
    description: O(phase=record) with O(step=kept_access) only. The include kinds that O(result) read.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - entra.membership.report_action
attributes:
  check_mode:
    details:
      - Writes a preview report (C(offboard-PREVIEW-<run id>.json)), which restore refuses and no later run continues; earlier
        reports are never marked.
notes:
  - Never reports C(changed), as the report is no change to the tenant, so a re-run with nothing to do shows C(changed=0).
  - A report holds no secret and no token, only what the modules return.
'''

EXAMPLES = r'''
- name: Start the report
  entra.membership.offboard_report:
    phase: start
    report_dir: /srv/offboarding/reports
    users: [leaver@contoso.com]
  register: journal

- name: Put the plan on record before the first write
  entra.membership.offboard_report:
    phase: plan
    path: "{{ journal.path }}"
    plans: "{{ plan }}"              # from the entra.membership.offboard_plan filter
  register: planned

- name: Record a module call's answer
  entra.membership.offboard_report:
    phase: record
    path: "{{ journal.path }}"
    step: group
    chunk: "{{ planned.work.localhost[1] }}"
    result: "{{ removal }}"          # the registered entra_group_member result

- name: Finish
  entra.membership.offboard_report:
    phase: finish
    path: "{{ journal.path }}"
  register: final
'''

RETURN = r'''
path:
  description: The JSON report file (its Markdown twin has the same name ending in C(.md)).
  returned: always
  type: str
  sample: /home/admin/.ansible/entra.membership/reports/offboard-20261123T090512Z-3fa2c1.json
run_id:
  description: The run's id, the UTC time it started and a random suffix.
  returned: O(phase=start), O(phase=plan), O(phase=finish)
  type: str
  sample: 20261123T090512Z-3fa2c1
report_dir:
  description: The report directory, absolute.
  returned: O(phase=start)
  type: str
include:
  description: The M(entra.membership.entra_member_of_info) include kinds the discovery needs for the run's scopes.
  returned: O(phase=start)
  type: list
  elements: str
kept_access_include:
  description: The include kinds outside the run's scopes, read at the end for the access the users keep.
  returned: O(phase=start)
  type: list
  elements: str
work:
  description:
    - The module calls to make, per host, in removal order (account, group_owner, team, group, app_role, directory_role,
      administrative_unit, license), each C({kind, module, memberships, label}), C(memberships) being the member module's
      option, every user of the host together, at most O(chunk_size) a call. The kinds beyond memberships also have C(users)
      and C(targets), the options of their modules.
  returned: O(phase=plan)
  type: dict
continues:
  description: The earlier unfinished runs this one continues, each C({run_id, file, status}).
  returned: O(phase=plan)
  type: list
  elements: dict
report:
  description: The report as written (see C(docs/offboarding.md) for every field).
  returned: O(phase=plan), O(phase=finish)
  type: dict
done:
  description: Memberships of this kind answered so far in the run.
  returned: O(phase=record) of a member module's call
  type: int
total:
  description: Memberships of this kind the run plans.
  returned: O(phase=record) of a member module's call
  type: int
status:
  description: The run's status, C(done) or C(failed).
  returned: O(phase=finish)
  type: str
lines:
  description: The one-screen summary for the play output.
  returned: O(phase=finish)
  type: list
  elements: str
markdown_path:
  description: The Markdown twin of the report.
  returned: O(phase=finish)
  type: str
failed_users:
  description: The users (as given) whose offboarding failed.
  returned: O(phase=finish)
  type: list
  elements: str
unremovable:
  description: Per user (as given), the display names of the memberships kept because Graph does not let an application change them.
  returned: O(phase=finish)
  type: dict
'''
