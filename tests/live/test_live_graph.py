"""Graph asked directly (reads only): does it answer as docs/graph-compatibility.md says?

Each test sends the requests of one or more rows of the table with the collection's own client,
records in the report what came back ("seen as documented" or "differs: ..."), with request ids,
and asserts what the collection cannot do without. Microsoft's pages behind each row are linked in
the table; the tests name the behaviour.
"""
from __future__ import annotations

import pytest
import requests
from live_graph import read_pages, unique_name
from live_report import answered, graph_error_text
from live_settings import TARGET_VARIABLES

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import ADMINISTRATIVE_UNITS, GROUPS
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest
from ansible_collections.entra.membership.plugins.module_utils._resolve import UPN_FILTER_LIMIT, filter_literal, target_collection, user_path

# Known issue 13635 (https://developer.microsoft.com/graph/known-issues/?search=13635): a $filter value
# may be at most 120 characters outside advanced queries.
FILTER_VALUE_LIMIT = 120
# A $top small enough that any group of two members or more answers in pages.
PAGE_PROBE_TOP = 1
DIRECTORY_READ = ("Directory.Read.All", "Directory.ReadWrite.All")


@pytest.fixture(scope="module")
def tenant_domain(test_user):
    return test_user["userPrincipalName"].rsplit("@", 1)[1]


@pytest.fixture(scope="module")
def member_of(graph, test_user):
    """The test user's direct memberships as ``GET /users/{id}/memberOf`` with ``$select`` gives them: ``(items, answers)``."""
    return read_pages(graph, "/users/%s/memberOf" % test_user["id"], {"$select": "id,displayName", "$top": "999"})


def first_target(kind, dedicated_targets, discovery):
    """``(id, display name)`` of the dedicated target of ``kind``, else the first the test user is in; skips when there is none."""
    if kind in dedicated_targets:
        return dedicated_targets[kind].id, dedicated_targets[kind].display_name
    entries = discovery["users"][0]["administrative_units" if kind == "administrative_unit" else "groups"]
    if kind == "team":
        entries = discovery["users"][0]["teams"]
    # Removable ones first: a dynamic or synced group may have the whole tenant as members.
    named = sorted((entry for entry in entries if entry.get("display_name")), key=lambda entry: not entry.get("removable"))
    if not named:
        pytest.skip("the test user is in no %s and %s is not set" % (kind.replace("_", " "), TARGET_VARIABLES[kind]))
    return named[0]["id"], named[0]["display_name"]


def test_client_credentials_token_carries_the_apps_application_permissions(graph, live_settings, report):
    granted = graph.granted_permissions()
    report.permissions = sorted(granted or [])
    report.observe("token", "client credentials with %s" % " and ".join(sorted(live_settings.credential)), granted is not None,
                   "the token is not a JWT carrying roles, so check mode cannot predict denials from it")
    assert granted, "the token carries no application permission: grant the app its Microsoft Graph application permissions (admin consent)"


def test_graph_refuses_a_bearer_that_is_no_token_with_401_invalid_authentication_token(graph, test_user, report):
    url = "%s/v1.0%s" % (graph.graph_url, user_path(test_user["id"]))
    reply = requests.get(url, headers={"Authorization": "Bearer not-a-token", "Accept": "application/json"},
                         verify=graph.settings.verify, timeout=graph.settings.timeout)
    try:
        code = (reply.json().get("error") or {}).get("code")
    except ValueError:
        code = None
    report.observe("invalid_token", "GET /users/{id} with 'Bearer not-a-token'", reply.status_code == 401 and code == "InvalidAuthenticationToken",
                   "answered %s %s" % (reply.status_code, code), [reply])
    assert reply.status_code in (401, 403), "Graph accepted a made-up bearer token: %s" % reply.status_code


