# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``unknown_members``: what a member (or principal) that no object in the tenant matches becomes, for every module
that takes members or users (issue 17, item 1). A typo must not pass as a success.

``warn`` (default): its pairs are ``absent`` (what does not exist is in nothing), one Ansible warning names each such
member and ``msg`` counts them; ``fail``: ``failed`` with ``MemberNotFound``; ``ignore``: ``absent``, silently (1.0).
When the task would create something for it (``state: present``, an account to enable), it is always ``failed``.
A member given as an address that is a guest's ``mail`` is named by the guest's ``#EXT#`` user principal name.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._errors import error_dict
from ansible_collections.entra.membership.plugins.module_utils._outcomes import ABSENT, FAILED, outcome
from ansible_collections.entra.membership.plugins.module_utils._references import shown
from ansible_collections.entra.membership.plugins.module_utils._resolve import users_by_mail

UNKNOWN_MEMBERS = ('warn', 'fail', 'ignore')
UNKNOWN_MEMBERS_ARGSPEC = dict(type='str', default='warn', choices=list(UNKNOWN_MEMBERS))
LISTED_IN_WARNING = 10
GUEST_FORM = "a guest is given by its user principal name (<address with '@' as '_'>#EXT#@<tenant>.onmicrosoft.com) or its id"


def _looks_like_an_address(ref):
    return '@' in ref and '#ext#' not in ref.lower()


def _guest_hints(client, unknown_refs):
    """``{ref: '; ...'}`` for each unknown member given as an address that is a guest's ``mail``: a guest's user principal
    name is ``<address with @ as _>#EXT#@<tenant>.onmicrosoft.com``, not the address people know it by."""
    addresses = [ref for ref in unknown_refs if _looks_like_an_address(ref)]
    if not addresses:
        return {}
    guests = users_by_mail(client, addresses)
    hints = {}
    for ref in addresses:
        user = guests.get(ref.lower())
        if user:
            hints[ref] = ("; '%s' is the e-mail address of '%s' (%s): give its user principal name or its id"
                          % (shown(ref), shown(user['userPrincipalName']), user['id']))
    return hints


class UnknownMembers:
    """The members of one task that no object matched, and what becomes of them under ``policy`` (``unknown_members``)."""

    def __init__(self, client, refs, members, policy, creates):
        """``refs`` the members given (in order), ``members`` their resolution ({ref: Member}), ``creates`` whether the
        task would create something for a member (state present): then an unknown one always fails."""
        self.policy = policy
        self.creates = creates
        # Graph said so (no error): an unreadable member is another failure
        self.refs = [ref for ref in dict.fromkeys(refs) if members[ref].error is None and not members[ref].found]
        quiet = policy == 'ignore' and not creates
        self.hints = _guest_hints(client, self.refs) if self.refs and not quiet else {}

    def outcome(self, ref):
        """The outcome of a pair whose member ``ref`` no object matched."""
        if not self.creates and self.policy != 'fail':
            return outcome(ABSENT)
        message = "no user or other object has the id or user principal name '%s' in this tenant%s" % (shown(ref), self.hints.get(ref, ''))
        return outcome(FAILED, error_dict(None, 'MemberNotFound', message))

    @property
    def noted(self):
        """The unknown members the warning and ``msg`` name (as shown): only under ``warn`` when they are ``absent``."""
        return [shown(ref) for ref in self.refs] if self.policy == 'warn' and not self.creates else []

    def warn(self, module, option):
        """One Ansible warning naming each noted member (the first ten), with how to give a guest when one looks like an address."""
        noted = self.noted
        if not noted:
            return
        listed = ', '.join("'%s'" % ref for ref in noted[:LISTED_IN_WARNING])
        if len(noted) > LISTED_IN_WARNING:
            listed += ' and %d more' % (len(noted) - LISTED_IN_WARNING)
        hint = ''.join([self.hints[ref] for ref in self.refs if ref in self.hints][:3])  # the first three guests found
        if not hint and any(_looks_like_an_address(ref) for ref in self.refs):
            hint = '; %s' % GUEST_FORM
        several = len(noted) > 1
        module.warn('%s: no user or other object in the tenant matches %s (%d %s): %s reported already absent%s. Set unknown_members: '
                    'fail to fail such pairs instead, or unknown_members: ignore to drop this warning'
                    % (option, listed, len(noted), 'members' if several else 'member', 'their pairs are' if several else 'its pairs are', hint))
