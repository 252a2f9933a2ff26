"""A target that matches nothing says what was probably meant (issue 17, item 5): the closest display names (difflib)
for a name, what an id is instead when it is no such target (a user given as a group). Nothing is written for it."""
import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, teams_member

LEAVER = "leaver@contoso.com"


def run(sim, module, **args):
    return run_module(module, dict(sim.module_auth(), **args))


@pytest.mark.parametrize("module, option, typo, meant", [
    (entra_group_member, "groups", "All Staf", "All Staff"),
    (entra_au_member, "administrative_units", "Germny", "Germany"),
    (teams_member, "teams", "Support Rotaton", "Support Rotation"),
])
def test_a_misspelled_target_name_suggests_the_closest_names(graphsim_session, module, option, typo, meant):
    sim = graphsim_session
    result = run(sim, module, **{option: [typo], "members": [LEAVER]})
    (entry,) = result["results"]
    assert entry["status"] == "failed" and entry["error"]["code"] == "TargetNotFound"
    kind = "group" if module is entra_group_member else "administrative unit" if module is entra_au_member else "team"
    meant_id = sim.state.id_of("administrative_unit" if module is entra_au_member else "group", meant)
    assert entry["error"]["message"].startswith("no %s has the display name '%s'; did you mean '%s' (%s)" % (kind, typo, meant, meant_id))
    assert result["msg"].startswith("%s: %s. 1 failed" % (module.__name__.rsplit(".", 1)[-1], entry["error"]["message"]))
    assert sim.log.writes() == []


def test_a_team_name_suggests_teams_only(graphsim_session):
    """'Sales EMEA' is a team, 'Sales' a group without one: a team's typo is offered the team alone."""
    sim = graphsim_session
    result = run(sim, teams_member, teams=["Sales EMA"], members=[LEAVER])
    message = result["results"][0]["error"]["message"]
    assert message == "no team has the display name 'Sales EMA'; did you mean 'Sales EMEA' (%s)?" % sim.state.id_of("group", "Sales EMEA")


def test_a_name_nothing_resembles_gets_no_suggestion(graphsim_session):
    sim = graphsim_session
    result = run(sim, entra_group_member, groups=["Quarterly Zebra Census"], members=[LEAVER])
    assert result["results"][0]["error"]["message"] == "no group has the display name 'Quarterly Zebra Census'"


@pytest.mark.parametrize("module, option, given_type, given_name, what", [
    (entra_group_member, "groups", "user", "ada@contoso.com", "that id is a user ('ada@contoso.com'), not a group"),
    (entra_group_member, "groups", "administrative_unit", "Germany", "that id is an administrative unit ('Germany'), not a group"),
    (entra_au_member, "administrative_units", "group", "Sales", "that id is a group ('Sales'), not an administrative unit"),
])
def test_an_id_of_another_kind_of_object_says_what_it_is(graphsim_session, module, option, given_type, given_name, what):
    sim = graphsim_session
    object_id = sim.state.user_id(given_name) if given_type == "user" else sim.state.id_of(given_type, given_name)
    result = run(sim, module, **{option: [object_id], "members": [LEAVER]})
    (entry,) = result["results"]
    assert entry["status"] == "failed" and entry["error"]["message"].endswith("'%s' does not exist; %s" % (object_id, what))
    assert sim.log.writes() == []
