#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_app_role_assignment
short_description: Remove (or restore) a user's assignments to Microsoft Entra enterprise applications
version_added: 1.1.0
description:
  - With O(state=absent) (the default), reads the application assignments each of O(principals) holds, keeps those of
    O(applications) (and O(app_roles), when given), and removes each with
    C(DELETE /users/{id}/appRoleAssignments/{assignment-id}), reporting one result per assignment.
  - With O(state=present), assigns each principal to each of O(applications) with the role O(app_roles) names there
    (C(POST /users/{id}/appRoleAssignments)); this is how a removal record is replayed to undo an offboarding.
  - Assignments a user holds through a group are reported with status V(skipped), RV(results[].through) naming the group and
    RV(results[].reason) saying that removing the user from that group takes them away; this module never changes them.
  - Reads first, so a re-run sends no write and check mode predicts exactly. An application name that matches no service
    principal or more than one, or an app role the applications do not define, fails the task before any write.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  principals:
    description:
      - The users (object id or user principal name), or groups and service principals (object id), whose assignments change.
      - Duplicates are folded; an empty list does nothing. A malformed value fails the task, naming it, before any request.
      - A principal that does not exist holds nothing (V(absent)) with O(state=absent) and V(failed) with O(state=present).
    type: list
    elements: str
    required: true
  applications:
    description:
      - The enterprise applications, each a service principal's object id, its application (client) id, or its exact display
        name (case matters), or V(all) (O(state=absent) only) for every application the principal is assigned to.
      - A name must match exactly one service principal; otherwise the task fails before any write, naming the candidates.
    type: list
    elements: str
    default: [all]
  app_roles:
    description:
      - Only these app roles, each its id or its value (for example V(ERP.Approver)).
      - With O(state=absent), empty means every role. With O(state=present), each application is assigned the roles named that
        it defines; an application that defines app roles needs one named, one without any gets its default access.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(absent) removes the assignments; V(present) creates them.
    type: str
    choices: [absent, present]
    default: absent
extends_documentation_fragment:
  - entra.membership.graph
  - entra.membership.members.api_version
  - entra.membership.members.unknown_members
attributes:
  check_mode:
    support: full
    description:
      - Reads the principals' assignments, sends no write, and returns the statuses the real run would return.
  diff_mode:
    support: full
    description:
      - "Returns, for each principal, its direct assignments (within the selection) before and after, as C(application: role)."
notes:
  - "Permissions (application): C(AppRoleAssignment.ReadWrite.All) to remove and create assignments (no other permission
    will do); reading a principal's assignments, its groups and the applications needs C(Directory.Read.All)."
  - See the collection's C(docs/app-role-assignments.md).
seealso:
  - module: entra.membership.entra_member_of_info
  - module: entra.membership.entra_group_member
  - name: "Microsoft Graph: Delete appRoleAssignment granted to a user"
    description: The removal this module sends.
    link: https://learn.microsoft.com/graph/api/user-delete-approleassignments
'''

EXAMPLES = r'''
- name: Take a leaver off every enterprise application
  entra.membership.entra_app_role_assignment:
    principals: [leaver@contoso.com]
  register: apps

- name: Put one assignment back
  entra.membership.entra_app_role_assignment:
    principals: [leaver@contoso.com]
    applications: [Contoso ERP]
    app_roles: [ERP.Approver]
    state: present

- name: Undo the removal from its record
  entra.membership.entra_app_role_assignment:
    principals: ["{{ item.member_id }}"]
    applications: ["{{ item.target.id }}"]
    app_roles: ["{{ item.app_role_id }}"]
    state: present
  loop: "{{ apps.results | selectattr('status', 'equalto', 'removed') }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_app_role_assignment: 2 removed, 1 skipped across 1 principal)."
  returned: always
  type: str
summary:
  description: How many results ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 2, added: 0, absent: 0, present: 0, failed: 0, skipped: 1}
results:
  description:
    - One entry per assignment, principal by principal in the order given; a principal that holds nothing selected has none,
      one that does not exist or cannot be read has one whose C(target.id) is V(null).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The application (service principal), C({id, display_name, type}) with C(type) V(application).
      type: dict
      sample: {id: 1e5a1a5c-4f0e-5d7c-9d0e-0d7c4c1a2b3c, display_name: Contoso ERP, type: application}
    member:
      description: The principal as given.
      type: str
      sample: leaver@contoso.com
    member_id:
      description: The principal's object id; V(null) when it could not be resolved.
      type: str
    status:
      description:
        - V(removed), V(added) (changed, or would change in check mode), V(absent), V(present) (nothing to do), V(failed),
          V(skipped) (held through a group, not changed here).
      type: str
      sample: removed
    error:
      description: Why it failed, C({status, code, message, request_id}); V(null) otherwise.
      type: dict
    request_id:
      description: Graph's request-id of the write that decided the status; V(null) when no write was sent.
      type: str
    through:
      description: The group the principal holds the assignment through, C({id, display_name, type}); V(null) for its own.
      type: dict
    reason:
      description: Why the assignment was not changed (held through a group) and what would change it; V(null) otherwise.
      type: str
    app_role_id:
      description: The app role's id (V(00000000-0000-0000-0000-000000000000) for default access); what O(app_roles) takes to restore it.
      type: str
    app_role:
      description: The app role's value (or display name), or V(default access).
      type: str
      sample: ERP.Approver
    assignment_id:
      description: Graph's id of the assignment (the one removed, or the one created).
      type: str
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each principal, its direct assignments within the selection before and after.
  returned: when diff mode is on
  type: list
  elements: dict
graph_stats:
  description:
    - What the run asked of Graph, to size forks and AWX job slices against Graph's per-application throttling limits.
    - C(requests) HTTP requests sent to Graph, retries included (a C($batch) of up to 20 counts once, token requests are not counted),
      C(batches) how many C($batch) calls the run made, C(retries) requests or C($batch) items sent again, C(throttled) how many of
      those followed a 429, and C(waited_seconds) the time spent waiting as C(Retry-After) or the backoff asked.
  returned: when Graph was contacted
  type: dict
  sample: {requests: 3, batches: 2, retries: 0, throttled: 0, waited_seconds: 0.0}
'''

from ansible_collections.entra.membership.plugins.module_utils._access_runner import access_argument_spec, run_access_module
from ansible_collections.entra.membership.plugins.module_utils._engine_apps import AppRoleAssignments
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(
        argument_spec=access_argument_spec(
            applications=dict(type='list', elements='str', default=['all']),
            app_roles=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    run_access_module(module, 'entra_app_role_assignment', AppRoleAssignments())


if __name__ == '__main__':
    main()
