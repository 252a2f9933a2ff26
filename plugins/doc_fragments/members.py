# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Every module of the collection takes it: the member modules as entra.membership.members.api_version next to
    # entra.membership.members, entra_member_of_info alone.
    API_VERSION = r'''
options:
  api_version:
    description:
      - The Microsoft Graph API version the requests go to.
    type: str
    choices: [v1.0, beta]
    default: v1.0
'''

    # entra_group_member and entra_au_member: entra.membership.members.restricted_management.
    RESTRICTED_MANAGEMENT = r'''
options:
  restricted_management:
    description:
      - What to do with a target in a restricted management administrative unit (a group with C(isManagementRestricted), an
        administrative unit with C(isMemberManagementRestricted)), whose members only those assigned a Microsoft Entra role scoped
        to that unit may change.
      - V(refuse) sends nothing to it and fails its pairs with the reason (code C(ManagementRestricted)), as in 1.0.
      - V(attempt) sends the writes, for an app that holds a role scoped to that unit; when Graph refuses (403) the pair fails
        with the same explanation. Check mode cannot see such a role and predicts the change.
    type: str
    choices: [refuse, attempt]
    default: refuse
'''

    # Every module that takes members, owners, principals or users: entra.membership.members.unknown_members
    # (plugins/module_utils/_unknown_members.py).
    UNKNOWN_MEMBERS = r'''
options:
  unknown_members:
    description:
      - What a member (the owner, principal or user the module takes) that no object in the tenant matches (no user or other
        object has that id or user principal name) becomes when the task takes something away; a typo must not pass unnoticed
        as a success.
      - V(warn) reports it V(absent) (what does not exist holds nothing) and emits one Ansible warning naming each such member
        (the first ten, then a count); C(msg) counts and names them too.
      - V(fail) reports it V(failed) with C(error.code=MemberNotFound), so the task fails; nothing is sent for it.
      - V(ignore) reports it V(absent) without a warning, as 1.0 did.
      - When the task would give it something (C(state=present); M(entra.membership.entra_user_account) with
        C(account_enabled=true)) such a member is always V(failed) with C(MemberNotFound), whatever this option says.
      - When a member given as an e-mail address is a guest's C(mail), the warning or error names the guest's C(#EXT#) user
        principal name and id to give instead.
    type: str
    choices: [warn, fail, ignore]
    default: warn
'''

    # Options shared by entra_group_member, entra_au_member and teams_member (plugins/module_utils/_runner.py).
    DOCUMENTATION = r'''
options:
  members:
    description:
      - The members to remove (or add), each an object id (GUID) or a user principal name (anything with C(@)).
      - Guests are given by their C(#EXT#) user principal name (for example V(vera_fabrikam.com#EXT#@contoso.onmicrosoft.com)) or their id.
      - Duplicates are folded, user principal names compared without case; a user given by both id and user principal name
        is handled once, under the first form given, with a warning.
      - An empty list does nothing and reports C(changed=false) without any request to Graph.
      - At most 10000 members in one task; split larger sets into several tasks.
      - A malformed id, an empty string or anything that is neither an id nor a user principal name fails the task,
        naming the value, before any request.
      - Required with the module's targets option (O(entra.membership.entra_group_member#module:groups),
        O(entra.membership.entra_au_member#module:administrative_units) or O(entra.membership.teams_member#module:teams)), unless
        O(memberships) is given instead; every member is taken out of (or put in) every target.
    type: list
    elements: str
  memberships:
    description:
      - The (target, member) pairs to change, each a mapping C({target, member}); instead of the targets option and O(members),
        which change every member in every target. One task serves many users, each with their own targets.
      - C(target) is a target's object id or exact display name, C(member) a member's object id or user principal name, checked
        as the targets option and O(members) check theirs.
      - C(role) (M(entra.membership.teams_member) only) is the role asked for with O(state=present), V(member) or V(owner);
        without it the module's O(entra.membership.teams_member#module:role) applies. Ignored with O(state=absent).
      - C(results) has one entry per entry of this list, in its order. Each distinct target and member is resolved once,
        whatever the number of entries naming it; the same target or member may be named by id in one entry and by
        name in another.
      - An entry that names the same target and member as an earlier one (also by another form) is not sent again and is
        reported V(skipped), with a warning naming both entries.
      - "A bad entry (a missing or unknown key, a value that is not a valid reference) fails the task before any request, with
        a message naming the option, the entry's index (from 0) and the value, for example C(memberships[3].member: 'Ada Lovelace'
        is neither an object id (GUID) nor a user principal name (which contains @)). An entry that is not a mapping is refused
        by Ansible's own check of the option's type."
      - At most 50000 entries in one task. An empty list does nothing and reports C(changed=false) without any request to Graph.
    type: list
    elements: dict
    suboptions:
      target:
        description: The group, administrative unit or team (by the module), an object id or an exact display name.
        type: str
        required: true
      member:
        description: The member, an object id or a user principal name.
        type: str
        required: true
      role:
        description: M(entra.membership.teams_member) only, with O(state=present); the other modules refuse the key.
        type: str
        choices: [member, owner]
  state:
    description:
      - V(absent) takes each member out of each target; V(present) puts it in.
      - V(present) is there to replay a removal record and so undo an offboarding.
    type: str
    choices: [absent, present]
    default: absent
attributes:
  check_mode:
    support: full
    description:
      - Reads the targets, the members and their memberships, sends no write, and returns the statuses the real run would
        return (V(removed) then means "would be removed"), with RV(check_mode=true).
  diff_mode:
    support: full
    description:
      - Returns, for each target, its members before and after the task, limited to the members given.
'''
