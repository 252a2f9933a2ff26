"""``make demo``: offboard the demo tenant's leaver against the Graph simulator, then undo it.

Starts the Graph simulator (``tests/graphsim``) with the demo tenant as a separate process,
then runs the collection's playbooks the way an AWX job runs them: ``ansible-playbook`` with
nothing but the environment variables of an Azure credential (plus where Graph and its CA are,
which AWX would set as extra environment). In order:

1. start the simulator and read the leaver's memberships through Graph;
2. ``entra.membership.offboard`` in check mode: a preview, nothing changes;
3. the same for real, every scope on: the leaver is locked out (sessions revoked, sign-in
   disabled), hands group ownership to their manager, and loses memberships, directory roles,
   app assignments and direct licenses;
4. the Markdown report of that run;
5. the same again: nothing left to do (``changed=0``);
6. ``entra.membership.restore`` with the run's JSON report: everything comes back (revoked sessions
   excepted: they cannot be);
7. stop the simulator and compare the whole tenant with how it started.

Every step checks its outcome against the simulator; the exit status is 1 when one did not do
what it should. The full ``ansible-playbook`` output of each run is kept in the work directory.

    .venv/bin/python hacking/demo.py [--work-dir .build/demo]
"""
from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import requests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(REPO_ROOT, "tests")
DEMO_TENANT = os.path.join(TESTS_DIR, "graphsim", "tenants", "demo.yml")
DEFAULT_WORK_DIR = os.path.join(REPO_ROOT, ".build", "demo")
# The same link tests/conftest.py keeps: ansible-playbook finds collections only under
# .../ansible_collections/<namespace>/<name>, and the repository root is the collection.
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, ".build", "collections")

LEAVER = "leaver@contoso.com"
SIMULATOR_START_TIMEOUT = 60
STEPS = 7

# What an AWX job's environment holds besides its credentials: enough to run programs. The
# caller's own AZURE_*/ENTRA_* variables must not leak in (AZURE_TENANT_ID would win over the
# AZURE_TENANT the credential injects), nor proxies (the simulator is on 127.0.0.1).
INHERITED_VARIABLES = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")
# AWX's "Microsoft Azure Resource Manager" credential injects these names; the simulator's env
# file uses the other spelling of each, which the modules read as well.
AWX_CREDENTIAL_NAMES = {"AZURE_CLIENT_ID": "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET": "AZURE_SECRET", "AZURE_TENANT_ID": "AZURE_TENANT"}
# Where Graph and the login host are, and the CA that signs them: an AWX administrator would
# put these in Settings > Jobs > Extra Environment Variables. A real tenant needs none of them.
SITE_VARIABLES = ("ENTRA_GRAPH_ENDPOINT", "AZURE_AUTHORITY_HOST", "ENTRA_CA_PATH")

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
MARKDOWN_LINES_SHOWN = 40
MARKDOWN_WIDTH_SHOWN = 120
FAILURE_LINES_SHOWN = 5
STEP_MARKER = "demo-step"
WORK_DIR_MARKER = ".entra-membership-demo"
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# The demo offboards with every scope: the memberships, and the access a membership list misses.
EVERY_SCOPE = ["account", "owned_groups", "teams", "groups", "app_roles", "directory_roles", "administrative_units", "licenses"]
MEMBERSHIP_TYPES = ("team", "group", "administrative_unit")
# Members and owners are references (removed with .../$ref, never the object); role and app assignments are objects
# of their own, which Graph documents removing with a DELETE of the assignment.
REFERENCE_PATHS = re.compile(r"/(members|owners)/")


class DemoFailure(Exception):
    """A step could not run at all (the simulator did not start, a report is missing)."""


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

