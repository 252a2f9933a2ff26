"""The secret scan (tests/secretscan.py) fires: a deliberately leaked secret fails the test and is named, never shown."""
import json
import os
import subprocess
import sys

from graphsim import GraphSimulator
from secretscan import find_leaks, tree_sources

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LEAKY_TESTS = '''
import json, os, requests

def test_prints_the_client_secret(graphsim):
    print("connecting with", graphsim.credentials["client_secret"])

def test_report_file_holds_a_token(graphsim, tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"note": graphsim.issue_token()}))

def test_token_in_a_query_string_reaches_the_log(graphsim):
    session = requests.Session(); session.trust_env = False; session.verify = graphsim.ca_path
    session.get(graphsim.base_url + "/v1.0/users", params={"$filter": "x eq '" + graphsim.credentials["client_secret"] + "'"})

def test_runner_input_env_and_command_env_are_not_leaks(graphsim, tmp_path):
    secret = graphsim.credentials["client_secret"]
    job = tmp_path / "awx-job"
    (job / "env").mkdir(parents=True)
    (job / "project").mkdir()
    (job / "artifacts" / "1").mkdir(parents=True)
    (job / "env" / "envvars").write_text("AZURE_SECRET: " + secret)
    (job / "artifacts" / "1" / "command").write_text(json.dumps({"command": ["ansible-playbook"], "env": {"AZURE_SECRET": secret}}))
    (job / "artifacts" / "1" / "stdout").write_text("ok: [localhost]")

def test_subprocess_output_handed_to_the_scan(graphsim):
    import subprocess, sys
    subprocess.run([sys.executable, "-c", "print('PLAY RECAP ... ' + %r)" % graphsim.issue_token()], capture_output=True, check=True)

def test_clean(graphsim):
    print("nothing to see")
'''


def test_a_leaked_secret_fails_the_test_and_names_where(tmp_path):
    (tmp_path / "test_leaky.py").write_text(LEAKY_TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "graphsim.pytest_plugin", "-p", "secretscan", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
        env={"PYTHONPATH": TESTS_DIR, "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")})
    output = run.stdout + run.stderr
    assert "6 passed, 4 errors" in output, output
    assert "ERROR at teardown of test_subprocess_output_handed_to_the_scan" in output and "module or subprocess output 0: secret #" in output
    assert "ERROR at teardown of test_prints_the_client_secret" in output
    assert "Captured stdout call: secret #0 (a client secret" in output
    assert "ERROR at teardown of test_report_file_holds_a_token" in output and "file report.json: secret #" in output
    assert "ERROR at teardown of test_token_in_a_query_string_reaches_the_log" in output and "simulator log entry 0 (GET /v1.0/users)" in output
    assert "test_runner_input_env_and_command_env_are_not_leaks" not in output
    assert "connecting with <secret masked by secretscan>" in output  # pytest's echo of the captured output is masked too
    with GraphSimulator() as sim:  # the demo tenant's secrets are the same in every simulator
        assert not [secret for secret in sim.secrets()[:4] if secret in output]


def test_find_leaks_knows_encoded_secrets_and_shows_none():
    secret = "graphsim/demo secret+with=specials"
    leaks = find_leaks([("module output 0", "msg: graphsim%2Fdemo%20secret%2Bwith%3Dspecials"),
                        ("query", "q=graphsim%2Fdemo+secret%2Bwith%3Dspecials"), ("clean", "nothing")], [secret, ""])
    assert [where for where, _what in leaks] == ["module output 0", "query"]
    assert all(secret not in what for _where, what in leaks)


def test_tree_sources_skip_credential_inputs_only(tmp_path):
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    (tmp_path / "app.pem").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    (tmp_path / "federated.jwt").write_text(token + "\n")
    (tmp_path / "report.yml").write_text("leaver: removed\ntoken: %s\n" % token)
    (tmp_path / "artifacts" / "7").mkdir(parents=True)
    (tmp_path / "artifacts" / "7" / "command").write_text(json.dumps({"cwd": "/runner", "env": {"T": token}, "args": [token]}))
    sources = dict(tree_sources(str(tmp_path), [token]))
    assert sorted(sources) == ["file artifacts/7/command", "file report.yml"]
    assert sorted(where for where, _what in find_leaks(sources.items(), [token])) == ["file artifacts/7/command", "file report.yml"]
