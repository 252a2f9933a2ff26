"""Advanced queries as https://learn.microsoft.com/graph/aad-advanced-queries documents them.

ConsistencyLevel: eventual + $count=true unlock OData casts on relationships, $filter/$orderby/$search on
relationships, ne / not / endsWith, and $count; without them Graph refuses (or, for ?$count=true, ignores).
"""
from __future__ import annotations

import pytest

from .conftest import EVENTUAL, GraphApi, assert_graph_error

LEAVER = "leaver@contoso.com"
ADVANCED = {"$count": "true"}


@pytest.fixture
def strict(sim):
    """The demo tenant with every documented behaviour on (no leniency)."""
    sim.lenient = ()
    return GraphApi(sim)


# -- OData casts (user-list-memberof: the header and $count "are required when using [...] OData cast") ---------

@pytest.mark.parametrize("path", [f"/users/{LEAVER}/memberOf/microsoft.graph.group",
                                  f"/users/{LEAVER}/transitiveMemberOf/microsoft.graph.group",
                                  f"/users/{LEAVER}/memberOf/microsoft.graph.administrativeUnit"])
def test_user_list_memberof_cast_without_consistency_level_and_count_is_400_unsupported_query(sim, strict, path):
    # microsoft-graph-docs-contrib issue 1517 shows this answer
    assert_graph_error(strict.get(path), 400, "Request_UnsupportedQuery", "Invalid search request.")
    assert_graph_error(strict.get(path, headers=EVENTUAL), 400, "Request_UnsupportedQuery")  # the header alone is not enough
    assert_graph_error(strict.get(path, params=ADVANCED), 400, "Request_UnsupportedQuery")  # nor $count alone
    answer = strict.get(path, params=ADVANCED, headers=EVENTUAL)
    assert answer.status_code == 200 and answer.json()["@odata.count"] == len(answer.json()["value"]) > 0


def test_group_list_members_cast_needs_the_advanced_query_pair_too(sim, strict):
    group = sim.state.id_of("group", "Engineering")
    assert_graph_error(strict.get(f"/groups/{group}/members/microsoft.graph.group"), 400, "Request_UnsupportedQuery")
    nested = strict.get(f"/groups/{group}/members/microsoft.graph.group", params=ADVANCED, headers=EVENTUAL).json()["value"]
    assert [item["displayName"] for item in nested] == ["Platform Engineers"]


def test_cast_next_pages_keep_working_without_the_header_as_graph_does(graphsim_factory):
    sim = graphsim_factory(page_size=2, lenient=())
    api = GraphApi(sim)
    first = api.get(f"/users/{LEAVER}/memberOf/microsoft.graph.group", params=ADVANCED, headers=EVENTUAL).json()
    second = api.get(first["@odata.nextLink"])  # clients do not carry headers into nextLinks
    assert second.status_code == 200 and len(second.json()["value"]) == 2


def test_lenient_casts_are_served_without_the_pair_for_the_client_of_1_0(sim, api):
    assert "casts" not in sim.lenient  # off by default since the client reads memberOf without casts (1.1)
    sim.lenient = sim.lenient | {"casts"}
    answer = api.get(f"/users/{LEAVER}/memberOf/microsoft.graph.group", params={"$select": "id"})
    assert answer.status_code == 200 and "@odata.count" not in answer.json()


def test_plain_member_of_with_select_needs_no_advanced_query_and_types_every_object(sim, strict):
    items = strict.all_pages(f"/users/{LEAVER}/memberOf", params={"$select": "id,displayName"})
    types = {item["@odata.type"] for item in items}
    assert types == {"#microsoft.graph.group", "#microsoft.graph.administrativeUnit", "#microsoft.graph.directoryRole"}
    assert all(set(item) == {"@odata.type", "id", "displayName"} for item in items)
    assert len(items) == len(sim.state.visible_containers_of(sim.state.user_id(LEAVER)))


# -- $count ---------------------------------------------------------------------------------------------------

def test_count_query_parameter_without_consistency_level_is_silently_ignored(sim, api):
    answer = api.get("/users", params={"$count": "true"})
    assert answer.status_code == 200 and "@odata.count" not in answer.json()
    counted = api.get("/users", params={"$count": "true"}, headers=EVENTUAL)
    assert counted.json()["@odata.count"] == len(sim.state.users)


def test_count_segment_needs_consistency_level_and_answers_text(sim, api):
    assert_graph_error(api.get("/users/$count"), 400, "Request_BadRequest", "$count is not currently supported.")
    answer = api.get("/users/$count", headers=EVENTUAL)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == str(len(sim.state.users))
    groups = api.get(f"/users/{LEAVER}/memberOf/microsoft.graph.group/$count", headers=EVENTUAL)
    member_of = [cid for cid in sim.state.visible_containers_of(sim.state.user_id(LEAVER)) if cid in sim.state.groups]
    assert groups.text == str(len(member_of))
    guests = api.get("/users/$count", params={"$filter": "userType eq 'Guest'"}, headers=EVENTUAL)
    assert guests.text == "2"
    assert_graph_error(api.get(f"/users/{LEAVER}/$count", headers=EVENTUAL), 400, "BadRequest")


# -- $filter operators (aad-advanced-queries.md, "Support for filter by properties") -----------------------

