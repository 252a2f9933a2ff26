"""A member module stopped by SIGINT (ansible-playbook's Ctrl-C) or SIGTERM (AWX's cancel), run as its own process as
Ansible runs it: it sends no new request, waits briefly for the answers in flight, and exits with its results.

The signal is sent at a point the simulator's request log chooses (after the Nth write answered, or once a given
``$batch`` has reached it), never after a sleep.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import COLLECTIONS_ROOT
from graphsim import generate

from ansible_collections.entra.membership.plugins.module_utils._connection_options import ENV_VARS

LEAVER = generate.LEAVER
GROUPS = 300
MODULE = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "entra", "membership", "plugins", "modules", "entra_group_member.py")
AUTH_ENV = tuple(name for names in ENV_VARS.values() for name in names)
HANG_GUARD = 120  # seconds; only so that a defect cannot hang the suite, never an expectation


@pytest.fixture
def leaver_in_many_groups(graphsim_factory):
    spec = generate.tenant(users=10, big_group_members=2, leaver_groups=GROUPS, leaver_aus=0, leaver_teams=0)
    return graphsim_factory(tenant=spec)


def group_names():
    return ["Leaver Group %04d" % number for number in range(GROUPS)]


def start_module(sim, tmp_path, **args):
    """entra_group_member as its own process, the credentials in the environment as AWX injects them."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name not in AUTH_ENV}
    env.update(sim.environment(), PYTHONPATH=COLLECTIONS_ROOT)
    return subprocess.Popen([sys.executable, MODULE, str(args_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_until(condition, process=None):
    """Poll the simulator until ``condition()`` holds; fails if the module (``process``) ended first."""
    give_up = time.monotonic() + HANG_GUARD
    while not condition():
        assert process is None or process.poll() is None, "the module ended first: %s" % (process.communicate(),)
        assert time.monotonic() < give_up, "the simulator never got there"
        time.sleep(0.01)


def finish(process):
    stdout, stderr = process.communicate(timeout=HANG_GUARD)
    assert "Traceback" not in stdout + stderr, stderr
    return process.returncode, json.loads(stdout)


def written_pairs(sim):
    """``{group id: status}`` of every $ref DELETE Graph answered, and the ids of the groups written at all."""
    return {entry.path.split("/")[3]: entry.status for entry in sim.log.writes()}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_writes_and_the_module_exits_with_results_never_claiming_an_unsent_removal(
        leaver_in_many_groups, tmp_path, signum):
    sim = leaver_in_many_groups
    sim.latency = 0.3
    leaver = sim.state.user_id(LEAVER)
    process = start_module(sim, tmp_path, groups=group_names(), members=[LEAVER])
    wait_until(lambda: len(sim.log.writes()) >= 60, process)
    process.send_signal(signum)
    code, result = finish(process)

    name = signal.Signals(signum).name
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("entra_group_member (interrupted by %s): " % name), result["msg"]
    written = written_pairs(sim)
    statuses = {}
    for entry in result["results"]:
        group_id = entry["target"]["id"]
        statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
        if entry["status"] == "removed":
            assert written.get(group_id) == 204 and not sim.state.is_member(group_id, leaver)
        else:
            assert entry["status"] == "failed" and entry["error"]["code"] == "Interrupted", entry
            if entry["error"]["message"].startswith("not sent"):
                assert group_id not in written and sim.state.is_member(group_id, leaver), entry
                assert entry["error"]["message"] == "not sent: the module was interrupted (%s) before this request went out" % name
            else:
                assert "while this request was in flight: it may have been carried out" in entry["error"]["message"]
    assert statuses["removed"] >= 60 and statuses["failed"] > 0
    assert result["summary"]["removed"] == statuses["removed"]
    # No write went out after the signal's grace: every group not written to still has the leaver.
    assert sum(1 for group_id in written) < GROUPS


def test_a_write_still_in_flight_when_the_wait_ends_is_reported_as_maybe_done_and_was(leaver_in_many_groups, tmp_path):
    sim = leaver_in_many_groups
    leaver = sim.state.user_id(LEAVER)
    arrived = []
    slow_batch_arrived = threading.Event()
    dispatch = sim.dispatch

    def spy(call, *args, **kwargs):
        if call.path.endswith("/$batch") and not call.in_batch:
            arrived.append(call.path)
            if len(arrived) == resolution_batches + 3:
                slow_batch_arrived.set()
        return dispatch(call, *args, **kwargs)

    # One $batch at a time: 15 to resolve 300 names (20 GETs a $batch; the leaver's one GET goes alone), then 20 DELETEs each.
    resolution_batches = GROUPS // 20
    sim.dispatch = spy
    sim.faults.add("slow", path_re=r"/\$batch$", delay=5, after=resolution_batches + 2, limit=1)
    process = start_module(sim, tmp_path, groups=group_names(), members=[LEAVER], max_concurrency=1)
    wait_until(slow_batch_arrived.is_set, process)
    process.send_signal(signal.SIGTERM)
    code, result = finish(process)

    statuses = [entry["status"] for entry in result["results"]]
    messages = [(entry["error"] or {}).get("message", "") for entry in result["results"]]
    assert code == 1 and statuses[:40] == ["removed"] * 40 and statuses[40:] == ["failed"] * (GROUPS - 40)
    assert all("while this request was in flight: it may have been carried out" in message for message in messages[40:60])
    assert all(message.startswith("not sent: ") for message in messages[60:])
    # The slow $batch was carried out after the module had gone: "may have been carried out" was the truth.
    wait_until(lambda: sim.log.count(method="POST", path_re=r"/\$batch$") == resolution_batches + 3)
    in_flight = [entry["target"]["id"] for entry in result["results"][40:60]]
    assert not any(sim.state.is_member(group_id, leaver) for group_id in in_flight)
    assert all(sim.state.is_member(entry["target"]["id"], leaver) for entry in result["results"][60:])


def test_a_module_run_in_process_gives_the_signal_handlers_back(graphsim_session):
    from modrun import run_module
    from ansible_collections.entra.membership.plugins.modules import entra_group_member

    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    result = run_module(entra_group_member, dict(graphsim_session.module_auth(), groups=["VPN Users"], members=[LEAVER]), check_mode=True)
    assert result["rc"] == 0
    assert {signum: signal.getsignal(signum) for signum in before} == before
