"""No member object deleted (the Caution of https://learn.microsoft.com/graph/api/group-delete-members), enforced:
the simulator's destructive-event check is active for every test
(autouse, also for a simulator a test starts itself) and fires on a member removal without /$ref
or a user deletion. (The fixtures' case is in tests/graphsim/tests/test_graphsim_groups.py.)"""
import os
import subprocess
import sys

import pytest
import requests

from graphsim import GraphSimulator
from graphsim.pytest_plugin import destructive_failure, simulators_used

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OWN_SIMULATOR_TESTS = '''
import pytest, requests
from graphsim import GraphSimulator

def session_for(sim):
    session = requests.Session(); session.trust_env = False; session.verify = sim.ca_path
    session.headers["Authorization"] = "Bearer " + sim.issue_token()
    return session

def delete_member_object(sim):
    group, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id("leaver@contoso.com")
    assert session_for(sim).delete(f"{sim.base_url}/v1.0/groups/{group}/members/{leaver}").status_code == 204

def test_own_simulator_member_delete_without_ref():
    with GraphSimulator() as sim:
        delete_member_object(sim)

def test_own_simulator_user_delete():
    with GraphSimulator() as sim:
        leaver2 = sim.state.user_id("leaver2@contoso.com")
        assert session_for(sim).delete(f"{sim.base_url}/v1.0/users/{leaver2}").status_code == 204

@pytest.mark.allow_destructive
def test_own_simulator_marked():
    with GraphSimulator() as sim:
        delete_member_object(sim)

def test_own_simulator_ref_delete_is_fine():
    with GraphSimulator() as sim:
        group, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id("leaver@contoso.com")
        assert session_for(sim).delete(f"{sim.base_url}/v1.0/groups/{group}/members/{leaver}/$ref").status_code == 204

def test_without_a_simulator():
    assert True
'''


def test_the_check_is_active_for_every_test(request):
    # Registered by tests/conftest.py for the whole suite; autouse, so every test carries them.
    assert {"_graphsim_destructive_check", "_secretscan_collect"} <= set(request.fixturenames)


def test_the_check_fires_for_a_simulator_the_test_started_itself(tmp_path):
    (tmp_path / "test_own.py").write_text(OWN_SIMULATOR_TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "graphsim.pytest_plugin", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
        env={"PYTHONPATH": TESTS_DIR, "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")})
    output = run.stdout + run.stderr
    assert "5 passed, 2 errors" in output, output
    assert "ERROR at teardown of test_own_simulator_member_delete_without_ref" in output
    assert "ERROR at teardown of test_own_simulator_user_delete" in output
    assert "deleted user" in output and "a member removal without /$ref deletes the member itself" in output
    assert "/members/" in output and "/v1.0/users/" in output


@pytest.mark.allow_destructive
def test_the_check_names_each_deletion_when_called_directly():
    with GraphSimulator() as sim:
        group, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id("leaver@contoso.com")
        session = requests.Session()
        session.trust_env, session.verify = False, sim.ca_path
        session.headers["Authorization"] = "Bearer " + sim.issue_token()
        assert session.delete("%s/v1.0/groups/%s/members/%s" % (sim.base_url, group, leaver)).status_code == 204
        sims = simulators_used({"graphsim": sim, "unrelated": object()}, [sim])
        assert sims == [sim]
        message = destructive_failure(sims, allowed=False)
        assert "DELETE /v1.0/groups/%s/members/%s deleted user %s" % (group, leaver, leaver) in message
        assert destructive_failure(sims, allowed=True) is None
