"""Users: by id, by UPN (also guests' #EXT#), $filter, $select, DELETE; the Graph envelope and headers."""
from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse

import pytest

from .conftest import GraphApi, assert_graph_error

LEAVER = "leaver@contoso.com"
GUEST = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"


def test_user_by_id_upn_key_form_and_case(sim, api):
    leaver_id = sim.state.user_id(LEAVER)
    for path in (f"/users/{leaver_id}", f"/users/{LEAVER}", "/users/LEAVER@Contoso.COM", f"/users('{LEAVER}')"):
        answer = api.get(path)
        assert answer.status_code == 200, path
        assert answer.json()["id"] == leaver_id
        assert answer.json()["@odata.context"].endswith("/v1.0/$metadata#users/$entity")


def test_guest_upn_needs_percent_encoded_hash(sim, api):
    encoded = api.get("/users/" + urllib.parse.quote(GUEST, safe="@"))
    assert encoded.status_code == 200
    assert encoded.json()["userPrincipalName"] == GUEST
    assert "%23EXT%23" in sim.log[-1].raw_path and sim.log[-1].path.endswith(GUEST)
    # requests (like every HTTP client) treats a raw '#' as the start of a fragment: it never leaves the machine
    unencoded = api.get(f"/users/{GUEST}")
    assert_graph_error(unencoded, 404, "Request_ResourceNotFound")
    assert sim.log[-1].path == "/v1.0/users/vera_fabrikam.com"


def test_a_raw_hash_that_does_reach_the_server_cuts_the_path(sim, api):
    """A client writing the request line by hand: everything after '#' is dropped, as a real front end does."""
    context = ssl.create_default_context(cafile=sim.ca_path)
    port = int(sim.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context)
    connection.putrequest("GET", f"/v1.0/users/{GUEST}", skip_accept_encoding=True)
    connection.putheader("Authorization", api.session.headers["Authorization"])
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 404
    assert json.loads(answer.read())["error"]["message"].startswith("Resource 'vera_fabrikam.com' does not exist")
    connection.close()


