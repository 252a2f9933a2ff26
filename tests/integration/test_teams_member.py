"""teams_member against the Graph simulator over HTTPS, run in-process (tests/modrun.py)."""
import copy

import pytest

from graphsim.simulator import load_tenant
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import teams_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
CARL = "carl_northwind.com#EXT#@contoso.onmicrosoft.com"
FALCON = "e4183b04-c9a2-417c-bde4-70e3ee46a6dc"  # the team of https://learn.microsoft.com/graph/api/conversationmember-remove's examples
JACOB = "18a80140-b0fb-4489-b360-2f6efaf225a0"
ALEX = "86503198-b81b-43fe-81ee-ad45b8848ac9"
REMOVE = r"/teams/[^/]+/members/remove$"


def run(sim, check_mode=False, diff=False, **args):
    return run_module(teams_member, dict(sim.module_auth(), **args), check_mode=check_mode, diff=diff)


def outcomes(result):
    return [(entry["target"]["display_name"], entry["member"], entry["status"], entry["role"]) for entry in result["results"]]


def team(sim, name):
    return sim.state.id_of("team", name)


def test_forty_five_members_take_three_remove_requests(graphsim_factory):
    spec = copy.deepcopy(load_tenant(None))
    upns = ["crew%02d@contoso.com" % number for number in range(45)]
    spec["users"] += [{"userPrincipalName": upn} for upn in upns]
    spec["groups"].append({"displayName": "Launch Crew", "kind": "team", "members": ["ada@contoso.com"] + upns, "owners": ["ada@contoso.com"]})
    sim = graphsim_factory(tenant=spec)
    result = run(sim, teams=["Launch Crew"], members=upns)
    assert result["summary"]["removed"] == 45 and result["changed"] is True
    removals = sim.log.filter(method="POST", path_re=REMOVE)
    assert len(removals) == 3 and sorted(len(entry.body["values"]) for entry in removals) == [5, 20, 20]
    assert sim.state.members(team(sim, "Launch Crew")) == {sim.state.user_id("ada@contoso.com")}
    value = removals[0].body["values"][0]
    assert value["@odata.type"] == "microsoft.graph.aadUserConversationMember"
    assert value["user@odata.bind"].startswith("https://graph.microsoft.com/v1.0/users('")
    assert {entry["request_id"] for entry in result["results"]} <= {entry.request_id for entry in sim.log.filter(method="POST")}


def test_a_207_answer_decides_each_member_as_microsofts_example_shows(graphsim_session):
    sim = graphsim_session
    leaver = sim.state.user_id(LEAVER)  # not in the team, like c04f28bf-... in that page's example 3
    # ... although the roster still lists it (a removal not yet replicated), so its removal goes out with Alex's.
    sim.state.add_member(FALCON, leaver)
    sim.state.consistency_lag = 5
    sim.state.remove_member(FALCON, leaver)
    result = run(sim, teams=[FALCON], members=[leaver, ALEX])
    assert outcomes(result) == [("Project Falcon", leaver, "absent", "member"), ("Project Falcon", ALEX, "removed", "member")]
    (request,) = sim.log.filter(method="POST", path_re=REMOVE)
    assert request.status == 207 and request.path == "/v1.0/teams/%s/members/remove" % FALCON
    assert [entry["request_id"] for entry in result["results"]] == [request.request_id] * 2


def test_removed_absent_and_failed_in_one_request_then_a_rerun(graphsim_session):
    sim = graphsim_session
    args = dict(teams=["Data Science Guild"], members=[LEAVER, "mira@contoso.com", "jacob@contoso.com"], allow_ownerless=True)
    result = run(sim, **args)
    assert outcomes(result) == [("Data Science Guild", LEAVER, "failed", "owner"), ("Data Science Guild", "mira@contoso.com", "removed", "member"),
                                ("Data Science Guild", "jacob@contoso.com", "absent", None)]
    error = result["results"][0]["error"]
    # Teams' reason leads msg (its own final '.' not doubled)
    assert result["rc"] == 1 and result["msg"] == "teams_member: %s. 1 removed, 1 already absent, 1 failed across 1 team" % error["message"].rstrip(".")
    assert error["status"] == 207 and "at least one owner" in error["message"]
    assert sim.log.count(method="POST", path_re=REMOVE) == 1
    again = run(sim, teams=["Data Science Guild"], members=["mira@contoso.com", "jacob@contoso.com"])
    assert [entry["status"] for entry in again["results"]] == ["absent", "absent"] and again["changed"] is False


