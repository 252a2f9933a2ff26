#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_directory_role_assignment
short_description: Remove (or restore) a user's Microsoft Entra directory roles, active and PIM-eligible
version_added: 1.1.0
description:
  - With O(state=absent) (the default), reads the directory role assignments each of O(principals) holds (active ones, permanent
    or time-bound, and PIM-eligible ones; tenant-wide or scoped to an administrative unit), keeps those O(roles), O(scopes) and
    O(assignment_types) select, and removes each, reporting one result per assignment.
  - A permanent active assignment is removed with C(DELETE /roleManagement/directory/roleAssignments/{id}); a time-bound active one
    with a C(roleAssignmentScheduleRequests) C(adminRemove) request, an eligible one with a C(roleEligibilityScheduleRequests)
    C(adminRemove) request.
  - With O(state=present), assigns each of O(roles) at each of O(scopes) as each of O(assignment_types), ending at O(end_date_time)
    (permanent active ones with C(POST roleAssignments), the others with an C(adminAssign) request); a removal record replayed with
    the role, scope, type and end it returned re-creates exactly what was removed.
  - Never removes the last active Global Administrator of the tenant (users holding it at the tenant, directly or through a
    group); those results fail with V(LastGlobalAdministrator) and nothing is sent for them. Graph itself would not refuse it.
  - A role held through a role-assignable group is reported with status V(skipped) and RV(results[].through) naming the group;
    removing the user from that group (M(entra.membership.entra_group_member)) takes the role away. It is never removed here.
  - Reads first, so a re-run sends no write and check mode predicts exactly. A role or administrative unit that does not exist
    fails the task before any write, naming it.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  principals:
    description:
      - The users (object id or user principal name), or role-assignable groups and service principals (object id).
      - Duplicates are folded; an empty list does nothing. A malformed value fails the task, naming it, before any request.
      - A principal that does not exist holds nothing (V(absent)) with O(state=absent) and V(failed) with O(state=present).
    type: list
    elements: str
    required: true
  roles:
    description:
      - The directory roles, each its exact display name (for example V(User Administrator)), its role definition id or template id,
        or V(all) (O(state=absent) only).
    type: list
    elements: str
    default: [all]
  scopes:
    description:
      - Where the role applies, each V(/) (the whole tenant), an administrative unit's id, exact display name, or
        C(/administrativeUnits/{id}) (the RV(results[].scope) returned), or V(all) (O(state=absent) only).
    type: list
    elements: str
    default: [all]
  assignment_types:
    description:
      - V(active) (permanent or time-bound) and V(eligible) (PIM, the principal may activate the role).
    type: list
    elements: str
    choices: [active, eligible]
    default: [active, eligible]
  end_date_time:
    description:
      - With O(state=present), when the assignments end, an ISO 8601 date and time with its zone (for example
        V(2030-06-30T00:00:00Z)), as the C(end_date_time) of RV(results[].schedule) returned it; unset for no end.
    type: str
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
      - Reads the role definitions, the principals' assignments and (for a Global Administrator) the role's holders, sends no
        write, and returns the statuses the real run would return.
  diff_mode:
    support: full
    description:
      - Returns, for each principal, its direct role assignments (within the selection) before and after.
notes:
  - "Permissions (application): C(RoleManagement.ReadWrite.Directory) (reads and every write). PIM schedules and requests also
    work with C(RoleAssignmentSchedule.ReadWrite.Directory) and C(RoleEligibilitySchedule.ReadWrite.Directory) next to
    C(RoleManagement.Read.Directory), and need Microsoft Entra ID P2 in the tenant. Reading a user's groups needs
    C(Directory.Read.All) (or C(GroupMember.Read.All))."
  - A role held through a group does not show in a user's own assignments; this module reads the user's role-assignable groups
    to report it.
  - See the collection's C(docs/directory-roles.md).
seealso:
  - module: entra.membership.entra_member_of_info
  - module: entra.membership.entra_group_member
  - name: "Microsoft Graph: unifiedRoleAssignment"
    description: The active assignments this module reads and removes.
    link: https://learn.microsoft.com/graph/api/resources/unifiedroleassignment
'''

EXAMPLES = r'''
- name: Take every directory role (active and eligible, anywhere) from a leaver
  entra.membership.entra_directory_role_assignment:
    principals: [leaver@contoso.com]
  register: roles

- name: Only the active tenant-wide ones
  entra.membership.entra_directory_role_assignment:
    principals: [leaver@contoso.com]
    scopes: [/]
    assignment_types: [active]

- name: Undo the removal from its record
  entra.membership.entra_directory_role_assignment:
    principals: ["{{ item.member_id }}"]
    roles: ["{{ item.target.id }}"]
    scopes: ["{{ item.scope }}"]
    assignment_types: ["{{ item.assignment_type }}"]
    end_date_time: "{{ item.schedule.end_date_time }}"
    state: present
  loop: "{{ roles.results | selectattr('status', 'equalto', 'removed') }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_directory_role_assignment: 3 removed, 1 skipped across 1 principal)."
  returned: always
  type: str
summary:
  description: How many results ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 3, added: 0, absent: 0, present: 0, failed: 0, skipped: 1}
results:
  description:
    - One entry per role assignment, principal by principal in the order given; a principal that holds nothing selected has none,
      one that does not exist or cannot be read has one whose C(target.id) is V(null).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The role, C({id, display_name, type}) with C(type) V(directory_role) and C(id) its role definition id.
      type: dict
      sample: {id: fe930be7-5e62-47db-91af-98c3a49a38b1, display_name: User Administrator, type: directory_role}
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
      description: Why it failed, C({status, code, message, request_id}); C(code) V(LastGlobalAdministrator) for that guard.
      type: dict
    request_id:
      description: Graph's request-id of the write that decided the status; V(null) when no write was sent.
      type: str
    through:
      description: The role-assignable group the principal holds the role through, C({id, display_name, type}); V(null) for its own.
      type: dict
    reason:
      description: Why the assignment was not changed (held through a group) and what would change it; V(null) otherwise.
      type: str
    scope:
      description: Where the role applies, V(/) or C(/administrativeUnits/{id}).
      type: str
      sample: /administrativeUnits/3c1d2c1e-96a2-5b3d-9a4e-1c2b3a4d5e6f
    scope_display_name:
      description: The administrative unit's name (V(tenant) for V(/)).
      type: str
    assignment_type:
      description: V(active) or V(eligible).
      type: str
    schedule:
      description:
        - C({start_date_time, end_date_time}); C(end_date_time) is V(null) for an assignment without end (what O(end_date_time) takes
          to restore it).
      type: dict
      sample: {start_date_time: null, end_date_time: "2030-06-30T00:00:00Z"}
    assignment_id:
      description: Graph's id of the assignment (active) or eligibility schedule removed, or of the schedule created.
      type: str
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each principal, its direct role assignments within the selection before and after.
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
from ansible_collections.entra.membership.plugins.module_utils._engine_roles import ASSIGNMENT_TYPES, DirectoryRoleAssignments
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(
        argument_spec=access_argument_spec(
            roles=dict(type='list', elements='str', default=['all']),
            scopes=dict(type='list', elements='str', default=['all']),
            assignment_types=dict(type='list', elements='str', choices=list(ASSIGNMENT_TYPES), default=list(ASSIGNMENT_TYPES)),
            end_date_time=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    run_access_module(module, 'entra_directory_role_assignment', DirectoryRoleAssignments())


if __name__ == '__main__':
    main()
