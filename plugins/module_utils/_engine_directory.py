# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``$ref`` engine of entra_group_member and entra_au_member: one mechanism, a small definition per kind.

Every write goes through ``ref_path``: without ``/$ref`` Graph deletes the member object itself
("Remove member", https://learn.microsoft.com/graph/api/group-delete-members, its Caution).
The write's answer decides a real run (a read could be stale while a change replicates); the
memberships are read before only where the answer cannot speak for itself (check mode, diff mode,
a write sent again after its answer was lost).

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.entra.membership.plugins.module_utils._engine_base import MemberEngine
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, read_collections
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    ABSENT,
    ADDED,
    PRESENT,
    REMOVED,
    outcome,
    predicted_denial,
    read_failure,
    ref_addition_outcome,
    ref_removal_outcome,
    refusal_outcome,
)
from ansible_collections.entra.membership.plugins.module_utils._references import object_id_segment
from ansible_collections.entra.membership.plugins.module_utils._resolve import target_collection

READ_PAGE_SIZE = 999          # Graph's maximum $top for members and memberOf
ROLE_MANAGEMENT = 'RoleManagement.ReadWrite.Directory'


def _rule(raw):
    rule = (raw or {}).get('membershipRule')
    return ' (%s)' % rule if rule else ''


def group_refusal(target, relationship='members'):
    """``(code, message)`` when Graph will not let anyone change this group's ``relationship`` through ``$ref``, else None.

    A dynamic rule governs members only: a dynamic group's owners can change.
    """
    raw = target.raw or {}
    name = target.display_name
    group_types = raw.get('groupTypes') or []
    if 'DynamicMembership' in group_types and relationship == 'members':
        return ('DynamicMembership', "group '%s' has dynamic membership: Entra ID adds and removes its members by its rule%s; "
                                     "change the membershipRule (or the member's attributes it matches) instead" % (name, _rule(raw)))
    if raw.get('onPremisesSyncEnabled'):
        return ('OnPremisesSynced', "group '%s' is synced from on-premises Active Directory: change its %s in Active Directory, "
                                    "the next sync brings the change to Entra ID" % (name, relationship))
    if raw.get('mailEnabled') and 'Unified' not in group_types:
        kind = 'a mail-enabled security group' if raw.get('securityEnabled') else 'a distribution list'
        return ('MailEnabledGroup', "group '%s' is %s, whose %s are managed by Exchange Online: change it in Exchange Online "
                                    "(Exchange admin center, or Remove-DistributionGroupMember / Add-DistributionGroupMember)" % (name, kind, relationship))
    if raw.get('isManagementRestricted'):
        return ('ManagementRestricted', "group '%s' is in a restricted management administrative unit: only administrators assigned a role "
                                        "scoped to that administrative unit can change its %s; ask one of them" % (name, relationship))
    return None


def group_owner_refusal(target):
    """``group_refusal`` for a group's owners."""
    return group_refusal(target, 'owners')


def administrative_unit_refusal(target):
    raw = target.raw or {}
    name = target.display_name
    if str(raw.get('membershipType') or '').lower() == 'dynamic':
        return ('DynamicMembership', "administrative unit '%s' has dynamic membership: Entra ID adds and removes its members by its rule%s; "
                                     "change the membershipRule (or the member's attributes it matches) instead" % (name, _rule(raw)))
    if raw.get('isMemberManagementRestricted'):
        return ('ManagementRestricted', "administrative unit '%s' is a restricted management administrative unit: only administrators "
                                        "assigned a role scoped to it can change its members; ask one of them" % name)
    return None


def _needs_role_management(target):
    return bool((target.raw or {}).get('isAssignableToRole'))


@dataclass(frozen=True)
class DirectoryKind:
    """What differs between groups and administrative units; the collection path comes from ``_resolve.target_collection``."""

    target_type: str              # the result's target.type
    option: str                   # the module option naming the targets
    noun: str
    select: str                   # the flags read with each target, for the guards
    member_of_cast: str           # memberOf cast segment for check and diff mode
    write_permissions: tuple      # any one of them lets an app change members
    refusal: object               # target -> (code, message) | None
    relationship: str = 'members'  # the navigation property written through $ref: members, or a group's owners

    def denial_explanation(self, target):
        """Why Graph answered 403 to a write on ``target``, and what to do."""
        needed = ' or '.join(self.write_permissions)
        if self.target_type == 'group' and _needs_role_management(target):
            return ("%s '%s' is role-assignable: changing its %s needs the permission %s in addition to %s; grant it to the app "
                    "(admin consent), or let a Privileged Role Administrator make the change"
                    % (self.noun, target.display_name, self.relationship, ROLE_MANAGEMENT, needed))
        return "the app may not change the %s of %s '%s': it needs %s" % (self.relationship, self.noun, target.display_name, needed)

    def predicted_denial(self, granted, target):
        denial = predicted_denial(granted, self.write_permissions, self.denial_explanation(target))
        if denial is None and self.target_type == 'group' and _needs_role_management(target):
            denial = predicted_denial(granted, (ROLE_MANAGEMENT,), self.denial_explanation(target))
        return denial


GROUPS = DirectoryKind(
    target_type='group', option='groups', noun='group',
    select='groupTypes,membershipRule,onPremisesSyncEnabled,mailEnabled,securityEnabled,isAssignableToRole,resourceProvisioningOptions,'
           'isManagementRestricted',
    member_of_cast='microsoft.graph.group',
    write_permissions=('GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'),
    refusal=group_refusal,
)