class Console:
    """Step headers and check lines; every failed check is remembered for the exit status."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.failures: list[str] = []

    def step(self, number: int, title: str) -> None:
        self.say(f"\n== {number}/{STEPS} {title}")

    def say(self, text: str = "", indent: int = 0) -> None:
        print(textwrap.indent(text, " " * indent) if indent else text, file=self.stream, flush=True)

    def check(self, ok: bool, text: str) -> bool:
        self.say(f"   {'ok  ' if ok else 'FAIL'} {text}")
        if not ok:
            self.failures.append(text)
        return ok


# ---------------------------------------------------------------------------------------------
# The simulator, in its own process
# ---------------------------------------------------------------------------------------------

class SimulatorProcess:
    """``python -m graphsim`` with the demo tenant; ``stop()`` may be called at any point, and again.

    The simulator writes its environment file once it listens, and its state file (final
    memberships, destructive events, request log) when it stops on SIGTERM/SIGINT.
    """

    def __init__(self, work_dir: str, tenant: str = DEMO_TENANT):
        self.tenant = tenant
        self.env_file = os.path.join(work_dir, "graphsim.env")
        self.state_file = os.path.join(work_dir, "graphsim-state.json")
        self.log_file = os.path.join(work_dir, "graphsim.log")
        self.process: subprocess.Popen | None = None
        self.environment: dict[str, str] = {}

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [TESTS_DIR, os.environ.get("PYTHONPATH")])))
        command = [sys.executable, "-m", "graphsim", "--tenant", self.tenant, "--port", "0",
                   "--env-file", self.env_file, "--state-file", self.state_file]
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SIMULATOR_START_TIMEOUT
        while not os.path.exists(self.env_file):
            if self.process.poll() is not None:
                raise DemoFailure(f"the simulator exited with status {self.process.returncode}: see {self.log_file}")
            if time.monotonic() > deadline:
                raise DemoFailure(f"the simulator did not start within {SIMULATOR_START_TIMEOUT} s: see {self.log_file}")
            time.sleep(0.1)
        with open(self.env_file, encoding="utf-8") as handle:
            self.environment = dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)

    def stop(self) -> dict | None:
        """Stop the simulator (idempotent); returns its final state, or None if it left none."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.final_state()

    def final_state(self) -> dict | None:
        if not os.path.exists(self.state_file):
            return None
        with open(self.state_file, encoding="utf-8") as handle:
            return json.load(handle)


def pristine_snapshot(tenant: str = DEMO_TENANT) -> dict:
    """The tenant file's memberships as the simulator's state file records them, for comparison."""
    sys.path.insert(0, TESTS_DIR)
    try:
        from graphsim.simulator import load_tenant
        from graphsim.state import TenantState
    finally:
        sys.path.remove(TESTS_DIR)
    # Through JSON, as the state file went: tuples become lists, keys strings.
    return json.loads(json.dumps(TenantState(load_tenant(tenant)).snapshot(), default=str))


# ---------------------------------------------------------------------------------------------
# An independent look at the tenant: plain Graph requests, not the collection's client
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Memberships:
    """A user's direct memberships as Graph reports them: id -> display name, teams id -> role."""

    groups: dict
    administrative_units: dict
    teams: dict
    team_names: dict

    def key(self) -> tuple:
        """What must be equal for two snapshots to be the same memberships (names aside)."""
        return (frozenset(self.groups), frozenset(self.administrative_units), frozenset(self.teams.items()))

    def targets(self) -> set:
        """Ids of every group (teams' included) and administrative unit the user is in."""
        return set(self.groups) | set(self.administrative_units)

    def describe(self) -> str:
        owners = sum(1 for role in self.teams.values() if role == "owner")
        return (f"{_count(self.groups, 'group')}, {_count(self.administrative_units, 'administrative unit')}, "
                f"{_count(self.teams, 'team')} (owner of {owners})")

    def names(self) -> list[str]:
        team_ids = set(self.teams)
        return sorted([name for gid, name in self.groups.items() if gid not in team_ids]
                      + [f"{name} (administrative unit)" for name in self.administrative_units.values()]
                      + [f"{self.team_names[tid]} (team, {role})" for tid, role in self.teams.items()])


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


