"""`make demo` (hacking/demo.py), run once: each of its steps did what it says, seen from the simulator.

The demo checks itself as it goes; these tests assert the outcomes again from what it
recorded (the leaver's memberships read over HTTPS after each step, the simulator's final
state and request log), so a demo that prints "ok" for the wrong reason still fails here.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = [os.path.join(REPO_ROOT, "playbooks", name) for name in ("offboard.yml", "restore.yml")]

pytestmark = [pytest.mark.playbook, pytest.mark.heavy]


def load_demo():
    spec = importlib.util.spec_from_file_location("entra_membership_demo", os.path.join(REPO_ROOT, "hacking", "demo.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not all(os.path.isfile(path) for path in PLAYBOOKS):
        pytest.skip("playbooks/offboard.yml and restore.yml have not landed yet")
    module = load_demo()
    output = io.StringIO()
    result = module.run_demo(str(tmp_path_factory.mktemp("demo")), console=module.Console(stream=output))
    result.output = output.getvalue()
    return result


def test_every_step_passed_its_own_checks(demo):
    assert demo.ok, demo.output
    assert demo.output.count("\n== ") == 7
    assert " FAIL " not in demo.output


def test_the_preview_changed_nothing(demo):
    run = demo.runs["check"]
    assert run.returncode == 0 and run.total("failed") == 0, run.output
    assert run.total("changed") > 0  # it does say what it would do
    assert demo.memberships["check"].key() == demo.memberships["before"].key()
    assert demo.writes["check"] == []


def test_the_preview_wrote_a_report(demo):
    assert set(demo.reports["check"]) == {"json", "md"}
    assert demo.reports["check"]["json"] != demo.reports["offboard"]["json"]  # never overwritten


def test_the_real_run_removed_the_leaver(demo):
    before, after = demo.memberships["before"], demo.memberships["offboard"]
    run = demo.runs["offboard"]
    assert run.returncode == 0 and run.total("failed") == 0, run.output
    assert run.total("changed") > 0
    assert set(after.groups) < set(before.groups)
    assert set(after.administrative_units) < set(before.administrative_units)
    assert len(after.teams) < len(before.teams)
    assert demo.writes["offboard"], "the real run sent no write"
    assert all(write.endswith("/$ref") for write in demo.writes["offboard"] if write.startswith("DELETE ") and "/members/" in write)


def test_the_report_records_what_went_and_what_stayed(demo):
    with open(demo.reports["offboard"]["json"], encoding="utf-8") as handle:
        report = json.load(handle)
    before, after = demo.memberships["before"], demo.memberships["offboard"]
    (user,) = report["users"]
    assert user["user_principal_name"] == "leaver@contoso.com" and report["check_mode"] is False
    memberships = ("team", "group", "administrative_unit")  # the demo reader's kinds; the others are asserted below
    removed = {entry["target"]["id"] for entry in user["memberships"] if entry["status"] == "removed" and entry["target"]["type"] in memberships}
    assert removed == before.targets() - after.targets()
    assert {entry["target"]["id"] for entry in user["kept"] if entry["target"]["type"] in memberships} == after.targets()
    assert all(entry["reason"] for entry in user["kept"])
    for path in demo.reports["offboard"].values():
        with open(path, encoding="utf-8") as handle:
            assert "graphsim-demo-secret-not-a-real-one" not in handle.read()


def test_the_leaver_was_locked_out_and_lost_the_access_a_membership_list_misses(demo):
    with open(demo.reports["offboard"]["json"], encoding="utf-8") as handle:
        (user,) = json.load(handle)["users"]
    kinds = {entry["target"]["type"] for entry in user["memberships"] if entry["status"] in ("removed", "added")}
    assert {"account", "group_owner", "owner_substitute", "app_role", "directory_role", "license"} <= kinds
    assert "sign-in sessions revoked (cannot be undone)" in demo.output
    assert "the account is disabled and its sessions revoked (read from Graph)" in demo.output


def test_a_second_run_changes_nothing(demo):
    run = demo.runs["rerun"]
    assert run.returncode == 0 and run.total("failed") == 0, run.output
    assert run.total("changed") == 0
    assert demo.writes["rerun"] == []
    assert demo.memberships["rerun"].key() == demo.memberships["offboard"].key()


def test_restore_brings_back_exactly_the_original_memberships(demo):
    run = demo.runs["restore"]
    assert run.returncode == 0 and run.total("failed") == 0, run.output
    assert demo.memberships["restore"].key() == demo.memberships["before"].key()
    assert demo.memberships["restore"].teams == demo.memberships["before"].teams  # owners are owners again
    assert demo.final_state["snapshot"] == demo.pristine  # and nobody else's membership moved


def test_nothing_was_deleted_and_the_simulator_stopped(demo):
    assert demo.final_state["destructive_events"] == []
    # Members and owners go with .../$ref; role and app assignments are objects of their own, deleted as Graph documents.
    assert all(entry["path"].endswith("/$ref") for entry in demo.final_state["log"]
               if entry["method"] == "DELETE" and ("/members/" in entry["path"] or "/owners/" in entry["path"]))
    assert "Demo passed" in demo.output


def test_the_simulator_stops_when_a_step_is_interrupted(tmp_path, monkeypatch):
    module = load_demo()

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt  # Ctrl-C while ansible-playbook runs

    monkeypatch.setattr(module, "run_playbook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        module.run_demo(str(tmp_path), console=module.Console(stream=io.StringIO()))
    # The state file is written only when the simulator stops on SIGTERM/SIGINT.
    with open(tmp_path / "graphsim-state.json", encoding="utf-8") as handle:
        assert json.load(handle)["destructive_events"] == []
    env = dict(line.strip().split("=", 1) for line in (tmp_path / "graphsim.env").read_text(encoding="utf-8").splitlines())
    port = int(env["ENTRA_GRAPH_ENDPOINT"].rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_work_dir_the_demo_did_not_make_is_never_emptied(tmp_path):
    module = load_demo()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit, match="not made by the demo"):
        module.prepare_work_dir(str(tmp_path))
    assert precious.read_text(encoding="utf-8") == "keep me"
    demo_dir = tmp_path / "demo"
    module.prepare_work_dir(str(demo_dir))
    (demo_dir / "old.log").write_text("from the last run", encoding="utf-8")
    module.prepare_work_dir(str(demo_dir))  # a directory of a previous demo is emptied
    assert not (demo_dir / "old.log").exists()
