# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``$ref`` engine of entra_group_member and entra_au_member: one mechanism, a small definition per kind.

Every write goes through ``ref_path``: without ``/$ref`` Graph deletes the member object itself
("Remove member", https://learn.microsoft.com/graph/api/group-delete-members, its Caution).
The memberships are read before writing (``_engine_base.read_memberships``: each member's memberOf or
each target's members, whichever takes fewer reads): check mode and diff mode tell from them, and a
write sent again after an answer that may hide its success (lost, 429, 5xx) meets its own work, which
only the read before can tell from "there was nothing to do".

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.entra.membership.plugins.module_utils._engine_base import (
    MemberEngine,
    decide_from_reads,
    dynamic_membership_refusal,
    read_memberships,
)
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    ADDED,
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

ROLE_MANAGEMENT = 'RoleManagement.ReadWrite.Directory'


# admin-units-restricted-management: objects in such a unit are changed only by those assigned a role scoped to it.
_RESTRICTED_GROUP = ("group '%s' is in a restricted management administrative unit: only administrators assigned a role scoped to that "
                     "administrative unit can change its %s")
_RESTRICTED_UNIT = ("administrative unit '%s' is a restricted management administrative unit: only administrators assigned a role scoped "
                    "to it can change its members")
_RESTRICTED_ADVICE = '; ask one of them, or, if this app holds such a role, set restricted_management: attempt'


def group_refusal(target, relationship='members'):
    """``(code, message)`` when Graph will not let anyone change this group's ``relationship`` through ``$ref``, else None."""
    raw = target.raw or {}
    name = target.display_name
    group_types = raw.get('groupTypes') or []
    # A dynamic rule governs members only: a dynamic group's owners can change.
    dynamic = dynamic_membership_refusal('group', target) if relationship == 'members' else None
    if dynamic:
        return dynamic
    if raw.get('onPremisesSyncEnabled'):
        return ('OnPremisesSynced', "group '%s' is synced from on-premises Active Directory: change its %s in Active Directory, "
                                    "the next sync brings the change to Entra ID" % (name, relationship))
    if raw.get('mailEnabled') and 'Unified' not in group_types:
        kind = 'a mail-enabled security group' if raw.get('securityEnabled') else 'a distribution list'
        return ('MailEnabledGroup', "group '%s' is %s, whose %s are managed by Exchange Online: change it in Exchange Online "
                                    "(Exchange admin center, or Remove-DistributionGroupMember / Add-DistributionGroupMember)" % (name, kind, relationship))
    if raw.get('isManagementRestricted'):
        # restricted_management: attempt is an option of the member modules only
        advice = _RESTRICTED_ADVICE if relationship == 'members' else '; ask one of them'
        return ('ManagementRestricted', _RESTRICTED_GROUP % (name, relationship) + advice)
    return None


def group_owner_refusal(target):
    """``group_refusal`` for a group's owners."""
    return group_refusal(target, 'owners')


def administrative_unit_refusal(target):
    raw = target.raw or {}
    name = target.display_name
    dynamic = dynamic_membership_refusal('administrative unit', target)
    if dynamic:
        return dynamic
    if raw.get('isMemberManagementRestricted'):
        return ('ManagementRestricted', _RESTRICTED_UNIT % name + _RESTRICTED_ADVICE)
    return None


def restricted_rule(target):
    """Why only some may change ``target``'s members (a restricted management administrative unit), or None."""
    raw = target.raw or {}
    if target.type == 'group' and raw.get('isManagementRestricted'):
        return _RESTRICTED_GROUP % (target.display_name, 'members')
    if target.type == 'administrative_unit' and raw.get('isMemberManagementRestricted'):
        return _RESTRICTED_UNIT % target.display_name
    return None


RESTRICTED_MANAGEMENT = ('refuse', 'attempt')
RESTRICTED_MANAGEMENT_ARGSPEC = dict(type='str', default='refuse', choices=list(RESTRICTED_MANAGEMENT))


def _needs_role_management(target):
    return bool((target.raw or {}).get('isAssignableToRole'))


@dataclass(frozen=True)
class DirectoryKind:
    """What differs between groups and administrative units; the collection path comes from ``_resolve.target_collection``."""

    target_type: str              # the result's target.type
    option: str                   # the module option naming the targets
    noun: str
    select: str                   # the flags read with each target, for the guards
    odata_type: str               # its @odata.type in a memberOf answer
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
    odata_type='#microsoft.graph.group',
    write_permissions=('GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'),
    refusal=group_refusal,
)

ADMINISTRATIVE_UNITS = DirectoryKind(
    target_type='administrative_unit', option='administrative_units', noun='administrative unit',
    select='membershipType,membershipRule,isMemberManagementRestricted',
    odata_type='#microsoft.graph.administrativeUnit',
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


class DirectoryMembers(MemberEngine):
    """The engine of groups or administrative units.

    ``restricted_management``: ``refuse`` sends nothing to a target in (or that is) a restricted management
    administrative unit, as 1.0 did; ``attempt`` sends the write, since an app holding a Microsoft Entra role scoped to
    that unit may change it (admin-units-restricted-management, "Programmability"), and a 403 is explained by the refusal's words.
    """

    def __init__(self, kind, restricted_management='refuse'):
        if restricted_management not in RESTRICTED_MANAGEMENT:
            raise ValueError('restricted_management must be one of %s, got %s' % (', '.join(RESTRICTED_MANAGEMENT), restricted_management))
        self.kind = kind
        self.option = kind.option
        self.target_type = kind.target_type
        self.noun = kind.noun
        self.select = kind.select
        self.restricted_management = restricted_management

    def target_refusal(self, target):
        refusal = self.kind.refusal(target) if target.raw is not None else None
        if refusal and refusal[0] == 'ManagementRestricted' and self.restricted_management == 'attempt':
            return None
        return refusal_outcome(*refusal) if refusal else None

    def denial_explanation(self, target):
        """Why a 403 on ``target`` happened: a restricted unit's rule when it is in one, else the permission it needs."""
        rule = restricted_rule(target)
        if rule:
            return '%s, and Graph refused this app: it holds no role scoped to that unit' % rule
        return self.kind.denial_explanation(target)

    def decide_open_pairs(self, client, pairs, state, check_mode, diff_mode):
        """Read the memberships (every resolved pair in check and diff mode, the open ones in a real run), decide the pairs
        they show need nothing, then predict or write the rest."""
        resolved = [pair for pair in pairs if pair.target.id and pair.member_id and (check_mode or diff_mode or pair.outcome is None)]
        self._read_memberships(client, resolved, check_mode)
        decide_from_reads(pairs, state)
        open_pairs = [pair for pair in pairs if pair.outcome is None]
        if not open_pairs:
            return
        if check_mode:
            self._predict(client, open_pairs, state)
        else:
            self._write(client, open_pairs, state)

    # -- who is a member now ---------------------------------------------------------------------------

    def _read_memberships(self, client, pairs, check_mode):
        errors = read_memberships(client, pairs, lambda target_id: members_path(self.kind, client.api_version, target_id))
        for index, error in errors.items():
            if check_mode and pairs[index].outcome is None:
                pairs[index].outcome = read_failure(error)

    def _predict(self, client, pairs, state):
        granted = client.granted_permissions()
        for pair in pairs:
            denial = self.kind.predicted_denial(granted, pair.target)
            if denial:
                pair.outcome = denial
            else:
                pair.outcome = outcome(REMOVED if state == 'absent' else ADDED)

    # -- the real run -------------------------------------------------------------------------------

    def _write(self, client, pairs, state):
        """The ``$ref`` writes; Graph's answers decide. The membership read before decides an answer to a
        repeated write (the first one's answer was lost or a 429/5xx): "not a member" then may be our own removal."""
        version = client.api_version
        if state == 'absent':
            requests = [GraphRequest('DELETE', ref_path(self.kind, version, pair.target.id, pair.member.id)) for pair in pairs]
            outcome_of = ref_removal_outcome
        else:
            requests = [GraphRequest('POST', ref_path(self.kind, version, pair.target.id), body={'@odata.id': client.directory_object_ref(pair.member.id)})
                        for pair in pairs]
            outcome_of = ref_addition_outcome
        for pair, response in zip(pairs, client.batch(requests)):
            pair.outcome = outcome_of(response, denial_explanation=self.denial_explanation(pair.target), was_member=pair.was_member)