class GraphReader:
    """Reads a user's memberships from the simulator over HTTPS, with the demo app's credentials."""

    def __init__(self, environment: dict):
        self.graph = environment["ENTRA_GRAPH_ENDPOINT"].rstrip("/") + "/v1.0"
        self.session = requests.Session()
        # requests lets REQUESTS_CA_BUNDLE override `verify`; the simulator's CA must win.
        self.session.trust_env = False
        self.session.verify = environment["ENTRA_CA_PATH"]
        token = self.session.post(
            f"{environment['AZURE_AUTHORITY_HOST'].rstrip('/')}/{environment['AZURE_TENANT_ID']}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": environment["AZURE_CLIENT_ID"],
                  "client_secret": environment["AZURE_CLIENT_SECRET"], "scope": "https://graph.microsoft.com/.default"},
            timeout=30)
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def _get(self, url: str, params: dict | None = None) -> dict:
        response = self.session.get(url if url.startswith("https://") else self.graph + url, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def _paged(self, path: str, params: dict | None = None):
        page = self._get(path, params)
        yield from page.get("value", [])
        while page.get("@odata.nextLink"):
            page = self._get(page["@odata.nextLink"])
            yield from page.get("value", [])

    def account_enabled(self, user: str) -> bool:
        return self._get(f"/users/{user}", {"$select": "accountEnabled"})["accountEnabled"]

    def memberships(self, user: str, step: str) -> Memberships:
        # The marker parameter splits the simulator's request log into the requests of each step.
        user_id = self._get(f"/users/{user}", {STEP_MARKER: step})["id"]
        groups, units, teams, team_names = {}, {}, {}, {}
        for item in self._paged(f"/users/{user_id}/memberOf", {"$select": "id,displayName,resourceProvisioningOptions"}):
            kind = item.get("@odata.type", "")
            if kind == "#microsoft.graph.group":
                groups[item["id"]] = item["displayName"]
                if "Team" in (item.get("resourceProvisioningOptions") or []):
                    team_names[item["id"]] = item["displayName"]
            elif kind == "#microsoft.graph.administrativeUnit":
                units[item["id"]] = item["displayName"]
        for team_id in team_names:
            for member in self._paged(f"/teams/{team_id}/members"):
                if member.get("userId") == user_id:
                    teams[team_id] = "owner" if "owner" in (member.get("roles") or []) else "member"
        return Memberships(groups, units, teams, {tid: name for tid, name in team_names.items() if tid in teams})


# ---------------------------------------------------------------------------------------------
# ansible-playbook, as an AWX job runs it
# ---------------------------------------------------------------------------------------------

def collections_path() -> str:
    link = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "entra", "membership")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(REPO_ROOT, link)
        except FileExistsError:  # a test run (tests/conftest.py) made it meanwhile
            pass
    return COLLECTIONS_ROOT


def job_environment(simulator_environment: dict) -> dict:
    """The environment of an AWX job with the Azure credential attached, pointed at the simulator."""
    env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)])
    env.update({awx_name: simulator_environment[name] for name, awx_name in AWX_CREDENTIAL_NAMES.items()})
    env.update({name: simulator_environment[name] for name in SITE_VARIABLES})
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path(),
               # Only this checkout's collection, never a copy installed elsewhere.
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               PYTHONUNBUFFERED="1")
    return env


@dataclasses.dataclass
class PlaybookRun:
    command: list
    returncode: int
    recap: dict  # host -> {"ok": n, "changed": n, ...}
    output_file: str
    output: str
    seconds: float = 0.0

    def total(self, counter: str) -> int:
        return sum(counts.get(counter, 0) for counts in self.recap.values())

    def recap_lines(self) -> list[str]:
        lines = self.output.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("PLAY RECAP")), len(lines))
        return [line.rstrip(" *") for line in lines[start:] if line.strip()]


def parse_recap(output: str) -> dict:
    recap, in_recap = {}, False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        match = RECAP_LINE.match(line.strip()) if in_recap else None
        if match:
            recap[match["host"]] = {k: int(v) for k, v in (pair.split("=") for pair in match["counts"].split())}
    return recap


def run_playbook(playbook: str, extra_vars: dict, env: dict, output_file: str, check: bool = False) -> PlaybookRun:
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    started = time.monotonic()
    completed = subprocess.run(command, env=env, cwd=os.path.dirname(output_file), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, check=False)
    with open(output_file, "w", encoding="utf-8") as handle:
        handle.write(completed.stdout)
    return PlaybookRun(command, completed.returncode, parse_recap(completed.stdout), output_file, completed.stdout,
                       time.monotonic() - started)


def new_reports(report_dir: str, before: set) -> dict:
    """The report files a run wrote: {"json": path, "md": path} (the newest of each kind)."""
    found = {}
    for kind in ("json", "md"):
        paths = sorted(set(glob.glob(os.path.join(report_dir, "**", f"*.{kind}"), recursive=True)) - before, key=os.path.getmtime)
        if paths:
            found[kind] = paths[-1]
    return found


def report_targets(path: str) -> tuple[set, set]:
    """Membership target ids a JSON report says were removed (or, in a preview, would be) and kept."""
    with open(path, encoding="utf-8") as handle:
        users = json.load(handle)["users"]
    removed = {entry["target"]["id"] for user in users for entry in user["memberships"]
               if entry["status"] == "removed" and entry["target"]["type"] in MEMBERSHIP_TYPES}
    kept = {entry["target"]["id"] for user in users for entry in user["kept"] if entry["target"]["type"] in MEMBERSHIP_TYPES}
    return removed, kept