def test_graph_reads_the_test_user_and_answers_404_with_the_documented_envelope_for_nobody(graph, test_user, tenant_domain, report):
    report.observe("user_get", "GET /users/{ENTRA_LIVE_USER}", bool(test_user.get("id")), "no id in the answer", [test_user["answer"]])
    missing = graph.request("GET", user_path("%s@%s" % (unique_name(), tenant_domain)), params={"$select": "id"})
    report.observe("user_get", "GET /users/{a UPN nobody has}", missing.status == 404 and graph_error_text(missing.error).endswith("Request_ResourceNotFound"),
                   answered(missing), [missing])
    envelope = missing.body.get("error") if isinstance(missing.body, dict) else None
    inner = (envelope or {}).get("innerError") or {}
    absent = [name for name in ("code", "message") if not (envelope or {}).get(name)]
    absent += ["innerError.%s" % name for name in ("date", "request-id", "client-request-id") if not inner.get(name)]
    absent += ["the request-id header"] if not missing.headers.get("request-id") else []
    if inner.get("client-request-id") and inner["client-request-id"] != missing.client_request_id:
        absent.append("innerError.client-request-id equal to the one sent")
    report.observe("error_body", "the body and headers of that 404", not absent, "without %s" % ", ".join(absent), [missing])
    assert missing.status == 404, "a user nobody has: %s" % answered(missing)


def test_upn_in_filter_takes_15_values_and_refuses_a_16th(graph, test_user, tenant_domain, report):
    strangers = ["%s@%s" % (unique_name(), tenant_domain) for _number in range(UPN_FILTER_LIMIT)]

    def upn_filter(upns):
        return graph.request("GET", "/users", params={"$filter": "userPrincipalName in (%s)" % ", ".join(filter_literal(upn) for upn in upns),
                                                      "$select": "id"})
    at_limit = upn_filter([test_user["userPrincipalName"]] + strangers[:UPN_FILTER_LIMIT - 1])
    over = upn_filter([test_user["userPrincipalName"]] + strangers)
    found = [user["id"] for user in at_limit.body.get("value") or []] if at_limit.ok else []
    report.observe("upn_in_filter", "%d values, then %d" % (UPN_FILTER_LIMIT, UPN_FILTER_LIMIT + 1), found == [test_user["id"]] and over.status == 400,
                   "%d values %s (found %d users), %d values %s" % (UPN_FILTER_LIMIT, answered(at_limit), len(found), UPN_FILTER_LIMIT + 1, answered(over)),
                   [at_limit, over])
    assert found == [test_user["id"]], "the collection resolves user principal names %d to a filter: %s" % (UPN_FILTER_LIMIT, answered(at_limit))


def test_display_name_filter_ignores_case_and_refuses_values_over_120_characters(graph, dedicated_targets, discovery, report):
    group_id, name = first_target("group", dedicated_targets, discovery)
    swapped = graph.request("GET", "/groups", params={"$filter": "displayName eq %s" % filter_literal(name.swapcase()), "$select": "id"})
    ids = [group["id"] for group in swapped.body.get("value") or []] if swapped.ok else []
    report.observe("display_name_eq", "a group's name with its case swapped", group_id in ids, "%s, %d groups, not the group" % (answered(swapped), len(ids)),
                   [swapped])
    long_name = (unique_name() + "-" + "x" * FILTER_VALUE_LIMIT)
    at_limit = graph.request("GET", "/groups", params={"$filter": "displayName eq %s" % filter_literal(long_name[:FILTER_VALUE_LIMIT]), "$select": "id"})
    over = graph.request("GET", "/groups", params={"$filter": "displayName eq %s" % filter_literal(long_name[:FILTER_VALUE_LIMIT + 1]), "$select": "id"})
    report.observe("filter_value_limit", "%d characters, then %d" % (FILTER_VALUE_LIMIT, FILTER_VALUE_LIMIT + 1),
                   at_limit.ok and over.status == 400 and graph_error_text(over.error).endswith("Request_UnsupportedQuery"),
                   "%d characters %s, %d characters %s" % (FILTER_VALUE_LIMIT, answered(at_limit), FILTER_VALUE_LIMIT + 1, answered(over)), [at_limit, over])
    assert swapped.ok, "the collection finds targets by displayName eq: %s" % answered(swapped)


@pytest.mark.parametrize("kind", ["group", "administrative_unit"])
def test_target_reads_return_every_flag_the_modules_select(graph, dedicated_targets, discovery, report, kind):
    target_id, name = first_target(kind, dedicated_targets, discovery)
    select = (GROUPS if kind == "group" else ADMINISTRATIVE_UNITS).select
    answer = graph.request("GET", "%s/%s" % (target_collection(kind), target_id), params={"$select": select})
    missing = [name for name in select.split(",") if answer.ok and name not in answer.body]
    report.observe("target_flags", "%s '%s' with $select=%s" % (kind.replace("_", " "), name, select), answer.ok and not missing,
                   answered(answer) + (" without %s" % ", ".join(missing) if missing else ""), [answer])
    assert answer.ok, "the modules read each target with these properties: %s" % answered(answer)


