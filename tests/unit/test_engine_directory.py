"""The directory engine's pure parts: the guards of each target kind, the only write paths there are, predicted denials."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import (
    ADMINISTRATIVE_UNITS,
    GROUPS,
    administrative_unit_refusal,
    group_refusal,
    ref_path,
)
from ansible_collections.entra.membership.plugins.module_utils._resolve import Target

GROUP = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
USER = "18a80140-b0fb-4489-b360-2f6efaf225a0"


def target(**raw):
    return Target("T", GROUP, "T", "group", dict(raw), None)


@pytest.mark.parametrize("raw, code", [
    ({"groupTypes": ["DynamicMembership"], "membershipRule": "(user.department -eq \"Sales\")"}, "DynamicMembership"),
    ({"groupTypes": ["Unified", "DynamicMembership"]}, "DynamicMembership"),
    ({"onPremisesSyncEnabled": True}, "OnPremisesSynced"),
    ({"mailEnabled": True, "securityEnabled": True, "groupTypes": []}, "MailEnabledGroup"),
    ({"mailEnabled": True, "securityEnabled": False, "groupTypes": []}, "MailEnabledGroup"),
    ({"isManagementRestricted": True}, "ManagementRestricted"),
    ({"mailEnabled": True, "groupTypes": ["Unified"]}, None),              # Microsoft 365 group: fine
    ({"mailEnabled": False, "securityEnabled": True, "isAssignableToRole": True}, None),  # decided by Graph's 403
    ({}, None),
])
def test_a_group_is_refused_exactly_when_graph_will_not_change_its_members(raw, code):
    reason = group_refusal(target(**raw))
    assert (reason[0] if reason else None) == code


def test_a_dynamic_groups_refusal_quotes_its_membership_rule():
    assert '(user.department -eq "Sales")' in group_refusal(target(groupTypes=["DynamicMembership"], membershipRule='(user.department -eq "Sales")'))[1]


@pytest.mark.parametrize("raw, code", [
    ({"membershipType": "Dynamic"}, "DynamicMembership"), ({"membershipType": "dynamic"}, "DynamicMembership"),
    ({"isMemberManagementRestricted": True}, "ManagementRestricted"), ({"membershipType": "Assigned"}, None), ({}, None),
])
def test_an_administrative_unit_is_refused_when_dynamic_or_restricted(raw, code):
    reason = administrative_unit_refusal(target(**raw))
    assert (reason[0] if reason else None) == code


def test_write_paths_always_end_in_ref():
    assert ref_path(GROUPS, "v1.0", GROUP, USER) == "/groups/%s/members/%s/$ref" % (GROUP, USER)
    assert ref_path(GROUPS, "beta", GROUP) == "/groups/%s/members/$ref" % GROUP
    assert ref_path(ADMINISTRATIVE_UNITS, "v1.0", GROUP, USER) == "/directory/administrativeUnits/%s/members/%s/$ref" % (GROUP, USER)
    assert ref_path(ADMINISTRATIVE_UNITS, "beta", GROUP, USER) == "/administrativeUnits/%s/members/%s/$ref" % (GROUP, USER)
    for smuggled in ("../../users/%s" % USER, USER + "/x", "ada@contoso.com"):
        with pytest.raises(ValueError):
            ref_path(GROUPS, "v1.0", GROUP, smuggled)


def test_check_mode_predicts_a_denial_only_from_a_token_that_lacks_the_permission():
    role_assignable = target(isAssignableToRole=True)
    assert GROUPS.predicted_denial(None, role_assignable) is None  # an opaque token: no prediction
    assert GROUPS.predicted_denial({"GroupMember.ReadWrite.All", "RoleManagement.ReadWrite.Directory"}, role_assignable) is None
    denied = GROUPS.predicted_denial({"GroupMember.ReadWrite.All"}, role_assignable)
    assert denied.status == "failed" and "RoleManagement.ReadWrite.Directory" in denied.error["message"]
    assert GROUPS.predicted_denial({"GroupMember.ReadWrite.All"}, target()) is None
    assert "AdministrativeUnit.ReadWrite.All" in ADMINISTRATIVE_UNITS.predicted_denial({"AdministrativeUnit.Read.All"}, target()).error["message"]
