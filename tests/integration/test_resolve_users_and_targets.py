"""resolve_members / resolve_targets against the simulator: ids, UPNs, guests, names, ambiguity, injection."""
import copy
import re

import pytest

from graphsim.simulator import load_tenant

from ansible_collections.entra.membership.plugins.module_utils._connection_options import connection_settings
from ansible_collections.entra.membership.plugins.module_utils._module import build_client
from ansible_collections.entra.membership.plugins.module_utils._resolve import (
    UPN_FILTER_LIMIT,
    USER_SELECT,
    filter_literal,
    resolve_members,
    resolve_targets,
)

GUEST = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"
TWIN_IDS = ("0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002")


def client_for(sim, **options):
    return build_client(connection_settings(dict(sim.module_auth(), **options)))


def upn_filters(sim):
    """The UPN lists of every ``userPrincipalName in (...)`` read, as sent (quotes undoubled)."""
    filters = [entry.query["$filter"] for entry in sim.log.filter(path_re=r"^/v1\.0/users$")]
    assert all(re.fullmatch(r"userPrincipalName in \('(?:[^']|'')*'(?:,'(?:[^']|'')*')*\)", text) for text in filters), filters
    return [[value.replace("''", "'") for value in re.findall(r"'((?:[^']|'')*)'", text)] for text in filters]


@pytest.fixture
def odd_tenant(graphsim_factory):
    """The demo tenant plus the names that break naive clients."""
    spec = copy.deepcopy(load_tenant(None))
    spec["users"] += [{"userPrincipalName": "$svc@contoso.com", "displayName": "Service"},
                      {"userPrincipalName": "o'brien@contoso.com", "displayName": "Pat O'Brien"}]
    spec["groups"] += [{"displayName": "Twins", "id": TWIN_IDS[0], "kind": "security"},
                       {"displayName": "Twins", "id": TWIN_IDS[1], "kind": "security"},
                       {"displayName": "It's R&D + Ops #1", "kind": "security"}]
    return graphsim_factory(tenant=spec)


def test_members_by_upn_guest_upn_and_id_in_one_batch(graphsim):
    alan = graphsim.state.user_id("alan@contoso.com")
    refs = ["ada@contoso.com", GUEST, alan, "nobody@contoso.com"]
    client = client_for(graphsim)
    members = resolve_members(client, refs)
    assert list(members) == refs
    assert (members["ada@contoso.com"].id, members["ada@contoso.com"].upn) == (graphsim.state.user_id("ada@contoso.com"), "ada@contoso.com")
    assert members[GUEST].found and members[GUEST].upn == GUEST and members[GUEST].id == graphsim.state.user_id(GUEST)
    assert members[alan].found and members[alan].upn == "alan@contoso.com" and members[alan].object_type == "user"
    assert members["ada@contoso.com"].object_type == "user"
    nobody = members["nobody@contoso.com"]
    assert (nobody.found, nobody.id, nobody.error) == (False, None, None)
    assert graphsim.log.count(path_re=r"\$batch") == 1 and client.stats["requests"] == 1
    # The id is read by its path, the three UPNs in one filter, as given: both items of the one $batch.
    assert sorted(entry.path for entry in graphsim.log.filter(in_batch=True)) == ["/v1.0/users", "/v1.0/users/" + alan]
    assert upn_filters(graphsim) == [["ada@contoso.com", GUEST, "nobody@contoso.com"]]
    assert graphsim.log.filter(path_re=r"^/v1\.0/users$")[0].query["$select"] == USER_SELECT


def test_a_guest_upn_alone_travels_encoded(graphsim):
    # One request is sent without $batch: a raw '#' would end the URL there, and the filter with it.
    member = resolve_members(client_for(graphsim), [GUEST])[GUEST]
    assert member.found and member.id == graphsim.state.user_id(GUEST)
    assert graphsim.log.count(path_re=r"\$batch") == 0 and upn_filters(graphsim) == [[GUEST]]


def test_upns_are_read_fifteen_to_a_filter_and_matched_ignoring_case(graphsim):
    known = sorted(graphsim.state.users[user_id]["userPrincipalName"] for user_id in graphsim.state.users)
    refs = [upn.upper() for upn in known] + ["ghost%d@contoso.com" % number for number in range(40 - len(known))]
    client = client_for(graphsim)
    members = resolve_members(client, refs)
    assert [member.id for member in members.values() if member.found] == [graphsim.state.user_id(upn) for upn in known]
    assert all((member.found, member.upn) == (True, upn) for member, upn in zip(members.values(), known))  # Graph's spelling
    assert all((member.found, member.error) == (False, None) for member in list(members.values())[len(known):])
    sent = upn_filters(graphsim)
    assert [len(values) for values in sent] == [15, 15, 10] and sum(sent, []) == refs
    assert graphsim.log.count(path_re=r"\$batch") == 1 and client.stats["requests"] == 1


