#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_group_owner
short_description: Remove owners from (or add them to) Microsoft Entra ID groups, keeping every group owned
version_added: 1.1.0
description:
  - Takes each of O(owners) off the owners of each of O(groups) (O(state=absent), the default), or makes them owners
    (O(state=present)), through Microsoft Graph's C(owners/$ref) navigation property, and reports one result per group and owner.
  - An owner can change the group, and so add themselves back to it; a leaver taken out of every membership still owns groups
    until this module runs.
  - Reads each group's owners first, so a re-run sends no write and check mode predicts exactly.
  - Graph keeps the last owner (a user) of a group. When the owners given would leave a group without a user owner, the
    module adds O(substitute_owners) to that group B(before) removing anyone; without one, those pairs fail with a message
    saying what to do and nothing is sent to that group, unless O(allow_ownerless=true).
  - Removal always uses C(DELETE /groups/{id}/owners/{owner-id}/$ref). Without C(/$ref) Graph would delete the owner object
    itself, so the module never sends such a request.
  - A team is a Microsoft 365 group and its owners are the group's owners. Removing a team owner here leaves them a member of
    the team (M(entra.membership.teams_member) takes them out of it). A substitute owner of a team's group is made a member of
    it too, as a team owner must also be a member to act in the team.
  - Groups synced from on-premises Active Directory, mail-enabled security groups, distribution lists and groups in a restricted
    management administrative unit fail with the reason, and nothing is sent to them. A dynamic group's owners can change.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  groups:
    description:
      - The groups, each an object id (GUID) or an exact display name (case matters); Microsoft 365 groups behind teams too.
      - A display name must match exactly one group; otherwise the pairs of that group fail with the candidates' ids and
        nothing is sent to it. Giving the same group twice is an error, raised before any write.
    type: list
    elements: str
    required: true
  owners:
    description:
      - The owners to remove (or add), each an object id (GUID) or a user principal name (anything with C(@)).
      - Duplicates are folded; a user given by both id and user principal name is handled once, with a warning.
      - An empty list does nothing and reports C(changed=false) without any request to Graph.
      - A malformed value fails the task, naming it, before any request.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(absent) takes each owner off each group; V(present) makes it an owner.
      - V(present) is there to replay a removal record and so undo an offboarding.
    type: str
    choices: [absent, present]
    default: absent
  substitute_owners:
    description:
      - Who becomes an owner of a group that the owners given would otherwise leave without a user owner; added before any
        owner of that group is removed, and only where needed.
      - Each a user's object id or user principal name, or V(manager) for the manager of each leaving owner
        (C(GET /users/{id}/manager)). Several may be given; the ones that exist and are not leaving are all added.
      - Each substitute added is reported as a result of its own, with status V(added) and RV(results[].substitute_for).
    type: list
    elements: str
    default: []
  allow_ownerless:
    description:
      - With O(state=absent) and no usable substitute, removing the last owner of a group fails that pair with a message and no
        request is sent to that group.
      - Set to V(true) to send such removals anyway and report what Graph answers (Graph refuses to remove a group's last user
        owner, so the pair still fails, with Graph's own message; check mode predicts that).
    type: bool
    default: false
extends_documentation_fragment:
  - entra.membership.graph
  - entra.membership.members.api_version
  - entra.membership.members.unknown_members
attributes:
  check_mode:
    support: full
    description:
      - Reads the groups, the owners and each group's owners (and managers), sends no write, and returns the statuses the real
        run would return, substitutes included, with RV(check_mode=true).
  diff_mode:
    support: full
    description:
      - Returns, for each group, its owners before and after the task, limited to the owners given and the substitutes.
notes:
  - "Permissions (application): C(Group.ReadWrite.All) (C(GroupMember.ReadWrite.All) is not enough for owners); role-assignable
    groups also need C(RoleManagement.ReadWrite.Directory). Resolving owners and reading managers needs C(User.Read.All);
    reading each group's owners C(GroupMember.Read.All) or C(Group.Read.All)."
  - An app cannot list a user's owned objects (application permissions are not supported there); to find the groups a user
    owns, use M(entra.membership.entra_member_of_info) with C(include=[owned_groups]).
  - See the collection's C(docs/group-owners.md).
seealso:
  - module: entra.membership.entra_group_member
  - module: entra.membership.teams_member
  - module: entra.membership.entra_member_of_info
  - name: "Microsoft Graph: Remove group owner"
    description: The C($ref) removal this module sends, and the last-owner rule.
    link: https://learn.microsoft.com/graph/api/group-delete-owners
'''

EXAMPLES = r'''
- name: Take a leaver off the owners of two groups; the leaver's manager steps in where nobody else would be left
  entra.membership.entra_group_owner:
    groups: [Legacy App Access, VPN Users]
    owners: [leaver@contoso.com]
    substitute_owners: [manager]
  register: ownership

- name: Undo, first putting the ownerships back ...
  entra.membership.entra_group_owner:
    groups: ["{{ item.target.id }}"]
    owners: ["{{ item.member_id }}"]
    state: present
  loop: "{{ ownership.results | selectattr('status', 'equalto', 'removed') }}"

- name: ... then taking the substitutes off (no longer the last owners)
  entra.membership.entra_group_owner:
    groups: ["{{ item.target.id }}"]
    owners: ["{{ item.member_id }}"]
  loop: "{{ ownership.results | selectattr('status', 'equalto', 'added') | selectattr('substitute_for') }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_group_owner: 1 removed, 1 added, 1 already absent across 2 groups)."
  returned: always
  type: str
summary:
  description: How many results ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 2, added: 0, absent: 1, present: 0, failed: 1, skipped: 0}