def lockout_lines(path: str) -> list[str]:
    """The report's changes beyond memberships, one line each, in the run's order."""
    with open(path, encoding="utf-8") as handle:
        users = json.load(handle)["users"]
    lines = []
    for user in users:
        for entry in user["memberships"]:
            kind, name, status = entry["target"]["type"], entry["target"]["display_name"], entry["status"]
            if kind in MEMBERSHIP_TYPES:
                continue
            if kind == "account":
                what = ("sign-in sessions revoked (cannot be undone)" if entry["setting"] == "sign_in_sessions"
                        else "sign-in disabled (it was enabled)" if entry["previous"] else "sign-in was already disabled")
            elif kind == "owner_substitute":
                what = f"{entry['member']} made owner of {name} first (the leaver was its only owner)"
            elif kind == "group_owner":
                what = f"no longer an owner of {name}"
            elif kind == "directory_role":
                where = "" if entry["scope"] == "/" else f" over {entry['scope_display_name']}"
                what = f"directory role {name}{where} ({entry['assignment_type']}) removed"
            elif kind == "app_role":
                what = f"assignment to {name} ({entry['app_role']}) removed"
            else:
                what = f"license {name} removed"
            lines.append(what if status in ("removed", "added") else f"{what}: {status}")
    return lines


def report_files(report_dir: str) -> set:
    return {path for kind in ("json", "md") for path in glob.glob(os.path.join(report_dir, "**", f"*.{kind}"), recursive=True)}


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class DemoResult:
    """What each step saw, for tests/integration/test_demo.py."""

    failures: list = dataclasses.field(default_factory=list)
    memberships: dict = dataclasses.field(default_factory=dict)   # step name -> Memberships
    runs: dict = dataclasses.field(default_factory=dict)          # step name -> PlaybookRun
    reports: dict = dataclasses.field(default_factory=dict)       # step name -> {"json": path, "md": path}
    final_state: dict | None = None
    pristine: dict | None = None
    writes: dict = dataclasses.field(default_factory=dict)        # step name -> ["POST /v1.0/...", ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def show_run(console: Console, run: PlaybookRun) -> None:
    shown = shlex.join([os.path.basename(run.command[0])] + run.command[1:]).replace(REPO_ROOT + os.sep, "")
    console.say(f"   $ {shown}")
    for line in run.recap_lines():
        console.say(f"   {line}")
    console.say(f"   ({run.seconds:.0f} s)")
    if run.returncode:
        problems = [line for line in run.output.splitlines() if line.startswith(("fatal:", "failed:", "[ERROR]", "ERROR!"))]
        for line in problems[:FAILURE_LINES_SHOWN]:
            console.say(f"   {line[:300]}")
        console.say(f"   ansible-playbook exited with {run.returncode}; full output: {_shown_path(run.output_file)}")
        if not run.recap:
            raise DemoFailure(f"ansible-playbook did not run the play ({' '.join(run.command[1:2])}): see {run.output_file}")


def prepare_work_dir(work_dir: str) -> str:
    """Empty the work directory of a previous demo; refuse any other non-empty directory."""
    marker = os.path.join(work_dir, WORK_DIR_MARKER)
    if work_dir != DEFAULT_WORK_DIR and os.path.isdir(work_dir) and os.listdir(work_dir) and not os.path.exists(marker):
        raise SystemExit(f"demo: {work_dir} is not empty and was not made by the demo: give an empty or new --work-dir")
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("Made by hacking/demo.py, which empties this directory on every run.\n")
    return work_dir