def test_graph_refuses_a_sixteenth_value(graphsim):
    # What UPN_FILTER_LIMIT keeps us from: the simulator answers as Graph does (known issue 13635).
    values = ",".join(filter_literal("user%d@contoso.com" % number) for number in range(UPN_FILTER_LIMIT + 1))
    response = client_for(graphsim).request("GET", "/users", params={"$filter": "userPrincipalName in (%s)" % values})
    assert response.status == 400 and "Max allowed: 15" in response.error.message


def test_a_failed_filter_fails_only_its_own_upns(graphsim):
    refs = ["user%d@contoso.com" % number for number in range(UPN_FILTER_LIMIT)] + ["ada@contoso.com", "alan@contoso.com"]
    graphsim.faults.add(503, path_re=r"^/v1\.0/users$", after=1, retry_after=0)  # the second filter, and every retry of it
    members = resolve_members(client_for(graphsim, max_retries=1), refs)
    assert all((member.found, member.error) == (False, None) for member in list(members.values())[:UPN_FILTER_LIMIT])
    for upn in ("ada@contoso.com", "alan@contoso.com"):
        assert not members[upn].found and members[upn].error.status == 503 and members[upn].id is None


def test_every_page_of_a_filter_answer_is_read(graphsim_factory):
    sim = graphsim_factory(page_size=4)
    known = sorted(sim.state.users[user_id]["userPrincipalName"] for user_id in sim.state.users)[:UPN_FILTER_LIMIT]
    members = resolve_members(client_for(sim), known)
    assert all(member.found for member in members.values()) and len(known) > 4


def test_duplicates_are_asked_once_and_upns_ignore_case(graphsim):
    ada = graphsim.state.user_id("ada@contoso.com")
    members = resolve_members(client_for(graphsim), ["ada@contoso.com", "ADA@Contoso.com", "ada@contoso.com", ada, ada.upper()])
    assert {member.id for member in members.values()} == {ada}
    assert len(members) == 4
    assert graphsim.log.count(in_batch=True) == 2 and graphsim.log.count(path_re=r"\$batch") == 1


def test_user_ids_are_read_as_users(graphsim):
    alan = graphsim.state.user_id("alan@contoso.com")
    resolve_members(client_for(graphsim), [alan])
    assert [entry.path for entry in graphsim.log.graph_requests()] == ["/v1.0/users/" + alan]  # User.Read.All is enough


def test_a_group_id_as_member_is_found_as_a_group(graphsim):
    nested = graphsim.state.id_of("group", "Platform Engineers")
    member = resolve_members(client_for(graphsim), [nested])[nested]
    assert member.found and member.object_type == "group" and member.upn is None and member.id == nested
    assert [entry.path for entry in graphsim.log.graph_requests()] == ["/v1.0/users/" + nested, "/v1.0/directoryObjects/" + nested]


def test_a_upn_with_a_quote_is_found_with_the_quote_doubled(odd_tenant):
    member = resolve_members(client_for(odd_tenant), ["o'brien@contoso.com"])["o'brien@contoso.com"]
    assert member.found and member.upn == "o'brien@contoso.com"
    assert odd_tenant.log.filter(path_re=r"^/v1\.0/users")[0].query["$filter"] == "userPrincipalName in ('o''brien@contoso.com')"


def test_a_upn_starting_with_a_dollar_is_found_by_the_filter(odd_tenant):
    member = resolve_members(client_for(odd_tenant), ["$svc@contoso.com"])["$svc@contoso.com"]
    assert odd_tenant.log.filter(path_re=r"^/v1\.0/users")[0].query["$filter"] == "userPrincipalName in ('$svc@contoso.com')"
    assert member.found and member.upn == "$svc@contoso.com"


@pytest.mark.parametrize("ref", ["../../groups/x@contoso.com", "ada@contoso.com/../../groups", "ada@contoso.com?$select=x",
                                 "ada", "", "ada\r\n@contoso.com", "' or 1 eq 1"])
def test_invalid_member_refs_fail_without_a_request(graphsim, ref):
    member = resolve_members(client_for(graphsim), [ref])[ref]
    assert not member.found and member.error.code == "InvalidMemberReference" and repr(ref)[1:-1] in repr(member.error.message)
    assert len(graphsim.log) == 0  # not even a token was needed


