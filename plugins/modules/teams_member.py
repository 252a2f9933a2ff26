#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: teams_member
short_description: Remove members from (or add them to) Microsoft Teams teams, 20 at a time
version_added: 1.0.0
description:
  - Takes each of O(members) out of each of O(teams) (O(state=absent), the default) with Microsoft Graph's bulk action
    C(POST /teams/{id}/members/remove), or puts them in (O(state=present)) with C(POST /teams/{id}/members/add), and reports
    one result per team and member, with the member's role in the team before the change.
  - At most 20 members go in one request (Graph's limit); the requests are sent together in C($batch), several at a time
    (O(max_concurrency)), and a throttled request is retried on its own.
  - Each team's member list is read once before any write. It gives each member's role, guards the team's owners (see
    O(allow_ownerless)), and lets check mode predict exactly what a real run does.
  - "Graph's answers are mapped member by member: C(204) means every member of the request was removed; in a C(207) answer
    a result without error is V(removed), C(NotFound) is V(absent) (not in the team) and any other error is V(failed) with
    Graph's message."
  - A group that has no team, or a team that does not exist, fails its pairs; it is never reported V(absent).
  - A team is also a Microsoft 365 group; M(entra.membership.entra_group_member) changes the same membership through the
    directory but does not guard owners.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  teams:
    description:
      - The teams, each the object id (GUID) of the team's group or the exact display name of a group that has a team.
      - A display name must match exactly one such group; otherwise the pairs of that team fail and nothing is sent to it.
      - Giving the same team twice (for example by name and by id) is an error, raised before any write.
      - Required with O(members), unless O(memberships) is given instead.
    type: list
    elements: str
  role:
    description:
      - With O(state=present), the role the members get; V(member) when not set.
      - V(owner) makes them owners, also when they are already members. A member asked for as V(member) who is an owner stays
        an owner (reported V(present)).
      - Teams does not let a guest be an owner; such a pair fails with Teams' message.
      - Ignored, with a warning, with O(state=absent).
    type: str
    choices: [member, owner]
  allow_ownerless:
    description:
      - "With O(state=absent), removing every owner of a team fails those pairs with C(the team would have no owner: add another
        owner first), and no removal request is sent for them (the other members of the team are still removed)."
      - Set to V(true) to send such removals anyway and report what Teams answers (today Teams refuses to remove a team's last
        owner, so the pair still fails, with Teams' own message).
    type: bool
    default: false
extends_documentation_fragment:
  - entra.membership.graph
  - entra.membership.members
  - entra.membership.members.api_version
  - entra.membership.members.unknown_members
notes:
  - "Permissions: C(TeamMember.ReadWrite.All) to change members and read them; C(Group.Read.All) (or C(GroupMember.Read.All))
    to resolve teams; C(User.Read.All) to resolve members."
  - "The C(user@odata.bind) of each member names the Graph host of O(cloud) (for example C(https://graph.microsoft.us) for
    V(usgov)), also when O(graph_endpoint) sends the requests elsewhere."
  - Membership of private and shared channels is not team membership and is not changed by this module.
  - See the collection's C(docs/teams.md).
seealso:
  - module: entra.membership.entra_group_member
  - name: "Microsoft Graph: conversationMember: remove"
    description: The bulk removal this module sends.
    link: https://learn.microsoft.com/graph/api/conversationmembers-remove
'''

EXAMPLES = r'''
- name: Take a leaver out of their teams
  entra.membership.teams_member:
    teams: [Project Falcon, Support Rotation]
    members: [leaver@contoso.com]
  register: teams_removal

- name: Take 45 people out of one team (three requests of at most 20)
  entra.membership.teams_member:
    teams: [e4183b04-c9a2-417c-bde4-70e3ee46a6dc]
    members: "{{ departing_users }}"

- name: Restore the leaver, as owner where they were one
  entra.membership.teams_member:
    teams: ["{{ item.target.id }}"]
    members: ["{{ item.member_id }}"]
    state: present
    role: "{{ item.role }}"
  loop: "{{ teams_removal.results | selectattr('status', 'equalto', 'removed') }}"

- name: Put several people back in one task, each in its own team with its own role
  entra.membership.teams_member:
    memberships:
      - {target: Project Falcon, member: leaver@contoso.com, role: owner}
      - {target: Support Rotation, member: leaver2@contoso.com}   # the role option's value, member by default
    state: present
'''

RETURN = r'''
msg:
  description: "One line, for example V(teams_member: 2 removed, 1 already absent, 1 failed across 2 teams)."
  returned: always
  type: str
summary:
  description: How many pairs ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 2, added: 0, absent: 1, present: 0, failed: 1, skipped: 0}
results:
  description: One entry per team and member, in the order given (teams first, then members).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The team, C({id, display_name, type}) with C(type) V(team); what was given when it could not be resolved.
      type: dict
      sample: {id: e4183b04-c9a2-417c-bde4-70e3ee46a6dc, display_name: Project Falcon, type: team}
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
    role:
      description: The member's role in the team before the change, V(owner) or V(member); V(null) when it was not in the team.
      type: str
      sample: owner
    error:
      description: Why the pair failed, C({status, code, message, request_id}) with Graph's normalised error; V(null) otherwise.
      type: dict
      sample: {status: 403, code: Authorization_RequestDenied, message: "...", request_id: 5f8a0e9c-1111-4c1d-9a55-3e1f6b0b7a21}
    request_id:
      description: Graph's request-id of the members/remove or members/add request that decided the status; V(null) when none was sent.
      type: str
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each team, its members (with their role) before and after, limited to the members given.
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

from ansible_collections.entra.membership.plugins.module_utils._runner import member_argument_spec, member_option_rules, run_member_module
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule
from ansible_collections.entra.membership.plugins.module_utils._engine_teams import TeamMembers


def main():
    module = EntraModule(
        argument_spec=member_argument_spec(
            TeamMembers.option,
            role=dict(type='str', choices=['member', 'owner']),
            allow_ownerless=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
        **member_option_rules(TeamMembers.option)
    )
    run_member_module(module, 'teams_member', TeamMembers(module.params['role'], module.params['allow_ownerless']))


if __name__ == '__main__':
    main()