def run_demo(work_dir: str = DEFAULT_WORK_DIR, console: Console | None = None) -> DemoResult:
    console = console or Console()
    result = DemoResult(failures=console.failures)
    started = time.monotonic()
    report_dir = os.path.join(prepare_work_dir(work_dir), "reports")
    os.makedirs(report_dir)

    console.step(1, "Start the Graph simulator with the demo tenant (tests/graphsim/tenants/demo.yml)")
    simulator = SimulatorProcess(work_dir)
    try:
        simulator.start()
        env = job_environment(simulator.environment)
        console.say(f"   Graph and login at {simulator.environment['ENTRA_GRAPH_ENDPOINT']}, tenant contoso.com")
        console.say("   ansible-playbook gets only what AWX's Azure credential injects (AZURE_CLIENT_ID, AZURE_SECRET,")
        console.say("   AZURE_TENANT) plus the simulator's address and CA (ENTRA_GRAPH_ENDPOINT, AZURE_AUTHORITY_HOST, ENTRA_CA_PATH)")
        reader = GraphReader(simulator.environment)
        before = result.memberships["before"] = reader.memberships(LEAVER, "before")
        console.say(f"   {LEAVER} is in {before.describe()}")
        console.check(bool(before.groups and before.administrative_units and before.teams), "the leaver has memberships of every kind")

        offboard_vars = {"offboard_users": [LEAVER], "offboard_report_dir": report_dir, "offboard_scopes": EVERY_SCOPE}
        _offboard_steps(console, result, env, reader, work_dir, report_dir, offboard_vars)
    except (DemoFailure, requests.RequestException) as error:
        console.check(False, str(error))
    finally:
        console.step(STEPS, "Stop the simulator")
        result.final_state = simulator.stop()
    _check_final_state(console, result)
    elapsed = time.monotonic() - started
    console.say(f"\n{'Demo passed' if result.ok else 'Demo FAILED'} in {elapsed:.0f} s. "
                f"Reports and full ansible-playbook output: {_shown_path(work_dir)}/")
    for failure in result.failures:
        console.say(f"   FAILED: {failure}")
    return result


def _offboard_steps(console, result, env, reader, work_dir, report_dir, offboard_vars) -> None:
    before = result.memberships["before"]

    console.step(2, "Preview: ansible-playbook entra.membership.offboard --check")
    seen = report_files(report_dir)
    run = result.runs["check"] = run_playbook("entra.membership.offboard", offboard_vars, env, os.path.join(work_dir, "2-check.log"), check=True)
    show_run(console, run)
    result.reports["check"] = new_reports(report_dir, seen)
    after_check = result.memberships["check"] = reader.memberships(LEAVER, "check")
    console.check(run.returncode == 0 and run.total("failed") == 0, "the preview ran without failures")
    console.check(run.total("changed") > 0, f"it says what it would change (changed={run.total('changed')})")
    console.check(after_check.key() == before.key(), f"nothing changed in the tenant: still {after_check.describe()}")
    console.check("json" in result.reports["check"], f"a preview report was written: {_names(result.reports['check'])}")

    console.step(3, "Offboard: ansible-playbook entra.membership.offboard, every scope (offboard_scopes)")
    seen = report_files(report_dir)
    run = result.runs["offboard"] = run_playbook("entra.membership.offboard", offboard_vars, env, os.path.join(work_dir, "3-offboard.log"))
    show_run(console, run)
    reports = result.reports["offboard"] = new_reports(report_dir, seen)
    after = result.memberships["offboard"] = reader.memberships(LEAVER, "offboard")
    console.check(run.returncode == 0 and run.total("failed") == 0, "the offboarding ran without failures")
    console.check(run.total("changed") > 0, f"it changed the tenant (changed={run.total('changed')})")
    removed = len(before.targets() - after.targets())
    console.check(removed > 0, f"{removed} memberships removed; the leaver is left in {after.describe()}:")
    console.say("\n".join(f"     - {name}" for name in after.names()))
    if "json" not in reports:
        raise DemoFailure(f"the offboarding wrote no JSON report in {report_dir}")
    reported_removed, reported_kept = report_targets(reports["json"])
    console.check(reported_removed == before.targets() - after.targets() and reported_kept == after.targets(),
                  f"the report names exactly the {len(reported_removed)} memberships that went and the {len(reported_kept)} that stayed")
    if "json" in result.reports["check"]:
        console.check(report_targets(result.reports["check"]["json"]) == (reported_removed, reported_kept),
                      "the preview report said the same")
    locked_out = lockout_lines(reports["json"])
    console.say("   Locked out, as the report says:")
    console.say("\n".join(f"     - {line}" for line in locked_out))
    console.check(not reader.account_enabled(LEAVER) and any("revoked" in line for line in locked_out),
                  "the account is disabled and its sessions revoked (read from Graph)")

    console.step(4, f"The report: {_shown_path(reports.get('md', reports['json']))}")
    if "md" in reports:
        with open(reports["md"], encoding="utf-8") as handle:
            lines = handle.read().rstrip().splitlines()
        console.say("\n".join(_shortened(line) for line in lines[:MARKDOWN_LINES_SHOWN]), indent=3)
        if len(lines) > MARKDOWN_LINES_SHOWN:
            console.say(f"   ... {len(lines) - MARKDOWN_LINES_SHOWN} more lines in {_shown_path(reports['md'])}")
    console.check("md" in reports, "a Markdown summary was written next to the JSON report")

    console.step(5, "Run it again: nothing left to do")
    run = result.runs["rerun"] = run_playbook("entra.membership.offboard", offboard_vars, env, os.path.join(work_dir, "5-rerun.log"))
    show_run(console, run)
    again = result.memberships["rerun"] = reader.memberships(LEAVER, "rerun")
    console.check(run.returncode == 0 and run.total("failed") == 0, "the second run ran without failures")
    console.check(run.total("changed") == 0, f"all ok, changed={run.total('changed')}: the offboarding is idempotent")
    console.check(again.key() == after.key(), "the tenant did not change")

    console.step(6, "Undo: ansible-playbook entra.membership.restore -e restore_report=<the JSON report>")
    restore_vars = {"restore_report": reports["json"]}
    run = result.runs["restore"] = run_playbook("entra.membership.restore", restore_vars, env, os.path.join(work_dir, "6-restore.log"))
    show_run(console, run)
    restored = result.memberships["restore"] = reader.memberships(LEAVER, "restore")
    console.check(run.returncode == 0 and run.total("failed") == 0, "the restore ran without failures")
    console.check(restored.key() == before.key(), f"the leaver is back in {restored.describe()}, team roles included")
    console.check(reader.account_enabled(LEAVER), "the account may sign in again; ownership, roles, apps and licenses are back "
                  "(step 7 compares them all), the substitute owner gone; revoked sessions stay revoked")


