"""`make live-check` (tests/live) in CI: pointed at the Graph simulator, it must run and pass; without its environment, skip.

CI never talks to a real tenant. These tests run the live suite as `make live-check` does (pytest
on tests/live, its own process), with the ENTRA_LIVE_* variables naming the simulator's tenant and
app and the collection's endpoint variables (ENTRA_GRAPH_ENDPOINT, AZURE_AUTHORITY_HOST,
ENTRA_CA_PATH) pointing at the simulator, and judge it by pytest's JUnit report, the simulator's
request log and state, and the compatibility report it writes. The caller's own AZURE_* / ENTRA_*
variables never reach it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from xml.etree import ElementTree

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The live suite's helpers import one another by name, as they do when pytest runs tests/live.
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "live"))

from live_modules import ACCESS_MODULES, LIVE_CHECKED_MODULES  # noqa: E402  pylint: disable=wrong-import-position
from live_report import BEHAVIOURS, SEEN, row_of, rows_matching, table_rows  # noqa: E402  pylint: disable=wrong-import-position
from live_settings import VARIABLE_NAMES, LiveSettingsError, missing_variables, read_settings  # noqa: E402  pylint: disable=wrong-import-position

LEAVER = "leaver@contoso.com"
# The leaver's memberships the write run removes and puts back: a plain security group, an administrative
# unit, and a team the leaver co-owns (so the owner role has to come back too).
DEDICATED = {"ENTRA_LIVE_GROUP": "VPN Users", "ENTRA_LIVE_ADMINISTRATIVE_UNIT": "Germany", "ENTRA_LIVE_TEAM": "Platform Team"}
WRITE_TESTS = "test_member_module_removes_the_test_user_from_the_dedicated_target_and_puts_it_back"
# What only the write run sees, and what a read-only run against the demo tenant cannot see (and why).
WRITE_BEHAVIOURS = {"eventual_consistency", "ref_delete", "not_a_member", "replication_lag", "ref_post", "teams_bulk"}
UNSEEN_IN_THE_DEMO_TENANT = {"throttling": "the simulator throttles nobody unless a test asks it to",
                             "member_of_permissions": "the demo tenant's default app holds Directory.Read.All"}
_CONNECTION_PREFIXES = ("AZURE_", "ENTRA_")
_REPORT_ROW = re.compile(r"^\| (\d+) \|.*\| ([^|]+) \| ([^|]*) \|$")


class LiveRun:
    """One run of the live suite: its output, exit status and every test's outcome (JUnit)."""

    def __init__(self, completed, junit_path):
        self.output = completed.stdout
        self.returncode = completed.returncode
        self.outcomes = {}
        if os.path.exists(junit_path):
            for case in ElementTree.parse(junit_path).getroot().iter("testcase"):
                name = "%s::%s" % (case.get("classname").rsplit(".", 1)[-1], case.get("name"))
                kind = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
                self.outcomes[name] = (kind.tag, kind.get("message") or "") if kind is not None else ("passed", "")

    def named(self, outcome):
        return {name: message for name, (kind, message) in self.outcomes.items() if kind == outcome}