results:
  description:
    - One entry per group and owner, in the order given (groups first, then owners), then one per substitute owner added.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The group, C({id, display_name, type}) with C(type) V(group); what was given when it could not be resolved.
      type: dict
      sample: {id: 02bd9fd6-8f93-4758-87c3-1fb73740a315, display_name: Legacy App Access, type: group}
    member:
      description: The owner as given (a substitute named by V(manager) shows as its user principal name).
      type: str
      sample: leaver@contoso.com
    member_id:
      description: The owner's object id; V(null) when it could not be resolved.
      type: str
    status:
      description:
        - V(removed), V(added) (changed, or would change in check mode), V(absent), V(present) (nothing to do), V(failed),
          V(skipped) (not attempted).
      type: str
      sample: removed
    error:
      description: Why the pair failed, C({status, code, message, request_id}); C(code) V(LastOwner) for the last-owner guard.
      type: dict
    request_id:
      description: Graph's request-id of the write that decided the status; V(null) when no write was sent.
      type: str
    substitute_for:
      description: For a substitute owner the module added, the leaving owners (as given) it stands in for; V(null) otherwise.
      type: list
      elements: str
    added_as_member:
      description: Whether the module also made this substitute a member of the group (a team's group); V(false) otherwise.
      type: bool
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each group, its owners before and after, limited to the owners given and the substitutes.
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

from ansible_collections.entra.membership.plugins.module_utils._engine_owners import GroupOwners
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule
from ansible_collections.entra.membership.plugins.module_utils._runner import member_argument_spec, run_member_module


def main():
    module = EntraModule(
        argument_spec=member_argument_spec(
            GroupOwners.option,
            GroupOwners.member_option,
            substitute_owners=dict(type='list', elements='str', default=[]),
            allow_ownerless=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    try:
        engine = GroupOwners(module.params['substitute_owners'], module.params['allow_ownerless'])
    except ValueError as exc:
        module.fail_json(msg=str(exc), changed=False)
    run_member_module(module, 'entra_group_owner', engine)


if __name__ == '__main__':
    main()
