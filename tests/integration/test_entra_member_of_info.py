"""entra_member_of_info against the Graph simulator over HTTPS, run in-process (tests/modrun.py)."""
import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_member_of_info

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
GUEST = "carl_northwind.com#EXT#@contoso.onmicrosoft.com"
MISSING_UPN = "nobody@contoso.com"
MISSING_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"

# The demo leaver's direct groups: (dynamic, synced, mail_enabled, security_enabled, role-assignable, restricted, team, reason_code)
LEAVER_GROUPS = {
    "All Staff": (False, False, False, True, False, False, False, None),
    "VPN Users": (False, False, False, True, False, False, False, None),
    "Platform Engineers": (False, False, False, True, False, False, False, None),
    "Legacy App Access": (False, False, False, True, False, False, False, None),
    "Marketing": (False, False, True, False, False, False, False, None),
    "All Employees (dynamic)": (True, False, False, True, False, False, False, "DynamicMembership"),
    "CORP-FileShare-RW": (False, True, False, True, False, False, False, "OnPremisesSynced"),
    "Security Alerts": (False, False, True, True, False, False, False, "MailEnabledGroup"),
    "All Hands DL": (False, False, True, False, False, False, False, "MailEnabledGroup"),
    "Helpdesk Admins": (False, False, False, True, True, False, False, None),
    "Executive Board": (False, False, False, True, False, True, False, "ManagementRestricted"),
    "Data Science Guild": (False, False, True, False, False, False, True, None),
    "Platform Team": (False, False, True, False, False, False, True, None),
    "Support Rotation": (False, False, True, False, False, False, True, None),
    "Sales EMEA": (False, False, True, False, False, False, True, None),
}
FLAGS = ("dynamic", "on_premises_sync_enabled", "mail_enabled", "security_enabled", "is_assignable_to_role", "management_restricted", "is_team",
         "reason_code")
LEAVER_UNITS = {"Germany": (False, False, None), "All Users (dynamic)": (True, False, "DynamicMembership"),
                "Executives": (False, True, "ManagementRestricted")}
LEAVER_TEAMS = {"Data Science Guild": "owner", "Platform Team": "owner", "Support Rotation": "member", "Sales EMEA": "member"}
REASON_WORDS = {
    "All Employees (dynamic)": ['(user.userType -eq "Member")', "change the membershipRule (or the member's attributes it matches)"],
    "CORP-FileShare-RW": ["change its members in Active Directory"],
    "Security Alerts": ["mail-enabled security group", "change it in Exchange Online"],
    "All Hands DL": ["distribution list", "change it in Exchange Online"],
    "Executive Board": ["restricted management administrative unit", "only administrators assigned a role scoped to that administrative unit"],
    "All Users (dynamic)": ["(user.accountEnabled -eq true)", "change the membershipRule"],
    "Executives": ["restricted management administrative unit", "scoped to it"],
}


def run(sim, check_mode=False, client_id=None, **args):
    return run_module(entra_member_of_info, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode)


def by_name(entries):
    return {entry["display_name"]: entry for entry in entries}


def app_id(sim, name):
    return sim.state.id_of("app", name)


def assert_read_only(sim):
    assert sim.log.writes() == []
    assert all(entry.method == "GET" for entry in sim.log if entry.in_batch)


