"""entra_au_member against the Graph simulator over HTTPS, run in-process (tests/modrun.py)."""
import copy

import pytest

from graphsim.simulator import load_tenant
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_au_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
GUEST = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"
MISSING_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PATHS = {"v1.0": "/v1.0/directory/administrativeUnits/", "beta": "/beta/administrativeUnits/"}


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_au_member, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def statuses(result):
    return [entry["status"] for entry in result["results"]]


def unit(sim, name):
    return sim.state.id_of("au", name)


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_removal_from_several_units_on_each_api_version_then_a_rerun_is_all_absent(graphsim_session, version):
    sim = graphsim_session
    args = dict(administrative_units=["Germany", "EMEA Sales"], members=[LEAVER, LEAVER2], api_version=version)
    result = run(sim, **args)
    assert statuses(result) == ["removed", "absent", "absent", "removed"] and result["changed"] is True
    assert result["msg"] == "entra_au_member: 2 removed, 2 already absent across 2 administrative units"
    assert result["results"][0]["target"] == {"id": unit(sim, "Germany"), "display_name": "Germany", "type": "administrative_unit"}
    leaver = sim.state.user_id(LEAVER)
    assert sim.log.writes()[0].path == "%s%s/members/%s/$ref" % (PATHS[version], unit(sim, "Germany"), leaver)
    assert all(entry.path.startswith(PATHS[version]) and entry.path.endswith("/$ref") for entry in sim.log.writes())
    assert {entry.path.split("/")[1] for entry in sim.log.graph_requests()} == {version}
    again = run(sim, **args)
    assert statuses(again) == ["absent"] * 4 and again["changed"] is False and again["rc"] == 0


def test_mixed_units_report_each_pair_exactly(graphsim_session):
    sim = graphsim_session
    result = run(sim, administrative_units=["Germany", "EMEA Sales", "All Users (dynamic)", "Executives", MISSING_ID, "Nowhere"],
                 members=[LEAVER])
    assert statuses(result) == ["removed", "absent", "failed", "failed", "failed", "failed"]
    assert result["rc"] == 1 and result["changed"] is True
    dynamic, restricted, missing, nowhere = (entry["error"] for entry in result["results"][2:])
    assert dynamic["code"] == "DynamicMembership" and "change the membershipRule" in dynamic["message"]
    assert restricted["code"] == "ManagementRestricted" and "scoped to it" in restricted["message"]
    assert missing["status"] == 404 and "does not exist" in missing["message"]
    assert nowhere["code"] == "TargetNotFound"
    written = {entry.path.split("/")[4] for entry in sim.log.writes()}
    assert written == {unit(sim, "Germany")}  # nothing to the refused or missing units, nor where the read showed no membership
    assert sim.state.is_member(unit(sim, "Executives"), sim.state.user_id(LEAVER))


def test_a_group_and_a_guest_are_removed_from_units_like_users(graphsim_factory):
    spec = copy.deepcopy(load_tenant(None))
    spec["administrative_units"].append({"displayName": "Vendors", "members": [GUEST]})
    sim = graphsim_factory(tenant=spec)
    sales = sim.state.id_of("group", "Sales")
    result = run(sim, administrative_units=["Germany", "Vendors"], members=[sales, GUEST])
    assert statuses(result) == ["removed", "absent", "absent", "removed"]
    assert result["results"][0]["member_id"] == sales
    assert not sim.state.is_member(unit(sim, "Germany"), sales)
    assert not sim.state.is_member(unit(sim, "Vendors"), sim.state.user_id(GUEST))


def test_check_mode_writes_nothing_predicts_the_real_run_and_diff_shows_it(graphsim_session):
    sim = graphsim_session
    args = dict(administrative_units=["Germany", "EMEA Sales", "All Users (dynamic)", "Nowhere"], members=[LEAVER, LEAVER2, "nobody@contoso.com"])
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, **args)
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    real = run(sim, diff=True, **args)
    assert [(e["target"], e["member"], e["status"]) for e in check["results"]] == [(e["target"], e["member"], e["status"]) for e in real["results"]]
    assert check["summary"] == real["summary"] and check["diff"] == real["diff"]
    germany = check["diff"][0]
    assert germany["before"] == {"members": [LEAVER]} and germany["after"] == {"members": []}
    dynamic = check["diff"][2]
    assert dynamic["before"] == dynamic["after"] == {"members": [LEAVER2, LEAVER]}


def test_without_the_administrative_unit_permission_the_pair_fails_naming_it(graphsim_session):
    sim = graphsim_session
    restricted_app = sim.state.id_of("app", "Restricted Offboarding")
    args = dict(administrative_units=["Germany"], members=[LEAVER])
    check = run(sim, check_mode=True, client_id=restricted_app, **args)
    real = run(sim, client_id=restricted_app, **args)
    for result in (check, real):
        (entry,) = result["results"]
        assert entry["status"] == "failed" and entry["error"]["status"] == 403
        assert "AdministrativeUnit.ReadWrite.All" in entry["error"]["message"]
    assert sim.state.is_member(unit(sim, "Germany"), sim.state.user_id(LEAVER))


def test_adding_back_what_was_removed_restores_the_units_exactly(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    removal = run(sim, administrative_units=["Germany", "EMEA Sales"], members=[LEAVER2, LEAVER], api_version="beta")
    removed = [entry for entry in removal["results"] if entry["status"] == "removed"]
    for entry in removed:
        restore = run(sim, administrative_units=[entry["target"]["id"]], members=[entry["member_id"]], state="present", api_version="beta")
        assert statuses(restore) == ["added"]
    assert sim.state.snapshot() == before
    again = run(sim, administrative_units=["Germany"], members=[LEAVER, "nobody@contoso.com"], state="present")
    assert statuses(again) == ["present", "failed"] and again["rc"] == 1
    assert all(entry.path.endswith("/members/$ref") for entry in sim.log.filter(method="POST", path_re=r"administrativeUnits"))


def test_throttled_batch_items_are_counted_once(graphsim_session):
    sim = graphsim_session
    sim.faults.add(429, rate=1.0, path_re=r"/members/.*/\$ref$", retry_after=0, limit=2)
    result = run(sim, administrative_units=["Germany", "EMEA Sales"], members=[LEAVER, LEAVER2])
    assert statuses(result) == ["removed", "absent", "absent", "removed"]
    assert result["summary"]["removed"] == 2 and sum(result["summary"].values()) == 4
    assert sim.log.count(method="DELETE", status=429) == 2


def test_bad_input_names_the_option(graphsim_session):
    sim = graphsim_session
    result = run(sim, administrative_units=["Germany", "\tGermany"], members=[LEAVER])
    assert result["rc"] == 1 and result["msg"].startswith("administrative_units: ") and "control characters" in result["msg"]
    assert len(sim.log) == 0
