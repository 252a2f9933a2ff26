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
    type: list
    elements: str
    required: true
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
