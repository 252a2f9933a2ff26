"""AWX jobs of `playbooks/offboard.yml`, reproduced with ansible-runner against the Graph simulator.

AWX runs a job by laying out a private data directory (`project/`, `inventory/hosts`,
`env/envvars`, `env/extravars`, `env/cmdline`, credential files under `env/`) and handing it to
ansible-runner. These tests build that directory exactly as AWX would for the job template that
docs/awx.md describes: the environment of credential route (a) (AWX's built-in "Microsoft Azure
Resource Manager" credential) or route (b) (docs/awx/credential_type_entra_graph.yml, rendered
by the same rules as AWX's injector), the extra vars of the survey in docs/awx/survey_offboard.json,
and `--check` for Job Type "Check". They read the results the way AWX shows them: from the
runner's event stream and artifacts.

The simulator's address and CA are "site settings" here (AWX: Settings > Jobs > Extra
Environment Variables); a real job has no such variables and talks to Microsoft Graph.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from types import SimpleNamespace

import ansible_runner
import pytest
import yaml
from jinja2 import StrictUndefined
from graphsim import GraphSimulator
from jinja2.sandbox import ImmutableSandboxedEnvironment
from offboard_runs import descendants, leavers_tenant, wait_until_gone, wait_until_quiet
from secretscan import TOKEN_LIKE

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = "playbooks/offboard.yml"
CREDENTIAL_TYPE_FILE = os.path.join(REPO_ROOT, "docs", "awx", "credential_type_entra_graph.yml")
SURVEY_FILE = os.path.join(REPO_ROOT, "docs", "awx", "survey_offboard.json")

MEMBER_MODULES = {"entra.membership.entra_group_member": "group",
                  "entra.membership.entra_au_member": "administrative_unit",
                  "entra.membership.teams_member": "team"}
LEAVER = "leaver@contoso.com"
# The leaver is this team's only owner: removing them is refused, so the survey keeps it.
KEPT_TEAM = "Data Science Guild"

pytestmark = pytest.mark.playbook


# ---------------------------------------------------------------------------------------------
# What AWX does with credentials and surveys, reduced to what a job of this collection sees.
# ---------------------------------------------------------------------------------------------

# AWX refuses these names in a custom credential type's env injector (awx ENV_BLOCKLIST).
AWX_ENV_BLOCKLIST = {"VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
                     "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
                     "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH"}
# The keys an input field may have in every AWX version (newer ones also accept `default`).
AWX_FIELD_KEYS = {"id", "label", "type", "help_text", "secret", "multiline", "format", "choices", "ask_at_runtime"}
_AWX_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
_AWX_FILE_TEMPLATE = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")


def azure_rm_environment(inputs):
    """The environment AWX's built-in "Microsoft Azure Resource Manager" credential injects (awx-plugins' azure_rm injector)."""
    env = {"AZURE_SUBSCRIPTION_ID": inputs.get("subscription", "")}
    if inputs.get("client") and inputs.get("tenant"):
        env.update(AZURE_CLIENT_ID=inputs["client"], AZURE_TENANT=inputs["tenant"], AZURE_SECRET=inputs.get("secret", ""))
    else:
        env.update(AZURE_AD_USER=inputs.get("username", ""), AZURE_PASSWORD=inputs.get("password", ""))
    if "cloud_environment" in inputs:
        env["AZURE_CLOUD_ENVIRONMENT"] = inputs["cloud_environment"]
    return env


def validate_credential_type(credential_type):
    """The checks AWX makes when a custom credential type is saved; returns the problems found."""
    problems = []
    fields = credential_type["inputs"]["fields"]
    ids = [field.get("id") for field in fields]
    for field in fields:
        problems += ["field %s: unknown key %s" % (field.get("id"), key) for key in set(field) - AWX_FIELD_KEYS]
        if not _AWX_NAME.match(field.get("id", "")) or not field.get("label"):
            problems.append("field %r needs a valid id and a label" % field)
        if field.get("type", "string") not in ("string", "boolean"):
            problems.append("field %s: type %s" % (field["id"], field["type"]))
    if len(set(ids)) != len(ids) or "tower" in ids:
        problems.append("field ids must be unique and not 'tower'")
    problems += ["required %s is not a field" % name for name in credential_type["inputs"].get("required", []) if name not in ids]

    injectors = credential_type["injectors"]
    problems += ["unknown injector kind %s" % kind for kind in set(injectors) - {"file", "env", "extra_vars"}]
    problems += ["bad file injector name %s" % name for name in injectors.get("file", {}) if not _AWX_FILE_TEMPLATE.match(name)]
    for name, template in injectors.get("env", {}).items():
        if not _AWX_NAME.match(name) or name.startswith("ANSIBLE_") or name in AWX_ENV_BLOCKLIST:
            problems.append("env var %s is not allowed" % name)
        if not template.isascii():
            problems.append("env var %s: template is not ASCII" % name)

    # Every template must render with every field defined (StrictUndefined), as AWX checks.
    namespace = {field_id: "EXAMPLE" for field_id in ids}
    names = [name.split(".", 1)[1] for name in injectors.get("file", {}) if "." in name]
    namespace["tower"] = SimpleNamespace(filename=SimpleNamespace(**{name: "EXAMPLE_FILENAME" for name in names}))
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for kind in ("file", "env", "extra_vars"):
        for name, template in injectors.get(kind, {}).items():
            try:
                strict.from_string(template).render(**namespace)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # AWX reports any of them
                problems.append("%s %s: %s" % (kind, name, exc))
    return problems


def custom_credential_environment(credential_type, inputs, private_data_dir):
    """AWX's injection of a custom credential type: files under env/ first, then the env templates."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {name: value for name, value in inputs.items() if value}
    files = {}
    for label, template in credential_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        with os.fdopen(handle, "w") as written:
            written.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        files[label.split(".", 1)[1]] = path
    namespace["tower"] = SimpleNamespace(filename=SimpleNamespace(**files))
    return {name: sandbox.from_string(template).render(**namespace) for name, template in credential_type["injectors"]["env"].items()}