def writes_by_step(log: list) -> dict:
    """Graph writes per step, from the simulator's request log split at the reader's step markers.

    The requests logged after the reader's "before" read and up to its "check" read are the
    preview's, and so on. Token requests and `$batch` envelopes are not writes; the items of a
    batch are logged on their own.
    """
    writes, step = {}, None
    for entry in log:
        marker = (entry.get("query") or {}).get(STEP_MARKER)
        if marker:
            step = marker
            continue
        if step and entry["method"] in WRITE_METHODS and entry["path"].startswith(("/v1.0/", "/beta/")) \
                and not entry["path"].endswith("/$batch"):
            writes.setdefault(step, []).append(f"{entry['method']} {entry['path']}")
    # Each step's requests come before the read that is named after it.
    steps = ["before", "check", "offboard", "rerun", "restore"]
    return {steps[i + 1]: writes.get(name, []) for i, name in enumerate(steps[:-1])}


def _check_final_state(console: Console, result: DemoResult) -> None:
    state = result.final_state
    if not console.check(state is not None, "the simulator wrote its final state"):
        return
    result.pristine = pristine_snapshot()
    result.writes = writes_by_step(state["log"])
    console.check(not state["destructive_events"], f"no directory object was deleted ({len(state['destructive_events'])} destructive events)")
    deletes = [entry["path"] for entry in state["log"] if entry["method"] == "DELETE" and REFERENCE_PATHS.search(entry["path"])]
    console.check(all(path.endswith("/$ref") for path in deletes),
                  f"every DELETE of a member or owner removed a reference ({len(deletes)} DELETE requests, all .../{{id}}/$ref)")
    if "check" in result.runs:
        console.check(not result.writes["check"], f"the preview sent no write to Graph ({len(result.writes['check'])} writes)")
    if "rerun" in result.runs:
        console.check(not result.writes["rerun"], f"the second run sent no write to Graph ({len(result.writes['rerun'])} writes)")
    if "restore" in result.runs:
        console.check(state["snapshot"] == result.pristine, "the whole tenant is exactly as the demo tenant file describes it")


def _shown_path(path: str) -> str:
    """Paths in the checkout relative to it (how `make demo` is run), others as they are."""
    return os.path.relpath(path, REPO_ROOT) if path.startswith(REPO_ROOT + os.sep) else path


def _shortened(line: str) -> str:
    return line if len(line) <= MARKDOWN_WIDTH_SHOWN else line[:MARKDOWN_WIDTH_SHOWN - 3] + "..."


def _names(reports: dict) -> str:
    return ", ".join(os.path.basename(path) for path in reports.values()) or "none"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work-dir", default=DEFAULT_WORK_DIR, help="where reports and logs go (emptied first; default: .build/demo)")
    args = parser.parse_args(argv)
    # A SIGTERM (a CI timeout, `kill`) must stop the simulator too: make it unwind like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return 0 if run_demo(os.path.abspath(args.work_dir)).ok else 1
    except KeyboardInterrupt:
        print("\nInterrupted; the simulator was stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
