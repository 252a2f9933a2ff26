"""The three ways to start the simulator, state isolation, and the large-tenant generator."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import requests

from graphsim import GraphSimulator, generate

from .conftest import GraphApi, https_session

TESTS_DIR = pathlib.Path(__file__).resolve().parents[2]
LEAVER = "leaver@contoso.com"


def test_context_manager_serves_https_and_stops(tmp_path):
    with GraphSimulator(page_size=3) as sim:
        url = sim.base_url
        assert url.startswith("https://127.0.0.1:")
        assert GraphApi(sim).get(f"/users/{LEAVER}").status_code == 200
        with_plain_trust = requests.Session()
        with_plain_trust.trust_env = False
        try:
            with_plain_trust.get(f"{url}/v1.0/users/{LEAVER}", timeout=5, verify=True)
            raise AssertionError("the simulator's certificate must not be trusted without its CA")
        except requests.exceptions.SSLError:
            pass
    try:
        https_session(sim).get(f"{url}/v1.0/users/{LEAVER}", timeout=2)
        raise AssertionError("the server should be gone")
    except requests.exceptions.ConnectionError:
        pass


def test_session_fixture_state_is_fresh_part_1(graphsim_session):
    group = graphsim_session.state.id_of("group", "VPN Users")
    leaver = graphsim_session.state.user_id(LEAVER)
    assert graphsim_session.state.is_member(group, leaver)
    assert GraphApi(graphsim_session).delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    graphsim_session.faults.add(503, rate=1.0)
    graphsim_session.page_size = 1


def test_session_fixture_state_is_fresh_part_2(graphsim_session):
    group = graphsim_session.state.id_of("group", "VPN Users")
    assert graphsim_session.state.is_member(group, graphsim_session.state.user_id(LEAVER))
    assert len(graphsim_session.log) == 0 and len(graphsim_session.faults) == 0
    assert graphsim_session.page_size == 100


def test_command_line_prints_env_writes_env_file_and_state_file(tmp_path):
    env_file, state_file = tmp_path / "sim.env", tmp_path / "state.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "graphsim", "--port", "0", "--env-file", str(env_file), "--state-file", str(state_file)],
        env=dict(os.environ, PYTHONPATH=str(TESTS_DIR)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.05)
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert set(env) == {"ENTRA_GRAPH_ENDPOINT", "AZURE_AUTHORITY_HOST", "ENTRA_CA_PATH", "AZURE_TENANT_ID",
                            "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}
        session = requests.Session()
        session.trust_env = False
        session.verify = env["ENTRA_CA_PATH"]
        token = session.post(f"{env['AZURE_AUTHORITY_HOST']}/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": env["AZURE_CLIENT_ID"],
            "client_secret": env["AZURE_CLIENT_SECRET"], "scope": "https://graph.microsoft.com/.default"}).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        leaver = session.get(f"{env['ENTRA_GRAPH_ENDPOINT']}/v1.0/users/{LEAVER}").json()["id"]
        legacy = session.get(f"{env['ENTRA_GRAPH_ENDPOINT']}/v1.0/groups",
                             params={"$filter": "displayName eq 'Legacy App Access'"}).json()["value"][0]["id"]
        assert session.delete(f"{env['ENTRA_GRAPH_ENDPOINT']}/v1.0/groups/{legacy}/members/{leaver}/$ref").status_code == 204
    finally:
        process.send_signal(signal.SIGTERM)
        stdout = process.communicate(timeout=30)[0]
    assert process.returncode == 0
    exports = [line for line in stdout.splitlines() if line.startswith("export ")]
    assert [line.split("=", 1)[0] for line in exports] == [f"export {name}" for name in env]
    state = json.loads(state_file.read_text())
    assert state["snapshot"]["groups"][legacy] == []
    assert any(entry["method"] == "DELETE" and entry["status"] == 204 for entry in state["log"])
    assert env["AZURE_CLIENT_SECRET"] not in json.dumps(state["log"])


def test_generator_sizes_and_leaver(graphsim_factory):
    spec = generate.tenant(users=300, big_group_members=120, leaver_groups=30, leaver_aus=5, leaver_teams=10)
    sim = graphsim_factory(tenant=spec, page_size=50)
    assert len(sim.state.users) == 300
    big = sim.state.id_of("group", "Big Group")
    assert len(sim.state.members(big)) == 120
    api = GraphApi(sim)
    memberships = api.all_pages(f"/users/{LEAVER}/memberOf")
    kinds = [m["@odata.type"] for m in memberships]
    assert kinds.count("#microsoft.graph.administrativeUnit") == 5
    assert kinds.count("#microsoft.graph.group") == 1 + 30 + len(generate.REFUSING_KINDS) + 10  # Big Group too
    assert len(api.all_pages(f"/users/{LEAVER}/joinedTeams")) == 10
    owned = [t for t in sim.state.groups if sim.state.team_role(t, sim.state.user_id(LEAVER)) == "owner"]
    assert len(owned) == 1  # every tenth team
    assert len(api.all_pages(f"/groups/{big}/members")) == 120


def test_generator_command_line_writes_yaml(tmp_path):
    output = tmp_path / "big.yml"
    subprocess.run([sys.executable, "-m", "graphsim.generate", "--users", "50", "--big-group-members", "20",
                    "--leaver-groups", "3", "--leaver-aus", "1", "--leaver-teams", "1", "-o", str(output)],
                   env=dict(os.environ, PYTHONPATH=str(TESTS_DIR)), check=True, timeout=60)
    with GraphSimulator(tenant=output) as sim:
        assert len(sim.state.users) == 50
        assert GraphApi(sim).get(f"/users/{LEAVER}").status_code == 200


def test_command_line_lenient_option_names_leniencies_or_none():
    from graphsim.__main__ import _parse
    from graphsim.graph import DEFAULT_LENIENT

    assert _parse([]).lenient == DEFAULT_LENIENT
    assert _parse(["--lenient", ""]).lenient == frozenset()
    assert _parse(["--lenient", "casts, member_of_permissions"]).lenient == {"casts", "member_of_permissions"}
    with pytest.raises(SystemExit):
        _parse(["--lenient", "everything"])
