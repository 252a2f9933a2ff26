"""entra_group_owner against the Graph simulator over HTTPS, run in-process (tests/modrun.py).

The last-owner rule is group-delete-owners' ("the last owner (a user object) of the group cannot be
removed"); a team owner must also be a member to act in the team (group-post-owners, Important).
"""
import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_group_member, entra_group_owner

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
MANAGER = "grace@contoso.com"       # the leaver's manager in the demo tenant
OWNED = ["Legacy App Access", "VPN Users"]    # the only owner of the first, co-owner (with Radia) of the second


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_group_owner, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def statuses(result):
    return [(entry["target"]["display_name"], entry["member"], entry["status"]) for entry in result["results"]]


def group(sim, name):
    return sim.state.id_of("group", name)


def user(sim, upn):
    return sim.state.user_id(upn)


def assert_only_owner_ref_writes(sim):
    """Every owner write ends in /$ref: without it Graph deletes the owner object (group-delete-owners, issue 15311)."""
    for entry in sim.log.writes():
        assert entry.path.endswith("/$ref"), entry.path


def test_removal_with_the_manager_as_substitute_then_a_rerun_sends_no_write(graphsim_session):
    sim = graphsim_session
    first = run(sim, groups=OWNED + ["Sales"], owners=[LEAVER], substitute_owners=["manager"])
    assert first["rc"] == 0 and first["changed"] is True
    assert statuses(first) == [("Legacy App Access", LEAVER, "removed"), ("VPN Users", LEAVER, "removed"), ("Sales", LEAVER, "absent"),
                               ("Legacy App Access", MANAGER, "added")]
    substitute = first["results"][-1]
    assert substitute["substitute_for"] == [LEAVER] and substitute["member_id"] == user(sim, MANAGER)
    assert substitute["added_as_member"] is False and first["results"][0]["substitute_for"] is None
    assert first["msg"] == "entra_group_owner: 2 removed, 1 added, 1 already absent across 3 groups"
    assert sim.state.owners_of(group(sim, "Legacy App Access")) == {user(sim, MANAGER)}
    assert sim.state.owners_of(group(sim, "VPN Users")) == {user(sim, "radia@contoso.com")}
    # The substitute went in before the last owner left: its POST precedes every DELETE.
    methods = [entry.method for entry in sim.log.writes()]
    assert methods == ["POST", "DELETE", "DELETE"]
    assert_only_owner_ref_writes(sim)

    writes = len(sim.log.writes())
    again = run(sim, groups=OWNED + ["Sales"], owners=[LEAVER], substitute_owners=["manager"])
    assert again["changed"] is False and [entry["status"] for entry in again["results"]] == ["absent"] * 3
    assert len(sim.log.writes()) == writes


def test_check_mode_writes_nothing_and_predicts_the_real_run_substitutes_included(graphsim_session):
    sim = graphsim_session
    args = dict(groups=OWNED + ["Data Science Guild", "No Such Group"], owners=[LEAVER, LEAVER2], substitute_owners=["manager"])
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, **args)
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    real = run(sim, diff=True, **args)
    keys = ("target", "member", "member_id", "status", "substitute_for", "added_as_member")
    assert [tuple(entry[key] for key in keys) for entry in check["results"]] == [tuple(entry[key] for key in keys) for entry in real["results"]]
    assert check["summary"] == real["summary"] and check["rc"] == real["rc"] == 1   # the group that does not exist
    assert check["diff"] == real["diff"]
    legacy = check["diff"][0]
    assert legacy["before"] == {"owners": [LEAVER]} and legacy["after"] == {"owners": [MANAGER]}


def test_without_a_substitute_the_last_owner_is_refused_and_nothing_is_sent_to_that_group(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=OWNED, owners=[LEAVER])
    assert result["rc"] == 1 and statuses(result) == [("Legacy App Access", LEAVER, "failed"), ("VPN Users", LEAVER, "removed")]
    error = result["results"][0]["error"]
    assert error["code"] == "LastOwner" and error["status"] is None
    assert "group 'Legacy App Access' would have no owner left once leaver@contoso.com leaves" in error["message"]
    assert "substitute_owners" in error["message"] and "allow_ownerless" in error["message"]
    assert [entry.path for entry in sim.log.writes() if group(sim, "Legacy App Access") in entry.path] == []
    assert sim.state.owners_of(group(sim, "Legacy App Access")) == {user(sim, LEAVER)}


