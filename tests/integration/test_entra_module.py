"""EntraModule's own behaviour, end to end through the test-only probe module: how a defect ends the task."""
import importlib.metadata
import json
import os
import subprocess
import sys

from ansible.module_utils import ansible_release
from ansible.module_utils.common.parameters import PASS_VARS

import probe_module
from conftest import COLLECTIONS_ROOT
from modrun import run_module

from ansible_collections.entra.membership.plugins.module_utils._connection_options import ENV_VARS

# Every variable the options fall back to, so that only the simulator's credentials are in play.
AUTH_ENV = tuple(name for names in ENV_VARS.values() for name in names)


def library_versions():
    return (ansible_release.__version__, importlib.metadata.version("msal"), importlib.metadata.version("requests"))


def test_an_unexpected_error_fails_the_task_naming_it_with_the_library_versions_and_no_secret(graphsim, monkeypatch):
    for name in AUTH_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in graphsim.environment().items():
        monkeypatch.setenv(name, value)  # the secret only in the environment, as AWX gives it
    result = run_module(probe_module, dict(action="raise"))
    assert result["rc"] == 1 and result["failed"] is True and result["changed"] is False
    assert result["msg"] == "unexpected RuntimeError: a library echoed ********"
    assert (result["ansible_core_version"], result["msal_version"], result["requests_version"]) == library_versions()
    assert graphsim.credentials["client_secret"] not in json.dumps(result)
    assert len(graphsim.log) == 0


def test_an_unexpected_errors_traceback_reaches_a_controller_that_asks_for_it_without_a_secret(graphsim, tmp_path):
    """As its own process, as ansible-playbook runs it: whether a traceback is returned is the controller's call (2.19+)."""
    creds = graphsim.credentials
    args = {"action": "raise"}
    if "tracebacks_for" in PASS_VARS:  # ansible-core >= 2.19 returns a module's traceback only when asked to
        args["_ansible_tracebacks_for"] = ["error"]
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name not in AUTH_ENV}
    env.update(graphsim.environment(), PYTHONPATH=COLLECTIONS_ROOT)
    assert env["AZURE_CLIENT_SECRET"] == creds["client_secret"]
    completed = subprocess.run([sys.executable, probe_module.__file__, str(args_file)], capture_output=True, text=True, check=False, env=env)
    result = json.loads(completed.stdout)
    assert completed.returncode == 1 and result["failed"] is True
    assert result["msg"].startswith("unexpected RuntimeError: a library echoed ")
    assert "Traceback" in result["exception"] and "probe_module.py" in result["exception"] and "RuntimeError" in result["exception"]
    assert (result["ansible_core_version"], result["msal_version"], result["requests_version"]) == library_versions()
    assert creds["client_secret"] not in completed.stdout + completed.stderr
    assert len(graphsim.log) == 0