def test_demo_leaver_shows_every_kind_with_its_flags_and_reasons(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER])
    assert result["rc"] == 0 and result["changed"] is False and "failed" not in result
    assert result["msg"] == "entra_member_of_info: 1 user read"
    assert (result["tenant_id"], result["cloud"]) == (sim.tenant_id, "global")
    (user,) = result["users"]
    assert {key: user[key] for key in ("user", "id", "user_principal_name", "display_name", "found", "error")} == {
        "user": LEAVER, "id": sim.state.user_id(LEAVER), "user_principal_name": LEAVER, "display_name": "Lee Leaver", "found": True, "error": None}
    assert "transitive_groups" not in user

    groups = by_name(user["groups"])
    assert set(groups) == set(LEAVER_GROUPS)  # a directory role (Helpdesk Administrator) is no group
    for name, expected in LEAVER_GROUPS.items():
        entry = groups[name]
        assert tuple(entry[flag] for flag in FLAGS) == expected, name
        assert entry["id"] == sim.state.id_of("group", name) and entry["type"] == "group"
        assert entry["removable"] is (expected[-1] is None), name
        assert (entry["reason"] is None) is entry["removable"], name
        for words in REASON_WORDS.get(name, []):
            assert words in entry["reason"], (name, entry["reason"])
    assert groups["Marketing"]["group_types"] == ["Unified"] and groups["All Employees (dynamic)"]["group_types"] == ["DynamicMembership"]

    units = by_name(user["administrative_units"])
    assert {name: (unit["dynamic"], unit["restricted"], unit["reason_code"]) for name, unit in units.items()} == LEAVER_UNITS
    for name, unit in units.items():
        assert unit["type"] == "administrative_unit" and unit["id"] == sim.state.id_of("au", name)
        assert unit["removable"] is (LEAVER_UNITS[name][2] is None)
        for words in REASON_WORDS.get(name, []):
            assert words in unit["reason"]

    teams = by_name(user["teams"])
    assert {name: team["role"] for name, team in teams.items()} == LEAVER_TEAMS
    for name, team in teams.items():
        assert team["role"] == sim.state.team_role(team["id"], user["id"])
        assert (team["type"], team["removable"], team["reason"]) == ("team", True, None)
        assert team["id"] == groups[name]["id"]
    assert_read_only(sim)


def test_check_mode_returns_what_a_real_run_returns(graphsim_session):
    sim = graphsim_session
    real = run(sim, users=[LEAVER, LEAVER2])
    check = run(sim, check_mode=True, users=[LEAVER, LEAVER2])
    assert check["rc"] == 0 and check["changed"] is False
    assert check["users"] == real["users"]
    assert_read_only(sim)


def test_two_users_cost_three_requests_and_many_users_a_few_more(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER, LEAVER2])
    assert result["rc"] == 0 and [user["user"] for user in result["users"]] == [LEAVER, LEAVER2]
    # One GET resolves both users (userPrincipalName in (...)), one $batch reads both users' memberships, one every team's owners.
    assert [entry.path for entry in sim.log.graph_requests()] == ["/v1.0/users", "/v1.0/$batch", "/v1.0/$batch"]
    # One memberOf read a user, groups and units told apart by @odata.type: no cast, so no advanced query (user-list-memberof).
    (read, _other) = sim.log.filter(path_re=r"/memberOf$", in_batch=True)
    assert "ConsistencyLevel" not in str(read.headers) and "$count" not in read.query
    assert sim.log.count(path_re=r"/memberOf/", in_batch=None) == 0
    # Sales EMEA is both users' team: its owners are read once.
    assert sim.log.count(path_re=r"^/v1\.0/groups/[^/]+/owners$", in_batch=True) == len({team["id"] for user in result["users"] for team in user["teams"]})
    second = by_name(result["users"][1]["teams"])
    assert {name: team["role"] for name, team in second.items()} == {"Sales EMEA": "member", "Offsite Planning": "owner"}

    sim.log.clear()
    everyone = sorted(user["userPrincipalName"] for user in sim.state.users.values())
    many = run(sim, users=everyone)
    assert many["rc"] == 0 and len(many["users"]) == len(everyone) == 30
    # 30 users: 1 $batch of two 15-UPN filters to resolve, 30 reads in 2, the demo's 6 teams' owners in 1.
    assert len(sim.log.graph_requests()) == 4
    assert_read_only(sim)


def test_include_transitive_lists_groups_reached_through_nesting(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER], include_transitive=True)
    (user,) = result["users"]
    assert user["transitive_groups"] == [{
        "id": sim.state.id_of("group", "Engineering"), "display_name": "Engineering", "type": "group",
        "removable": False, "reason": "reached through nested group membership", "reason_code": "NestedMembership"}]
    assert "Engineering" not in by_name(user["groups"]) and "Platform Engineers" in by_name(user["groups"])
    assert sim.log.count(path_re=r"/transitiveMemberOf$", in_batch=True) == 1
    assert len(sim.log.graph_requests()) == 3
    assert_read_only(sim)


