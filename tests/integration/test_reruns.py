"""Idempotent re-runs (issue 17, item 3): a module run again after it did its work sends no write at all.

Each module reads the memberships before writing (groups and units: members' memberOf or targets' members; Teams: the
roster, and the team's group for a user the roster does not list), and sends only the writes those reads show needed.
The simulator's log counts the writes.
"""
import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, teams_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
CASES = [
    (entra_group_member, "groups", ["VPN Users", "Sales", "All Staff", "Legacy App Access"]),
    (entra_au_member, "administrative_units", ["Germany", "EMEA Sales"]),
    (teams_member, "teams", ["Support Rotation", "Sales EMEA", "Platform Team"]),
]


def run(sim, module, check_mode=False, client_id=None, **args):
    return run_module(module, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode)


@pytest.mark.parametrize("module, option, targets", CASES)
def test_a_removal_run_again_sends_no_write_and_reports_every_pair_absent(graphsim_session, module, option, targets):
    sim = graphsim_session
    args = {option: targets, "members": [LEAVER, LEAVER2]}
    first = run(sim, module, **args)
    assert first["changed"] is True and first["summary"]["removed"] > 0
    written = len(sim.log.writes())
    assert written == (first["summary"]["removed"] if module is not teams_member else len(targets))  # nothing sent where nobody was
    again = run(sim, module, **args)
    assert again["changed"] is False and again["rc"] == 0
    assert {entry["status"] for entry in again["results"]} == {"absent"} and {entry["request_id"] for entry in again["results"]} == {None}
    assert len(sim.log.writes()) == written  # not one write more
    check = run(sim, module, check_mode=True, **args)
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in again["results"]]


@pytest.mark.parametrize("module, option, targets", CASES)
def test_an_addition_run_again_sends_no_write_and_reports_every_pair_present(graphsim_session, module, option, targets):
    sim = graphsim_session
    args = {option: targets, "members": ["ada@contoso.com"], "state": "present"}
    first = run(sim, module, **args)
    assert first["changed"] is True and not first.get("failed")
    written = len(sim.log.writes())
    again = run(sim, module, **args)
    assert again["changed"] is False and {entry["status"] for entry in again["results"]} == {"present"}
    assert len(sim.log.writes()) == written


def test_a_member_the_roster_does_not_list_and_whose_group_cannot_be_read_is_asked_through_the_removal(graphsim_session):
    """A roster can lag behind its group; an app that may read neither the group's members nor anyone's memberOf cannot
    tell, so the removal is sent and Teams' 207 NotFound says absent, as 1.0 did for every such member."""
    sim = graphsim_session
    app = sim.state.id_of("app", "No Permissions")
    # Resolves teams (reads groups, not their members: group-get's table), reads and changes rosters, resolves users.
    sim.set_app_roles(app, ["User.Read.All", "Group-PreferredDataLocation.ReadWrite.All", "TeamMember.ReadWrite.All"])
    result = run(sim, teams_member, client_id=app, teams=["Support Rotation"], members=[LEAVER2])
    assert [entry["status"] for entry in result["results"]] == ["absent"]
    (remove,) = sim.log.filter(method="POST", path_re=r"/members/remove$")
    assert remove.status == 207 and result["results"][0]["request_id"] == remove.request_id
    assert [entry.status for entry in sim.log.filter(method="GET", path_re=r"/groups/[^/]+/members$|/memberOf$")] == [403, 403]


def test_check_mode_with_a_read_only_app_predicts_absent_not_a_denial_where_the_user_is_no_member(graphsim_session):
    """No write would be sent for a pair the read shows needs nothing, so no denial is predicted for it (the live check's
    finding); a pair that is a membership is still predicted denied, naming the permission."""
    sim = graphsim_session
    auditor = sim.state.id_of("app", "Read Only Auditor")
    result = run(sim, entra_group_member, check_mode=True, client_id=auditor, groups=["Engineering", "VPN Users"], members=[LEAVER2])
    engineering, vpn = result["results"]
    assert not sim.state.is_member(sim.state.id_of("group", "Engineering"), sim.state.user_id(LEAVER2))
    assert engineering["status"] == "absent" and engineering["error"] is None
    assert sim.state.is_member(sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER2))
    assert vpn["status"] == "failed" and "GroupMember.ReadWrite.All" in vpn["error"]["message"] and sim.log.writes() == []
