"""pytest plugin: a test fails when anything it saw holds a secret the Graph simulator knows.

For every test that used a simulator (the ``graphsim`` fixtures, or one it started itself), the
secrets are what the simulator knows or made (``GraphSimulator.secrets()``: every app's client
secret, the certificates' private key bodies, every federated assertion and access token issued),
and the places looked at are everything the test saw:

- the output pytest captured for it (stdout, stderr, logging), all phases;
- every module run through ``tests/modrun.py`` (its whole JSON output: results, msg, warnings, exceptions),
  what ``subprocess.run`` captured for it (an ansible-playbook's output), and whatever the test
  hands over with ``secretscan.saw(text)``;
- the simulator's request log (paths, query strings, bodies and headers it records);
- the files the test wrote under ``tmp_path`` (reports, ansible-runner artifacts and event stream).

Left out on purpose, because they are the credentials the test handed over rather than something
that leaked: ansible-runner's ``env/`` input directory and the ``env`` that ``artifacts/*/command``
records (docs/awx.md, "Secrets on disk"), and credential files (a PEM key, a file holding exactly
one token or assertion). A hit names the place and which kind of secret, never the secret.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from urllib.parse import quote, quote_plus

import pytest

import modrun
from graphsim import simulator as graphsim_simulator
from graphsim.pytest_plugin import simulators_used

# Any JWT-shaped text (header and payload in base64url JSON): an access token even from a simulator
# the scan does not know, for tests that check a whole job's output for one.
TOKEN_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")

_STATE = pytest.StashKey[dict]()
_CREDENTIAL_SUFFIXES = (".pem", ".key")
_MAX_FILE_BYTES = 20 * 1024 * 1024


def saw(text: str) -> None:
    """Hand the current test's scan something it saw elsewhere, e.g. the stdout of an ansible-playbook subprocess."""
    for observe in modrun.output_observers:
        observe(text)


def variants(secret: str) -> set:
    """The secret as it may appear: as is, and URL-encoded both ways."""
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def find_leaks(sources, secrets) -> list:
    """``[(where, what)]`` for every ``(where, text)`` source holding one of ``secrets``; ``what`` never shows the secret."""
    needles = []
    for number, secret in enumerate(dict.fromkeys(s for s in secrets if s)):
        needles += [(variant, "secret #%d (%s, %d characters)" % (number, describe(secret), len(secret))) for variant in variants(secret)]
    leaks = []
    for where, text in sources:
        if not text:
            continue
        hit = next((what for needle, what in needles if needle in text), None)
        if hit:
            leaks.append((where, hit))
    return leaks


def mask(text, secrets):
    for secret in sorted({variant for secret in secrets if secret for variant in variants(secret)}, key=len, reverse=True):
        text = text.replace(secret, "<secret masked by secretscan>")
    return text


def describe(secret: str) -> str:
    if secret.count(".") == 2 and secret.startswith("eyJ"):
        return "a JWT: access token or assertion"
    if secret.startswith("gsim."):
        return "an opaque access token"
    if len(secret) == 64 and "-" not in secret:
        return "a line of a private key"
    return "a client secret"


def tree_sources(root, secrets):
    """``(relative path, text)`` of every file under ``root`` except credential inputs (see the module docstring)."""
    known = set(secrets)
    for directory, dirs, files in os.walk(root):
        siblings = set(dirs) | set(files)
        if "env" in dirs and ({"artifacts", "project", "inventory"} & siblings):
            dirs.remove("env")  # ansible-runner's input directory: envvars, extravars, credential files
        for name in files:
            path = os.path.join(directory, name)
            where = os.path.relpath(path, root)
            if name.endswith(_CREDENTIAL_SUFFIXES) or os.path.islink(path) or os.path.getsize(path) > _MAX_FILE_BYTES:
                continue
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
            if text.strip() in known or _is_tenant_spec(text):
                continue  # a token or assertion file the test wrote to hand it over, a tenant for a simulator
            if name == "command" and os.path.basename(os.path.dirname(directory)) == "artifacts":
                text = _without_env(text)
            yield "file %s" % where, text


def _is_tenant_spec(text):
    """A tenant definition (graphsim.generate's output): the simulator's input, its apps' secrets included."""
    return text.startswith("tenant:") and "\napps:" in text


def _without_env(text):
    """ansible-runner's ``artifacts/<id>/command`` minus the job environment it records."""
    try:
        record = json.loads(text)
    except ValueError:
        return text
    if isinstance(record, dict):
        record.pop("env", None)
    return json.dumps(record)


def log_sources(sim):
    for number, entry in enumerate(sim.log):
        yield "simulator log entry %d (%s %s)" % (number, entry.method, entry.path.split("?")[0][:80]), repr(entry)


def _observed_run(real_run):
    """``subprocess.run`` that also hands what it captured (an ansible-playbook's output) to the scan."""

    def run(*args, **kwargs):
        completed = real_run(*args, **kwargs)
        for stream in (completed.stdout, completed.stderr):
            if stream:
                saw(stream if isinstance(stream, str) else stream.decode("utf-8", "replace"))
        return completed
    return run


@pytest.fixture(autouse=True)
def _secretscan_collect(request, monkeypatch):
    """Remember the simulators this test starts, every module output and captured subprocess output it gets."""
    state = {"started": [], "module_outputs": []}
    request.node.stash[_STATE] = state
    monkeypatch.setattr(subprocess, "run", _observed_run(subprocess.run))
    graphsim_simulator.start_observers.append(state["started"].append)
    modrun.output_observers.append(state["module_outputs"].append)
    yield
    modrun.output_observers.remove(state["module_outputs"].append)
    graphsim_simulator.start_observers.remove(state["started"].append)


def leaks_of(item, report_sections) -> list:
    state = item.stash.get(_STATE, None)
    if state is None:
        return []
    sims = simulators_used(item.funcargs, state["started"])
    if not sims:
        return []
    secrets = [secret for sim in sims for secret in sim.secrets()]
    state["secrets"] = secrets
    sources = list(report_sections)  # ("Captured stdout call", text), ...
    sources += [("module or subprocess output %d" % number, text) for number, text in enumerate(state["module_outputs"])]
    for sim in sims:
        sources += list(log_sources(sim))
    tmp_path = item.funcargs.get("tmp_path")
    if tmp_path is not None and os.path.isdir(tmp_path):
        sources += list(tree_sources(str(tmp_path), secrets))
    return find_leaks(sources, secrets)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "teardown" or report.failed:
        return
    leaks = leaks_of(item, report.sections)
    if leaks:
        # pytest shows a failed test's captured output: mask it there, or the report repeats the leak.
        secrets = item.stash[_STATE]["secrets"]
        report.sections = [(title, mask(text, secrets)) for title, text in report.sections]
        lines = "\n".join("  %s: %s" % leak for leak in leaks[:20])
        more = "\n  ... and %d more" % (len(leaks) - 20) if len(leaks) > 20 else ""
        report.outcome = "failed"
        report.longrepr = "secretscan: a secret the simulator knows appears in what the test saw:\n%s%s" % (lines, more)