def test_unknown_users_are_found_false_and_do_not_fail(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[MISSING_UPN, LEAVER, MISSING_ID])
    assert result["rc"] == 0 and "failed" not in result
    missing, leaver, missing_id = result["users"]
    for entry, given in ((missing, MISSING_UPN), (missing_id, MISSING_ID)):
        assert entry == {"user": given, "id": None, "user_principal_name": None, "display_name": None, "found": False, "error": None,
                         "groups": [], "administrative_units": [], "teams": []}
    assert leaver["found"] is True and leaver["groups"]
    assert result["msg"] == "entra_member_of_info: 1 user read, 2 not found ('%s', '%s')" % (MISSING_UPN, MISSING_ID)
    # Nobody's memberships are asked for a user that does not exist.
    assert sim.log.count(path_re=r"/memberOf$") == 1


def test_users_are_read_by_id_and_guests_by_their_ext_upn(graphsim_session):
    sim = graphsim_session
    leaver_id = sim.state.user_id(LEAVER)
    result = run(sim, users=[leaver_id.upper(), GUEST])
    by_id, guest = result["users"]
    assert (by_id["user"], by_id["id"], by_id["user_principal_name"]) == (leaver_id.upper(), leaver_id, LEAVER)
    assert set(by_name(by_id["groups"])) == set(LEAVER_GROUPS)
    assert guest["found"] is True and guest["user_principal_name"] == GUEST
    assert set(by_name(guest["groups"])) == {"Contractors", "Partners' Portal", "Support Rotation"}
    assert by_name(guest["teams"])["Support Rotation"]["role"] == "member"
    # The guest's UPN reached the simulator whole, '#EXT#' inside the filter's literal.
    (resolved,) = sim.log.filter(path_re=r"^/v1\.0/users$", in_batch=True)
    assert resolved.query["$filter"] == "userPrincipalName in ('%s')" % GUEST and resolved.status == 200


def test_duplicates_are_read_once(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER, LEAVER.upper(), sim.state.user_id(LEAVER)])
    assert [user["user"] for user in result["users"]] == [LEAVER]
    assert any("same object" in warning and "users:" in warning for warning in result.get("warnings", []))
    assert sim.log.count(path_re=r"/memberOf$", in_batch=None) == 1


def test_every_page_is_followed(graphsim_factory):
    small = graphsim_factory(page_size=2)
    paged = run(small, users=[LEAVER], include_transitive=True)
    # $top=999 asks for more, the simulator's page size wins: the rest comes through @odata.nextLink.
    next_pages = small.log.filter(method="GET", path_re=r"/memberOf$", in_batch=False)
    memberships = len(LEAVER_GROUPS) + len(LEAVER_UNITS) + 1  # and the Helpdesk Administrator role
    assert len(next_pages) == -(-memberships // 2) - 1 and all("$skiptoken" in entry.query for entry in next_pages)
    assert paged["rc"] == 0
    (user,) = paged["users"]
    assert set(by_name(user["groups"])) == set(LEAVER_GROUPS) and len(user["groups"]) == len(LEAVER_GROUPS)
    assert set(by_name(user["administrative_units"])) == set(LEAVER_UNITS)
    assert {name: team["role"] for name, team in by_name(user["teams"]).items()} == LEAVER_TEAMS
    assert [group["display_name"] for group in user["transitive_groups"]] == ["Engineering"]
    assert_read_only(small)


def test_beta_reads_go_to_beta(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER], api_version="beta")
    assert result["rc"] == 0 and by_name(result["users"][0]["groups"])["Executive Board"]["management_restricted"] is True
    assert {entry.path.split("/")[1] for entry in sim.log if entry.in_batch} == {"beta"}


def test_an_app_without_permissions_fails_naming_the_user_and_the_permission(graphsim_session):
    sim = graphsim_session
    result = run(sim, client_id=app_id(sim, "No Permissions"), users=[LEAVER, LEAVER2])
    assert result["rc"] == 1 and result["failed"] is True and result["changed"] is False
    assert "2 failed" in result["msg"] and LEAVER in result["msg"] and LEAVER2 in result["msg"]
    for user in result["users"]:
        assert user["found"] is False and user["groups"] == [] and user["teams"] == []
        assert user["error"]["status"] == 403 and user["error"]["code"] == "Authorization_RequestDenied"
        assert "needs the permission User.Read.All" in user["error"]["message"] and user["user"] in user["error"]["message"]
        assert user["error"]["request_id"]
    assert_read_only(sim)