@pytest.mark.parametrize("clause, operator", [("endsWith(mail,'@contoso.com')", "endsWith"),
                                              ("userType ne 'Guest'", "ne"),
                                              ("not(userType eq 'Guest')", "not")])
def test_ne_not_and_endswith_need_the_advanced_query_pair(sim, api, clause, operator):
    error = assert_graph_error(api.get("/users", params={"$filter": clause}), 400, "Request_UnsupportedQuery")
    assert error["message"].startswith(f"Operator '{operator}' is not supported because the required parameters might be missing.")
    answer = api.get("/users", params={"$filter": clause, **ADVANCED}, headers=EVENTUAL)
    assert answer.status_code == 200
    members = [u for u in sim.state.users.values() if u["userType"] == "Member"]
    assert answer.json()["@odata.count"] == len(members)


def test_endswith_only_on_the_properties_the_docs_name(api):
    assert_graph_error(api.get("/users", params={"$filter": "endsWith(displayName,'er')", **ADVANCED}, headers=EVENTUAL),
                       400, "Request_UnsupportedQuery",
                       "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'User'.")


# -- 120-character values (known issue 13635) -------------------------------------------------------------

def test_display_name_eq_value_over_120_characters_is_400_unless_advanced(edge):
    api = GraphApi(edge)
    name = next(g["displayName"] for g in edge.state.groups.values() if len(g["displayName"]) > 120)
    quoted = name.replace("'", "''")
    error = assert_graph_error(api.get("/groups", params={"$filter": f"displayName eq '{quoted}'"}), 400,
                               "Request_UnsupportedQuery",
                               "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'Group'.")
    assert "120" not in error["message"]  # Graph does not say why: the client must know
    for clause in (f"startswith(displayName, '{quoted}')", f"displayName in ('{quoted}')"):
        assert_graph_error(api.get("/groups", params={"$filter": clause}), 400, "Request_UnsupportedQuery")
    found = api.get("/groups", params={"$filter": f"startswith(displayName, '{quoted[:120]}')"}).json()["value"]
    assert [group["displayName"] for group in found] == [name]  # the documented way around: a prefix, then match exactly
    advanced = api.get("/groups", params={"$filter": f"displayName eq '{quoted}'", **ADVANCED}, headers=EVENTUAL)
    assert advanced.status_code == 200 and [group["displayName"] for group in advanced.json()["value"]] == [name]


def test_display_name_eq_value_of_exactly_120_characters_is_accepted(api):
    answer = api.get("/groups", params={"$filter": "displayName eq '%s'" % ("x" * 120)})
    assert answer.status_code == 200 and answer.json()["value"] == []


# -- $search and $orderby -----------------------------------------------------------------------------------

def test_search_needs_consistency_level_and_matches_word_prefixes(sim, api):
    assert_graph_error(api.get("/groups", params={"$search": '"displayName:Engin"'}), 400, "Request_UnsupportedQuery",
                       "Request with $search query parameter only works through MSGraph with a special request header: "
                       "'ConsistencyLevel: eventual'")
    found = api.all_pages("/groups", params={"$search": '"displayName:Engin"'}, headers=EVENTUAL)
    assert sorted(group["displayName"] for group in found) == ["Engineering", "Platform Engineers"]
    either = api.all_pages("/users", params={"$search": '"displayName:Lovelace" OR "displayName:Turing"'}, headers=EVENTUAL)
    assert sorted(user["displayName"] for user in either) == ["Ada Lovelace", "Alan Turing"]
    members = api.get(f"/groups/{sim.state.id_of('group', 'All Staff')}/members",
                      params={"$search": '"displayName:leaver"', **ADVANCED}, headers=EVENTUAL).json()
    assert sorted(member["displayName"] for member in members["value"]) == ["Lee Leaver", "Lou Leaver"]
    assert_graph_error(api.get("/users", params={"$search": "displayName:Ada"}, headers=EVENTUAL), 400, "BadRequest")


def test_orderby_by_default_only_on_the_documented_properties(sim, api):
    names = [user["displayName"] for user in api.all_pages("/users", params={"$orderby": "displayName desc"})]
    assert names == sorted(names, key=str.lower, reverse=True)
    assert_graph_error(api.get("/users", params={"$orderby": "jobTitle"}), 400, "Request_UnsupportedQuery")
    assert_graph_error(api.get("/groups", params={"$orderby": "displayName", "$filter": "securityEnabled eq true"}),
                       400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
    both = api.get("/groups", params={"$orderby": "displayName", "$filter": "securityEnabled eq true", **ADVANCED}, headers=EVENTUAL)
    assert both.status_code == 200
    assert_graph_error(api.get(f"/users/{LEAVER}/memberOf", params={"$orderby": "displayName"}), 400, "Request_UnsupportedQuery")


def test_advanced_query_headers_travel_inside_batch_items(sim, strict):
    """aad-advanced-queries.md: "specify the ConsistencyLevel header in the JSON body" of a $batch item."""
    path = f"/users/{LEAVER}/memberOf/microsoft.graph.group?$count=true&$select=id"
    answer = strict.post("/$batch", json={"requests": [
        {"id": "with", "method": "GET", "url": path, "headers": EVENTUAL},
        {"id": "without", "method": "GET", "url": path},
    ]}, headers=EVENTUAL)  # on the envelope only: does not reach the items
    status = {item["id"]: item["status"] for item in answer.json()["responses"]}
    assert status == {"with": 200, "without": 400}