def test_last_owner_is_guarded_without_a_request(graphsim_session):
    sim = graphsim_session
    result = run(sim, teams=["Data Science Guild", "Platform Team"], members=[LEAVER])
    assert outcomes(result) == [("Data Science Guild", LEAVER, "failed", "owner"), ("Platform Team", LEAVER, "removed", "owner")]
    error = result["results"][0]["error"]
    assert error["code"] == "LastOwner" and error["message"].startswith("the team would have no owner: add another owner first")
    assert result["results"][0]["request_id"] is None
    assert [entry.path for entry in sim.log.filter(method="POST", path_re=REMOVE)] == ["/v1.0/teams/%s/members/remove" % team(sim, "Platform Team")]
    both = run(sim, teams=["Offsite Planning"], members=[LEAVER2, "annie@contoso.com", "priya@contoso.com"])
    assert [entry["status"] for entry in both["results"]] == ["failed", "failed", "removed"]  # both owners kept, the member removed
    assert sim.state.team_role(team(sim, "Offsite Planning"), sim.state.user_id(LEAVER2)) == "owner"


def test_a_group_without_a_team_and_a_missing_team_fail_without_a_write(graphsim_session):
    sim = graphsim_session
    sales = sim.state.id_of("group", "Sales")
    result = run(sim, teams=["Sales", sales, "No Such Team"], members=[LEAVER2])
    assert [entry["status"] for entry in result["results"]] == ["failed", "failed", "failed"]
    assert "has no team" in result["results"][0]["error"]["message"] and result["results"][0]["error"]["code"] == "NotATeam"
    assert sim.log.writes() == [] and sim.state.is_member(sales, sim.state.user_id(LEAVER2))


def test_owner_removed_and_restored_as_owner_and_a_guest_cannot_be_owner(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    removal = run(sim, teams=["Platform Team", "Support Rotation"], members=[LEAVER])
    assert outcomes(removal) == [("Platform Team", LEAVER, "removed", "owner"), ("Support Rotation", LEAVER, "removed", "member")]
    for entry in removal["results"]:
        restore = run(sim, teams=[entry["target"]["id"]], members=[entry["member_id"]], state="present", role=entry["role"])
        assert [item["status"] for item in restore["results"]] == ["added"]
    assert sim.state.snapshot() == before
    adds = sim.log.filter(method="POST", path_re=r"/members/add$")
    assert adds[0].body["values"][0]["roles"] == ["owner"] and adds[1].body["values"][0]["roles"] == []
    again = run(sim, teams=["Platform Team"], members=[LEAVER], state="present", role="owner")
    assert outcomes(again) == [("Platform Team", LEAVER, "present", "owner")] and again["changed"] is False
    guest = run(sim, teams=["Project Falcon"], members=[CARL], state="present", role="owner")
    (entry,) = guest["results"]
    assert entry["status"] == "failed" and entry["error"]["message"] == "Guest users cannot be owners of a team."


def test_a_member_added_as_owner_is_promoted_in_check_mode_and_for_real(graphsim_session):
    sim = graphsim_session
    check = run(sim, check_mode=True, teams=[FALCON], members=[JACOB], state="present", role="owner")
    real = run(sim, teams=[FALCON], members=[JACOB], state="present", role="owner")
    assert outcomes(check) == outcomes(real) == [("Project Falcon", JACOB, "added", "member")]
    assert sim.state.team_role(FALCON, JACOB) == "owner"


def test_role_is_ignored_with_state_absent(graphsim_session):
    sim = graphsim_session
    result = run(sim, teams=[FALCON], members=[ALEX], role="owner")
    assert [entry["status"] for entry in result["results"]] == ["removed"]
    assert any("role 'owner' is ignored with state=absent" in warning for warning in result["warnings"])


def test_check_mode_predicts_the_real_run_and_reads_each_team_once(graphsim_session):
    sim = graphsim_session
    args = dict(teams=["Project Falcon", "Data Science Guild", "Platform Team", "Support Rotation", "Sales"],
                members=[LEAVER, "jacob@contoso.com", CARL, "nobody@contoso.com"])
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, **args)
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    assert sim.log.count(method="GET", path_re=r"/teams/[^/]+/members$") == 4  # Sales has no team
    real = run(sim, diff=True, **args)
    assert [(e["target"], e["member"], e["status"], e["role"]) for e in check["results"]] == \
        [(e["target"], e["member"], e["status"], e["role"]) for e in real["results"]]
    assert check["summary"] == real["summary"] and check["diff"] == real["diff"]
    platform = next(item for item in check["diff"] if "Platform Team" in item["before_header"])
    assert platform["before"] == {"members": ["leaver@contoso.com (owner)"]} and platform["after"] == {"members": []}