def test_member_of_with_select_types_every_object(member_of, graph, report):
    items, answers = member_of
    untyped = [item.get("id") for item in items if not item.get("@odata.type")]
    ok = all(answer.ok for answer in answers)
    report.observe("member_of", "the test user's memberOf, %d objects" % len(items), ok and not untyped,
                   answered(answers[-1]) if not ok else "%d objects without @odata.type" % len(untyped), answers)
    granted = set(graph.granted_permissions() or [])
    if not granted & set(DIRECTORY_READ):
        limited = [item for item in items if set(item) <= {"id", "@odata.type"} or item.get("displayName") is None]
        report.observe("member_of_permissions", "memberOf by an app without Directory.Read.All: %s, %d of %d objects with limited information"
                       % (answered(answers[-1]), len(limited), len(items)), answers[-1].status in (200, 403),
                       answered(answers[-1]), answers)
    assert ok, "memberOf: %s" % answered(answers[-1])


def test_casts_on_member_of_need_consistency_level_and_count(graph, test_user, report):
    path = "/users/%s/memberOf/microsoft.graph.group" % test_user["id"]
    without = graph.request("GET", path, params={"$select": "id"})
    advanced = graph.request("GET", path, params={"$select": "id", "$count": "true"}, headers={"ConsistencyLevel": "eventual"})
    served = " (%d groups)" % len(without.body.get("value") or []) if without.ok else ""
    report.observe("casts", "memberOf/microsoft.graph.group without, then with ConsistencyLevel and $count",
                   without.status == 400 and graph_error_text(without.error).endswith("Request_UnsupportedQuery") and advanced.ok,
                   "without the pair %s%s, with it %s" % (answered(without), served, answered(advanced)), [without, advanced])
    assert advanced.ok, "a cast with ConsistencyLevel: eventual and $count=true: %s" % answered(advanced)


def test_advanced_query_parameters_without_consistency_level_are_ignored_or_refused(graph, tenant_domain, report):
    counted = graph.request("GET", "/groups", params={"$count": "true", "$top": "1", "$select": "id"})
    segment = graph.request("GET", "/groups/$count")
    report.observe("count", "$count=true, then /groups/$count, without ConsistencyLevel",
                   counted.ok and "@odata.count" not in counted.body and segment.status == 400,
                   "$count=true %s%s, /$count %s" % (answered(counted), " with @odata.count" if counted.ok and "@odata.count" in counted.body else "",
                                                     answered(segment)), [counted, segment])
    ends_with = graph.request("GET", "/users", params={"$filter": "endsWith(userPrincipalName,%s)" % filter_literal("@" + tenant_domain), "$select": "id"})
    report.observe("advanced_filter", "endsWith(userPrincipalName, ...) without the pair",
                   ends_with.status == 400 and graph_error_text(ends_with.error).endswith("Request_UnsupportedQuery"), answered(ends_with), [ends_with])
    search = graph.request("GET", "/groups", params={"$search": '"displayName:entra"', "$select": "id"})
    report.observe("search", "$search without ConsistencyLevel",
                   search.status == 400 and graph_error_text(search.error).endswith("Request_UnsupportedQuery"), answered(search), [search])
    assert counted.ok, "a plain $count=true must not fail: %s" % answered(counted)


def test_batch_items_carry_their_own_consistency_level(graph, test_user, report):
    cast = GraphRequest("GET", "/users/%s/memberOf/microsoft.graph.group" % test_user["id"], params={"$select": "id", "$count": "true"},
                        headers={"ConsistencyLevel": "eventual"})
    plain = GraphRequest("GET", "/users/%s/memberOf" % test_user["id"], params={"$select": "id"})
    answers = graph.batch([cast, plain])
    report.observe("batch_item_headers", "a cast with its ConsistencyLevel inside a $batch of two", all(answer.ok for answer in answers),
                   ", ".join(answered(answer) for answer in answers), answers)
    assert answers[1].ok, "a plain memberOf inside $batch: %s" % answered(answers[1])


