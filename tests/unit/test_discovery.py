"""Pure functions of the discovery engine: entries, removability (the member modules' guards), the message."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import ADMINISTRATIVE_UNITS, GROUPS
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._discovery import (
    TRANSITIVE_REASON,
    administrative_unit_entry,
    compose_msg,
    group_entry,
    read_error,
    team_entry,
    transitive_entry,
)
from ansible_collections.entra.membership.plugins.module_utils._resolve import Target

GROUP_ID = "02bd9fd6-8f93-4758-87c3-1fb73740a315"


def group(**flags):
    raw = {"id": GROUP_ID, "displayName": "G", "groupTypes": [], "mailEnabled": False, "securityEnabled": True}
    raw.update(flags)
    return raw


@pytest.mark.parametrize("flags, code", [
    ({}, None),
    ({"groupTypes": ["Unified"], "mailEnabled": True, "securityEnabled": False}, None),
    ({"isAssignableToRole": True}, None),
    ({"groupTypes": ["DynamicMembership"], "membershipRule": "(user.department -eq \"Sales\")"}, "DynamicMembership"),
    ({"groupTypes": ["Unified", "DynamicMembership"], "mailEnabled": True, "resourceProvisioningOptions": ["Team"]}, "DynamicMembership"),
    ({"onPremisesSyncEnabled": True}, "OnPremisesSynced"),
    ({"mailEnabled": True}, "MailEnabledGroup"),
    ({"mailEnabled": True, "securityEnabled": False}, "MailEnabledGroup"),
    ({"isManagementRestricted": True}, "ManagementRestricted"),
])
def test_a_group_is_removable_exactly_when_the_member_modules_would_write_to_it(flags, code):
    entry = group_entry(group(**flags))
    refusal = GROUPS.refusal(Target(GROUP_ID, GROUP_ID, "G", "group", group(**flags)))
    assert entry["reason_code"] == code == (refusal[0] if refusal else None)
    assert entry["reason"] == (refusal[1] if refusal else None)
    assert entry["removable"] is (code is None)


def test_group_entry_carries_the_flags_as_booleans():
    entry = group_entry(group(groupTypes=["Unified", "DynamicMembership"], mailEnabled=True, securityEnabled=False, onPremisesSyncEnabled=None,
                              resourceProvisioningOptions=["Team"]))
    assert entry == {
        "id": GROUP_ID, "display_name": "G", "type": "group", "group_types": ["Unified", "DynamicMembership"], "dynamic": True,
        "on_premises_sync_enabled": False, "mail_enabled": True, "security_enabled": False, "is_assignable_to_role": False,
        "management_restricted": False, "is_team": True, "removable": False, "reason": entry["reason"], "reason_code": "DynamicMembership"}
    assert "membership" in entry["reason"]


@pytest.mark.parametrize("flags, dynamic, restricted, code", [
    ({}, False, False, None),
    ({"membershipType": "Assigned"}, False, False, None),
    ({"membershipType": "Dynamic", "membershipRule": "(user.country -eq \"DE\")"}, True, False, "DynamicMembership"),
    ({"membershipType": "dynamic"}, True, False, "DynamicMembership"),
    ({"isMemberManagementRestricted": True}, False, True, "ManagementRestricted"),
])
def test_an_administrative_unit_is_removable_unless_dynamic_or_restricted(flags, dynamic, restricted, code):
    raw = dict({"id": GROUP_ID, "displayName": "Germany"}, **flags)
    entry = administrative_unit_entry(raw)
    refusal = ADMINISTRATIVE_UNITS.refusal(Target(GROUP_ID, GROUP_ID, "Germany", "administrative_unit", raw))
    assert (entry["dynamic"], entry["restricted"], entry["reason_code"]) == (dynamic, restricted, code)
    assert entry["reason"] == (refusal[1] if refusal else None) and entry["type"] == "administrative_unit"


def test_only_an_id_means_not_readable_and_not_removable():
    # Graph's answer when the app may read users but not groups (or units): every property but the id is null.
    for entry, permission in ((group_entry({"id": GROUP_ID, "displayName": None, "groupTypes": None}), "GroupMember.Read.All"),
                              (administrative_unit_entry({"id": GROUP_ID, "displayName": None}), "AdministrativeUnit.Read.All")):
        assert entry["removable"] is False and entry["reason_code"] == "LimitedInformation"
        assert GROUP_ID in entry["reason"] and "is not readable with the app's permissions: grant %s" % permission in entry["reason"]


def test_a_team_inherits_its_groups_removability():
    dynamic_team = group_entry(group(groupTypes=["Unified", "DynamicMembership"], mailEnabled=True, resourceProvisioningOptions=["Team"]))
    entry = team_entry(dynamic_team, "owner")
    assert entry == {"id": GROUP_ID, "display_name": "G", "type": "team", "role": "owner", "removable": False,
                     "reason": dynamic_team["reason"], "reason_code": "DynamicMembership"}


def test_a_group_reached_through_nesting_is_never_removable():
    assert transitive_entry({"id": GROUP_ID, "displayName": "Engineering"}) == {
        "id": GROUP_ID, "display_name": "Engineering", "type": "group", "removable": False, "reason": TRANSITIVE_REASON,
        "reason_code": "NestedMembership"}


def test_read_error_names_the_permission_only_for_403():
    denied = read_error(GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "rid"), "a@b.c",
                        "memberships")
    assert denied == {"status": 403, "code": "Authorization_RequestDenied", "request_id": "rid", "message":
                      "reading the memberships of 'a@b.c' needs the permission Directory.Read.All (or Group.ReadBasic.All) "
                      "(Graph: Insufficient privileges to complete the operation.)"}
    # resolve_members already explains a 403 on an id that is no user (Directory.Read.All): kept as it is.
    message = "'x' is not a user; reading other kinds of directory objects needs the Directory.Read.All permission (Insufficient privileges)"
    explained = GraphError(403, "Authorization_RequestDenied", message, "rid")
    assert read_error(explained, "x", "user") == explained.to_dict()
    invalid = GraphError(None, "InvalidMemberReference", "member 'x' is not valid")
    assert read_error(invalid, "x", "user") == invalid.to_dict()
    busy = read_error(GraphError(503, "ServiceUnavailable", "try later", "rid"), "a@b.c", "memberships")
    assert busy == {"status": 503, "code": "ServiceUnavailable", "message": "try later", "request_id": "rid"}


def entry(user, found=True, error=None):
    return {"user": user, "found": found, "error": error}


@pytest.mark.parametrize("entries, msg", [
    ([], "m: nothing to do (no users given)"),
    ([entry("a")], "m: 1 user read"),
    ([entry("a"), entry("b")], "m: 2 users read"),
    ([entry("a"), entry("b", found=False)], "m: 1 user read, 1 not found ('b')"),
    ([entry("a", error={}), entry("b", found=False, error={})], "m: 0 users read, 2 failed ('a', 'b')"),
])
def test_msg_counts_the_users_read_not_found_and_failed(entries, msg):
    assert compose_msg("m", entries) == msg