ADMINISTRATIVE_UNITS = DirectoryKind(
    target_type='administrative_unit', option='administrative_units', noun='administrative unit',
    select='membershipType,membershipRule,isMemberManagementRestricted',
    member_of_cast='microsoft.graph.administrativeUnit',
    write_permissions=('AdministrativeUnit.ReadWrite.All', 'Directory.ReadWrite.All'),
    refusal=administrative_unit_refusal,
)


def members_path(kind, api_version, target_id):
    """``.../members`` (or ``.../owners`` for a kind whose relationship is a group's owners)."""
    return '%s/%s/%s' % (target_collection(kind.target_type, api_version), object_id_segment(target_id), kind.relationship)


def ref_path(kind, api_version, target_id, member_id=None):
    """``.../members/$ref`` (add) or ``.../members/{member-id}/$ref`` (remove), ``owners`` alike: the only write paths there are.

    Without ``/$ref`` Graph deletes the member (or owner) object itself (group-delete-members' and group-delete-owners' pages).
    """
    path = members_path(kind, api_version, target_id)
    path += '/%s/$ref' % object_id_segment(member_id) if member_id else '/$ref'
    if not path.endswith('/$ref'):  # group-delete-members' Caution: this would delete the member object
        raise ValueError('refusing a %s write without /$ref: %s' % (kind.relationship, path))
    return path


def _read_by_member(pairs):
    """Read memberships from each member's memberOf (no more members than targets, all users), not from each target's members."""
    targets = {pair.target.id.lower() for pair in pairs}
    members = {pair.member.id.lower(): pair.member for pair in pairs}
    return len(members) <= len(targets) and all(member.object_type == 'user' for member in members.values())


class DirectoryMembers(MemberEngine):
    """The engine of groups or administrative units."""

    def __init__(self, kind):
        self.kind = kind
        self.option = kind.option
        self.target_type = kind.target_type
        self.noun = kind.noun
        self.select = kind.select

    def target_refusal(self, target):
        refusal = self.kind.refusal(target) if target.raw is not None else None
        return refusal_outcome(*refusal) if refusal else None

    def decide_open_pairs(self, client, pairs, state, check_mode, diff_mode):
        """Read the memberships where a real run needs them too (see ``_write``), then predict or write."""
        resolved = [pair for pair in pairs if pair.target.id and pair.member_id]
        if check_mode or diff_mode:
            self._read_memberships(client, resolved, check_mode)
        else:
            open_resolved = [pair for pair in resolved if pair.outcome is None]
            if _read_by_member(open_resolved):  # cheap: one memberOf read per member, outnumbered by the writes
                self._read_memberships(client, open_resolved, check_mode)
        open_pairs = [pair for pair in pairs if pair.outcome is None]
        if not open_pairs:
            return
        if check_mode:
            self._predict(client, open_pairs, state)
        else:
            self._write(client, open_pairs, state)

    # -- check and diff mode: who is a member now ----------------------------------------------------

    def _read_memberships(self, client, pairs, check_mode):
        if not pairs:
            return
        by_member = _read_by_member(pairs)
        if by_member:
            keys = list({pair.member.id.lower(): None for pair in pairs})
            paths = ['/users/%s/memberOf/%s' % (object_id_segment(key), self.kind.member_of_cast) for key in keys]
        else:
            keys = list({pair.target.id.lower(): None for pair in pairs})
            paths = [members_path(self.kind, client.api_version, key) for key in keys]
        params = {'$select': 'id', '$top': str(READ_PAGE_SIZE)}
        read = dict(zip(keys, read_collections(client, [GraphRequest('GET', path, params=params) for path in paths])))
        for pair in pairs:
            target_id, member_id = pair.target.id.lower(), pair.member.id.lower()
            items, error = read[member_id if by_member else target_id]
            if error is not None:
                if check_mode and pair.outcome is None:
                    pair.outcome = read_failure(error)
                continue
            other = target_id if by_member else member_id
            pair.was_member = any(str(item.get('id') or '').lower() == other for item in items)

    def _predict(self, client, pairs, state):
        granted = client.granted_permissions()
        for pair in pairs:
            denial = self.kind.predicted_denial(granted, pair.target)
            if denial:
                pair.outcome = denial
            elif state == 'absent':
                pair.outcome = outcome(REMOVED if pair.was_member else ABSENT)
            else:
                pair.outcome = outcome(PRESENT if pair.was_member else ADDED)

    # -- the real run -------------------------------------------------------------------------------

    def _write(self, client, pairs, state):
        """The ``$ref`` writes; Graph's answers decide. The membership read before only decides an answer to a
        repeated write (the first one's answer was lost): "not a member" then may be our own removal."""
        version = client.api_version
        if state == 'absent':
            requests = [GraphRequest('DELETE', ref_path(self.kind, version, pair.target.id, pair.member.id)) for pair in pairs]
            outcome_of = ref_removal_outcome
        else:
            requests = [GraphRequest('POST', ref_path(self.kind, version, pair.target.id), body={'@odata.id': client.directory_object_ref(pair.member.id)})
                        for pair in pairs]
            outcome_of = ref_addition_outcome
        for pair, response in zip(pairs, client.batch(requests)):
            pair.outcome = outcome_of(response, denial_explanation=self.kind.denial_explanation(pair.target), was_member=pair.was_member)
