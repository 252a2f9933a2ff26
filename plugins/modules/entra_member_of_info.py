#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_member_of_info
short_description: Find the Microsoft Entra ID groups, administrative units and Teams teams users are in
version_added: 1.0.0
description:
  - For each of O(users), returns its direct groups, its administrative units and its Teams teams (with its role, V(owner)
    or V(member)), each with the flags that decide whether an app may change that membership, a RV(users[].groups[].removable)
    flag and, when it is V(false), a RV(users[].groups[].reason) saying why and what to do instead.
  - Reads only, with application permissions. Sends no write, in check mode or not, and never reports C(changed).
  - Batched. All users are read together, 20 requests to a C($batch), so many users cost a few requests
    (see the notes); every page of a long membership list is followed.
  - V(removable=false) marks what Graph does not let an app change member by member, exactly as the member modules
    M(entra.membership.entra_group_member), M(entra.membership.entra_au_member) and M(entra.membership.teams_member) refuse it,
    from the same rules; groups with dynamic membership ("change the membershipRule or the user's attributes it matches"),
    groups synced from on-premises Active Directory ("change it in Active Directory"), mail-enabled security groups and
    distribution lists ("change it in Exchange Online"), groups in a restricted management administrative unit, administrative
    units with dynamic membership and restricted management administrative units. A team is removable exactly when its group is.
  - Role-assignable groups are removable; removing a member needs the C(RoleManagement.ReadWrite.Directory) permission as well.
  - Deciding what to remove (exclusions, team groups, scopes) is the caller's business, for example the C(entra.membership.offboard) role's.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  users:
    description:
      - The users, each an object id (GUID) or a user principal name (anything with C(@)); guests by their C(#EXT#) user
        principal name or their id.
      - Duplicates are folded (user principal names without case; a user given by id and by user principal name is read once,
        under the first form given, with a warning); RV(users) has one entry per distinct user, in the order given.
      - A user that does not exist is returned with RV(users[].found=false) and empty lists; that alone does not fail the task.
      - An empty string, a malformed id or anything that is neither an id nor a user principal name fails the task, naming
        the value, before any request.
      - At most 10000 users in one task.
    type: list
    elements: str
    required: true
  include_transitive:
    description:
      - Also return RV(users[].transitive_groups), the groups the user reaches only through nested groups (C(transitiveMemberOf)
        minus the direct groups). They are never removable directly; they end when the direct memberships that lead to them end.
    type: bool
    default: false
  include:
    description:
      - What to return for each user. V(groups), V(administrative_units) and V(teams) are the direct memberships (the default);
        the others are the access a membership list misses, each entry with C(removable), C(reason) and C(reason_code) decided by
        the module that would remove it.
      - V(owned_groups), the groups the user owns (M(entra.membership.entra_group_owner)); an app cannot list a user's owned
        objects, so every group of the tenant is read once with its owners (C(GET /groups?$expand=owners)), a cost that grows with
        the tenant, not with the user.
      - V(directory_roles), the user's directory roles, active and PIM-eligible (M(entra.membership.entra_directory_role_assignment)).
      - V(app_roles), the user's enterprise application assignments (M(entra.membership.entra_app_role_assignment)).
      - V(licenses), the user's licenses, direct and given by a group (M(entra.membership.entra_user_license)).
      - V(account), whether the account is enabled, its sign-in sessions and its privileged roles (M(entra.membership.entra_user_account)).
      - The memberships are read whatever is asked (teams come from the groups); only the kinds given are returned.
    type: list
    elements: str
    choices: [groups, administrative_units, teams, owned_groups, directory_roles, app_roles, licenses, account]
    default: [groups, administrative_units, teams]
extends_documentation_fragment:
  - entra.membership.graph
  - entra.membership.members.api_version
attributes:
  check_mode:
    support: full
    description:
      - Runs in full, as it only reads; the result is the same as without check mode.
  diff_mode:
    support: none
    description:
      - Nothing changes, so there is nothing to compare.
notes:
  - "Permissions (application): C(User.Read.All) to read the users; C(GroupMember.Read.All) to read their groups' properties
    and the teams' owners; C(AdministrativeUnit.Read.All) for the administrative units' properties. C(Directory.Read.All)
    covers all of them (and is needed to name an id that is not a user). Without the group or administrative unit permission
    Graph returns only ids; such entries are V(removable=false) with RV(users[].groups[].reason_code=LimitedInformation), and the
    user's RV(users[].error) says so (which of them are teams is unknown), so the task fails rather than guess."
  - "Requests: one C($batch) of 20 resolves 20 users; each user costs two reads (groups and administrative units, three with
    O(include_transitive)), 20 to a C($batch); the owners of every distinct team found cost one read each, 20 to a C($batch).
    Two users in a dozen teams: about four HTTP requests."
  - "Teams are the user's groups whose C(resourceProvisioningOptions) contain V(Team) (C(joinedTeams) returns only a team's id, name
    and description, not the flags); the role is V(owner) when the user is among the group's owners, which are the team's owners."
  - A Graph error reading one user (for example a 403) sets that user's RV(users[].error) and fails the task after all users are
    read; RV(users) is still returned in full.
  - "O(include) kinds beyond memberships need more: V(owned_groups) C(Group.Read.All) (or C(Directory.Read.All)); V(directory_roles)
    C(RoleManagement.Read.Directory) and C(Directory.Read.All); V(app_roles) C(Directory.Read.All); V(licenses)
    C(LicenseAssignment.Read.All) (the tenant's skus; C(GroupMember.Read.All) names the groups that give licenses); V(account)
    C(RoleManagement.Read.Directory) (who holds a privileged role)."
  - See the collection's C(docs/discovery.md).
seealso:
  - module: entra.membership.entra_group_member
  - module: entra.membership.entra_au_member
  - module: entra.membership.teams_member
  - name: "Microsoft Graph: List a user's direct memberships"
    description: The C(memberOf) read this module sends, cast to groups and to administrative units.
    link: https://learn.microsoft.com/graph/api/user-list-memberof
'''

EXAMPLES = r'''
- name: What is the leaver in?
  entra.membership.entra_member_of_info:
    users:
      - leaver@contoso.com
  register: found

- name: Take the leaver out of every group Graph lets the app change
  entra.membership.entra_group_member:
    groups: "{{ found.users[0].groups | selectattr('removable') | map(attribute='id') }}"
    members: "{{ found.users[0].id }}"
  when: found.users[0].found

- name: Show what has to be changed elsewhere, and why
  ansible.builtin.debug:
    msg: "{{ item.display_name }}: {{ item.reason }}"
  loop: "{{ found.users[0].groups | rejectattr('removable') }}"

- name: Several users at once, with what they reach through nested groups
  entra.membership.entra_member_of_info:
    users: "{{ leavers }}"   # ids or user principal names, guests' #EXT# UPNs too
    include_transitive: true
  register: found_all
'''

RETURN = r'''
tenant_id:
  description:
    - The tenant the users were read from, as the O(tenant_id) option or its environment variables gave it.
    - V(null) when only O(access_token) was given.
  returned: success, and when reading some users failed
  type: str
  sample: 5f05f919-8064-5752-a786-c6a84cf7853b
cloud:
  description: The national cloud whose Graph was read (O(cloud), after C(ENTRA_CLOUD) or C(AZURE_CLOUD_ENVIRONMENT)).
  returned: success, and when reading some users failed
  type: str
  sample: global
msg:
  description: "One line, for example V(entra_member_of_info: 1 user read, 1 not found ('gone@contoso.com'))."
  returned: always
  type: str
users:
  description:
    - One entry per distinct user given, in the order given.
    - Missing only when the task failed before reading anyone (bad input, authentication), so that no caller mistakes that for
      "no users"; a failure reading some users still returns every entry.
  returned: success, and when reading some users failed
  type: list
  elements: dict
  contains:
    user:
      description: The user as given.
      type: str
      sample: leaver@contoso.com
    id:
      description: The user's object id; V(null) when not found.
      type: str
    user_principal_name:
      description: The user's user principal name; V(null) when not found.
      type: str
    display_name:
      description: The user's display name; V(null) when not found.
      type: str
    found:
      description: Whether the user exists. V(false) with RV(users[].error=null) means Graph says there is no such user.
      type: bool
    error:
      description:
        - Why the user could not be read in full, C({status, code, message, request_id}); V(null) otherwise.
        - When set, the lists hold what could be read and may be incomplete.
      type: dict
      sample: {status: 403, code: Authorization_RequestDenied, message: "...", request_id: 5f8a0e9c-1111-4c1d-9a55-3e1f6b0b7a21}
    groups:
      description: The groups the user is a direct member of; a team's group is here too, with RV(users[].groups[].is_team=true).
      returned: when O(include) has V(groups) (the default)
      type: list
      elements: dict
      contains:
        id:
          description: The group's object id.
          type: str
        display_name:
          description: The group's display name.
          type: str
        type:
          description: Always V(group).
          type: str
        group_types:
          description: Graph's C(groupTypes), for example V(Unified) and V(DynamicMembership).
          type: list
          elements: str
        dynamic:
          description: Whether the group has dynamic membership.
          type: bool
        on_premises_sync_enabled:
          description: Whether the group is synced from on-premises Active Directory.
          type: bool
        mail_enabled:
          description: Whether the group is mail-enabled.
          type: bool
        security_enabled:
          description: Whether the group is a security group.
          type: bool
        is_assignable_to_role:
          description: Whether the group is role-assignable (changing its members needs C(RoleManagement.ReadWrite.Directory)).
          type: bool
        management_restricted:
          description: Whether the group is in a restricted management administrative unit (Graph's C(isManagementRestricted)).
          type: bool
        is_team:
          description: Whether the group has a team.
          type: bool
        removable:
          description: Whether Graph lets an app take the user out of this group.
          type: bool
        reason:
          description: Why not and what to do instead, one sentence; V(null) when removable.
          type: str
        reason_code:
          description:
            - V(DynamicMembership), V(OnPremisesSynced), V(MailEnabledGroup), V(ManagementRestricted) or V(LimitedInformation);
              V(null) when removable. The same codes the member modules' errors carry.
          type: str
    administrative_units:
      description: The administrative units the user is a direct member of.
      returned: when O(include) has V(administrative_units) (the default)
      type: list
      elements: dict
      contains:
        id:
          description: The administrative unit's object id.
          type: str
        display_name:
          description: Its display name.
          type: str
        type:
          description: Always V(administrative_unit).
          type: str
        dynamic:
          description: Whether it has dynamic membership (C(membershipType) V(Dynamic)).
          type: bool
        restricted:
          description: Whether it is a restricted management administrative unit (C(isMemberManagementRestricted)).
          type: bool
        removable:
          description: Whether Graph lets an app take the user out of it.
          type: bool
        reason:
          description: Why not and what to do instead; V(null) when removable.
          type: str
        reason_code:
          description: V(DynamicMembership), V(ManagementRestricted) or V(LimitedInformation); V(null) when removable.
          type: str
    teams:
      description:
        - The teams among RV(users[].groups), each C({id, display_name, type, role, removable, reason, reason_code}) with
          C(type=team); the team's id is its group's, and it is removable exactly when its group is (same C(reason) and C(reason_code)).
      returned: when O(include) has V(teams) (the default)
      type: list
      elements: dict
      contains:
        role:
          description: V(owner) or V(member); V(null) when the owners could not be read (then RV(users[].error) says why).
          type: str
    transitive_groups:
      description:
        - The groups the user reaches only through nested groups, C({id, display_name, type, removable, reason, reason_code}),
          always C(removable=false) with C(reason="reached through nested group membership") and C(reason_code=NestedMembership).
      returned: when O(include_transitive=true)
      type: list
      elements: dict
    owned_groups:
      description:
        - The groups the user owns, C({id, display_name, type, is_team, sole_owner, removable, reason, reason_code}).
        - C(sole_owner) is V(true) when no other user owns the group; it stays removable, as M(entra.membership.entra_group_owner)
          adds a substitute owner first (C(reason) says so). V(removable=false) for the groups whose owners Graph does not let an
          app change (V(OnPremisesSynced), V(MailEnabledGroup), V(ManagementRestricted)).
      returned: when O(include) has V(owned_groups)
      type: list
      elements: dict
    directory_roles:
      description:
        - The user's directory role assignments, as M(entra.membership.entra_directory_role_assignment) returns them,
          C({id, display_name, type, scope, scope_display_name, assignment_type, schedule, assignment_id, through, removable, reason,
          reason_code}); C(id) is the role definition id, C(type) V(directory_role).
        - V(removable=false) for a role held through a group (V(HeldThroughGroup)) and for the tenant's last active Global
          Administrator (V(LastGlobalAdministrator)).
      returned: when O(include) has V(directory_roles)
      type: list
      elements: dict
    app_roles:
      description:
        - The user's enterprise application assignments, as M(entra.membership.entra_app_role_assignment) returns them,
          C({id, display_name, type, app_role_id, app_role, assignment_id, through, removable, reason, reason_code}); C(id) is the
          service principal's id, C(type) V(application), C(reason_code) V(HeldThroughGroup) for one held through a group.
      returned: when O(include) has V(app_roles)
      type: list
      elements: dict
    licenses:
      description:
        - The user's licenses, as M(entra.membership.entra_user_license) returns them,
          C({id, display_name, type, sku_part_number, disabled_plans, disabled_plan_names, through, removable, reason, reason_code});
          C(id) is the C(skuId), C(display_name) the part number, C(type) V(sku).
        - V(removable=false) for a license a group gives (V(HeldThroughGroup)), which ends when the user leaves the group.
      returned: when O(include) has V(licenses)
      type: list
      elements: dict
    account:
      description:
        - The account, C({account_enabled, sign_in_sessions_valid_from, user_type, on_premises_sync_enabled, privileged_roles, removable,
          reason, reason_code}); C(privileged_roles) names the active privileged directory roles the user holds at the tenant (through
          a group too), V(null) when they could not be read.
        - C(removable) says whether M(entra.membership.entra_user_account) would disable it with its defaults; V(false) for an account
          synced from on-premises (V(OnPremisesSynced)) and for one that holds a privileged role (V(PrivilegedAccount)).
        - V(null) for a user that was not found or could not be read.
      returned: when O(include) has V(account)
      type: dict
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

from ansible_collections.entra.membership.plugins.module_utils._discovery import discovery_argument_spec, run_discovery
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(argument_spec=discovery_argument_spec(), supports_check_mode=True)
    run_discovery(module, 'entra_member_of_info')


if __name__ == '__main__':
    main()