def survey_extra_vars(survey, answers):
    """The extra vars AWX passes for survey answers, after its own checks (required, length, choices)."""
    extra_vars = {}
    for question in survey["spec"]:
        variable = question["variable"]
        if question["type"] == "multiselect":
            choices = question["choices"].split("\n")
            value = answers.get(variable, question["default"].split("\n"))
            assert set(value) <= set(choices), "%s: %s not among %s" % (variable, value, choices)
        else:
            value = answers.get(variable, question["default"])
            assert question["min"] <= len(value) <= question["max"], "%s: length out of bounds" % variable
        if question["required"]:
            assert value, "%s is required" % variable
        if value or question["required"]:
            extra_vars[variable] = value
    return extra_vars


def awx_job(tmp_path, env, extra_vars, check, playbook=PLAYBOOK, cancel_callback=None, inventory=None, run=ansible_runner.run, **options):
    """Lay out a private data directory as AWX does for this job template and run it with ansible-runner.

    The job's HOME is in the private data directory, as the execution environment's is in its container:
    gone with the job (docs/awx.md, "Where the reports go"). ``inventory``: what AWX's inventory script prints
    (default: localhost); ``run=ansible_runner.run_async`` starts the job and returns ``(thread, runner)``;
    ``options`` go to ansible-runner (e.g. ``forks``, the job template's Forks).
    """
    private_data_dir = tmp_path / "awx-job"
    env = dict(env, HOME=str(private_data_dir / "home"))
    project = private_data_dir / "project"
    # The project checkout: the collection's repository at the release tag (docs/awx.md, step 2).
    shutil.copytree(os.path.join(REPO_ROOT, "playbooks"), project / "playbooks",
                    ignore=shutil.ignore_patterns("reports", "__pycache__"))
    (private_data_dir / "inventory").mkdir()
    # AWX writes the inventory as an executable script that prints it as JSON.
    hosts = private_data_dir / "inventory" / "hosts"
    inventory = inventory or {"all": {"hosts": ["localhost"]},
                              "_meta": {"hostvars": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}
    hosts.write_text("#! %s\nimport json\nprint(json.dumps(%r))\n" % (sys.executable, inventory))
    hosts.chmod(0o700)
    env_dir = private_data_dir / "env"
    env_dir.mkdir(exist_ok=True)
    (env_dir / "envvars").write_text(yaml.safe_dump(env))
    (env_dir / "extravars").write_text(yaml.safe_dump(extra_vars))
    if check:
        (env_dir / "cmdline").write_text("--check")
    if cancel_callback:
        # How often ansible-runner asks whether the job was cancelled (AWX's receptor worker asks continually).
        (env_dir / "settings").write_text(yaml.safe_dump({"pexpect_timeout": 0.1}))
    return run(private_data_dir=str(private_data_dir), playbook=playbook, ident="1", quiet=True, timeout=600,
               cancel_callback=cancel_callback, **options)


# ---------------------------------------------------------------------------------------------
# Reading a job the way AWX shows it
# ---------------------------------------------------------------------------------------------

def member_results(runner):
    """(module kind, target display name, member) -> the result entry, from the job's events."""
    results = {}
    for event in runner.events:
        data = event.get("event_data", {})
        kind = MEMBER_MODULES.get(data.get("resolved_action"))
        if kind and event["event"] in ("runner_on_ok", "runner_on_failed"):
            for entry in data["res"].get("results", []):
                assert entry["target"]["type"] == kind
                results[(kind, entry["target"]["display_name"], entry["member"])] = entry
    return results


def play_recap(runner):
    stats = [event["event_data"] for event in runner.events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    return {key: sum(stats[0].get(key, {}).values()) for key in ("ok", "changed", "failures", "dark", "skipped")}


def assert_no_secret_in_job_output(runner, private_data_dir, secrets, report_dirs=()):
    shown = [("event %s" % event.get("counter"), json.dumps(event)) for event in runner.events]
    shown.append(("stdout", runner.stdout.read()))
    for reports in [os.path.join(private_data_dir, "home")] + [str(path) for path in report_dirs]:
        for directory, _dirs, files in os.walk(reports):
            for name in files:
                with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as report:
                    shown.append((name, report.read()))
    for where, text in shown:
        for secret in secrets:
            assert secret not in text, "a secret appears in %s" % where
        assert not TOKEN_LIKE.search(text), "an access token appears in %s" % where


# ---------------------------------------------------------------------------------------------
# The shipped AWX objects are what AWX accepts
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def credential_type():
    with open(CREDENTIAL_TYPE_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def survey():
    with open(SURVEY_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def test_credential_type_is_accepted_by_awx_rules(credential_type):
    assert credential_type["kind"] == "cloud"
    assert validate_credential_type(credential_type) == []


def test_survey_asks_for_what_the_role_takes(survey):
    variables = {question["variable"] for question in survey["spec"]}
    assert {"offboard_users", "offboard_exclude_groups", "offboard_exclude_administrative_units",
            "offboard_exclude_teams", "offboard_scopes"} == variables
    with open(os.path.join(REPO_ROOT, "roles", "offboard", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        role_options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert variables <= set(role_options), "survey variables the role does not take: %s" % sorted(variables - set(role_options))


# ---------------------------------------------------------------------------------------------
# The jobs
# ---------------------------------------------------------------------------------------------

def site_settings(sim):
    """Extra environment of the AWX site: where "Microsoft Graph" is, for the simulator only."""
    return {"ENTRA_GRAPH_ENDPOINT": sim.base_url, "AZURE_AUTHORITY_HOST": sim.base_url, "ENTRA_CA_PATH": sim.ca_path}


def survey_answers():
    return {"offboard_users": LEAVER + "\n", "offboard_exclude_teams": KEPT_TEAM}


def test_route_a_check_then_run(graphsim, tmp_path, survey):
    """Azure RM credential: a Check job previews exactly what the Run job then does; nothing else changes."""
    sim = graphsim
    credentials = sim.credentials
    env = {**site_settings(sim), **azure_rm_environment({
        "subscription": "00000000-0000-0000-0000-000000000000", "client": credentials["client_id"],
        "secret": credentials["client_secret"], "tenant": credentials["tenant_id"], "cloud_environment": "AzureCloud"})}
    # The job template's Variables: the reports on a persistent volume (docs/awx.md), here a directory that outlives the jobs.
    volume = tmp_path / "volume" / "reports"
    extra_vars = dict(survey_extra_vars(survey, survey_answers()), offboard_report_dir=str(volume))
    leaver_id = sim.state.user_id(LEAVER)
    before = sim.state.snapshot()

    check = awx_job(tmp_path / "check", env, extra_vars, check=True)
    assert check.status == "successful", check.stdout.read()
    preview = member_results(check)
    assert sim.log.writes() == [] and sim.state.snapshot() == before, "a Check job wrote to the tenant"
    assert {kind for kind, _target, _member in preview} == set(MEMBER_MODULES.values())
    assert all(entry["status"] == "removed" and entry["member_id"] == leaver_id for entry in preview.values())
    assert play_recap(check)["changed"] >= 1 and play_recap(check)["failures"] == 0

    run = awx_job(tmp_path / "run", env, extra_vars, check=False)
    assert run.status == "successful", run.stdout.read()
    done = member_results(run)
    assert {key: entry["status"] for key, entry in done.items()} == {key: entry["status"] for key, entry in preview.items()}
    for entry in done.values():
        assert not sim.state.is_member(entry["target"]["id"], leaver_id), "%s still has the leaver" % entry["target"]
    kept_team = sim.state.id_of("team", KEPT_TEAM)
    assert sim.state.team_role(kept_team, leaver_id) == "owner", "the team the survey kept lost the leaver"
    assert not any(target == KEPT_TEAM for _kind, target, _member in done)
    recap = play_recap(run)
    assert recap["changed"] >= 1 and recap["failures"] == 0 and recap["dark"] == 0
    # The report names the tenant and the cloud the credential chose (AzureCloud is Graph's global cloud).
    (report_path,) = glob.glob(str(volume / "offboard-2*.json"))
    with open(report_path, encoding="utf-8") as report_file:
        report = json.load(report_file)
    assert (report["tenant"], report["cloud"], report["check_mode"]) == (credentials["tenant_id"], "global", False)
    # The job's artifacts (set_stats) carry the report, as AWX stores them for the job and hands them to a workflow's
    # next node as extra variables: a restore job there needs no file that outlived the offboarding job's container.
    (artifacts,) = [event["event_data"]["artifact_data"] for event in run.events if event.get("event") == "playbook_on_stats"]
    assert artifacts["offboard_report"] == report and artifacts["offboard_report_file"].endswith(os.path.basename(report_path))
    restore = awx_job(tmp_path / "restore", env, {"offboard_report": artifacts["offboard_report"]}, check=False, playbook="playbooks/restore.yml")
    assert restore.status == "successful", restore.stdout.read()
    assert sim.state.snapshot() == before, "the workflow's restore job did not bring back every membership"

    for runner, directory in ((check, tmp_path / "check" / "awx-job"), (run, tmp_path / "run" / "awx-job"),
                              (restore, tmp_path / "restore" / "awx-job")):
        assert_no_secret_in_job_output(runner, str(directory), [credentials["client_secret"]], [volume])
    # What docs/awx.md warns about: ansible-runner's own record of the job holds the environment.
    with open(tmp_path / "run" / "awx-job" / "artifacts" / "1" / "command", encoding="utf-8") as command:
        assert json.load(command)["env"]["AZURE_SECRET"] == credentials["client_secret"]


def test_route_b_certificate_run_takes_the_pem_path_from_awxs_file_injector(graphsim, tmp_path, credential_type, survey):
    """The collection's credential type with a PEM certificate: AWX's file injector hands the modules its path."""
    sim = graphsim
    credentials = sim.credentials
    with open(credentials["certificate_path"], encoding="utf-8") as pem:
        certificate = pem.read()
    private_data_dir = tmp_path / "run" / "awx-job"
    (private_data_dir / "env").mkdir(parents=True)
    injected = custom_credential_environment(credential_type, {
        "tenant_id": credentials["tenant_id"], "client_id": credentials["client_id"], "client_secret": "",
        "client_certificate": certificate, "client_certificate_password": "", "cloud": "global"}, str(private_data_dir))
    assert injected["AZURE_CLIENT_SECRET"] == "" and os.path.dirname(injected["AZURE_CLIENT_CERTIFICATE_PATH"]) == str(private_data_dir / "env")
    extra_vars = survey_extra_vars(survey, {**survey_answers(), "offboard_scopes": ["groups", "teams"]})
    leaver_id = sim.state.user_id(LEAVER)

    run = awx_job(tmp_path / "run", {**site_settings(sim), **injected}, extra_vars, check=False)
    assert run.status == "successful", run.stdout.read()
    # No offboard_report_dir: the default is in the job's HOME, which goes with the job's container.
    assert glob.glob(str(private_data_dir / "home" / ".ansible" / "entra.membership" / "reports" / "offboard-2*.json"))
    done = member_results(run)
    assert {kind for kind, _target, _member in done} == {"group", "team"}, "offboard_scopes from the survey was not honoured"
    assert done and all(entry["status"] == "removed" for entry in done.values())
    assert all(not sim.state.is_member(entry["target"]["id"], leaver_id) for entry in done.values())
    token_requests = sim.log.filter(method="POST", path_re=r"/oauth2/v2\.0/token$")
    assert token_requests and all(entry.body.get("client_assertion_type") for entry in token_requests), \
        "the job did not authenticate with the certificate"
    private_key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\n(.+?)\n", certificate).group(1)
    assert_no_secret_in_job_output(run, str(private_data_dir), [private_key])


def test_route_b_secret_check_mode_counts_the_empty_certificate_variables_as_unset(graphsim, tmp_path, credential_type, survey):
    """The collection's credential type with a client secret: the empty certificate variables count as not set."""
    sim = graphsim
    credentials = sim.credentials
    private_data_dir = tmp_path / "check" / "awx-job"
    (private_data_dir / "env").mkdir(parents=True)
    injected = custom_credential_environment(credential_type, {
        "tenant_id": credentials["tenant_id"], "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"]}, str(private_data_dir))
    assert injected["AZURE_CLIENT_CERTIFICATE_PATH"] == "" and injected["ENTRA_CLOUD"] == "global"
    before = sim.state.snapshot()

    check = awx_job(tmp_path / "check", {**site_settings(sim), **injected}, survey_extra_vars(survey, survey_answers()), check=True)
    assert check.status == "successful", check.stdout.read()
    assert member_results(check) and sim.log.writes() == [] and sim.state.snapshot() == before
    assert_no_secret_in_job_output(check, str(private_data_dir), [credentials["client_secret"]])


@pytest.mark.heavy
def test_a_cancelled_job_leaves_its_report_on_the_volume_and_a_restore_job_from_it_is_exact(tmp_path, survey):
    """AWX cancels the job in the middle of the groups: ansible-runner SIGKILLs ansible-playbook's process group. The job
    hands AWX no artifact, but the report on the persistent volume, written before the first write, names every change; the
    job's events hold the plan too. A restore job from the report leaves the tenant exactly as before."""
    spec, (leaver,) = leavers_tenant(leavers=1, groups=60, units=2, teams=2)
    with GraphSimulator(tenant=spec, latency=0.2) as sim:
        credentials = sim.credentials
        env = {**site_settings(sim), **azure_rm_environment({
            "subscription": "00000000-0000-0000-0000-000000000000", "client": credentials["client_id"],
            "secret": credentials["client_secret"], "tenant": credentials["tenant_id"]})}
        volume = tmp_path / "volume" / "reports"
        extra_vars = dict(survey_extra_vars(survey, {"offboard_users": leaver}), offboard_report_dir=str(volume))
        before = sim.state.snapshot()
        group_removals = r"^/v1\.0/groups/[^/]+/members/[^/]+/\$ref$"
        job_processes = set()

        def cancel():
            if sim.log.count(method="DELETE", path_re=group_removals) >= 1:
                job_processes.update(descendants(os.getpid()))
                return True
            return False

        job = awx_job(tmp_path / "run", env, extra_vars, check=False, cancel_callback=cancel)
        assert job.status == "canceled", job.stdout.read()
        # ansible-runner kills ansible-playbook's process group; its workers (their own sessions) end the task they run.
        wait_until_gone(job_processes)
        wait_until_quiet(sim)
        assert not [event for event in job.events if event.get("event") == "playbook_on_stats"], "a cancelled job has no artifacts"
        (report_path,) = glob.glob(str(volume / "offboard-2*.json"))
        with open(report_path, encoding="utf-8") as handle:
            report = json.load(handle)
        assert report["status"] == "running"
        planned = {line["target"]["id"] for line in report["users"][0]["memberships"]}
        assert len(planned) >= 60
        (plan_event,) = [event for event in job.events if event.get("event") == "runner_on_ok"
                         and event["event_data"].get("resolved_action") == "entra.membership.offboard_report"
                         and event["event_data"]["res"].get("work")]
        assert {line["target"]["id"] for line in plan_event["event_data"]["res"]["report"]["users"][0]["memberships"]} == planned

        restore = awx_job(tmp_path / "restore", env, {"restore_report": report_path}, check=False, playbook="playbooks/restore.yml")
        assert restore.status == "successful", restore.stdout.read()
        assert sim.state.snapshot() == before, "the restore job did not undo the cancelled job exactly"
