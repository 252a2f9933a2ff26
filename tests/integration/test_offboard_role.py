"""playbooks/offboard.yml and restore.yml (the entra.membership.offboard role) with ansible-playbook against the Graph simulator.

Each test runs real ansible-playbook subprocesses with nothing but the environment variables
the modules read (sim.environment(): what an AWX credential injects, plus where the simulator
and its CA are), and judges them by the simulator's state and request log and by the reports
the run wrote. ansible-playbook runs cost seconds each, so every run carries many assertions.
"""
from __future__ import annotations

import glob
import json
import os

import pytest
from offboard_runs import ansible_playbook, load, reports_in
from secretscan import TOKEN_LIKE

pytestmark = pytest.mark.playbook

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
GHOST = "ghost@contoso.com"
ALEX = "alex@contoso.com"  # nothing unremovable: a Microsoft 365 group and a team
VERA = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"


def actions(report):
    """(user, type, target id) -> status, of every membership the run acted on."""
    return {(user["user"], line["target"]["type"], line["target"]["id"]): line["status"]
            for user in report["users"] for line in user["memberships"]}


def kept(report, user):
    entry = next(entry for entry in report["users"] if entry["user"] == user)
    return {item["target"]["display_name"]: item["kept_because"] for item in entry["kept"]}


def assert_no_secret(sim, texts):
    secret = sim.credentials["client_secret"]
    for where, text in texts.items():
        assert secret not in text, "the client secret appears in %s" % where
        assert not TOKEN_LIKE.search(text), "an access token appears in %s" % where


def read_all(paths):
    texts = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            texts[os.path.basename(path)] = handle.read()
    return texts