def run_live_suite(tmp_path, environment, *paths):
    """pytest on tests/live (or ``paths``) in its own process, with exactly ``environment`` of the AZURE_* / ENTRA_* variables."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_CONNECTION_PREFIXES)}
    env.update(environment)
    junit_path = str(tmp_path / "junit.xml")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "--junitxml", junit_path, *(paths or ["tests/live"])]
    completed = subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=900)
    return LiveRun(completed, junit_path)


def simulator_environment(sim, tmp_path, credential="secret", **more):
    """The live suite's variables for the simulator's tenant, its default app and the demo leaver."""
    environment = {name: sim.environment()[name] for name in ("ENTRA_GRAPH_ENDPOINT", "AZURE_AUTHORITY_HOST", "ENTRA_CA_PATH")}
    environment.update(ENTRA_LIVE_TENANT_ID=sim.tenant_id, ENTRA_LIVE_CLIENT_ID=sim.credentials["client_id"], ENTRA_LIVE_USER=LEAVER,
                       ENTRA_LIVE_REPORT=str(tmp_path / "live-check-report.md"))
    if credential == "secret":
        environment["ENTRA_LIVE_CLIENT_SECRET"] = sim.credentials["client_secret"]
    else:
        environment["ENTRA_LIVE_CLIENT_CERTIFICATE_PATH"] = sim.credentials["certificate_path"]
    environment.update(more)
    return environment


def report_verdicts(path):
    """``{row number: [(verdict, request ids)]}`` of a compatibility report."""
    verdicts = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = _REPORT_ROW.match(line.strip())
            if match:
                verdicts.setdefault(int(match.group(1)), []).append((match.group(2).strip(), re.findall(r"`([0-9a-f-]{36})`", match.group(3))))
    return verdicts


@pytest.mark.heavy
@pytest.mark.playbook
def test_live_check_against_the_simulator_runs_every_read_only_test_passes_and_writes_nothing(graphsim, tmp_path):
    sim = graphsim
    before = sim.state.snapshot()
    # A certificate this time; the dedicated group by name; the unit and team left to discovery.
    run = run_live_suite(tmp_path, simulator_environment(sim, tmp_path, credential="certificate", ENTRA_LIVE_GROUP="VPN Users"))

    assert run.returncode == 0, run.output[-6000:]
    assert run.named("failure") == {} and run.named("error") == {}
    skipped = run.named("skipped")
    assert set(skipped) == {"test_live_write::%s[%s]" % (WRITE_TESTS, module) for module in ("entra_group_member", "entra_au_member", "teams_member")}
    assert all("ENTRA_LIVE_WRITE is not 1" in message for message in skipped.values()), skipped
    assert len(run.named("passed")) >= 20, run.outcomes
    assert sim.log.writes() == [] and sim.state.snapshot() == before, "the read-only live check wrote to the tenant"

    verdicts = report_verdicts(str(tmp_path / "live-check-report.md"))
    logged = {entry.request_id for entry in sim.log}
    for number, seen in verdicts.items():
        for verdict, request_ids in seen:
            assert set(request_ids) <= logged, "row %d: request ids the simulator never answered: %s" % (number, request_ids)
            if number == 13:  # casts: served without ConsistencyLevel only while the simulator is lenient there
                assert verdict.startswith("differs") == ("casts" in sim.lenient), verdict
            else:
                assert verdict == SEEN, "row %d: %s" % (number, verdict)
    rows = table_rows()
    assert set(verdicts) == {row_of(name, rows).number for name in set(BEHAVIOURS) - WRITE_BEHAVIOURS - set(UNSEEN_IN_THE_DEMO_TENANT)}
    assert "read only (ENTRA_LIVE_WRITE unset): nothing was written" in run.output


@pytest.mark.heavy
@pytest.mark.playbook
def test_live_check_with_read_permissions_only_counts_predicted_denials_as_working_and_names_what_the_other_kinds_need(graphsim, tmp_path):
    sim = graphsim
    auditor = sim.module_auth(client_id=sim.state.id_of("app", "Read Only Auditor"))
    before = sim.state.snapshot()
    run = run_live_suite(tmp_path, simulator_environment(sim, tmp_path, ENTRA_LIVE_CLIENT_ID=auditor["client_id"],
                                                         ENTRA_LIVE_CLIENT_SECRET=auditor["client_secret"]))

    assert run.named("failure") == {}, run.output[-6000:]
    # Discovery's other include kinds need Directory.Read.All, which this app lacks: those tests stop, naming where to look.
    errors = run.named("error")
    assert set(errors) == {"test_live_modules::test_discovery_with_every_include_kind_returns_each_and_the_same_memberships"} | {
        "test_live_modules::test_access_module_in_check_mode_finds_what_discovery_lists_and_sends_no_write[%s]" % module
        for module in ACCESS_MODULES}, run.output[-6000:]
    assert all("Graph permissions" in message for message in errors.values()), errors
    passed = run.named("passed")
    assert "test_live_role::test_offboard_role_in_check_mode_plans_every_direct_membership_and_sends_no_write" in passed
    assert {"test_live_modules::test_member_module_in_check_mode_would_remove_the_test_user_and_sends_no_write[%s]" % module
            for module in ("entra_group_member", "entra_au_member", "teams_member")} <= set(passed)
    assert sim.log.writes() == [] and sim.state.snapshot() == before
    member_of_permissions = report_verdicts(str(tmp_path / "live-check-report.md"))[row_of("member_of_permissions", table_rows()).number]
    assert [verdict for verdict, _ids in member_of_permissions] == [SEEN]


def test_live_check_with_write_removes_and_puts_back_only_the_dedicated_memberships(graphsim, tmp_path):
    sim = graphsim
    leaver = sim.state.user_id(LEAVER)
    targets = {sim.state.id_of("group", DEDICATED["ENTRA_LIVE_GROUP"]), sim.state.id_of("team", DEDICATED["ENTRA_LIVE_TEAM"]),
               sim.state.id_of("administrativeUnit", DEDICATED["ENTRA_LIVE_ADMINISTRATIVE_UNIT"])}
    before = sim.state.snapshot()
    run = run_live_suite(tmp_path, simulator_environment(sim, tmp_path, ENTRA_LIVE_WRITE="1", **DEDICATED), "tests/live/test_live_write.py")

    assert run.returncode == 0, run.output[-6000:]
    assert len(run.named("passed")) == 3 and len(run.outcomes) == 3, run.outcomes
    assert sim.state.snapshot() == before, "the live check did not put every membership back as it was (the team role included)"
    writes = sim.log.writes()
    assert writes, "the write run sent no write"
    for write in writes:
        touched = {segment for segment in re.split(r"[/?]", write.path) if segment in targets}
        assert len(touched) == 1, "a write outside the dedicated targets: %s %s" % (write.method, write.path)
        assert leaver in write.path or leaver in repr(write.body), "a write about someone else: %s %s" % (write.method, write.path)
    assert all(write.path.endswith("/$ref") for write in writes if write.method == "DELETE")
    verdicts = report_verdicts(str(tmp_path / "live-check-report.md"))
    rows = table_rows()
    # Graph's replication lag (row 39) is the simulator's to switch on: without it a repeated removal is the 404 of row 38.
    for name in WRITE_BEHAVIOURS - {"replication_lag"}:
        seen = verdicts.get(row_of(name, rows).number)
        assert seen and all(verdict == SEEN for verdict, _ids in seen), (name, seen)


def test_live_check_without_its_environment_skips_every_test_naming_each_missing_variable(tmp_path):
    run = run_live_suite(tmp_path, {})
    assert run.returncode == 0, run.output[-4000:]
    assert run.outcomes and set(run.named("skipped")) == set(run.outcomes)
    for message in run.named("skipped").values():
        for name in ("ENTRA_LIVE_TENANT_ID", "ENTRA_LIVE_CLIENT_ID", "ENTRA_LIVE_CLIENT_SECRET or ENTRA_LIVE_CLIENT_CERTIFICATE_PATH", "ENTRA_LIVE_USER"):
            assert name in message, message
    partly = run_live_suite(tmp_path, {"ENTRA_LIVE_TENANT_ID": "contoso.com", "ENTRA_LIVE_CLIENT_SECRET": "not used"})
    reasons = set(partly.named("skipped").values())
    assert len(reasons) == 1 and set(partly.named("skipped")) == set(partly.outcomes), partly.output[-4000:]
    reason, = reasons
    assert "ENTRA_LIVE_CLIENT_ID" in reason and "ENTRA_LIVE_USER" in reason
    assert "ENTRA_LIVE_TENANT_ID" not in reason and "ENTRA_LIVE_CLIENT_SECRET" not in reason
    assert "ENTRA_LIVE_USER is not set: the test user" in partly.output


def test_live_check_with_a_bad_value_stops_before_any_request_naming_the_variable_and_the_value(graphsim, tmp_path):
    run = run_live_suite(tmp_path, simulator_environment(graphsim, tmp_path, ENTRA_LIVE_WRITE="yes"))
    assert run.returncode == 4 and run.outcomes == {}, run.output[-4000:]
    assert "ENTRA_LIVE_WRITE must be 1 (write) or 0 / unset (read only), got 'yes'" in run.output
    assert list(graphsim.log) == [], "a request went out before the settings were checked"


BASE = {"ENTRA_LIVE_TENANT_ID": "contoso.com", "ENTRA_LIVE_CLIENT_ID": "16cb8a19-64ec-5f88-88bd-47403cd36e74",
        "ENTRA_LIVE_CLIENT_SECRET": "s3cret-value", "ENTRA_LIVE_USER": LEAVER}


@pytest.mark.parametrize("changed, named", [
    ({"ENTRA_LIVE_WRITE": "true"}, "ENTRA_LIVE_WRITE must be 1 (write) or 0 / unset (read only), got 'true'"),
    ({"ENTRA_LIVE_SETTLE_SECONDS": "soon"}, "ENTRA_LIVE_SETTLE_SECONDS must be a whole number of seconds from 1 to 3600, got 'soon'"),
    ({"ENTRA_LIVE_SETTLE_SECONDS": "0"}, "ENTRA_LIVE_SETTLE_SECONDS must be a whole number of seconds from 1 to 3600, got '0'"),
    ({"ENTRA_LIVE_CLIENT_CERTIFICATE_PATH": "/nonexistent/app.pem"}, "ENTRA_LIVE_CLIENT_SECRET and ENTRA_LIVE_CLIENT_CERTIFICATE_PATH are both set"),
    ({"ENTRA_LIVE_CLIENT_SECRET": "", "ENTRA_LIVE_CLIENT_CERTIFICATE_PATH": "/nonexistent/app.pem"},
     "ENTRA_LIVE_CLIENT_CERTIFICATE_PATH: client_certificate_path '/nonexistent/app.pem' does not exist"),
    ({"ENTRA_LIVE_CLIENT_CERTIFICATE_PASSWORD": "pw"}, "ENTRA_LIVE_CLIENT_CERTIFICATE_PASSWORD is set without ENTRA_LIVE_CLIENT_CERTIFICATE_PATH"),
    ({"ENTRA_LIVE_TENANT_ID": "contoso com"}, "ENTRA_LIVE_TENANT_ID: tenant_id must be a tenant id (GUID) or a verified domain name, got 'contoso com'"),
    ({"ENTRA_LIVE_CLIENT_ID": "offboarding"}, "ENTRA_LIVE_CLIENT_ID: client_id must be the application (client) id, a GUID, got 'offboarding'"),
    ({"ENTRA_LIVE_USER": "leaver"}, "ENTRA_LIVE_USER must be a user principal name or an object id: 'leaver' is neither"),
    ({"ENTRA_LIVE_GROUP": "0f8fad5b-d9cb-469f-a165-70867728950"},
     "ENTRA_LIVE_GROUP must be an object id or a display name: '0f8fad5b-d9cb-469f-a165-70867728950' is not a valid object id"),
    ({"ENTRA_CA_PATH": "/nonexistent/ca.pem"}, "ENTRA_CA_PATH: ca_path '/nonexistent/ca.pem' does not exist"),
])
def test_live_settings_refuse_a_bad_value_naming_its_variable_and_never_a_secret(changed, named):
    with pytest.raises(LiveSettingsError) as refused:
        read_settings(dict(BASE, **changed))
    assert named in str(refused.value)
    assert "s3cret-value" not in str(refused.value) and "pw" not in str(refused.value).split()


def test_live_settings_read_every_variable_and_keep_credentials_out_of_reprs(tmp_path):
    settings = read_settings(dict(BASE, ENTRA_LIVE_WRITE="1", ENTRA_LIVE_SETTLE_SECONDS="30", ENTRA_LIVE_TEAM="Platform Team",
                                  ENTRA_LIVE_REPORT=str(tmp_path / "r.md"), ENTRA_GRAPH_ENDPOINT="https://graph.example", AZURE_TENANT_ID="other"))
    assert settings.write is True and settings.settle_seconds == 30 and settings.targets == {"team": "Platform Team"}
    assert settings.report_path == str(tmp_path / "r.md") and settings.connection == {"ENTRA_GRAPH_ENDPOINT": "https://graph.example"}
    assert settings.module_auth() == {"tenant_id": "contoso.com", "client_id": BASE["ENTRA_LIVE_CLIENT_ID"], "client_secret": "s3cret-value"}
    assert "s3cret-value" not in repr(settings) and "s3cret-value" not in repr(settings.module_auth())
    assert settings.playbook_environment()["AZURE_CLIENT_SECRET"] == "s3cret-value" and settings.playbook_environment()["AZURE_TENANT_ID"] == "contoso.com"
    assert missing_variables(BASE) == [] and [name for name, _meaning in missing_variables({})] == [
        "ENTRA_LIVE_TENANT_ID", "ENTRA_LIVE_CLIENT_ID", "ENTRA_LIVE_CLIENT_SECRET or ENTRA_LIVE_CLIENT_CERTIFICATE_PATH", "ENTRA_LIVE_USER"]


def test_every_module_that_talks_to_graph_has_a_live_check():
    """Every module of the `graph` action group; the report's action plugins (offboard_report, offboard_restore) write files only."""
    with open(os.path.join(REPO_ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        graph_modules = set(yaml.safe_load(handle)["action_groups"]["graph"])
    assert set(LIVE_CHECKED_MODULES) == graph_modules, "add the new module's check mode to tests/live (live_modules.LIVE_CHECKED_MODULES)"


def test_every_behaviour_the_live_check_reports_names_exactly_one_row_of_graph_compatibility():
    rows = table_rows()
    assert {name: [row.number for row in rows_matching(anchor, rows)] for name, anchor in BEHAVIOURS.items()
            if len(rows_matching(anchor, rows)) != 1} == {}


def test_development_docs_explain_every_live_check_variable():
    with open(os.path.join(REPO_ROOT, "docs", "development.md"), encoding="utf-8") as handle:
        section = handle.read().split("## The live-tenant check", 1)[-1].split("\n## ", 1)[0]
    assert [name for name in VARIABLE_NAMES if "`%s`" % name not in section] == []
