#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: entra_user_account
short_description: Disable (or re-enable) Microsoft Entra ID user accounts and revoke their sign-in sessions
version_added: 1.1.0
description:
  - Removing memberships takes effect as a user's tokens refresh; until then a leaver with a live session still gets in. This
    module takes the account itself. O(account_enabled=false) stops it signing in (C(PATCH /users/{id}) with C(accountEnabled));
    O(revoke_sessions=true) invalidates the refresh tokens and session cookies it holds (C(POST /users/{id}/revokeSignInSessions)).
  - One result per user and setting, RV(results[].setting) V(account_enabled) or V(sign_in_sessions), with what the account had
    before in RV(results[].previous), so a restore re-enables only the accounts that were enabled.
  - Revoking sessions cannot be undone. Its result says so (RV(results[].reversible=false)); sessions are revoked before the
    account is disabled, so a run cut short between the two leaves the account enabled and a re-run does both.
  - Reads each account first, so a re-run sends no write (an account already disabled is V(absent); its sessions are V(absent) too,
    as a disabled account refreshes no session) and check mode predicts exactly.
  - Refuses to disable an account that holds an active privileged directory role at the tenant (directly or through a group), as
    that is how tenants lock themselves out. The result fails with V(PrivilegedAccount) and nothing is sent for it, unless
    O(disable_privileged=true).
  - An account synced from on-premises Active Directory is enabled or disabled there; its result fails with V(OnPremisesSynced) and
    nothing is sent for it. A guest's sessions live in its home organization, which Graph does not sign out; they are V(skipped).
author:
  - Contributors to the entra.membership collection (@entra)
options:
  users:
    description:
      - The users, each an object id (GUID) or a user principal name.
      - Duplicates are folded; an empty list does nothing. A malformed value fails the task, naming it, before any request.
      - A user that does not exist has no account to change; its one result is V(absent).
    type: list
    elements: str
    required: true
  account_enabled:
    description:
      - V(false) disables the accounts (they can no longer sign in), V(true) enables them again (what a restore does with the
        results whose RV(results[].previous) was V(true)). Unset leaves them as they are.
    type: bool
  revoke_sessions:
    description:
      - Revoke the users' sign-in sessions (refresh tokens and browser session cookies, on every device). Irreversible.
      - Sent for accounts that are enabled when read (an account this task disables included); a disabled account cannot refresh a
        session, so it is V(absent) and sent nothing.
    type: bool
    default: false
  disable_privileged:
    description:
      - With O(account_enabled=false), also disable accounts that hold an active privileged directory role at the tenant (one
        Microsoft Entra marks C(isPrivileged), such as Global Administrator or Helpdesk Administrator, held directly or through a
        role-assignable group). Without it those accounts are refused and not touched.
      - Graph still refuses such a user unless the app itself holds the Privileged Authentication Administrator or Global
        Administrator role.
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
      - Reads the accounts (and who holds a privileged role), sends no write, and returns the statuses the real run would return,
        including a denial the app's permissions or roles make certain.
  diff_mode:
    support: full
    description:
      - Returns, for each user, whether the account is enabled and its sign-in sessions, before and after.
notes:
  - "Permissions (application): disabling and enabling C(User.EnableDisableAccount.All) with C(User.Read.All) (or C(User.ReadWrite.All));
    revoking sessions C(User.RevokeSessions.All) (or C(User.ReadWrite.All)); the privileged role check C(RoleManagement.Read.Directory)
    with C(GroupMember.Read.All) (or C(Directory.Read.All)). To disable, enable or sign out a user who holds a privileged role the app must also hold the
    Privileged Authentication Administrator (or Global Administrator) directory role itself: Microsoft documents that
    C(User.ReadWrite.All) alone is not enough there."
  - Which roles are privileged is Graph's C(isPrivileged) flag of the role definitions, read from the beta endpoint (the only one
    that has it); those roles' active assignments are read once per task (one read a role, 20 to a C($batch)), whatever the number
    of users.
  - See the collection's C(docs/user-account.md).