def test_targets_are_read_by_id_and_by_name_in_one_batch(graphsim):
    sales = graphsim.state.id_of("group", "Sales")
    vpn = graphsim.state.id_of("group", "VPN Users")
    client = client_for(graphsim)
    targets = resolve_targets(client, "group", [sales, "VPN Users", "No Such Group"], select=["groupTypes", "onPremisesSyncEnabled"])
    assert (targets[sales].id, targets[sales].display_name, targets[sales].type) == (sales, "Sales", "group")
    assert "groupTypes" in targets[sales].raw and "onPremisesSyncEnabled" in targets[sales].raw
    assert targets["VPN Users"].id == vpn and targets["VPN Users"].error is None
    missing = targets["No Such Group"]
    assert missing.id is None and missing.error.code == "TargetNotFound" and "No Such Group" in missing.error.message
    assert graphsim.log.count(path_re=r"\$batch") == 1
    by_name = graphsim.log.filter(in_batch=True, path_re=r"^/v1\.0/groups$")
    assert all(entry.query["$select"].startswith("id,displayName,groupTypes") for entry in by_name)


def test_a_missing_target_id_is_a_404_naming_it(graphsim):
    ghost = "0f8fad5b-d9cb-469f-a165-70867728950e"
    target = resolve_targets(client_for(graphsim), "group", [ghost])[ghost]
    assert target.error.status == 404 and ghost in target.error.message and target.error.request_id


def test_ambiguous_name_names_every_candidate(odd_tenant):
    target = resolve_targets(client_for(odd_tenant), "group", ["Twins"])["Twins"]
    assert target.id is None and target.error.code == "AmbiguousTargetName"
    assert all(twin in target.error.message for twin in TWIN_IDS) and "give the id" in target.error.message


def test_names_match_exactly_and_quotes_and_symbols_survive(odd_tenant):
    name = "It's R&D + Ops #1"
    targets = resolve_targets(client_for(odd_tenant), "group", [name, "sales"])
    assert targets[name].display_name == name and targets[name].id == odd_tenant.state.id_of("group", name)
    sent = [entry.query["$filter"] for entry in odd_tenant.log.filter(in_batch=True)]
    assert "displayName eq 'It''s R&D + Ops #1'" in sent
    # Graph's eq ignores case; a near miss is not taken for the group, but named in the message.
    sales = targets["sales"]
    assert sales.id is None and sales.error.code == "TargetNotFound"
    assert "'Sales' (%s)" % odd_tenant.state.id_of("group", "Sales") in sales.error.message


def test_odata_injection_in_a_name_stays_a_literal(graphsim):
    attempt = "Sales' or displayName eq 'Marketing"
    target = resolve_targets(client_for(graphsim), "group", [attempt])[attempt]
    assert target.error.code == "TargetNotFound"
    assert graphsim.log.filter(path_re=r"^/v1\.0/groups$")[0].query["$filter"] == "displayName eq 'Sales'' or displayName eq ''Marketing'"


def test_path_traversal_in_a_target_is_a_name_never_a_path(graphsim):
    attempt = "../users/ada@contoso.com"
    target = resolve_targets(client_for(graphsim), "group", [attempt])[attempt]
    assert target.error.code == "TargetNotFound"
    # the name, then the names starting as it does (near-miss suggestions): both filters on /groups, never a path
    assert [entry.path for entry in graphsim.log.graph_requests()] == ["/v1.0/groups", "/v1.0/groups"]


def test_bad_target_refs_fail_without_a_request(graphsim):
    targets = resolve_targets(client_for(graphsim), "group", ["", "Line\nbreak", "x" * 300])
    assert all(target.error.code == "InvalidTargetReference" for target in targets.values())
    assert len(graphsim.log) == 0


def test_a_group_without_a_team_is_not_a_team(graphsim):
    falcon = graphsim.state.id_of("team", "Project Falcon")
    sales = graphsim.state.id_of("group", "Sales")
    targets = resolve_targets(client_for(graphsim), "team", ["Project Falcon", sales, "Marketing"])
    assert targets["Project Falcon"].id == falcon and targets["Project Falcon"].type == "team"
    assert "Team" in targets["Project Falcon"].raw["resourceProvisioningOptions"]
    assert targets[sales].error.code == "NotATeam" and sales in targets[sales].error.message
    assert targets["Marketing"].error.code == "NotATeam"


@pytest.mark.parametrize("api_version, path", [("v1.0", "/v1.0/directory/administrativeUnits"), ("beta", "/beta/administrativeUnits")])
def test_administrative_units_are_read_where_the_api_version_keeps_them(graphsim, api_version, path):
    client = build_client(connection_settings(graphsim.module_auth()), api_version=api_version)
    germany = graphsim.state.id_of("au", "Germany")
    targets = resolve_targets(client, "administrative_unit", ["Germany", germany])
    assert targets["Germany"].id == germany == targets[germany].id
    assert targets[germany].type == "administrative_unit"
    assert sorted(entry.path for entry in graphsim.log.filter(in_batch=True)) == [path, path + "/" + germany]
