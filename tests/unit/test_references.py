"""Checks of what a task names (pure): object ids, members, targets, and the fold of duplicates."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._references import (
    checked_memberships,
    checked_references,
    fold_key,
    is_object_id,
    member_problem,
    object_id_segment,
    target_problem,
)

GROUP = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
USER = "18a80140-b0fb-4489-b360-2f6efaf225a0"
GUID = "0F8FAD5B-D9CB-469F-A165-70867728950E"


def test_only_a_guid_is_an_object_id_and_only_an_object_id_enters_a_path():
    assert is_object_id(GUID) and object_id_segment(GUID) == GUID.lower()
    for bad in ["", "0f8fad5b", GUID + "/../x", "../" + GUID, GUID + "?x=1", " " + GUID, None, 42]:
        assert not is_object_id(bad)
        with pytest.raises(ValueError):
            object_id_segment(bad)


@pytest.mark.parametrize("value", [USER, USER.upper(), "ada@contoso.com", "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"])
def test_ids_upns_and_guest_upns_are_valid_members(value):
    assert member_problem(value) is None


@pytest.mark.parametrize("value, words", [
    ("", "empty"), ("   ", "empty"), (USER[:-1], "not a valid object id"), (USER + "0", "not a valid object id"),
    ("ada", "neither an object id"), ("ada@", "not a user principal name"), ("a b@contoso.com", "not a user principal name"),
    ("../groups@x", "not a user principal name"),
])
def test_an_invalid_member_is_named_with_what_is_wrong(value, words):
    assert words in member_problem(value)


@pytest.mark.parametrize("value, words", [
    ("", "empty"), (GROUP[:-2], "not a valid object id"), ("Sales\n", "control characters"), ("Sales ", "leading or trailing"),
    ("x" * 257, "longer than a display name"),
])
def test_an_invalid_target_is_named_with_what_is_wrong(value, words):
    assert words in target_problem(value)


@pytest.mark.parametrize("value", [GROUP, "Sales", "It's R&D + Ops #1", "2024-Q1 Planning", "ABC-123"])
def test_ids_and_display_names_with_symbols_are_valid_targets(value):
    assert target_problem(value) is None


def test_checked_references_fold_duplicates_and_refuse_too_many_or_invalid_ones():
    assert checked_references("members", ["a@x.com", "A@X.com", USER, USER.upper(), "b@x.com"], member_problem, 10) == ["a@x.com", USER, "b@x.com"]
    assert checked_references("groups", ["Sales", "sales", "Sales"], target_problem, 10) == ["Sales", "sales"]  # names match exactly
    with pytest.raises(ValueError, match=r"^members has 3 items; at most 2"):
        checked_references("members", ["a@x.com", "b@x.com", "c@x.com"], member_problem, 2)
    with pytest.raises(ValueError, match=r"^members: an empty value; 'x' is neither"):
        checked_references("members", ["", "x"], member_problem, 10)


def test_ids_and_upns_fold_without_case_and_display_names_exactly():
    assert fold_key(GUID) == GUID.lower() and fold_key("Ada@Contoso.com") == "ada@contoso.com"
    assert fold_key("Sales Team") == "Sales Team"


def test_memberships_entries_become_target_member_role_triples_in_order_duplicates_kept():
    entries = [{"target": "Sales", "member": "ada@contoso.com"}, {"target": GROUP, "member": USER, "role": "owner"},
               {"target": "Sales", "member": "ada@contoso.com"}]
    assert checked_memberships("memberships", entries, roles=("owner", "member")) == [
        ("Sales", "ada@contoso.com", None), (GROUP, USER, "owner"), ("Sales", "ada@contoso.com", None)]
    assert checked_memberships("memberships", entries[:1]) == [("Sales", "ada@contoso.com", None)]
    assert checked_memberships("memberships", None) == []


@pytest.mark.parametrize("entry, message", [
    ("ada@contoso.com", "memberships[0] is 'ada@contoso.com', not a mapping: write {target: <name or id>, member: <id or user principal name>}"),
    (None, "memberships[0] is None, not a mapping"),
    ({"member": "ada@contoso.com"}, "memberships[0] ({'member': 'ada@contoso.com'}) has no target"),
    ({"target": "Sales", "member": ["ada@contoso.com"]}, "memberships[0].member is ['ada@contoso.com'] (list), not a string"),
    ({"target": "Sales", "member": "ada@contoso.com", "role": "owner"}, "memberships[0] has the key 'role'; an entry takes target, member"),
    ({"target": "Sales", "member": "ada@contoso.com", "x": 1, "y": 2}, "memberships[0] has keys 'x', 'y'; an entry takes target, member"),
    ({"target": "", "member": "ada@contoso.com"}, "memberships[0].target: an empty value"),
    ({"target": "Sales\n", "member": "ada@contoso.com"}, "memberships[0].target: 'Sales\\n': it contains control characters"),
])
def test_a_bad_memberships_entry_is_named_by_its_index_and_value(entry, message):
    with pytest.raises(ValueError) as raised:
        checked_memberships("memberships", [entry])
    assert message in str(raised.value)


def test_a_role_outside_the_choices_is_named_and_too_many_entries_are_refused():
    with pytest.raises(ValueError, match=r"memberships\[1\]\.role is 'admin'; it must be one of owner, member"):
        checked_memberships("memberships", [{"target": "T", "member": USER}, {"target": "T", "member": USER, "role": "admin"}], roles=("owner", "member"))
    with pytest.raises(ValueError, match="memberships has 3 items; at most 2 are accepted in one task: split them over several tasks"):
        checked_memberships("memberships", [{"target": "T", "member": USER}] * 3, limit=2)
