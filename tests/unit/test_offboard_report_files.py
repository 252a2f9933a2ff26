"""Report files on the controller (plugins/plugin_utils/_report_files.py): whole at every instant, never overwritten, one writer at a time."""
from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data
from ansible_collections.entra.membership.plugins.plugin_utils import _report_files as files


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_missing_directory_is_created_private_and_an_existing_one_keeps_its_mode(tmp_path):
    created = files.report_directory(str(tmp_path / "new" / "reports"))
    assert mode(created) & 0o027 == 0 and os.path.isabs(created)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o2775)
    files.report_directory(str(shared))
    assert mode(shared) == 0o2775, "creating the report directory changed the mode of an existing one"


def test_a_report_is_written_whole_with_mode_0640_and_no_temporary_file_left(tmp_path):
    path = str(tmp_path / "offboard-x.json")
    files.write_json(path, {"status": "running"}, new=True)
    files.write_json(path, {"status": "done"})
    assert files.read_json(path) == {"status": "done"} and mode(path) == 0o640
    assert os.listdir(tmp_path) == ["offboard-x.json"]


def test_a_new_report_never_replaces_an_existing_file(tmp_path):
    path = str(tmp_path / "offboard-x.json")
    files.write_json(path, {"run_id": "first"}, new=True)
    with pytest.raises(FileExistsError):
        files.write_json(path, {"run_id": "second"}, new=True)
    assert files.read_json(path) == {"run_id": "first"} and os.listdir(tmp_path) == ["offboard-x.json"]


def _rewrite_many_times(path, count):
    for number in range(count):
        files.write_json(path, {"number": number, "padding": "x" * 200_000})


def test_a_reader_never_sees_a_partial_report_while_it_is_rewritten(tmp_path):
    path = str(tmp_path / "offboard-x.json")
    files.write_json(path, {"number": -1}, new=True)
    writer = multiprocessing.get_context("fork").Process(target=_rewrite_many_times, args=(path, 200))
    writer.start()
    seen = set()
    while writer.is_alive() or not seen:
        with open(path, encoding="utf-8") as handle:
            seen.add(json.load(handle)["number"])  # raises on a partial file
    writer.join()
    assert writer.exitcode == 0 and len(seen) > 2


def _append_under_lock(directory, path, label):
    for _round in range(20):
        with files.directory_lock(directory):
            data = files.read_json(path)
            time.sleep(0.001)  # widen the window a lost update would need
            data["writers"].append(label)
            files.write_json(path, data)


def test_forks_that_read_modify_write_under_the_lock_lose_no_update(tmp_path):
    directory, path = str(tmp_path), str(tmp_path / "offboard-x.json")
    files.write_json(path, {"writers": []}, new=True)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append_under_lock, args=(directory, path, label)) for label in "abcd"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert sorted(files.read_json(path)["writers"]) == sorted("abcd" * 20)


def test_a_run_is_running_while_its_process_lives_and_not_once_it_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        identity = files.process_identity(child.pid)
        assert files.process_running(identity) is True
    finally:
        child.kill()
        child.wait()
    assert files.process_running(identity) is False
    assert files.process_running(dict(identity, pid=os.getpid(), process_started=1)) is False, "a reused pid is another process"
    assert files.process_running(dict(identity, host="another-controller")) is None


def test_run_by_is_the_awx_user_when_awx_launched_the_job():
    assert files.run_by({"awx_user_name": "helpdesk-admin"}) == "helpdesk-admin"
    assert files.run_by({"tower_user_name": "old-admin"}) == "old-admin"
    assert files.run_by({}) == __import__("getpass").getuser()


def test_the_roles_defaults_are_the_plugins():
    import yaml

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "roles", "offboard", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(root, "roles", "offboard", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert defaults["offboard_report_dir"] == spec["offboard_report_dir"]["default"] == files.DEFAULT_REPORT_DIR
    assert defaults["offboard_chunk_size"] == spec["offboard_chunk_size"]["default"] == report_data.DEFAULT_CHUNK_SIZE
    assert not files.DEFAULT_REPORT_DIR.startswith(("{{", ".")), "the default must not depend on where the playbook is"
