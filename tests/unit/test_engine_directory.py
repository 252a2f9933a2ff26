"""Pure parts of the plan: input checks, guards per target kind, the only write paths there are."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import (
    ADMINISTRATIVE_UNITS,
    GROUPS,
    administrative_unit_refusal,
    group_refusal,
    ref_path,
)
from ansible_collections.entra.membership.plugins.module_utils._outcomes import predicted_denial
from ansible_collections.entra.membership.plugins.module_utils._references import (
    checked_references,
    member_problem,
    target_problem,
)
from ansible_collections.entra.membership.plugins.module_utils._resolve import Target

GROUP = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
USER = "18a80140-b0fb-4489-b360-2f6efaf225a0"


@pytest.mark.parametrize("value", [USER, USER.upper(), "ada@contoso.com", "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"])
def test_good_members(value):
    assert member_problem(value) is None


@pytest.mark.parametrize("value, words", [
    ("", "empty"), ("   ", "empty"), (USER[:-1], "not a valid object id"), (USER + "0", "not a valid object id"),
    ("ada", "neither an object id"), ("ada@", "not a user principal name"), ("a b@contoso.com", "not a user principal name"),
    ("../groups@x", "not a user principal name"),
])
def test_bad_members(value, words):
    assert words in member_problem(value)


@pytest.mark.parametrize("value, words", [
    ("", "empty"), (GROUP[:-2], "not a valid object id"), ("Sales\n", "control characters"), ("Sales ", "leading or trailing"),
    ("x" * 257, "longer than a display name"),
])
def test_bad_targets(value, words):
    assert words in target_problem(value)


@pytest.mark.parametrize("value", [GROUP, "Sales", "It's R&D + Ops #1", "2024-Q1 Planning", "ABC-123"])
def test_good_targets(value):
    assert target_problem(value) is None


def test_checked_references_fold_and_limit():
    assert checked_references("members", ["a@x.com", "A@X.com", USER, USER.upper(), "b@x.com"], member_problem, 10) == ["a@x.com", USER, "b@x.com"]
    assert checked_references("groups", ["Sales", "sales", "Sales"], target_problem, 10) == ["Sales", "sales"]  # names match exactly
    with pytest.raises(ValueError, match=r"^members has 3 items; at most 2"):
        checked_references("members", ["a@x.com", "b@x.com", "c@x.com"], member_problem, 2)
    with pytest.raises(ValueError, match=r"^members: an empty value; 'x' is neither"):
        checked_references("members", ["", "x"], member_problem, 10)


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
def test_group_guards(raw, code):
    reason = group_refusal(target(**raw))
    assert (reason[0] if reason else None) == code


def test_dynamic_message_quotes_the_rule():
    assert '(user.department -eq "Sales")' in group_refusal(target(groupTypes=["DynamicMembership"], membershipRule='(user.department -eq "Sales")'))[1]


@pytest.mark.parametrize("raw, code", [
    ({"membershipType": "Dynamic"}, "DynamicMembership"), ({"membershipType": "dynamic"}, "DynamicMembership"),
    ({"isMemberManagementRestricted": True}, "ManagementRestricted"), ({"membershipType": "Assigned"}, None), ({}, None),
])
def test_administrative_unit_guards(raw, code):
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


def test_permission_predictions():
    role_assignable = target(isAssignableToRole=True)
    assert GROUPS.predicted_denial(None, role_assignable) is None  # an opaque token: no prediction
    assert GROUPS.predicted_denial({"GroupMember.ReadWrite.All", "RoleManagement.ReadWrite.Directory"}, role_assignable) is None
    denied = GROUPS.predicted_denial({"GroupMember.ReadWrite.All"}, role_assignable)
    assert denied.status == "failed" and "RoleManagement.ReadWrite.Directory" in denied.error["message"]
    assert GROUPS.predicted_denial({"GroupMember.ReadWrite.All"}, target()) is None
    assert "AdministrativeUnit.ReadWrite.All" in ADMINISTRATIVE_UNITS.predicted_denial({"AdministrativeUnit.Read.All"}, target()).error["message"]
    expected = {"status": 403, "code": "Authorization_RequestDenied", "message": "why (predicted from the permissions in the token)", "request_id": None}
    assert predicted_denial(set(), ("A",), "why").error == expected
