#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_au_member
short_description: Remove members from (or add them to) Microsoft Entra ID administrative units
version_added: 1.0.0
description:
  - Takes each of O(members) (users, groups or devices) out of each of O(administrative_units) (O(state=absent), the default),
    or puts them in (O(state=present)), through Microsoft Graph's C(members/$ref), and reports one result per unit and member.
  - Plans first, then writes, exactly as M(entra.membership.entra_group_member) does, on the same engine; re-runs report
    V(absent) (or V(present)) and C(changed=false).
  - "The path depends on O(api_version): V(v1.0) uses C(/directory/administrativeUnits/{id}/members/{member-id}/$ref),
    V(beta) uses C(/administrativeUnits/{id}/members/{member-id}/$ref). Without C(/$ref) Graph would delete the member
    object itself; the module never sends such a request."
  - Units with dynamic membership fail with "change the membershipRule", and restricted management administrative units fail
    saying that only administrators scoped to the unit can change them; nothing is sent to either.
author:
  - Contributors to the entra.membership collection (@entra)
options:
  administrative_units:
    description:
      - The administrative units, each an object id (GUID) or an exact display name (case matters).
      - A display name must match exactly one unit; otherwise the pairs of that unit fail with the candidates' ids and
        nothing is sent to it.
      - Giving the same unit twice (for example by name and by id) is an error, raised before any write.
      - A unit that does not exist fails its pairs; it is never reported V(absent).
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
  - "Permissions: C(AdministrativeUnit.ReadWrite.All) to change members (delegated access also needs the Privileged Role
    Administrator role); C(User.Read.All) or C(Directory.Read.All) to resolve members."
  - "Every run reads the memberships first, each member's C(memberOf) or each unit's C(members), whichever is fewer requests;
    a real run maps Graph's 404 to its C($ref) DELETE, or its 400 'One or more removed object references do not exist', to
    V(absent)."
  - See the collection's C(docs/groups-and-administrative-units.md).
seealso:
  - module: entra.membership.entra_group_member
  - module: entra.membership.teams_member
  - name: "Microsoft Graph: Remove a member from an administrative unit"
    description: The C($ref) removal this module sends.
    link: https://learn.microsoft.com/graph/api/administrativeunit-delete-members
'''

EXAMPLES = r'''
- name: Take a leaver out of two administrative units
  entra.membership.entra_au_member:
    administrative_units: [Germany, EMEA Sales]
    members: [leaver@contoso.com]

- name: Use the beta endpoint (/administrativeUnits) and preview first
  entra.membership.entra_au_member:
    administrative_units: [3c1e9c4a-8b7f-4d1e-a0c2-58b0b1f1c7aa]
    members: "{{ leavers }}"
    api_version: beta
  check_mode: true
  register: preview

- name: Say what the preview found
  ansible.builtin.debug:
    msg: "{{ preview.msg }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_au_member: 2 removed, 1 already absent, 1 failed across 2 administrative units)."
  returned: always
  type: str
summary:
  description: How many pairs ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 2, added: 0, absent: 1, present: 0, failed: 1, skipped: 0}
results:
  description: One entry per administrative unit and member, in the order given (units first, then members).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The unit, C({id, display_name, type}) with C(type) V(administrative_unit); what was given when it could not be resolved.
      type: dict
      sample: {id: 3c1e9c4a-8b7f-4d1e-a0c2-58b0b1f1c7aa, display_name: Germany, type: administrative_unit}
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
      description: Graph's request-id of the write that decided the status; V(null) when none was sent.
      type: str
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each unit, its members before and after, limited to the members given.
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

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import ADMINISTRATIVE_UNITS, RESTRICTED_MANAGEMENT_ARGSPEC, DirectoryMembers
from ansible_collections.entra.membership.plugins.module_utils._runner import member_argument_spec, member_option_rules, run_member_module
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(argument_spec=member_argument_spec(ADMINISTRATIVE_UNITS.option, restricted_management=RESTRICTED_MANAGEMENT_ARGSPEC),
                         supports_check_mode=True, **member_option_rules(ADMINISTRATIVE_UNITS.option))
    run_member_module(module, 'entra_au_member', DirectoryMembers(ADMINISTRATIVE_UNITS, module.params['restricted_management']))


if __name__ == '__main__':
    main()