def test_missing_user_is_404_with_the_exact_envelope(sim, api):
    answer = api.get("/users/nobody@contoso.com", headers={"client-request-id": "c0ffee00-0000-4000-8000-000000000001"})
    error = assert_graph_error(answer, 404, "Request_ResourceNotFound",
                               "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
    assert error["innerError"]["client-request-id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert answer.headers["client-request-id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert sim.log[-1].client_request_id == "c0ffee00-0000-4000-8000-000000000001"
    assert sim.log[-1].request_id == answer.headers["request-id"]


def test_without_client_request_id_graph_repeats_the_request_id(api):
    answer = api.get(f"/users/{LEAVER}")
    assert answer.headers["client-request-id"] == answer.headers["request-id"]


@pytest.mark.parametrize("expression, expected", [
    (f"userPrincipalName eq '{LEAVER}'", [LEAVER]),
    ("userPrincipalName eq 'LEAVER@contoso.com'", [LEAVER]),
    (f"userPrincipalName in ('{LEAVER}', 'leaver2@contoso.com', 'ghost@contoso.com')", [LEAVER, "leaver2@contoso.com"]),
    ("mail eq 'vera@fabrikam.com'", [GUEST]),
    (f"userPrincipalName eq '{GUEST}'", [GUEST]),
    ("startswith(userPrincipalName, 'leaver')", [LEAVER, "leaver2@contoso.com"]),
    ("userType eq 'Guest' and startswith(displayName, 'Carl')", ["carl_northwind.com#EXT#@contoso.onmicrosoft.com"]),
])
def test_user_filters(api, expression, expected):
    answer = api.get("/users", params={"$filter": expression})
    assert answer.status_code == 200, answer.text
    assert sorted(u["userPrincipalName"] for u in answer.json()["value"]) == sorted(expected)


@pytest.mark.parametrize("expression, code", [
    ("userPrincipalName eq 'unterminated", "BadRequest"),
    ("userPrincipalName eq", "BadRequest"),
    ("userPrincipalName equals 'x'", "BadRequest"),
    ("(userPrincipalName eq 'x'", "BadRequest"),
    ("favouriteColour eq 'blue'", "Request_UnsupportedQuery"),
    ("userPrincipalName gt 'a'", "Request_UnsupportedQuery"),
])
def test_malformed_or_unsupported_filters_are_400(api, expression, code):
    error = assert_graph_error(api.get("/users", params={"$filter": expression}), 400, code)
    if code == "BadRequest":
        assert error["message"].startswith("Invalid filter clause")


def test_select_is_honoured_and_checked(api):
    answer = api.get(f"/users/{LEAVER}", params={"$select": "id,userPrincipalName,userType"})
    assert {k for k in answer.json() if not k.startswith("@")} == {"id", "userPrincipalName", "userType"}
    listed = api.get("/users", params={"$select": "displayName", "$filter": f"userPrincipalName eq '{LEAVER}'"})
    assert listed.json()["value"] == [{"displayName": "Lee Leaver"}]
    assert_graph_error(api.get(f"/users/{LEAVER}", params={"$select": "shoeSize"}), 400, "Request_BadRequest",
                       "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.")


@pytest.mark.allow_destructive
def test_delete_user_really_deletes_and_is_recorded(sim, api):
    leaver_id = sim.state.user_id(LEAVER)
    groups_before = [g for g in sim.state.groups if sim.state.is_member(g, leaver_id)]
    assert groups_before
    assert api.delete(f"/users/{leaver_id}").status_code == 204
    assert api.get(f"/users/{leaver_id}").status_code == 404
    assert not any(sim.state.is_member(g, leaver_id) for g in groups_before)
    [event] = sim.destructive_events
    assert (event.kind, event.object_id, event.method) == ("user", leaver_id, "DELETE")


def test_users_need_a_user_read_permission(sim):
    no_permissions = GraphApi(sim, token=sim.issue_token(roles=[]))
    assert_graph_error(no_permissions.get(f"/users/{LEAVER}"), 403, "Authorization_RequestDenied",
                       "Insufficient privileges to complete the operation.")
    reader = GraphApi(sim, token=sim.issue_token(roles=["User.Read.All"]))
    assert reader.get(f"/users/{LEAVER}").status_code == 200
    assert_graph_error(reader.delete(f"/users/{sim.state.user_id(LEAVER)}"), 403, "Authorization_RequestDenied")
    assert sim.destructive_events == []


def test_unknown_segments_and_methods(api):
    assert_graph_error(api.get("/frobnicate/1"), 400, "BadRequest", "Resource not found for the segment 'frobnicate'.")
    assert_graph_error(api.request("PATCH", f"/users/{LEAVER}/memberOf"), 405, "Request_BadRequest",
                       "Specified HTTP method is not allowed for the request target.")


def test_upn_starting_with_dollar_needs_the_key_form(sim, api):
    spec_user = "$svc-backup@contoso.com"
    assert_graph_error(api.get(f"/users/{spec_user}"), 400, "BadRequest")
    assert_graph_error(api.get(f"/users('{spec_user}')"), 404, "Request_ResourceNotFound")


def test_the_log_never_holds_a_token_or_secret(sim, api):
    secret = sim.credentials["client_secret"]
    token = api.session.headers["Authorization"].split()[1]
    group = sim.state.id_of("group", "Finance Approvers")
    api.post(f"/groups/{group}/members/$ref", json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{sim.state.user_id(LEAVER)}",
                                                    "client_secret": "leaked?"})
    logged = repr(list(sim.log))
    assert secret not in logged and token not in logged and "leaked?" not in logged
    assert sim.log.writes()[-1].body["@odata.id"].endswith(sim.state.user_id(LEAVER))


def test_directory_objects_by_id_are_typed(sim, api):
    germany = sim.state.id_of("au", "Germany")
    answer = api.get(f"/directoryObjects/{germany}").json()
    assert (answer["@odata.type"], answer["displayName"]) == ("#microsoft.graph.administrativeUnit", "Germany")
    assert api.get(f"/directoryObjects/{sim.state.user_id(LEAVER)}").json()["@odata.type"] == "#microsoft.graph.user"
    assert_graph_error(api.get("/directoryObjects/00000000-0000-0000-0000-000000000000"), 404, "Request_ResourceNotFound")