def test_allow_ownerless_sends_the_removal_and_reports_graphs_refusal_as_check_mode_predicted(graphsim_session):
    sim = graphsim_session
    check = run(sim, check_mode=True, groups=["Legacy App Access"], owners=[LEAVER], allow_ownerless=True)
    real = run(sim, groups=["Legacy App Access"], owners=[LEAVER], allow_ownerless=True)
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["failed"]
    assert real["results"][0]["error"]["status"] == 400
    assert "at least one owner" in real["results"][0]["error"]["message"]
    assert sim.log.count(method="DELETE") == 1 and sim.state.owners_of(group(sim, "Legacy App Access")) == {user(sim, LEAVER)}


def test_a_substitute_given_by_name_is_added_only_where_the_group_would_be_left_ownerless(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=OWNED, owners=[LEAVER], substitute_owners=["ada@contoso.com"])
    assert statuses(result) == [("Legacy App Access", LEAVER, "removed"), ("VPN Users", LEAVER, "removed"),
                                ("Legacy App Access", "ada@contoso.com", "added")]
    assert user(sim, "ada@contoso.com") not in sim.state.owners_of(group(sim, "VPN Users"))


def test_a_substitute_that_does_not_exist_keeps_the_owner_and_says_so(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["Legacy App Access"], owners=[LEAVER], substitute_owners=["nobody@contoso.com"])
    assert statuses(result) == [("Legacy App Access", LEAVER, "failed")]
    assert "substitute 'nobody@contoso.com' does not exist" in result["results"][0]["error"]["message"]
    assert sim.log.writes() == []


def test_a_leaver_without_a_manager_gets_no_substitute_and_keeps_the_ownership(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["Data Science Guild"], owners=[LEAVER], substitute_owners=["manager"])
    assert [entry["status"] for entry in result["results"]] == ["removed", "added"]  # Grace, the leaver's manager
    # Grace has Ada as manager; Ada has none: Ada leaving as the only owner finds no substitute.
    sim.reset()
    lonely = run(sim, groups=["Engineering"], owners=["ada@contoso.com"], substitute_owners=["manager"])
    assert statuses(lonely) == [("Engineering", "ada@contoso.com", "failed")]
    assert "'ada@contoso.com' has no manager" in lonely["results"][0]["error"]["message"]
    assert sim.log.writes() == []


def test_a_teams_substitute_becomes_owner_and_member_and_a_removed_team_owner_stays_a_member(graphsim_session):
    sim = graphsim_session
    team = group(sim, "Data Science Guild")
    result = run(sim, groups=["Data Science Guild", "Platform Team"], owners=[LEAVER], substitute_owners=["manager"])
    assert statuses(result) == [("Data Science Guild", LEAVER, "removed"), ("Platform Team", LEAVER, "removed"),
                                ("Data Science Guild", MANAGER, "added")]
    assert result["results"][-1]["added_as_member"] is True
    # teams_member's view: the substitute is a team owner, the leaver a plain member of both teams.
    assert sim.state.team_role(team, user(sim, MANAGER)) == "owner"
    assert sim.state.team_role(team, user(sim, LEAVER)) == "member"
    assert sim.state.team_role(group(sim, "Platform Team"), user(sim, LEAVER)) == "member"
    # Making the leaver an owner again makes it a team owner again (it is still a member).
    back = run(sim, groups=["Platform Team"], owners=[LEAVER], state="present")
    assert [entry["status"] for entry in back["results"]] == ["added"]
    assert sim.state.team_role(group(sim, "Platform Team"), user(sim, LEAVER)) == "owner"


