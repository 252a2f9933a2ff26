"""The member modules against Graph as Microsoft documents it (issue 16, section 1, client side), one behaviour each.

Every test runs the simulator with no leniency (``lenient=()``): what passes here passes against the documented Graph.
Each test names the page (or known issue) that says how Graph answers; docs/graph-compatibility.md lists them by row.
"""
import pytest

from graphsim import EDGE_TENANT
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, entra_member_of_info, teams_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
EDGE_LEAVER = "leaver@fabrikam.com"
LONG_NAME = ("Regional Quality Assurance and Regulatory Compliance Working Group for Medical Device Software Validation in the "
             "European Economic Area")
CAST = r"/microsoft\.graph\.[A-Za-z]+$"


@pytest.fixture
def documented(graphsim_session):
    graphsim_session.lenient = ()
    return graphsim_session


@pytest.fixture
def edge(graphsim_factory):
    return graphsim_factory(tenant=EDGE_TENANT, lenient=())


def run(sim, module, check_mode=False, diff=False, client_id=None, **args):
    return run_module(module, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def statuses(result):
    return [(entry["target"]["display_name"], entry["member"], entry["status"]) for entry in result["results"]]


def assert_no_advanced_query(sim):
    """No OData cast, no ConsistencyLevel, no $count: nothing that needs Graph's advanced queries (aad-advanced-queries)."""
    for entry in sim.log:
        assert not entry.path.endswith(("/microsoft.graph.group", "/microsoft.graph.administrativeUnit", "/microsoft.graph.user")), entry.path
        assert "$count" not in entry.query and "consistencylevel" not in {name.lower() for name in entry.headers}, entry


# -- memberOf without casts (user-list-memberof: a cast needs ConsistencyLevel: eventual and $count=true) ----------------

def test_check_and_diff_mode_read_member_of_without_a_cast_and_predict_right(documented):
    sim = documented
    groups = ["VPN Users", "Sales", "Legacy App Access"]
    check = run(sim, entra_group_member, check_mode=True, diff=True, groups=groups, members=[LEAVER])
    units = run(sim, entra_au_member, check_mode=True, administrative_units=["Germany", "EMEA Sales"], members=[LEAVER])
    assert statuses(check) == [("VPN Users", LEAVER, "removed"), ("Sales", LEAVER, "absent"), ("Legacy App Access", LEAVER, "removed")]
    assert statuses(units) == [("Germany", LEAVER, "removed"), ("EMEA Sales", LEAVER, "absent")]
    assert sim.log.count(method="GET", path_re=r"/users/[^/]+/memberOf$") == 2 and sim.log.writes() == []
    assert_no_advanced_query(sim)


def test_discovery_reads_each_users_member_of_once_and_tells_groups_and_units_apart_by_odata_type(documented):
    sim = documented
    result = run(sim, entra_member_of_info, users=[LEAVER], include_transitive=True)
    (user,) = result["users"]
    assert result["rc"] == 0 and user["groups"] and user["administrative_units"] and user["transitive_groups"]
    assert "Helpdesk Administrator" not in {entry["display_name"] for entry in user["groups"] + user["administrative_units"]}  # a role
    assert sim.log.count(method="GET", path_re=r"/memberOf$") == sim.log.count(method="GET", path_re=r"/transitiveMemberOf$") == 1
    assert_no_advanced_query(sim)


# -- a display name longer than a $filter value may be (known issue 13635: 120 characters) ------------------------------

def test_a_name_longer_than_120_characters_is_found_by_its_prefix_and_matched_exactly(edge):
    result = run(edge, entra_group_member, groups=[LONG_NAME], members=[EDGE_LEAVER])
    assert statuses(result) == [(LONG_NAME, EDGE_LEAVER, "removed")]
    (lookup,) = edge.log.filter(method="GET", path_re=r"^/v1\.0/groups$")
    assert lookup.query["$filter"] == "startswith(displayName,'%s')" % LONG_NAME[:120] and lookup.status == 200


def test_a_long_name_that_only_shares_the_prefix_is_not_found_and_nothing_is_written(edge):
    near = LONG_NAME[:120] + " and Switzerland"
    result = run(edge, entra_group_member, groups=[near], members=[EDGE_LEAVER])
    (entry,) = result["results"]
    assert entry["status"] == "failed" and entry["error"]["code"] == "TargetNotFound" and near in entry["error"]["message"]
    assert edge.log.writes() == []


# -- a $batch answered as a whole with 424 (throttling.md, "Throttling and batching") ---------------------------------

def test_a_batch_answered_424_as_a_whole_is_read_item_by_item_and_only_the_throttled_item_sent_again(documented):
    sim = documented
    groups = ["VPN Users", "All Staff", "Legacy App Access"]
    sim.faults.add("batch_status", status=424, limit=1, after=1, retry_after=0.01)  # the writes' $batch, after the look-ups' one
    sim.faults.add(429, path_re=r"/groups/%s/members/[^/]+/\$ref$" % sim.state.id_of("group", "All Staff"), limit=1, retry_after=0.01)
    result = run(sim, entra_group_member, groups=groups, members=[LEAVER])
    assert statuses(result) == [(name, LEAVER, "removed") for name in groups]
    assert [entry.status for entry in sim.log.filter(method="POST", path_re=r"/\$batch$")] == [200, 424, 200]  # resolution, writes, one retry
    assert len(sim.log.writes()) == 4  # three writes, and the throttled one again
    assert result["graph_stats"]["throttled"] == 1


# -- a write answered 429 (or 5xx) that happened (Microsoft Q&A 5529013) -------------------------------------------------

@pytest.mark.parametrize("kind", [429, 503])
def test_a_removal_carried_out_but_answered_with_a_retry_is_reported_removed(documented, kind):
    sim = documented
    sim.faults.add(kind, path_re=r"/members/[^/]+/\$ref$", limit=1, applied=True, retry_after=0.01)
    result = run(sim, entra_group_member, groups=["VPN Users", "Finance Approvers"], members=[LEAVER])
    assert statuses(result) == [("VPN Users", LEAVER, "removed"), ("Finance Approvers", LEAVER, "absent")]
    vpn = r"/groups/%s/members/" % sim.state.id_of("group", "VPN Users")
    assert [(entry.status, entry.applied) for entry in sim.log.filter(method="DELETE", path_re=vpn)] == [(kind, True), (404, False)]


def test_a_teams_removal_in_a_batch_answered_429_after_it_happened_is_reported_removed(documented):
    sim = documented
    remove = r"/teams/%s/members/remove$" % sim.state.id_of("team", "Support Rotation")
    sim.faults.add(429, path_re=remove, limit=1, applied=True, retry_after=0.01)
    result = run(sim, teams_member, teams=["Support Rotation", "Sales EMEA"], members=[LEAVER])
    assert statuses(result) == [("Support Rotation", LEAVER, "removed"), ("Sales EMEA", LEAVER, "removed")]
    assert result["changed"] is True
    assert [entry.status for entry in sim.log.filter(method="POST", path_re=remove)] == [429, 207]  # the resend met its own work


def test_an_addition_carried_out_but_answered_429_is_reported_added(documented):
    sim = documented
    sim.faults.add(429, path_re=r"/members/\$ref$", limit=1, applied=True, retry_after=0.01)
    result = run(sim, entra_group_member, groups=["Finance Approvers", "All Staff"], members=[LEAVER], state="present")
    assert statuses(result) == [("Finance Approvers", LEAVER, "added"), ("All Staff", LEAVER, "present")]


# -- service principals: v1.0 group-list-members leaves them out (its "Known issue") -------------------------------------

def test_a_service_principal_given_by_id_is_seen_in_check_and_diff_mode_through_its_own_member_of(edge):
    sp = edge.state.id_of("servicePrincipal", "Nightly Sync")
    omar = edge.state.user_id("omar@fabrikam.com")
    args = dict(groups=["Automation Accounts"], members=[sp, omar, EDGE_LEAVER])  # more members than groups: the group is read
    check = run(edge, entra_group_member, check_mode=True, diff=True, **args)
    assert [entry["status"] for entry in check["results"]] == ["removed", "removed", "absent"]
    (diff,) = check["diff"]
    assert diff["before"] == {"members": sorted([sp, omar])} and diff["after"] == {"members": []}
    assert edge.log.count(method="GET", path_re=r"/servicePrincipals/%s/memberOf$" % sp) == 1
    real = run(edge, entra_group_member, **args)
    assert [entry["status"] for entry in real["results"]] == ["removed", "removed", "absent"]
    again = run(edge, entra_group_member, check_mode=True, **args)
    assert [entry["status"] for entry in again["results"]] == ["absent", "absent", "absent"]
    assert not edge.state.is_member(edge.state.id_of("group", "Automation Accounts"), sp)


# -- a team whose group has dynamic membership (microsoft-graph-docs issue 12712: roster writes answer 403) -------------

@pytest.mark.parametrize("check_mode", [False, True])
def test_a_team_backed_by_a_dynamic_group_is_refused_before_any_write_with_the_reason_discovery_gives(edge, check_mode):
    result = run(edge, teams_member, check_mode=check_mode, teams=["Everyone (dynamic team)"], members=[EDGE_LEAVER])
    (entry,) = result["results"]
    assert entry["status"] == "failed" and entry["error"]["code"] == "DynamicMembership" and entry["request_id"] is None
    assert edge.log.writes() == [] and not edge.log.filter(path_re=r"^/v1\.0/teams/")  # not even the roster
    (user,) = run(edge, entra_member_of_info, users=[EDGE_LEAVER])["users"]
    (team,) = [team for team in user["teams"] if team["display_name"] == "Everyone (dynamic team)"]
    assert (team["removable"], team["reason_code"], team["reason"]) == (False, "DynamicMembership", entry["error"]["message"])


# -- restricted management administrative units (admin-units-restricted-management, "Programmability") -----------------

@pytest.mark.parametrize("module, option, target", [(entra_group_member, "groups", "Executive Board"),
                                                    (entra_au_member, "administrative_units", "Executives")])
def test_restricted_management_refuse_sends_nothing_and_attempt_sends_the_write(documented, module, option, target):
    sim = documented
    refused = run(sim, module, **{option: [target], "members": [LEAVER]})
    assert refused["results"][0]["error"]["code"] == "ManagementRestricted" and sim.log.writes() == []
    assert "set restricted_management: attempt" in refused["results"][0]["error"]["message"]
    denied = run(sim, module, restricted_management="attempt", **{option: [target], "members": [LEAVER]})
    (entry,) = denied["results"]
    assert entry["status"] == "failed" and entry["error"]["status"] == 403 and len(sim.log.writes()) == 1
    assert "restricted management administrative unit" in entry["error"]["message"]
    assert "Graph refused this app: it holds no role scoped to that unit (Graph: " in entry["error"]["message"]
    sim.set_app_scoped_administrative_units(sim.credentials["client_id"], ["Executives"])
    allowed = run(sim, module, restricted_management="attempt", **{option: [target], "members": [LEAVER]})
    assert [entry["status"] for entry in allowed["results"]] == ["removed"]
    assert not sim.state.is_member(sim.state.id_of("au" if option == "administrative_units" else "group", target), sim.state.user_id(LEAVER))


def test_restricted_management_takes_only_refuse_or_attempt(documented):
    result = run(documented, entra_group_member, restricted_management="try", groups=["VPN Users"], members=[LEAVER])
    assert result["rc"] == 1 and "restricted_management" in result["msg"] and "refuse, attempt" in result["msg"]
    assert len(documented.log) == 0


# -- permissions as each page's table lists them ------------------------------------------------------------------------

def test_without_directory_read_all_check_mode_reads_the_groups_members_instead_of_member_of(documented):
    """user-list-memberof needs Directory.Read.All (or Group.ReadBasic.All); group-list-members takes GroupMember.ReadWrite.All."""
    sim = documented
    restricted = sim.state.id_of("app", "Restricted Offboarding")
    check = run(sim, entra_group_member, check_mode=True, client_id=restricted, groups=["VPN Users", "Sales"], members=[LEAVER])
    assert statuses(check) == [("VPN Users", LEAVER, "removed"), ("Sales", LEAVER, "absent")]
    assert [entry.status for entry in sim.log.filter(method="GET", path_re=r"/memberOf$")] == [403]
    assert sim.log.count(method="GET", path_re=r"/groups/[^/]+/members$", status=200) == 2


def test_a_roster_the_app_may_not_read_fails_naming_the_teams_permission(documented):
    """team-list-members: TeamMember.Read.All or TeamMember.ReadWrite.All only (Group.Read.All no longer)."""
    sim = documented
    app = sim.state.id_of("app", "No Permissions")
    sim.set_app_roles(app, ["User.Read.All", "Group.Read.All"])
    result = run(sim, teams_member, client_id=app, teams=["Support Rotation"], members=[LEAVER])
    (entry,) = result["results"]
    assert entry["status"] == "failed" and entry["error"]["status"] == 403 and entry["request_id"] is None
    assert entry["error"]["message"].startswith("the app may not read the members of team 'Support Rotation', which every change reads first: "
                                                "it needs TeamMember.Read.All")
    assert sim.log.writes() == []
