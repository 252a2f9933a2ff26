# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access engine of entra_user_license: a user's direct license assignments.

What a user holds is its ``licenseAssignmentStates`` (``GET /users/{id}?$select=licenseAssignmentStates``, "licenseAssignmentState
resource type", https://learn.microsoft.com/graph/api/resources/licenseassignmentstate): one state per assignment, ``assignedByGroup``
null for a direct one, with the service plans it disables. The tenant's skus and their plans come from ``GET /subscribedSkus``
(subscribedsku-list), which names them. A user's direct skus are removed, and put back with their disabled plans, in one
``POST /users/{id}/assignLicense`` per user (user-assignlicense): one request is all or nothing, so removing a sku together with
the add-on that depends on it succeeds where removing either alone might not. Licenses a group gives (group-based licensing) are
reported, never removed here: they end when the user leaves the group.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import difflib

from ansible_collections.entra.membership.plugins.module_utils._access_base import (
    AccessEngine,
    Grant,
    SelectionError,
    assignment_outcome,
    predicted_outcome,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest
from ansible_collections.entra.membership.plugins.module_utils._outcomes import FAILED, license_removal_outcome, refusal_outcome
from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id, object_id_segment, shown, text_problem

ALL_DIRECT = 'all_direct'
# user-assignlicense: LicenseAssignment.ReadWrite.All (least privileged), User.ReadWrite.All, Directory.ReadWrite.All.
WRITE_PERMISSIONS = ('LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All')
# subscribedsku-list: LicenseAssignment.Read.All (least privileged), Organization.Read.All, Directory.Read.All, ...
SKU_READ_PERMISSION = 'LicenseAssignment.Read.All (or Organization.Read.All, Directory.Read.All)'
USER_SELECT = 'id,usageLocation,licenseAssignmentStates'


def _plan_names(sku, plan_ids):
    names = {str(plan.get('servicePlanId') or '').lower(): plan.get('servicePlanName') for plan in (sku or {}).get('servicePlans') or []}
    return [names.get(plan_id) or plan_id for plan_id in plan_ids]


class DirectLicenses(AccessEngine):
    """A user's direct license assignments (skus), each with the service plans it disables."""

    principals_option = 'users'
    principal_noun = 'user'
    target_type = 'sku'
    noun = 'license'
    detail_fields = ('sku_part_number', 'disabled_plans', 'disabled_plan_names')

    def __init__(self):
        self.skus = {}             # the tenant's subscribed skus by skuId (lower case)
        self.selected = None       # the skuIds the skus option names, in its order; None for all_direct
        self.disabled_plans = []   # the disabled_plans option as plan ids (lower case)
        self.usage_locations = {}  # user ref -> usageLocation, as read
        self.direct = {}           # (user ref, skuId) -> the grant held directly, as read

    # -- options and selection ------------------------------------------------------------------------

    def checked_options(self, params):
        skus = params['skus']
        state = params['state']
        if not skus:
            raise ValueError('skus: give sku ids or part numbers (such as ENTERPRISEPACK), or all_direct')
        if ALL_DIRECT in skus and len(skus) > 1:
            raise ValueError("skus: 'all_direct' stands alone; it was given with %s" % ', '.join("'%s'" % shown(sku) for sku in skus if sku != ALL_DIRECT))
        if ALL_DIRECT in skus and state == 'present':
            raise ValueError("skus: 'all_direct' is only for state=absent; name the skus to assign")
        for option in ('skus', 'disabled_plans'):
            for value in params[option] or []:
                problem = 'it is empty' if not str(value).strip() else text_problem(value)
                if problem:
                    raise ValueError("%s: '%s' is not valid: %s" % (option, shown(value), problem))
        if params['disabled_plans'] and state != 'present':
            raise ValueError('disabled_plans: only for state=present (a removal takes whatever plans the license has disabled)')

    def principal_refusal(self, member, state):
        if member.object_type in (None, 'user'):
            return None
        return refusal_outcome('NotAUser', "'%s' is a %s: this module changes the licenses assigned to users directly" % (member.ref, member.object_type))

    def resolve_selection(self, client, params):
        try:
            listed = list(client.paged('/subscribedSkus', params={'$select': 'skuId,skuPartNumber,servicePlans,prepaidUnits,consumedUnits'}))
        except GraphError as error:
            explanation = ' needs %s' % SKU_READ_PERMISSION if error.status == 403 else ''
            raise GraphError(error.status, error.code, "reading the tenant's subscribed skus (GET /subscribedSkus)%s (Graph: %s)"
                             % (explanation, error.message), error.request_id) from None
        self.skus = {str(sku['skuId']).lower(): sku for sku in listed if sku.get('skuId')}
        if params['skus'] != [ALL_DIRECT]:
            self.selected = list(dict.fromkeys(self._sku_id(ref) for ref in params['skus']))
            self.disabled_plans = list(dict.fromkeys(self._plan_id(ref) for ref in params['disabled_plans'] or []))

    def _sku_id(self, ref):
        lowered = ref.lower()
        for sku_id, sku in self.skus.items():
            if lowered in (sku_id, str(sku.get('skuPartNumber') or '').lower()):
                return sku_id
        names = sorted(str(sku.get('skuPartNumber')) for sku in self.skus.values())
        near = difflib.get_close_matches(ref.upper(), names, n=3, cutoff=0.6)
        hint = '; did you mean %s?' % ', '.join("'%s'" % name for name in near) if near else ''
        raise SelectionError("skus: the tenant subscribes to no sku with the %s '%s'%s (its skus: %s)" % (
            'id' if is_object_id(ref) else 'part number', shown(ref), hint, ', '.join(names) or 'none'))

    def _plan_id(self, ref):
        """A service plan of the selected skus, by id or name; it must belong to one of them (Graph refuses the others)."""
        lowered = ref.lower()
        plans = [plan for sku_id in self.selected for plan in self.skus[sku_id].get('servicePlans') or []]
        for plan in plans:
            if lowered in (str(plan.get('servicePlanId') or '').lower(), str(plan.get('servicePlanName') or '').lower()):
                return str(plan['servicePlanId']).lower()
        raise SelectionError("disabled_plans: '%s' is not a service plan of %s (their plans: %s)" % (
            shown(ref), ', '.join(self.skus[sku_id].get('skuPartNumber') or sku_id for sku_id in self.selected),
            ', '.join(str(plan.get('servicePlanName')) for plan in plans) or 'none'))

    # -- reads ------------------------------------------------------------------------------------------

    def _target(self, sku_id):
        return {'id': sku_id, 'display_name': (self.skus.get(sku_id) or {}).get('skuPartNumber'), 'type': 'sku'}

    def _details(self, sku_id, disabled):
        disabled = sorted(str(plan).lower() for plan in disabled or [])
        return {'sku_part_number': (self.skus.get(sku_id) or {}).get('skuPartNumber'), 'disabled_plans': disabled,
                'disabled_plan_names': _plan_names(self.skus.get(sku_id), disabled)}

    def holdings(self, client, principals):
        refs = list(principals)
        responses = client.batch([GraphRequest('GET', '/users/%s' % object_id_segment(principals[ref].id), params={'$select': USER_SELECT})
                                  for ref in refs])
        held, states = {}, {}
        for ref, response in zip(refs, responses):
            if not response.ok:
                held[ref] = ([], response.error)
                continue
            body = response.body if isinstance(response.body, dict) else {}
            self.usage_locations[ref] = body.get('usageLocation')
            states[ref] = [state for state in body.get('licenseAssignmentStates') or [] if state.get('skuId')]
        groups = self._group_names(client, {str(state['assignedByGroup']).lower() for items in states.values() for state in items
                                            if state.get('assignedByGroup')})
        for ref, items in states.items():
            grants = []
            for state in items:
                sku_id = str(state['skuId']).lower()
                if self.selected is not None and sku_id not in self.selected:
                    continue
                group_id = str(state.get('assignedByGroup') or '').lower() or None
                through = {'id': group_id, 'display_name': groups.get(group_id), 'type': 'group'} if group_id else None
                grant = Grant(ref, principals[ref], self._target(sku_id), sku_id, self._details(sku_id, state.get('disabledPlans')),
                              graph_id=sku_id, through=through)
                grants.append(grant)
                if through is None:
                    self.direct[(ref, sku_id)] = grant
            held[ref] = (grants, None)
        return held

    @staticmethod
    def _group_names(client, group_ids):
        """The names of the groups that give licenses, for the report; a group that cannot be read is named by its id only."""
        group_ids = sorted(group_ids)
        responses = client.batch([GraphRequest('GET', '/groups/%s' % object_id_segment(group_id), params={'$select': 'id,displayName'})
                                  for group_id in group_ids])
        return {group_id: response.body.get('displayName') for group_id, response in zip(group_ids, responses)
                if response.ok and isinstance(response.body, dict)}

    def wanted(self, principal_ref, principal, params):
        grants = []
        for sku_id in self.selected:
            held = self.direct.get((principal_ref, sku_id))
            plans = {str(plan.get('servicePlanId') or '').lower() for plan in self.skus[sku_id].get('servicePlans') or []}
            # A sku held already is left as it is: its result tells the plans it has, not the ones asked for.
            details = dict(held.details) if held else self._details(sku_id, [plan for plan in self.disabled_plans if plan in plans])
            grants.append(Grant(principal_ref, principal, self._target(sku_id), sku_id, details))
        return grants

    # -- decisions ----------------------------------------------------------------------------------------

    @staticmethod
    def denial_explanation(grant):
        return "the app may not change the licenses of '%s': it needs %s" % (grant.principal_ref, ' or '.join(WRITE_PERMISSIONS))

    def predict(self, client, grants, state):
        granted = client.granted_permissions()
        seats = {sku_id: self._free_seats(sku) for sku_id, sku in self.skus.items()}
        for grant in grants:
            grant.outcome = predicted_outcome(granted, WRITE_PERMISSIONS, self.denial_explanation(grant), state)
            if state == 'present' and grant.outcome.status != FAILED:
                grant.outcome = self._predicted_refusal(grant, seats) or grant.outcome

    @staticmethod
    def _free_seats(sku):
        prepaid = (sku.get('prepaidUnits') or {}).get('enabled')
        return None if prepaid is None else prepaid - int(sku.get('consumedUnits') or 0)

    def _predicted_refusal(self, grant, seats):
        """What Graph would refuse of an assignment that can be foreseen from what was read: no usage location, no seat left."""
        if not self.usage_locations.get(grant.principal_ref):
            return refusal_outcome('Request_BadRequest', "'%s' has no usageLocation, which Graph requires before it assigns a license "
                                   '(predicted; set the user\'s usageLocation first)' % grant.principal_ref, 400)
        sku_id = grant.target['id']
        if seats.get(sku_id) is not None and seats[sku_id] <= 0:
            return refusal_outcome('Request_BadRequest', 'no seat of %s is left (predicted from the subscribed skus)' % grant.target['display_name'], 400)
        if seats.get(sku_id) is not None:
            seats[sku_id] -= 1
        return None

    def write(self, client, grants, state):
        per_user = {}
        for grant in grants:
            per_user.setdefault(grant.principal_id, []).append(grant)
        requests = []
        for user_id, user_grants in per_user.items():
            if state == 'absent':
                body = {'addLicenses': [], 'removeLicenses': [grant.target['id'] for grant in user_grants]}
            else:
                body = {'addLicenses': [{'skuId': grant.target['id'], 'disabledPlans': grant.details['disabled_plans']} for grant in user_grants],
                        'removeLicenses': []}
            requests.append(GraphRequest('POST', '/users/%s/assignLicense' % object_id_segment(user_id), body=body))
        for user_grants, response in zip(per_user.values(), client.batch(requests)):
            for grant in user_grants:
                if state == 'absent':
                    grant.outcome = license_removal_outcome(response, self.denial_explanation(grant), held=grant.held, removed_together=len(user_grants))
                else:
                    grant.outcome = assignment_outcome(state, response, self.denial_explanation(grant), grant.held)

    def diff_label(self, grant):
        names = grant.details.get('disabled_plan_names')
        return '%s%s' % (grant.target.get('display_name') or grant.target['id'], ' (disabled: %s)' % ', '.join(names) if names else '')