def test_restoring_from_the_results_gives_back_the_tenant_exactly(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    removal = run(sim, groups=OWNED + ["Data Science Guild", "Platform Team"], owners=[LEAVER], substitute_owners=["manager"])
    assert removal["rc"] == 0 and sim.state.snapshot() != before
    removed = [entry for entry in removal["results"] if entry["status"] == "removed"]
    substitutes = [entry for entry in removal["results"] if entry["status"] == "added"]
    assert len(removed) == 4 and len(substitutes) == 2
    # Put the owners back first: then the substitutes are no longer last owners and can go.
    for entry in removed:
        assert run(sim, groups=[entry["target"]["id"]], owners=[entry["member_id"]], state="present")["results"][0]["status"] == "added"
    for entry in substitutes:
        assert run(sim, groups=[entry["target"]["id"]], owners=[entry["member_id"]])["results"][0]["status"] == "removed"
        if entry["added_as_member"]:
            taken_out = run_module(entra_group_member, dict(sim.module_auth(), groups=[entry["target"]["id"]], members=[entry["member_id"]]))
            assert taken_out["results"][0]["status"] == "removed"
    assert sim.state.snapshot() == before
    again = run(sim, groups=[removed[0]["target"]["id"]], owners=[LEAVER], state="present")
    assert again["changed"] is False and again["results"][0]["status"] == "present"


def test_without_group_readwrite_the_pair_fails_naming_the_permission_and_check_mode_predicts_it(graphsim_session):
    sim = graphsim_session
    restricted = sim.state.id_of("app", "Restricted Offboarding")   # GroupMember.ReadWrite.All only: not enough for owners
    check = run(sim, check_mode=True, client_id=restricted, groups=["VPN Users"], owners=[LEAVER])
    real = run(sim, client_id=restricted, groups=["VPN Users"], owners=[LEAVER])
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["failed"]
    for result in (check, real):
        message = result["results"][0]["error"]["message"]
        assert "the app may not change the owners of group 'VPN Users': it needs Group.ReadWrite.All or Directory.ReadWrite.All" in message
    assert real["results"][0]["error"]["status"] == 403
    assert sim.state.owners_of(group(sim, "VPN Users")) == {user(sim, LEAVER), user(sim, "radia@contoso.com")}


def test_a_synced_group_is_refused_but_a_dynamic_groups_owners_can_change(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["CORP-FileShare-RW", "All Employees (dynamic)"], owners=["ada@contoso.com"], state="present")
    synced, dynamic = result["results"]
    assert synced["status"] == "failed" and synced["error"]["code"] == "OnPremisesSynced"
    assert "change its owners in Active Directory" in synced["error"]["message"]
    assert dynamic["status"] == "added"
    assert [entry.path for entry in sim.log.writes()] == ["/v1.0/groups/%s/owners/$ref" % group(sim, "All Employees (dynamic)")]


@pytest.mark.parametrize("args, named", [
    (dict(owners=["not a user principal name"]), "owners"),
    (dict(owners=[LEAVER], substitute_owners=["not-an-id-or-upn"]), "substitute_owners"),
    (dict(owners=[""]), "owners"),
])
def test_bad_input_fails_before_any_request_naming_the_option_and_value(graphsim_session, args, named):
    sim = graphsim_session
    result = run(sim, groups=OWNED, **args)
    assert result["rc"] == 1 and result["msg"].startswith(named + ":")
    assert sim.log.graph_requests() == []


def test_a_group_that_does_not_exist_fails_its_pair_and_receives_nothing(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["No Such Group", "VPN Users"], owners=[LEAVER])
    missing, vpn = result["results"]
    assert missing["status"] == "failed" and missing["error"]["code"] == "TargetNotFound" and vpn["status"] == "removed"
    assert len(sim.log.writes()) == 1


def test_a_group_cannot_be_made_an_owner(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["VPN Users"], owners=[group(sim, "Sales")], state="present")
    assert result["results"][0]["status"] == "failed" and result["results"][0]["error"]["code"] == "NotAUserOrServicePrincipal"
    assert sim.log.writes() == []


def test_present_options_that_guard_removals_are_warned_about(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["VPN Users"], owners=[LEAVER], state="present", substitute_owners=["manager"])
    assert result["results"][0]["status"] == "present"
    assert any("substitute_owners and allow_ownerless are ignored with state=present" in warning for warning in result.get("warnings", []))


def test_an_owner_removal_that_happened_but_was_answered_504_is_reported_removed(graphsim_session):
    """A write answered 504 may still have happened (a gateway stopped waiting): the retry's 404 is the first attempt's removal."""
    sim = graphsim_session
    sim.faults.add(504, path_re=r"/owners/.+/\$ref$", applied=True, limit=1)
    result = run(sim, groups=["VPN Users"], owners=[LEAVER])
    assert statuses(result) == [("VPN Users", LEAVER, "removed")] and sim.log.count(status=504) == 1