seealso:
  - module: entra.membership.entra_directory_role_assignment
  - module: entra.membership.entra_member_of_info
  - name: "Microsoft Graph: user: revokeSignInSessions"
    description: The revocation this module sends.
    link: https://learn.microsoft.com/graph/api/user-revokesigninsessions
  - name: "Microsoft Graph: Update user"
    description: The C(accountEnabled) update this module sends.
    link: https://learn.microsoft.com/graph/api/user-update
'''

EXAMPLES = r'''
- name: Lock a leaver out (disable the account, end its sessions)
  entra.membership.entra_user_account:
    users: [leaver@contoso.com]
    account_enabled: false
    revoke_sessions: true
  register: account

- name: A leaver who is still an administrator (remove the roles first, or say so)
  entra.membership.entra_user_account:
    users: [admin.leaver@contoso.com]
    account_enabled: false
    disable_privileged: true

- name: Undo it from its record, enabling what was enabled (revoked sessions stay revoked)
  entra.membership.entra_user_account:
    users: ["{{ item.member_id }}"]
    account_enabled: true
  loop: "{{ account.results | selectattr('setting', 'equalto', 'account_enabled') | selectattr('status', 'equalto', 'removed') }}"
'''

RETURN = r'''
msg:
  description: "One line, for example V(entra_user_account: 2 removed across 1 principal)."
  returned: always
  type: str
summary:
  description: How many results ended in each status; every status is a key.
  returned: always
  type: dict
  sample: {removed: 2, added: 0, absent: 0, present: 0, failed: 0, skipped: 0}
results:
  description:
    - One entry per user and setting asked (sessions first, then the account), in the order the users were given; a user that does
      not exist or cannot be read has one entry whose C(target.id) is V(null).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The account, C({id, display_name, type}) with C(type) V(account) and C(id) the user's object id.
      type: dict
      sample: {id: bcb3c533-9541-5977-9784-223df42eb0e6, display_name: Lee Leaver, type: account}
    member:
      description: The user as given.
      type: str
      sample: leaver@contoso.com
    member_id:
      description: The user's object id; V(null) when it could not be resolved.
      type: str
    status:
      description:
        - For V(account_enabled), V(removed) (disabled) or V(added) (enabled), V(absent) (already disabled) or V(present) (already
          enabled); for V(sign_in_sessions), V(removed) (revoked), V(absent) (the account is disabled) or V(skipped) (a guest).
          V(failed) with RV(results[].error). In check mode, what would happen.
      type: str
      sample: removed
    error:
      description:
        - Why it failed, C({status, code, message, request_id}); C(code) V(PrivilegedAccount) or V(OnPremisesSynced) for the
          guards (nothing was sent).
      type: dict
    request_id:
      description: Graph's request-id of the write that decided the status; V(null) when no write was sent.
      type: str
    through:
      description: Always V(null) (an account is its own).
      type: dict
    reason:
      description: Always V(null).
      type: str
    setting:
      description: V(account_enabled) or V(sign_in_sessions).
      type: str
    previous:
      description:
        - What the account had before the task. For V(account_enabled), whether it was enabled (restore enables only those that
          were); for V(sign_in_sessions), C(signInSessionsValidFromDateTime), the moment from which sessions were valid.
      type: raw
      sample: true
    reversible:
      description: V(false) for V(sign_in_sessions), which nothing can restore; V(true) for V(account_enabled).
      type: bool
    note:
      description: For V(sign_in_sessions), why it cannot be undone (or why a guest's sessions are not revoked here); V(null) otherwise.
      type: str
check_mode:
  description: Whether this was a check mode run, in which statuses say what would happen.
  returned: always
  type: bool
diff:
  description: In diff mode, for each user, whether the account is enabled and its sign-in sessions, before and after.
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
from ansible_collections.entra.membership.plugins.module_utils._engine_account import AccountSettings
from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule


def main():
    module = EntraModule(
        argument_spec=access_argument_spec(
            'users',
            with_state=False,
            account_enabled=dict(type='bool'),
            revoke_sessions=dict(type='bool', default=False),
            disable_privileged=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    run_access_module(module, 'entra_user_account', AccountSettings())


if __name__ == '__main__':
    main()
