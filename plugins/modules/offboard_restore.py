#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The documentation of the action plugin of the same name (plugins/action/offboard_restore.py), which does the work.

from __future__ import annotations

DOCUMENTATION = r'''
module: offboard_restore
short_description: Read offboarding reports into what to add back, and write the restore's report
version_added: 1.1.0
description:
  - The reading and the report of C(playbooks/restore.yml). Runs on the controller only; talks to no remote host and not to Graph.
  - O(phase=plan) reads one or more offboarding reports (files, or the report itself as AWX passes the C(offboard_report)
    artifact) and returns the module calls that put back every membership they say was removed, or may have been, that is lines
    C(removed), C(planned) (the run stopped before their call answered) and C(failed) without a definitive answer from Graph,
    carried lines included, once per user and target, teams with the role the user had. Reports of runs that did not finish
    are accepted; one whose C(ansible-playbook) still runs on this host is refused, and a C(running) one is marked
    C(interrupted).
  - It refuses, naming the source, anything that is not an C(entra.membership.offboard) report of a version it reads, a preview
    (check mode) report, and entries without valid object ids.
  - O(phase=finish) writes the restore's own JSON report (C(restore-<run id>.json)) with what was added back, what was already
    there and what failed, and returns the summary.
  - See the collection's C(docs/offboarding.md), "Restore".
author:
  - Contributors to the entra.membership collection (@entra)
options:
  phase:
    description: V(plan), then the module calls, then V(finish).
    type: str
    required: true
    choices: [plan, finish]
  reports:
    description:
      - O(phase=plan) only. A report file's path, a report (a dict), or a list of them (for example the reports of every slice of
        an AWX sliced job). A string with several lines is one path per line.
      - A relative path is relative to the directory C(ansible-playbook) runs in.
    type: raw
  plan:
    description: O(phase=finish) only. The registered result of O(phase=plan).
    type: dict
  results:
    description: O(phase=finish) only. The registered results of the module loops that added the memberships back.
    type: list
    elements: raw
  chunk_size:
    description:
      - O(phase=plan) only. At most this many memberships per module call in RV(calls) (C(restore_chunk_size) in
        C(playbooks/restore.yml)); the default is about a minute of Graph's write budget for one application in one tenant.
    type: int
    default: 1200
  report_dir:
    description:
      - O(phase=finish) only. Where the restore's report goes; by default next to the first report file given, or
        C(~/.ansible/entra.membership/reports) when the reports came as data.
    type: path
extends_documentation_fragment:
  - entra.membership.report_action
attributes:
  check_mode:
    details: Reads as usual; O(phase=finish) writes a preview restore report (C(restore-PREVIEW-<run id>.json)), and no report is marked.
'''

EXAMPLES = r'''
- name: Read what to add back
  entra.membership.offboard_restore:
    phase: plan
    reports:
      - /srv/offboarding/reports/offboard-20261123T090512Z-3fa2c1.json
      - /srv/offboarding/reports/offboard-20261123T090514Z-9b0c3d.json
  register: restore_plan

- name: Add each user back to its groups
  entra.membership.entra_group_member:
    groups: "{{ item.targets }}"
    members: ["{{ item.id }}"]
    state: present
  loop: "{{ restore_plan.calls_by_type.group }}"
  register: groups_back

- name: Write the restore's report
  entra.membership.offboard_restore:
    phase: finish
    plan: "{{ restore_plan }}"
    results: ["{{ groups_back }}"]
'''

RETURN = r'''
calls:
  description:
    - The module calls, in restore order (administrative units, groups, teams), each C({type, memberships, label}).
    - C(memberships) are the entries of the member modules' option, C({target, member}) plus what puts each back as it was
      (teams, C(role)), every user together, at most O(chunk_size) a call.
  returned: O(phase=plan)
  type: list
  elements: dict
calls_by_type:
  description: RV(calls) by target type, C(administrative_unit), C(group), C(team).
  returned: O(phase=plan)
  type: dict
memberships:
  description: How many memberships the calls put back.
  returned: O(phase=plan)
  type: int
sources:
  description: The reports read, oldest first, each C({run_id, file, status}) (C(file) is null for a report given as data).
  returned: O(phase=plan)
  type: list
  elements: dict
path:
  description: The restore's report file.
  returned: O(phase=finish)
  type: str
counts:
  description: C({added, present, failed}), memberships added back, already there, and failed.
  returned: O(phase=finish)
  type: dict
failures:
  description: One line per failure.
  returned: O(phase=finish)
  type: list
  elements: str
report:
  description: The restore's report as written.
  returned: O(phase=finish)
  type: dict
lines:
  description: What the play output ends with, C(Restore, N added back, N already there, N failed), one line per failure, the report's path.
  returned: O(phase=finish)
  elements: str
  type: list
'''