def test_an_app_that_may_read_only_users_is_refused_the_memberships_and_told_what_to_grant(graphsim_session):
    """user-list-memberof's table: an app needs Directory.Read.All (or Group.ReadBasic.All, GroupMember.ReadBasic.All)."""
    sim = graphsim_session
    app = app_id(sim, "No Permissions")
    sim.set_app_roles(app, ["User.Read.All"])
    result = run(sim, client_id=app, users=[LEAVER])
    (user,) = result["users"]
    # The reason leads msg, so the failed task shows it where Ansible prints msg (issue 17, item 4).
    assert result["rc"] == 1 and result["msg"] == "entra_member_of_info: %s. 0 users read, 1 failed ('%s')" % (user["error"]["message"], LEAVER)
    assert user["found"] is True and user["groups"] == user["administrative_units"] == user["teams"] == []
    assert user["error"]["status"] == 403
    assert user["error"]["message"].startswith("reading the memberships of '%s' needs the permission Directory.Read.All (or Group.ReadBasic.All)"
                                               % LEAVER)


def test_memberships_the_app_may_not_read_are_not_readable_and_name_the_permission_to_grant(graphsim_session):
    """includes/limited-info.md: GroupMember.ReadBasic.All lists memberships, but groups and units come back as ids only."""
    sim = graphsim_session
    app = app_id(sim, "No Permissions")
    sim.set_app_roles(app, ["User.Read.All", "GroupMember.ReadBasic.All"])
    result = run(sim, client_id=app, users=[LEAVER])
    assert result["rc"] == 1 and result["msg"].startswith("entra_member_of_info: ") and result["msg"].endswith(". 0 users read, 1 failed ('%s')" % LEAVER)
    (user,) = result["users"]
    assert user["found"] is True and user["teams"] == []
    assert {group["id"] for group in user["groups"]} == {sim.state.id_of("group", name) for name in LEAVER_GROUPS}
    assert {unit["id"] for unit in user["administrative_units"]} == {sim.state.id_of("au", name) for name in LEAVER_UNITS}
    for entry in user["groups"] + user["administrative_units"]:
        assert entry["display_name"] is None and entry["removable"] is False and entry["reason_code"] == "LimitedInformation"
    group, unit = user["groups"][0], user["administrative_units"][0]
    assert group["reason"] == ("group %s is not readable with the app's permissions: grant GroupMember.Read.All (or Group.Read.All, "
                               "Directory.Read.All) (Graph returned only its id, so whether it can be changed is unknown)" % group["id"])
    assert "is not readable with the app's permissions: grant AdministrativeUnit.Read.All (or Directory.Read.All)" in unit["reason"]
    assert user["error"]["code"] == "LimitedInformation" and "only the ids of %d" % (len(LEAVER_GROUPS) + len(LEAVER_UNITS)) in user["error"]["message"]


def test_with_groups_readable_only_the_units_are_not_readable(graphsim_session):
    sim = graphsim_session
    app = app_id(sim, "No Permissions")
    sim.set_app_roles(app, ["User.Read.All", "Group.ReadBasic.All", "GroupMember.Read.All"])
    (user,) = run(sim, client_id=app, users=[LEAVER])["users"]
    assert set(by_name(user["groups"])) == set(LEAVER_GROUPS) and {name: team["role"] for name, team in by_name(user["teams"]).items()} == LEAVER_TEAMS
    assert {unit["reason_code"] for unit in user["administrative_units"]} == {"LimitedInformation"}
    assert user["error"]["code"] == "LimitedInformation" and "only the ids of %d" % len(LEAVER_UNITS) in user["error"]["message"]


def test_owners_not_read_leave_roles_unknown_and_fail(graphsim_session):
    sim = graphsim_session
    sim.faults.add(503, path_re=r"/groups/%s/owners$" % sim.state.id_of("group", "Sales EMEA"))
    result = run(sim, users=[LEAVER, LEAVER2], max_retries=0)
    assert result["rc"] == 1 and result["msg"].startswith("entra_member_of_info: ")
    assert result["msg"].endswith(". 0 users read, 2 failed ('%s', '%s')" % (LEAVER, LEAVER2))
    for user in result["users"]:
        teams = by_name(user["teams"])
        assert teams["Sales EMEA"]["role"] is None and user["error"]["status"] == 503
        assert all(team["role"] in ("owner", "member") for name, team in teams.items() if name != "Sales EMEA")


