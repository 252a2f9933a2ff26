"""Pure parts of resolution: user paths, filter encoding, target collections, the fold of resolved members."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._references import upn_problem
from ansible_collections.entra.membership.plugins.module_utils._resolve import (
    Member,
    filter_literal,
    fold_members,
    target_collection,
    upn_filter_request,
    user_path,
)

GUID = "0F8FAD5B-D9CB-469F-A165-70867728950E"


@pytest.mark.parametrize("upn, path", [
    ("ada@contoso.com", "/users/ada@contoso.com"),
    ("Ada.Lovelace@Contoso.com", "/users/Ada.Lovelace@Contoso.com"),
    ("ada_fabrikam.com#EXT#@contoso.onmicrosoft.com", "/users/ada_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"),
    ("$svc@contoso.com", "/users('$svc@contoso.com')"),
    ("o'brien@contoso.com", "/users('o''brien@contoso.com')"),
    (GUID, "/users/" + GUID.lower()),
])
def test_a_user_path_encodes_a_guests_hash_and_quotes_an_odd_upn(upn, path):
    assert user_path(upn) == path


@pytest.mark.parametrize("value, reason", [
    ("ada", "exactly one '@'"), ("a@b@c", "exactly one '@'"), ("@contoso.com", "exactly one '@'"),
    ("../../groups@x", "'..'"), ("ada/../x@contoso.com", "'..'"), ("a/b@contoso.com", "'/'"),
    ("ada@contoso.com?$select=x", "'?'"), ("ada%23@contoso.com", "'%'"), ("ada\n@contoso.com", "control"),
    ("ada @contoso.com", "' '"), ("", "empty"),
])
def test_what_is_no_upn_is_named_and_never_becomes_a_path(value, reason):
    assert reason in upn_problem(value)
    with pytest.raises(ValueError):
        user_path(value)


def test_upn_with_odata_injection_is_an_escaped_literal():
    # A quote is allowed in a UPN, so it must end up doubled inside the literal, never closing it.
    assert user_path("x' or 1 eq 1 or 'a@contoso.com".replace(" ", "")) == "/users('x''or1eq1or''a@contoso.com')"


def test_filter_literal_doubles_quotes():
    assert filter_literal("Sales") == "'Sales'"
    assert filter_literal("x' or 1 eq 1 or 'y") == "'x'' or 1 eq 1 or ''y'"


def test_upn_filter_request_doubles_quotes_and_encodes_what_a_url_would_misread():
    request = upn_filter_request(["ada@contoso.com", "o'brien@contoso.com", "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com", "a&b+c@contoso.com"])
    assert request.method == "GET" and request.path == "/users"
    assert request.params["$filter"] == ("userPrincipalName in ('ada@contoso.com','o''brien@contoso.com',"
                                         "'vera_fabrikam.com#EXT#@contoso.onmicrosoft.com','a&b+c@contoso.com')")
    # '#' would start a fragment, '&' a new option, '+' a space: all percent-encoded; the quotes and commas stay OData's.
    assert request.url() == ("/users?$filter=userPrincipalName%20in%20('ada@contoso.com','o''brien@contoso.com',"
                             "'vera_fabrikam.com%23EXT%23@contoso.onmicrosoft.com','a%26b%2Bc@contoso.com')"
                             "&$select=id,userPrincipalName,displayName")


def test_teams_are_read_as_groups_and_units_where_the_api_version_keeps_them():
    assert target_collection("group") == "/groups"
    assert target_collection("team", "beta") == "/groups"
    assert target_collection("administrative_unit", "v1.0") == "/directory/administrativeUnits"
    assert target_collection("administrative_unit", "beta") == "/administrativeUnits"
    with pytest.raises(ValueError, match="target type must be one of group, administrative_unit, team"):
        target_collection("device")


def test_a_second_reference_to_a_resolved_object_is_dropped_with_a_warning():
    members = {"ada@contoso.com": Member("ada@contoso.com", GUID.lower(), found=True), GUID: Member(GUID, GUID.lower(), found=True),
               "gone@contoso.com": Member("gone@contoso.com")}
    warnings = []
    assert fold_members(members, warnings.append, option="users") == ["ada@contoso.com", "gone@contoso.com"]
    assert warnings == ["users: 'ada@contoso.com' and '%s' are the same object (%s); it is handled once, as 'ada@contoso.com'" % (GUID, GUID.lower())]
