#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_group_member
short_description: Remove members from (or add them to) Microsoft Entra ID groups
version_added: 1.0.0
description:
  - Takes each of O(members) out of each of O(groups) (O(state=absent), the default), or puts them in (O(state=present)),
    through Microsoft Graph's C(members/$ref) navigation property, and reports one result per group and member.
  - Plans first, then writes. Every group and member is resolved (in C($batch) requests of 20) and each group's flags are read;
    only then are the writes sent, 20 to a C($batch), several C($batch) requests at a time (O(max_concurrency)).
  - Idempotent. A member that is not in a group is reported V(absent) (V(present) when adding one that is in it); a re-run
    of a removal reports V(absent) everywhere and C(changed=false).
  - Removal always uses C(DELETE /groups/{id}/members/{member-id}/$ref). Without C(/$ref) Graph would delete the member object
    itself, so the module never sends such a request; it never deletes a user, group or any other object.
  - Groups Graph does not let anyone change member by member fail, each with the reason and what to do instead, and nothing is
    sent to them; dynamic membership ("change the membershipRule"), synced from on-premises Active Directory ("change it in Active
    Directory"), mail-enabled security groups and distribution lists ("change it in Exchange Online"), groups in a restricted
    management administrative unit (only administrators scoped to that unit can).
  - A role-assignable group needs the C(RoleManagement.ReadWrite.Directory) permission as well; when Graph refuses the write
    with 403 the result says which permission is missing.
  - A team is a Microsoft 365 group, so this module can take a user out of a team's group too; M(entra.membership.teams_member)
    does it through Teams, which also guards the team's last owner.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  groups:
    description:
      - The groups, each an object id (GUID) or an exact display name (case matters).
      - A display name must match exactly one group; otherwise the pairs of that group fail with the candidates' ids and
        nothing is sent to it.
      - Giving the same group twice (for example by name and by id) is an error, raised before any write.
      - A group that does not exist fails its pairs; it is never reported V(absent).
      - Required with O(members), unless O(memberships) is given instead.
    type: list
    elements: str
extends_documentation_fragment:
  - entra.membership.graph
  - entra.membership.members
  - entra.membership.members.api_version
  - entra.membership.members.unknown_members
  - entra.membership.members.restricted_management
notes:
  - "Permissions (application or delegated): C(GroupMember.ReadWrite.All) to change members; role-assignable groups also need
    C(RoleManagement.ReadWrite.Directory). Resolving members needs C(User.Read.All) (or C(Directory.Read.All))."
  - "Every run reads the memberships first: each member's C(memberOf) when there are no more members than groups, otherwise
    each group's C(members) (a service principal always through its own C(memberOf), which v1.0 group members leave out).
    Check mode and diff mode tell from them; a real run still lets Graph's answer to the C($ref) write decide (204 V(removed);
    404, or the 400 'One or more removed object references do not exist', V(absent)), and uses the read to recognise its own
    earlier attempt when a write answered 429, 5xx or not at all is sent again."
  - A member that does not exist is V(absent) with O(state=absent) (it cannot be a member) and V(failed) with O(state=present).
  - See the collection's C(docs/groups-and-administrative-units.md).
seealso:
  - module: entra.membership.entra_au_member
  - module: entra.membership.teams_member
  - name: "Microsoft Graph: Remove member from group"
    description: The C($ref) removal this module sends.
    link: https://learn.microsoft.com/graph/api/group-delete-members
'''

EXAMPLES = r'''
- name: Take a leaver out of three groups, by name and by id
  entra.membership.entra_group_member:
    groups:
      - Sales
      - VPN Users
      - 6f0c1ab0-3b2e-4c52-9b7e-2a0a1a8c4d11
    members:
      - leaver@contoso.com

- name: Take many users out of one group
  entra.membership.entra_group_member:
    groups: [Contractors]
    members: "{{ expired_contractors }}"   # ids or user principal names, guests' #EXT# UPNs too

- name: Take several users out of their own groups in one task (results in this order)
  entra.membership.entra_group_member:
    memberships:
      - {target: VPN Users, member: leaver@contoso.com}
      - {target: Sales, member: leaver2@contoso.com}
      - {target: 6f0c1ab0-3b2e-4c52-9b7e-2a0a1a8c4d11, member: leaver2@contoso.com}

- name: Set the connection once for every module of the collection
  module_defaults:
    group/entra.membership.graph:
      tenant_id: "{{ entra_tenant_id }}"
      client_id: "{{ entra_client_id }}"
      client_secret: "{{ entra_client_secret }}"
  block:
    - name: Remove the leaver and keep the per-member record
      entra.membership.entra_group_member:
        groups: "{{ leaver_groups }}"
        members: [leaver@contoso.com]
      register: removal
      ignore_errors: true   # the results are complete even when some pairs failed

    - name: Show what could not be removed and why
      ansible.builtin.debug:
        msg: "{{ item.target.display_name }}: {{ item.error.message }}"
      loop: "{{ removal.results | selectattr('status', 'equalto', 'failed') }}"

    - name: Put back what was removed (undo)
      entra.membership.entra_group_member:
        groups: ["{{ item.target.id }}"]
        members: ["{{ item.member_id }}"]
        state: present
      loop: "{{ removal.results | selectattr('status', 'equalto', 'removed') }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_group_member: 2 removed, 1 already absent, 1 failed across 2 groups)."
  returned: always
  type: str
summary:
  description: How many pairs ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 2, added: 0, absent: 1, present: 0, failed: 1, skipped: 0}
results:
  description: One entry per group and member, in the order given (groups first, then members).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The group, C({id, display_name, type}) with C(type) V(group); what was given when it could not be resolved.
      type: dict
      sample: {id: 02bd9fd6-8f93-4758-87c3-1fb73740a315, display_name: Sales, type: group}
    member:
      description: The member as given.
      type: str
      sample: leaver@contoso.com
    member_id:
      description: The member's object id; V(null) when it could not be resolved.
      type: str
    status:
      description:
        - V(removed), V(added) (changed, or would change in check mode), V(absent), V(present) (nothing to do), V(failed),
          V(skipped) (not attempted).
      type: str
      sample: removed
    error:
      description: Why the pair failed, C({status, code, message, request_id}) with Graph's normalised error; V(null) otherwise.
      type: dict
      sample: {status: 403, code: Authorization_RequestDenied, message: "...", request_id: 5f8a0e9c-1111-4c1d-9a55-3e1f6b0b7a21}
    request_id:
      description: Graph's request-id of the write that decided the status; V(null) when no write was sent (check mode, guards).
      type: str
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each group, its members before and after, limited to the members given.
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

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import GROUPS, RESTRICTED_MANAGEMENT_ARGSPEC, DirectoryMembers
from ansible_collections.entra.membership.plugins.module_utils._runner import member_argument_spec, member_option_rules, run_member_module
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(argument_spec=member_argument_spec(GROUPS.option, restricted_management=RESTRICTED_MANAGEMENT_ARGSPEC),
                         supports_check_mode=True, **member_option_rules(GROUPS.option))
    run_member_module(module, 'entra_group_member', DirectoryMembers(GROUPS, module.params['restricted_management']))


if __name__ == '__main__':
    main()
