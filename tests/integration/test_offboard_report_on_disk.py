"""The offboarding report on disk, as ansible-playbook entra.membership.offboard writes it against the Graph simulator.

Whole JSON at every instant; the plan on disk before the first write; outside the installed
collection by default; a report directory's mode untouched; a live run's users refused to a second
run; the tenant of module_defaults recorded; an exclusion that matches nothing stopping the run.
"""
from __future__ import annotations

import glob
import json
import os
import stat
import threading

import pytest
from graphsim import GraphSimulator
from offboard_runs import RunningPlaybook, ansible_playbook, leavers_tenant, load, reports_in

from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data
from ansible_collections.entra.membership.plugins.plugin_utils import _report_files as files

pytestmark = pytest.mark.playbook

LEAVER = "leaver@contoso.com"


class ReportReader(threading.Thread):
    """Reads every JSON report in a directory over and over while a run writes them; remembers what it saw."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.directory = directory
        self.stopping = threading.Event()
        self.reads, self.statuses, self.broken = 0, set(), []

    def run(self):
        while not self.stopping.is_set():
            for path in glob.glob(os.path.join(self.directory, "*.json")):
                try:
                    with open(path, encoding="utf-8") as handle:
                        self.statuses.add(json.load(handle)["status"])
                    self.reads += 1
                except FileNotFoundError:
                    continue
                except ValueError as error:
                    self.broken.append("%s: %s" % (os.path.basename(path), error))

    def stop(self):
        self.stopping.set()
        self.join()


@pytest.mark.heavy
def test_the_report_on_disk_is_whole_json_at_every_instant_and_holds_the_plan_before_the_first_write(tmp_path):
    spec, leavers = leavers_tenant(leavers=2, groups=30, units=2, teams=3)
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    with GraphSimulator(tenant=spec, latency=0.02) as sim:
        reader = ReportReader(str(report_dir))
        reader.start()
        run = RunningPlaybook(sim, tmp_path, "entra.membership.offboard", {"offboard_users": leavers, "offboard_report_dir": str(report_dir),
                                                                           "offboard_chunk_size": 40})
        assert run.wait_for(lambda: bool(sim.log.writes())), run.finished().output
        (path,) = reports_in(report_dir)
        at_first_write = load(path)
        finished = run.finished()
        reader.stop()
    assert finished.returncode == 0, finished.output
    final = load(path)
    removed = {(user["id"], line["target"]["id"]) for user in final["users"] for line in user["memberships"] if line["status"] == "removed"}
    planned = {(user["id"], line["target"]["id"]) for user in at_first_write["users"] for line in user["memberships"]
               if line["status"] == "planned"}
    assert len(removed) >= 2 * 35 and removed == planned, "the report did not hold the whole plan when the first write went out"
    assert at_first_write["status"] == "running" and final["status"] == "done"
    assert reader.broken == [] and reader.reads > 20 and {"running", "done"} <= reader.statuses
    # One module call per kind for both users, the groups in two chunks of at most 40; each printed its progress when recorded.
    total = sum(1 for user in final["users"] for line in user["memberships"] if line["target"]["type"] == "group")
    assert "groups: 40/%d memberships done (groups 1/2: 40 memberships of 2 users)" % total in finished.output
    assert ("groups: %d/%d memberships done (groups 2/2: %d memberships of user00002@contoso.com)" % (total, total, total - 40)
            in finished.output)
    assert final["stats"]["module_runs"] == 7, \
        "discovery, teams, groups twice, administrative units, residual, the access kept outside the scopes"
    assert '"took ' in finished.output and " memberships/s, " in finished.output and " s waited on throttling (" in finished.output


@pytest.mark.heavy
def test_reports_go_outside_the_collection_by_default_and_an_existing_directorys_mode_is_kept(graphsim_session, tmp_path):
    sim = graphsim_session
    home = tmp_path / "home"
    home.mkdir()
    preview = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {"offboard_users": [LEAVER]}, "--check",
                               env={"HOME": str(home)})
    assert preview.returncode == 0, preview.output
    default_dir = home / ".ansible" / "entra.membership" / "reports"
    (path,) = reports_in(default_dir)
    assert os.path.basename(path).startswith("offboard-PREVIEW-") and os.path.isfile(path[:-len(".json")] + ".md")
    assert stat.S_IMODE(os.stat(default_dir).st_mode) & 0o027 == 0 and stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert "Report: %s and .md" % path in preview.output

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o2775)
    again = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {"offboard_users": [LEAVER], "offboard_report_dir": str(shared)},
                             "--check")
    assert again.returncode == 0, again.output
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o2775 and len(reports_in(shared)) == 1
    assert sim.log.writes() == []


def test_a_run_for_users_a_live_run_is_offboarding_is_refused_before_any_write_and_so_is_restore(graphsim_session, tmp_path):
    sim = graphsim_session
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    # A run still going on this controller (this test's own process stands in for its ansible-playbook).
    live = report_data.new_report({"run_id": "20261123T090000Z-11aa22", "started": "2026-11-23T09:00:00Z", "users": [LEAVER],
                                   "controller": files.process_identity(os.getpid())})
    live_path = str(report_dir / "offboard-20261123T090000Z-11aa22.json")
    files.write_json(live_path, live, new=True)

    refused = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {"offboard_users": [LEAVER], "offboard_report_dir": str(report_dir)})
    assert refused.returncode != 0
    assert ("run 20261123T090000Z-11aa22 (ansible-playbook pid %d on this host) is still offboarding leaver@contoso.com" % os.getpid()
            in refused.output), refused.output
    assert sim.log.writes() == [] and load(live_path)["status"] == "running", "the live run's report was touched"
    (mine,) = set(reports_in(report_dir)) - {live_path}
    assert load(mine)["status"] == "failed" and load(mine)["stage"] == "refused" and load(mine)["users"][0]["memberships"] == []

    restore = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": live_path})
    assert restore.returncode != 0 and "run 20261123T090000Z-11aa22 is still going" in restore.output and sim.log.writes() == []


def test_the_tenant_set_only_in_module_defaults_is_recorded_by_its_id(graphsim_session, tmp_path):
    sim = graphsim_session
    auth = sim.module_auth()
    secret = auth.pop("client_secret")
    auth["client_secret"] = "{{ lookup('ansible.builtin.env', 'OFFBOARD_TEST_CLIENT_SECRET') }}"  # the playbook file holds no secret
    playbook = tmp_path / "offboard_with_module_defaults.yml"
    playbook.write_text(json.dumps([{
        "name": "Offboard with the connection in module_defaults", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "module_defaults": {"group/entra.membership.graph": auth},
        "tasks": [{"name": "Offboard", "ansible.builtin.include_role": {"name": "entra.membership.offboard"},
                   "vars": {"offboard_users": [LEAVER], "offboard_report_dir": str(tmp_path / "reports")}}]}]))
    nothing_in_the_environment = {name: "" for name in ("AZURE_TENANT_ID", "AZURE_TENANT", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")}
    nothing_in_the_environment["OFFBOARD_TEST_CLIENT_SECRET"] = secret
    run = ansible_playbook(sim, tmp_path, str(playbook), {}, "--check", env=nothing_in_the_environment)
    assert run.returncode == 0, run.output
    report = load(reports_in(tmp_path / "reports")[0])
    assert report["tenant"] == auth["tenant_id"] == sim.tenant_id and report["cloud"] == "global"


@pytest.mark.heavy
def test_an_exclusion_that_matches_nothing_warns_in_check_mode_and_stops_the_real_run_before_any_write(graphsim_session, tmp_path):
    sim = graphsim_session
    report_dir = tmp_path / "reports"
    typo = {"offboard_users": [LEAVER], "offboard_report_dir": str(report_dir), "offboard_exclude_groups": ["VPN Userz", "VPN Users"]}
    problem = "offboard_exclude_groups: VPN Userz matched no membership of any user"

    preview = ansible_playbook(sim, tmp_path, "entra.membership.offboard", typo, "--check")
    assert preview.returncode == 0 and "[WARNING]: " + problem in preview.output, preview.output
    assert problem in load(reports_in(report_dir)[0])["warnings"]

    refused = ansible_playbook(sim, tmp_path, "entra.membership.offboard", typo)
    assert refused.returncode != 0 and problem + ": nothing was changed" in refused.output, refused.output
    assert "offboard_allow_unmatched_exclusions: true" in refused.output and "Finalization of task args" not in refused.output
    assert sim.log.writes() == []
    (report,) = [load(path) for path in reports_in(report_dir, "offboard-2*.json")]
    assert report["status"] == "failed" and report["stage"] == "refused"

    allowed = ansible_playbook(sim, tmp_path, "entra.membership.offboard", dict(typo, offboard_allow_unmatched_exclusions=True))
    assert allowed.returncode == 0 and "[WARNING]: " + problem in allowed.output, allowed.output
    assert sim.state.is_member(sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER))
    assert not sim.state.is_member(sim.state.id_of("group", "All Staff"), sim.state.user_id(LEAVER))
