"""Pure parts of resolution: id and UPN validation, path and filter encoding, target collections."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._references import is_object_id, object_id_segment, upn_problem
from ansible_collections.entra.membership.plugins.module_utils._resolve import (
    filter_literal,
    target_collection,
    upn_filter_request,
    user_path,
)

GUID = "0F8FAD5B-D9CB-469F-A165-70867728950E"


def test_object_ids():
    assert is_object_id(GUID) and object_id_segment(GUID) == GUID.lower()
    for bad in ["", "0f8fad5b", GUID + "/../x", "../" + GUID, GUID + "?x=1", " " + GUID, None, 42]:
        assert not is_object_id(bad)
        with pytest.raises(ValueError):
            object_id_segment(bad)


@pytest.mark.parametrize("upn, path", [
    ("ada@contoso.com", "/users/ada@contoso.com"),
    ("Ada.Lovelace@Contoso.com", "/users/Ada.Lovelace@Contoso.com"),
    ("ada_fabrikam.com#EXT#@contoso.onmicrosoft.com", "/users/ada_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"),
    ("$svc@contoso.com", "/users('$svc@contoso.com')"),
    ("o'brien@contoso.com", "/users('o''brien@contoso.com')"),
    (GUID, "/users/" + GUID.lower()),
])
def test_user_paths(upn, path):
    assert user_path(upn) == path


@pytest.mark.parametrize("value, reason", [
    ("ada", "exactly one '@'"), ("a@b@c", "exactly one '@'"), ("@contoso.com", "exactly one '@'"),
    ("../../groups@x", "'..'"), ("ada/../x@contoso.com", "'..'"), ("a/b@contoso.com", "'/'"),
    ("ada@contoso.com?$select=x", "'?'"), ("ada%23@contoso.com", "'%'"), ("ada\n@contoso.com", "control"),
    ("ada @contoso.com", "' '"), ("", "empty"),
])
def test_upn_validation(value, reason):
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


def test_target_collections():
    assert target_collection("group") == "/groups"
    assert target_collection("team", "beta") == "/groups"
    assert target_collection("administrative_unit", "v1.0") == "/directory/administrativeUnits"
    assert target_collection("administrative_unit", "beta") == "/administrativeUnits"
    with pytest.raises(ValueError, match="target type must be one of group, administrative_unit, team"):
        target_collection("device")