def test_one_user_failing_does_not_hide_the_others(graphsim_session):
    sim = graphsim_session
    leaver2 = sim.state.user_id(LEAVER2)
    sim.faults.add(503, path_re=r"/users/%s/memberOf$" % leaver2)
    result = run(sim, users=[LEAVER, LEAVER2], max_retries=0)
    assert result["rc"] == 1 and result["failed"] is True
    assert result["msg"].startswith("entra_member_of_info: ") and result["msg"].endswith(". 1 user read, 1 failed ('%s')" % LEAVER2)
    leaver, failed = result["users"]
    assert leaver["error"] is None and set(by_name(leaver["groups"])) == set(LEAVER_GROUPS)
    assert failed["error"]["status"] == 503 and failed["administrative_units"] == [] and failed["groups"] == []


@pytest.mark.parametrize("users, named", [
    ([""], "an empty value"),
    (["   "], "an empty value"),
    (["0f8fad5b-d9cb-469f-a165"], "'0f8fad5b-d9cb-469f-a165' is not a valid object id"),
    (["leaver"], "'leaver' is neither an object id (GUID) nor a user principal name"),
    (["a@b@contoso.com"], "exactly one '@'"),
    (["lee\x00ver@contoso.com"], "control characters"),
    (["lee ver@contoso.com"], "it contains ' '"),
    ([LEAVER, "../users@contoso.com"], "'..'"),
    (["x\ud800@contoso.com"], "lone surrogate"),
    (["['leaver@contoso.com']"], "it contains '['"),  # a list templated into one string
    (["0f8fad5b-d9cb-469f-a165-70867728950e\n"], "is not a valid object id"),
])
def test_bad_input_fails_before_any_request(graphsim_session, users, named):
    sim = graphsim_session
    result = run(sim, users=users)
    # No users key at all: a caller (the offboard role) cannot mistake the failure for "nobody to offboard".
    assert result["rc"] == 1 and result["failed"] is True and "users" not in result
    assert result["msg"].startswith("users: ") and named in result["msg"]
    assert sim.log.graph_requests() == [] and sim.log.writes() == []


def test_users_must_be_a_list_and_nothing_given_reads_nothing(graphsim_session):
    sim = graphsim_session
    not_a_list = run(sim, users={"upn": LEAVER})
    assert not_a_list["rc"] == 1 and "users" in not_a_list["msg"] and "users" not in not_a_list
    empty = run(sim, users=[])
    assert empty["rc"] == 0 and empty["users"] == [] and empty["msg"] == "entra_member_of_info: nothing to do (no users given)"
    assert len(sim.log) == 0


def test_an_authentication_failure_fails_without_users_and_without_the_secret(graphsim_session):
    sim = graphsim_session
    result = run_module(entra_member_of_info, dict(sim.module_auth(), client_secret="not-the-secret-0123", users=[LEAVER]))
    assert result["rc"] == 1 and "users" not in result and "AADSTS" in result["msg"]
    assert "not-the-secret-0123" not in str(result)
    assert sim.log.count(path_re=r"^/(v1\.0|beta)/") == 0


def test_an_id_that_is_a_group_is_not_a_user(graphsim_session):
    sim = graphsim_session
    sales = sim.state.id_of("group", "Sales")
    result = run(sim, users=[sales, LEAVER2])
    assert result["rc"] == 1 and result["msg"].startswith("entra_member_of_info: ") and result["msg"].endswith(". 1 user read, 1 failed ('%s')" % sales)
    group, leaver2 = result["users"]
    assert group["error"]["code"] == "NotAUser" and "is a group, not a user" in group["error"]["message"]
    assert group["groups"] == [] and leaver2["error"] is None and leaver2["groups"]
    assert sim.log.count(path_re=r"/users/%s/" % sales) == 0  # its memberships are not read as a user's


def test_memberof_is_read_only_when_a_membership_kind_is_asked_for(graphsim_session):
    """docs/discovery.md: without groups, administrative_units or teams in include, memberOf (and its permission) is not needed."""
    sim = graphsim_session
    result = run_module(entra_member_of_info, dict(sim.module_auth(), users=[LEAVER], include=["licenses"]))
    assert result["rc"] == 0 and "groups" not in result["users"][0]
    assert sim.log.count(method="GET", path_re=r"/memberOf$") == 0