def test_check_mode_with_allow_ownerless_predicts_the_refusal(graphsim_session):
    sim = graphsim_session
    args = dict(teams=["Offsite Planning"], members=[LEAVER2, "annie@contoso.com"], allow_ownerless=True)
    check = run(sim, check_mode=True, **args)
    real = run(sim, **args)
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["removed", "failed"]


def test_a_throttled_request_is_retried_and_counted_once(graphsim_session):
    sim = graphsim_session
    sim.faults.add(429, rate=1.0, path_re=REMOVE, retry_after=0, limit=2)
    result = run(sim, teams=["Support Rotation", "Sales EMEA"], members=[LEAVER, "john@contoso.com"])
    assert [entry["status"] for entry in result["results"]] == ["removed", "removed", "removed", "absent"]
    assert result["summary"]["removed"] == 3 and sum(result["summary"].values()) == 4
    assert sim.log.count(method="POST", path_re=REMOVE, status=429) == 2


def test_bind_host_follows_the_cloud_not_the_endpoint(graphsim_factory):
    sim = graphsim_factory(graph_hosts=["https://graph.microsoft.us"])
    result = run(sim, teams=[FALCON], members=[ALEX], cloud="usgov")
    assert [entry["status"] for entry in result["results"]] == ["removed"]
    (request,) = sim.log.filter(method="POST", path_re=REMOVE)
    assert request.body["values"][0]["user@odata.bind"] == "https://graph.microsoft.us/v1.0/users('%s')" % ALEX


@pytest.mark.parametrize("members", [["jacob"], ["18a80140-b0fb-4489-b360-2f6efaf225a"]])
def test_bad_members_fail_before_any_request(graphsim_session, members):
    sim = graphsim_session
    result = run(sim, teams=[FALCON], members=members)
    assert result["rc"] == 1 and result["msg"].startswith("members: '%s'" % members[0])
    assert len(sim.log) == 0


def test_a_stale_roster_does_not_hide_graphs_answer(graphsim_factory):
    sim = graphsim_factory(consistency_lag=50)
    sim.state.remove_member(FALCON, ALEX)  # reads keep listing Alex for a while
    result = run(sim, teams=[FALCON], members=[ALEX])
    assert outcomes(result) == [("Project Falcon", ALEX, "absent", "member")]  # the roster said member; Teams said NotFound
    assert sim.log.filter(method="POST", path_re=REMOVE)[0].status == 207


def test_role_member_for_an_owner_leaves_the_owner_an_owner_without_a_write(graphsim_session):
    """teams.md, "Owners": "`role: member` for someone who is an owner leaves them owner (`present`): the module never demotes"."""
    sim = graphsim_session
    result = run(sim, teams=["Platform Team"], members=[LEAVER], state="present", role="member")
    assert outcomes(result) == [("Platform Team", LEAVER, "present", "owner")] and result["changed"] is False
    assert sim.log.writes() == []
