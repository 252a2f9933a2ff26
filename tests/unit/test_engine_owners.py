"""entra_group_owner's engine: its options and the refusals of a group's owners (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import group_refusal
from ansible_collections.entra.membership.plugins.module_utils._engine_owners import OWNERS, GroupOwners, checked_substitutes, ref_path
from ansible_collections.entra.membership.plugins.module_utils._resolve import Target

GROUP = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
OWNER = "18a80140-b0fb-4489-b360-2f6efaf225a0"


def group(**raw):
    return Target("G", GROUP, "G", "group", dict(raw))


def test_owner_writes_go_through_owners_ref_only():
    assert ref_path(OWNERS, "v1.0", GROUP, OWNER) == "/groups/%s/owners/%s/$ref" % (GROUP, OWNER)
    assert ref_path(OWNERS, "v1.0", GROUP) == "/groups/%s/owners/$ref" % GROUP


def test_a_dynamic_groups_owners_can_change_though_its_members_cannot():
    dynamic = group(groupTypes=["DynamicMembership"])
    assert OWNERS.refusal(dynamic) is None
    assert group_refusal(dynamic)[0] == "DynamicMembership"


@pytest.mark.parametrize("raw, code", [
    (dict(onPremisesSyncEnabled=True), "OnPremisesSynced"),
    (dict(mailEnabled=True, securityEnabled=True, groupTypes=[]), "MailEnabledGroup"),
    (dict(isManagementRestricted=True), "ManagementRestricted"),
])
def test_the_groups_whose_owners_cannot_change_say_owners(raw, code):
    refused_code, message = OWNERS.refusal(group(**raw))
    assert refused_code == code and "owners" in message and "members" not in message


def test_the_denial_explanation_names_the_owner_permissions():
    assert OWNERS.denial_explanation(group()) == "the app may not change the owners of group 'G': it needs Group.ReadWrite.All or Directory.ReadWrite.All"


def test_substitutes_keep_manager_as_a_word_and_check_the_users():
    assert checked_substitutes(["manager", "ada@contoso.com"]) == ["manager", "ada@contoso.com"]
    assert checked_substitutes(None) == []
    with pytest.raises(ValueError, match="^substitute_owners"):
        checked_substitutes(["not a user"])


def test_the_engine_refuses_bad_substitutes_when_built():
    with pytest.raises(ValueError, match="substitute_owners"):
        GroupOwners(["ada@"], False)