def test_transitive_member_of_includes_every_direct_group(graph, test_user, member_of, report):
    direct = {item["id"] for item in member_of[0] if item.get("@odata.type") == "#microsoft.graph.group"}
    items, answers = read_pages(graph, "/users/%s/transitiveMemberOf" % test_user["id"], {"$select": "id", "$top": "999"})
    missing = direct - {item["id"] for item in items}
    report.observe("transitive_member_of", "the test user's transitiveMemberOf, %d objects" % len(items), answers[-1].ok and not missing,
                   answered(answers[-1]) if not answers[-1].ok else "%d direct groups missing" % len(missing), answers)
    assert answers[-1].ok, "transitiveMemberOf: %s" % answered(answers[-1])


@pytest.mark.parametrize("kind", ["group", "administrative_unit"])
def test_members_come_in_pages_linked_by_next_link(graph, test_user, dedicated_targets, discovery, report, kind):
    target_id, name = first_target(kind, dedicated_targets, discovery)
    items, answers = read_pages(graph, "%s/%s/members" % (target_collection(kind), target_id), {"$select": "id", "$top": str(PAGE_PROBE_TOP)})
    finished = answers[-1].ok and not answers[-1].body.get("@odata.nextLink")
    found = test_user["id"] in {item["id"] for item in items}
    what = "%s '%s' members, $top=%d: %d pages%s" % (kind.replace("_", " "), name, PAGE_PROBE_TOP, len(answers), "" if finished else " (stopped there)")
    report.observe("members_paged", what,
                   answers[-1].ok and (found or not finished), answered(answers[-1]) if not answers[-1].ok else "the test user is not among them",
                   answers[:3])
    assert answers[-1].ok, "reading the members: %s" % answered(answers[-1])


def test_team_reads_owners_roster_and_404_for_a_group_without_a_team(graph, test_user, dedicated_targets, discovery, report):
    team_id, name = first_target("team", dedicated_targets, discovery)
    owners, owner_answers = read_pages(graph, "/groups/%s/owners" % team_id, {"$select": "id"})
    team = graph.request("GET", "/teams/%s" % team_id)
    roster, roster_answers = read_pages(graph, "/teams/%s/members" % team_id, None)
    mine = [member for member in roster if member.get("userId") == test_user["id"]]
    shaped = all(isinstance(member.get("roles"), list) and member.get("userId") for member in roster
                 if member.get("@odata.type", "#microsoft.graph.aadUserConversationMember") == "#microsoft.graph.aadUserConversationMember")
    report.observe("owners", "the owners of team '%s', %d" % (name, len(owners)), owner_answers[-1].ok,
                   answered(owner_answers[-1]), owner_answers)
    report.observe("team_reads", "GET /teams/{id} and its roster, team '%s', %d members" % (name, len(roster)),
                   team.ok and roster_answers[-1].ok and shaped and len(mine) == 1,
                   "team %s, roster %s%s" % (answered(team), answered(roster_answers[-1]), "" if shaped else ", members without userId or roles"),
                   [team] + roster_answers)
    plain_groups = [group for group in discovery["users"][0]["groups"] if not group.get("is_team") and group.get("display_name")]
    if plain_groups:
        not_a_team = graph.request("GET", "/teams/%s" % plain_groups[0]["id"])
        report.observe("team_reads", "GET /teams/{id} of group '%s', which has no team" % plain_groups[0]["display_name"],
                       not_a_team.status == 404, answered(not_a_team), [not_a_team])
    assert team.ok and roster_answers[-1].ok, "team %s, roster %s" % (answered(team), answered(roster_answers[-1]))
    assert len(mine) == 1, "the test user is not in the roster of team '%s' that discovery found it in" % name


def test_joined_teams_answers_an_app(graph, test_user, discovery, report):
    answer = graph.request("GET", "/users/%s/joinedTeams" % test_user["id"])
    if answer.status == 403:
        pytest.skip("the app may not read joinedTeams (%s): grant Team.ReadBasic.All to see row 'joinedTeams'" % answered(answer))
    listed = {team["id"] for team in answer.body.get("value") or []} if answer.ok else set()
    expected = {team["id"] for team in discovery["users"][0]["teams"]}
    report.observe("joined_teams", "joinedTeams of the test user, %d teams" % len(listed), answer.ok and expected <= listed,
                   answered(answer) if not answer.ok else "teams missing from it: %d" % len(expected - listed), [answer])
    assert answer.ok, "joinedTeams: %s" % answered(answer)