def test_preview_offboard_rerun_restore(graphsim_session, tmp_path):
    """The demo leaver, in every kind of target: preview = run, a re-run changes nothing, restore puts back 100 %."""
    sim = graphsim_session
    report_dir = tmp_path / "reports"
    leaver_id = sim.state.user_id(LEAVER)
    before = sim.state.snapshot()
    offboard_vars = {"offboard_users": [LEAVER], "offboard_report_dir": str(report_dir), "awx_user_name": "helpdesk-admin",
                     # by exact name (case ignored, as Entra does), and by pattern
                     "offboard_exclude_groups": "vpn users\nLegacy*", "offboard_exclude_teams": ["Sales EMEA"]}

    preview = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars, "--check")
    assert preview.returncode == 0, preview.output
    assert sim.log.writes() == [] and sim.state.snapshot() == before, "check mode changed the tenant"
    preview_path, = reports_in(report_dir)
    assert "PREVIEW" in os.path.basename(preview_path) and os.path.isfile(preview_path[:-len(".json")] + ".md")
    planned = load(preview_path)
    assert planned["check_mode"] is True and planned["run_by"] == "helpdesk-admin" and planned["tenant"] == sim.tenant_id
    assert preview.total("changed") > 0 and "PREVIEW (check mode)" in preview.output

    offboard = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars)
    assert offboard.returncode == 0 and offboard.total("failed") == 0, offboard.output
    report_path, = set(reports_in(report_dir)) - {preview_path}
    report = load(report_path)
    assert report["report_version"] == 2 and report["check_mode"] is False and report["status"] == "done"
    assert report["run_id"] != planned["run_id"] and report["run_id"] in report_path
    assert actions(report) == actions(planned), "the preview did not say what the run did"
    assert set(actions(report).values()) == {"removed"}
    assert report["stats"]["module_runs"] == 6, \
        "discovery, teams, groups, administrative units, residual, access kept outside the scopes: one call each"
    # Outside the default scopes, in plain words: what the leaver keeps (tests/integration/test_offboard_scopes.py for all of it).
    assert "keeps  leaver@contoso.com: still Helpdesk Administrator" in offboard.output
    assert "keeps  leaver@contoso.com: account enabled, can sign in" in offboard.output

    removed = {(kind, sim.state.id_of(kind, name)) for kind, name in [
        ("team", "Platform Team"), ("team", "Support Rotation"), ("group", "All Staff"), ("group", "Marketing"),
        ("group", "Platform Engineers"), ("group", "Helpdesk Admins"),  # role-assignable: removable with RoleManagement permission
        ("administrative_unit", "Germany")]}
    assert {(kind, target_id) for _user, kind, target_id in actions(report)} == removed
    for _kind, target_id in removed:
        assert not sim.state.is_member(target_id, leaver_id)
    # Teams were removed through Teams, never as plain groups; every DELETE is a $ref removal.
    team_ids = {target_id for kind, target_id in removed if kind == "team"}
    assert not [w for w in sim.log.writes() if w.method == "DELETE" and any(t in w.path for t in team_ids)]
    assert all(w.path.endswith("/$ref") for w in sim.log.writes() if w.method == "DELETE")
    owner_line = next(line for line in report["users"][0]["memberships"] if line["target"]["display_name"] == "Platform Team")
    assert owner_line["role"] == "owner" and owner_line["request_id"]

    assert kept(report, LEAVER) == {
        "VPN Users": "excluded", "Legacy App Access": "excluded", "Sales EMEA": "excluded",
        "All Employees (dynamic)": "unremovable", "CORP-FileShare-RW": "unremovable", "Security Alerts": "unremovable",
        "All Hands DL": "unremovable", "Executive Board": "unremovable", "All Users (dynamic)": "unremovable",
        "Executives": "unremovable", "Data Science Guild": "unremovable"}  # the leaver is its only owner
    for name in ("VPN Users", "Legacy App Access", "All Employees (dynamic)", "CORP-FileShare-RW"):
        assert sim.state.is_member(sim.state.id_of("group", name), leaver_id)
    residual = report["users"][0]["residual"]
    assert residual["as_of"] == "after the removals" and residual["remaining"] == [] and residual["error"] is None
    # Engineering is reached only through Platform Engineers: the preview still sees it, the run ended it.
    assert "Engineering" in {g["target"]["display_name"] for g in load(preview_path)["users"][0]["residual"]["nested_groups"]}
    assert residual["nested_groups"] == []
    with open(report_path[:-len(".json")] + ".md", encoding="utf-8") as markdown:
        assert "| team | Platform Team | removed | owner |" in markdown.read()

    after_offboard = sim.state.snapshot()
    sim.log.clear()
    rerun = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars)
    assert rerun.returncode == 0 and rerun.total("changed") == 0 and rerun.total("failed") == 0, rerun.output
    assert sim.log.writes() == [] and sim.state.snapshot() == after_offboard
    assert len(reports_in(report_dir)) == 3, "a run overwrote a report"
    # A re-run with nothing to do says, in its report and its summary line, which report holds the removals.
    (rerun_path,) = set(reports_in(report_dir)) - {preview_path, report_path}
    rerun_report = load(rerun_path)
    assert rerun_report["continues"] == [] and rerun_report["users"][0]["earlier_report"] == {"run_id": report["run_id"], "file": report_path}
    assert "(nothing to remove: the removals are in %s)" % report_path in rerun.output

    refused = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": preview_path})
    assert refused.returncode != 0 and "is a PREVIEW (check mode) report" in refused.output and sim.log.writes() == []

    # A relative path is relative to where ansible-playbook runs (here tmp_path), as on any command line.
    restore = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": os.path.relpath(report_path, tmp_path)})
    assert restore.returncode == 0 and restore.total("failed") == 0, restore.output
    assert sim.state.snapshot() == before, "restore did not bring back every membership (team roles included)"
    assert "Restore: 7 added back, 0 already there, 0 failed" in restore.output
    # The restore's own report, next to the one it read.
    (restore_path,) = reports_in(report_dir, "restore-2*.json")
    restored = load(restore_path)
    assert restored["report_kind"] == "entra.membership.restore" and restored["status"] == "done"
    assert restored["restores"] == [{"run_id": report["run_id"], "file": report_path, "status": "done"}]
    assert restored["summary"] == {"added": 7, "present": 0, "failed": 0} and restored["run_by"]
    assert {line["status"] for line in restored["users"][0]["memberships"]} == {"added"}
    again = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": report_path})
    assert again.returncode == 0 and again.total("changed") == 0, again.output
    assert "Restore: 0 added back, 7 already there, 0 failed" in again.output
    assert sim.state.snapshot() == before

    assert_no_secret(sim, {"preview output": preview.output, "run output": offboard.output, "restore output": restore.output,
                           **read_all(glob.glob(os.path.join(str(report_dir), "*")))})


