#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_user_license
short_description: Remove (or restore) the licenses assigned directly to Microsoft Entra ID users
version_added: 1.1.0
description:
  - With O(state=absent) (the default), reads the licenses each of O(users) holds, keeps those O(skus) selects, and removes the
    directly assigned ones with one C(POST /users/{id}/assignLicense) per user (C(removeLicenses)), reporting one result per sku.
    The service plans each removed sku had disabled are kept in RV(results[].disabled_plans), so a restore assigns it back exactly.
  - With O(state=present), assigns each of O(skus) to each user, with the plans of O(disabled_plans) that belong to it disabled
    (C(addLicenses)); this is how a removal record is replayed to undo an offboarding. A sku the user already holds directly is
    V(present) and left as it is.
  - Licenses a user holds through a group (group-based licensing) are reported with status V(skipped), RV(results[].through)
    naming the group and RV(results[].reason) saying that removing the user from that group takes them away; this module never
    changes them.
  - A user's skus are removed in one request, all or nothing, so a sku removed together with the add-on that depends on it goes.
    When Graph refuses the request (for example a service plan another license depends on), every sku of that user fails with
    Graph's reason and nothing of that user changes.
  - Reads first, so a re-run sends no write. A sku that the tenant does not subscribe to, or a plan that is not part of the skus
    given, fails the task before any write, naming it.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  users:
    description:
      - The users, each an object id (GUID) or a user principal name.
      - Duplicates are folded; an empty list does nothing. A malformed value fails the task, naming it, before any request.
      - A user that does not exist holds nothing (V(absent)) with O(state=absent) and is V(failed) with O(state=present).
    type: list
    elements: str
    required: true
  skus:
    description:
      - The licenses, each a sku id (C(skuId), a GUID) or a part number (C(skuPartNumber), such as V(ENTERPRISEPACK), in any case),
        of the tenant's subscribed skus; or V(all_direct) (O(state=absent) only) for every license the user holds directly.
    type: list
    elements: str
    default: [all_direct]
  disabled_plans:
    description:
      - With O(state=present), the service plans to leave disabled, each a C(servicePlanId) or a C(servicePlanName) (such as
        V(YAMMER_ENTERPRISE)); each sku assigned gets those of its own plans. Restore a removal with the RV(results[].disabled_plans)
        it returned, one sku at a time.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(absent) removes the direct assignments; V(present) assigns the skus.
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
      - Reads the skus and the users' licenses, sends no write, and returns the statuses the real run would return, as far as the
        reads tell (a missing permission, a user without a usage location, a sku without a free seat); a refusal only Graph knows
        of, such as a service plan another license depends on, shows in the real run only.
  diff_mode:
    support: full
    description:
      - Returns, for each user, its direct licenses (within the selection) before and after, with their disabled plans.
notes:
  - "Permissions (application): C(LicenseAssignment.ReadWrite.All) (or C(User.ReadWrite.All), C(Directory.ReadWrite.All)) to assign
    and remove; reading the tenant's skus C(LicenseAssignment.Read.All) (or C(Organization.Read.All), C(Directory.Read.All)), the
    users' licenses C(User.Read.All), and the names of the groups that give licenses C(GroupMember.Read.All) (else only their ids)."
  - Graph assigns a license only to a user with a C(usageLocation); removing one needs none.
  - See the collection's C(docs/user-licenses.md).
seealso:
  - module: entra.membership.entra_member_of_info
  - module: entra.membership.entra_group_member
  - name: "Microsoft Graph: user: assignLicense"
    description: The request this module sends.
    link: https://learn.microsoft.com/graph/api/user-assignlicense
'''

EXAMPLES = r'''
- name: Take a leaver's direct licenses (the group-based ones go with the groups)
  entra.membership.entra_user_license:
    users: [leaver@contoso.com]
  register: licenses

- name: Only one sku, by part number
  entra.membership.entra_user_license:
    users: [leaver@contoso.com]
    skus: [ENTERPRISEPACK]

- name: Undo the removal from its record, each sku with the plans it had disabled
  entra.membership.entra_user_license:
    users: ["{{ item.member_id }}"]
    skus: ["{{ item.target.id }}"]
    disabled_plans: "{{ item.disabled_plans }}"
    state: present
  loop: "{{ licenses.results | selectattr('status', 'equalto', 'removed') }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_user_license: 1 removed, 1 skipped across 1 principal)."
  returned: always
  type: str
summary:
  description: How many results ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 1, added: 0, absent: 0, present: 0, failed: 0, skipped: 1}
results:
  description:
    - One entry per license, user by user in the order given; a user that holds nothing selected has none, one that does not exist
      or cannot be read has one whose C(target.id) is V(null).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The sku, C({id, display_name, type}) with C(type) V(sku), C(id) its C(skuId) and C(display_name) its part number.
      type: dict
      sample: {id: 6fd2c87f-b296-42f0-b197-1e91e994b900, display_name: ENTERPRISEPACK, type: sku}
    member:
      description: The user as given.
      type: str
      sample: leaver@contoso.com
    member_id:
      description: The user's object id; V(null) when it could not be resolved.
      type: str
    status:
      description:
        - V(removed), V(added) (changed, or would change in check mode), V(absent), V(present) (nothing to do), V(failed),
          V(skipped) (given by a group, not changed here).
      type: str
      sample: removed
    error:
      description: Why it failed, C({status, code, message, request_id}), with Graph's reason when Graph refused.
      type: dict
    request_id:
      description: Graph's request-id of the write that decided the status; V(null) when no write was sent.
      type: str
    through:
      description: The group that gives the license, C({id, display_name, type}); V(null) for a direct assignment.
      type: dict
    reason:
      description: Why the license was not changed (given by a group) and what would change it; V(null) otherwise.
      type: str
    sku_part_number:
      description: The sku's part number.
      type: str
      sample: ENTERPRISEPACK
    disabled_plans:
      description: The ids of the service plans the assignment disables (what O(disabled_plans) takes to restore it).
      type: list
      elements: str
    disabled_plan_names:
      description: The names of those service plans.
      type: list
      elements: str
      sample: [YAMMER_ENTERPRISE]
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each user, its direct licenses within the selection before and after.
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
from ansible_collections.entra.membership.plugins.module_utils._engine_licenses import ALL_DIRECT, DirectLicenses
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(
        argument_spec=access_argument_spec(
            'users',
            skus=dict(type='list', elements='str', default=[ALL_DIRECT]),
            disabled_plans=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    run_access_module(module, 'entra_user_license', DirectLicenses())


if __name__ == '__main__':
    main()