@pytest.mark.heavy
def test_one_failing_user_does_not_stop_the_others(graphsim_session, tmp_path):
    """An unknown user and one the app lacks a permission for fail; the third is done; the report is written; the play fails."""
    sim = graphsim_session
    restricted = next(client_id for client_id, app in sim.state.apps.items() if app["name"] == "Restricted Offboarding")
    # Discovery reads each user's memberOf, which user-list-memberof's table grants with Directory.Read.All.
    sim.set_app_roles(restricted, sim.app(restricted)["roles"] + ["Directory.Read.All"])
    report_dir = tmp_path / "reports"
    before = sim.state.snapshot()
    run = ansible_playbook(sim, tmp_path, "entra.membership.offboard",
                           # as an AWX survey sends them: textarea strings
                           {"offboard_users": "%s\n%s\n%s\n" % (LEAVER, GHOST, LEAVER2), "offboard_scopes": "groups\nteams",
                            "offboard_report_dir": str(report_dir)},
                           # this app lacks RoleManagement.ReadWrite.Directory: the role-assignable group refuses it
                           env={"AZURE_CLIENT_ID": restricted, "AZURE_CLIENT_SECRET": sim.app(restricted)["secrets"][0]})
    assert run.returncode != 0 and run.recap["localhost"]["failed"] == 1, run.output
    assert "Offboarding failed for %s, %s" % (LEAVER, GHOST) in run.output, run.output
    report = load(reports_in(report_dir)[0])
    assert report["status"] == "failed" and report["summary"]["users_failed"] == 2
    users = {user["user"]: user for user in report["users"]}
    assert users[GHOST]["error"]["code"] == "UserNotFound" and users[GHOST]["memberships"] == []
    assert users[LEAVER2]["status"] == "done" and {line["status"] for line in users[LEAVER2]["memberships"]} == {"removed"}
    leaver2_id = sim.state.user_id(LEAVER2)
    assert not any(sim.state.is_member(sim.state.id_of("group", name), leaver2_id) for name in ("All Staff", "Sales", "VPN Users"))
    failed, = [line for line in users[LEAVER]["memberships"] if line["status"] == "failed"]
    assert failed["target"]["display_name"] == "Helpdesk Admins" and failed["error"]["status"] == 403
    assert sim.state.is_member(failed["target"]["id"], sim.state.user_id(LEAVER))
    assert {line["status"] for line in users[LEAVER]["memberships"] if line is not failed} == {"removed"}
    # Administrative units are out of scope: kept, reported, untouched.
    assert kept(report, LEAVER)["Germany"] == "out_of_scope" and before["administrative_units"] == sim.state.snapshot()["administrative_units"]
    assert not [w for w in sim.log.writes() if "/administrativeUnits/" in w.path]
    residual = users[LEAVER]["residual"]["remaining"]
    assert [(r["target"]["display_name"], r["reason"].split(":")[0]) for r in residual] == [("Helpdesk Admins", "the removal failed")]


@pytest.mark.heavy
def test_inventory_mode_slices_each_write_one_report_and_one_restore_takes_them_all(graphsim_session, tmp_path):
    """Users as hosts of entra_offboard, forks > 1, run in two slices (as AWX job slicing runs them): one report per slice,
    the forks' outcomes merged in it; offboard_fail_on_unremovable fails only its host; restore takes both reports at once."""
    sim = graphsim_session
    before = sim.state.snapshot()
    report_dir = tmp_path / "reports"
    inventory = tmp_path / "leavers.yml"
    inventory.write_text(json.dumps({"entra_offboard": {
        "hosts": {LEAVER: {}, ALEX: {}, "contractor-vera": {"offboard_user": VERA}},
        "vars": {"offboard_report_dir": str(report_dir), "offboard_fail_on_unremovable": True}}}))
    first = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {}, "-i", str(inventory), "--limit", LEAVER)
    second = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {}, "-i", str(inventory), "--forks", "3",
                              "--limit", "%s,contractor-vera" % ALEX)
    # The leaver keeps unremovable memberships (dynamic, synced...): with offboard_fail_on_unremovable its host fails, alone.
    assert first.returncode != 0 and first.recap[LEAVER]["failed"] == 1, first.output
    assert "Kept because Graph does not let an application change them" in first.output
    assert second.returncode == 0 and set(second.recap) == {ALEX, "contractor-vera"}, second.output
    assert "Offboarding failed" not in first.output + second.output
    leaver_report, slice_report = (load(path) for path in reports_in(report_dir))
    assert [user["user"] for user in leaver_report["users"]] == [LEAVER] and leaver_report["summary"]["unremovable"] > 0
    assert [user["user"] for user in slice_report["users"]] == [ALEX, VERA] and slice_report["summary"]["users"] == 2
    assert all(user["status"] == "done" and user["residual"]["as_of"] == "after the removals" for user in slice_report["users"])
    vera = sim.state.user_id(VERA)
    assert not sim.state.is_member(sim.state.id_of("group", "VPN Users"), vera)
    assert not sim.state.is_member(sim.state.id_of("group", "Contractors"), vera)
    assert sim.state.team_role(sim.state.id_of("team", "Project Falcon"), sim.state.user_id(ALEX)) is None

    restore = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": reports_in(report_dir, "offboard-2*.json")})
    assert restore.returncode == 0, restore.output
    assert sim.state.snapshot() == before, "restoring both slices' reports did not bring back every membership"


def test_bad_input_is_refused_before_any_write(graphsim_session, tmp_path):
    sim = graphsim_session
    bad_scope = ansible_playbook(sim, tmp_path, "entra.membership.offboard",
                                 {"offboard_users": [LEAVER], "offboard_scopes": ["groups", "licences"],
                                  "offboard_report_dir": str(tmp_path / "reports")})
    assert bad_scope.returncode != 0 and "offboard_scopes must be one or more of account, owned_groups, teams, groups" in bad_scope.output
    assert "licences" in bad_scope.output and "Finalization of task args" not in bad_scope.output
    no_users = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {"offboard_report_dir": str(tmp_path / "reports")})
    assert no_users.returncode != 0 and "offboard_users is required" in no_users.output
    missing = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": str(tmp_path / "nothing.json")})
    assert missing.returncode != 0 and "restore_report must be the path of the JSON report" in missing.output
    assert sim.log.writes() == [] and reports_in(tmp_path / "reports") == []
