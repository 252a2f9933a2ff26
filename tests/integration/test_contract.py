"""The public contract (INTERFACE.md) as the modules behave against the Graph simulator.

What INTERFACE.md promises is parsed from it (tests/unit/test_contract_docs.py), not retyped: the
shape of every result of the three member modules, their options as the modules enforce them, the
RETURN documentation covering every key a run returns, and AWX's Azure credential variables being
enough on their own.
"""
from __future__ import annotations

import json
import re

import pytest

from modrun import run_module
from unit.test_contract_docs import auth_options, interface_modules, member_modules, rendered_docs, return_contract, target_options

from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, entra_member_of_info, teams_member

MODULES = {"entra_group_member": entra_group_member, "entra_au_member": entra_au_member, "teams_member": teams_member}
# A changeable target with the leaver in it, for each member module (demo tenant).
TARGETS = {"entra_group_member": ("group", "VPN Users"), "entra_au_member": ("au", "Germany"), "teams_member": ("team", "Support Rotation")}
LEAVER = "leaver@contoso.com"
NOBODY = "nobody@contoso.com"
# Keys Ansible itself adds to any module result (rc: tests/modrun.py's exit code).
ANSIBLE_KEYS = {"changed", "failed", "invocation", "warnings", "deprecations", "rc"}
# The collection's additions to INTERFACE.md's result (it is extended only by adding); each is in RETURN.
ADDED_KEYS = {"graph_stats"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The machine's environment must not feed the options: every variable INTERFACE.md lists is cleared."""
    for row in auth_options().values():
        for name in row["env"]:
            monkeypatch.delenv(name, raising=False)


def run(sim, name, targets, members, check_mode=False, **extra):
    args = dict(sim.module_auth(), **{target_options()[name]: targets, "members": members}, **extra)
    return run_module(MODULES[name], args, check_mode=check_mode)


def assert_interface_shape(result, name, check_mode, sim):
    """Every key and value INTERFACE.md's return block allows, and nothing else."""
    example, allowed, error_keys = return_contract()
    expected_type = dict(zip(member_modules(), allowed["target.type"]))[name]
    assert set(result) - ANSIBLE_KEYS - ADDED_KEYS == set(example) - ANSIBLE_KEYS, sorted(set(result) ^ set(example))
    assert set(result) - set(example) <= (ANSIBLE_KEYS - {"changed"}) | ADDED_KEYS
    assert set(result["summary"]) == set(example["summary"]) == set(allowed["status"])
    statuses = [entry["status"] for entry in result["results"]]
    assert result["summary"] == {status: statuses.count(status) for status in allowed["status"]}
    assert result["changed"] is any(status in ("removed", "added") for status in statuses)
    assert bool(result.get("failed")) is ("failed" in statuses) and result["rc"] == (1 if "failed" in statuses else 0)
    assert result["check_mode"] is check_mode
    assert result["msg"].startswith((name + ": ", name + " (check mode"))
    entry_keys = set(example["results"][0]) - (set() if name == "teams_member" else {"role"})
    request_ids = {entry.request_id for entry in sim.log}
    for entry in result["results"]:
        assert set(entry) == entry_keys
        assert set(entry["target"]) == set(example["results"][0]["target"]) and entry["target"]["type"] == expected_type
        assert entry["status"] in allowed["status"]
        assert entry["error"] is None or set(entry["error"]) == error_keys
        assert (entry["error"] is None) is (entry["status"] != "failed")
        assert entry["request_id"] is None or entry["request_id"] in request_ids
        if check_mode:
            assert entry["request_id"] is None
        elif entry["status"] in ("removed", "added"):
            assert entry["request_id"], entry
        if name == "teams_member":
            assert entry["role"] in ("owner", "member", None)
    documented = set(rendered_docs()[name]["return"])
    assert set(result) - ANSIBLE_KEYS <= documented, "returned but not in RETURN: %s" % (set(result) - ANSIBLE_KEYS - documented)
    assert set(rendered_docs()[name]["return"]["results"]["contains"]) == entry_keys


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_status_comes_in_the_interfaces_shape(graphsim_session, name):
    """removed, absent, failed (a target that is not there); then added and present: each result exactly as INTERFACE.md has it."""
    sim = graphsim_session
    kind, target = TARGETS[name]
    targets = [target, "No Such Target"]
    preview = run(sim, name, targets, [LEAVER, NOBODY], check_mode=True)
    assert sim.log.writes() == []
    removal = run(sim, name, targets, [LEAVER, NOBODY])
    restore = run(sim, name, [target], [LEAVER], state="present")
    again = run(sim, name, [target], [LEAVER], state="present")
    for result, check_mode in ((preview, True), (removal, False), (restore, False), (again, False)):
        assert_interface_shape(result, name, check_mode, sim)
    assert [entry["status"] for entry in preview["results"]] == [entry["status"] for entry in removal["results"]] == [
        "removed", "absent", "failed", "failed"]
    assert [entry["status"] for entry in restore["results"] + again["results"]] == ["added", "present"]
    if name == "teams_member":
        assert [entry["role"] for entry in removal["results"][:2]] == ["member", None]
    assert sim.state.is_member(sim.state.id_of(kind, target), sim.state.user_id(LEAVER))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_secret_options_are_masked_in_the_invocation(graphsim_session, name):
    sim = graphsim_session
    kind, target = TARGETS[name]
    result = run(sim, name, [target], [NOBODY], check_mode=True)
    secret = sim.module_auth()["client_secret"]
    assert result["invocation"]["module_args"]["client_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert secret not in json.dumps(result)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_option_defaults_apply_and_wrong_choices_are_refused(graphsim_session, name):
    sim = graphsim_session
    kind, target = TARGETS[name]
    removal = run(sim, name, [target], [LEAVER])  # state defaults to absent, api_version to v1.0
    assert [entry["status"] for entry in removal["results"]] == ["removed"]
    assert {entry.path.split("/")[1] for entry in sim.log.graph_requests()} == {"v1.0"}
    sim.log.clear()
    beta = run(sim, name, [target], [LEAVER], state="present", api_version="beta")
    assert [entry["status"] for entry in beta["results"]] == ["added"]
    assert {entry.path.split("/")[1] for entry in sim.log.graph_requests()} == {"beta"}
    for option, wrong, choices in (("state", "gone", "absent, present"), ("api_version", "v2.0", "v1.0, beta"), ("role", "guest", "member, owner")):
        result = run(sim, name, [target], [LEAVER], **{option: wrong})
        assert result["rc"] == 1
        if option == "role" and name != "teams_member":
            assert "Unsupported parameters" in result["msg"] and "role" in result["msg"]
        else:
            assert "value of %s must be one of: %s, got: %s" % (option, choices, wrong) in result["msg"]


def test_awx_azure_credential_variables_alone_run_every_module(graphsim_session, monkeypatch):
    """AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT, AZURE_CLOUD_ENVIRONMENT (+ where the simulator is): no auth option at all."""
    sim = graphsim_session
    credentials = sim.credentials
    for variable, value in (("AZURE_CLIENT_ID", credentials["client_id"]), ("AZURE_SECRET", credentials["client_secret"]),
                            ("AZURE_TENANT", sim.tenant_id), ("AZURE_CLOUD_ENVIRONMENT", "AzureCloud"),
                            ("ENTRA_GRAPH_ENDPOINT", sim.base_url), ("AZURE_AUTHORITY_HOST", sim.base_url), ("ENTRA_CA_PATH", sim.ca_path)):
        monkeypatch.setenv(variable, value)
    for name, module in MODULES.items():
        kind, target = TARGETS[name]
        result = run_module(module, {target_options()[name]: [target], "members": [LEAVER]})
        assert result["rc"] == 0 and [entry["status"] for entry in result["results"]] == ["removed"], result
    assert "entra_member_of_info" in interface_modules()
    result = run_module(entra_member_of_info, {"users": [LEAVER]})
    assert result["rc"] == 0 and result["users"][0]["found"] is True, result
    token_requests = sim.log.filter(method="POST", path_re=r"/oauth2/v2\.0/token$")
    assert token_requests and all(entry.path.startswith("/%s/" % sim.tenant_id) for entry in token_requests)


def _documented_keys(entry):
    """The keys a RETURN entry documents: its ``contains``, or the C({...}) its description spells out."""
    keys = set(entry.get("contains") or {})
    description = " ".join([entry["description"]] if isinstance(entry["description"], str) else entry["description"])
    spelled = re.search(r"C\(\{([a-z_, ]+)\}\)", description)
    return keys | ({key.strip() for key in spelled.group(1).split(",")} if spelled else set())


def test_discovery_returns_only_documented_keys(graphsim_session):
    every_kind = rendered_docs()["entra_member_of_info"]["doc"]["options"]["include"]["choices"]
    result = run_module(entra_member_of_info, dict(graphsim_session.module_auth(), users=[LEAVER, NOBODY], include_transitive=True,
                                                   include=every_kind))
    assert result["rc"] == 0 and result["changed"] is False, result
    documented = rendered_docs()["entra_member_of_info"]["return"]
    assert set(result) - ANSIBLE_KEYS <= set(documented)
    user_keys = set(documented["users"]["contains"])
    lists = {key: _documented_keys(entry) for key, entry in documented["users"]["contains"].items() if entry.get("elements") == "dict"}
    seen = set()
    for user in result["users"]:
        assert set(user) <= user_keys, set(user) - user_keys
        for key, entries in user.items():
            if key in lists:
                for entry in entries:
                    seen.add(key)
                    assert set(entry) <= lists[key], (key, set(entry) - lists[key])
    assert seen == set(lists), "the leaver should show every kind of entry: %s" % (set(lists) - seen)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_members_row_empty_list_is_a_no_op_and_duplicates_fold(graphsim_session, name):
    """INTERFACE.md's `members` row: duplicates are folded; an empty list is a no-op (changed=false)."""
    sim = graphsim_session
    kind, target = TARGETS[name]
    empty = run(sim, name, [target], [])
    assert (empty["rc"], empty["changed"], empty["results"]) == (0, False, [])
    assert set(empty["summary"].values()) == {0} and len(sim.log) == 0
    folded = run(sim, name, [target], [LEAVER, LEAVER.upper(), sim.state.user_id(LEAVER)])
    assert [(entry["member"], entry["status"]) for entry in folded["results"]] == [(LEAVER, "removed")]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_graph_stats_count_what_graph_saw_and_the_throttling_waits(graphsim_session, name):
    """graph_stats (an addition to INTERFACE.md) agrees with the simulator's log: requests, $batch envelopes, 429s waited out."""
    sim = graphsim_session
    targets = {"entra_group_member": ["VPN Users", "All Staff"], "entra_au_member": ["Germany"], "teams_member": ["Support Rotation"]}[name]
    sim.faults.add(429, rate=1.0, limit=2, retry_after=0.05, path_re=r"/\$batch$|/members", method=None)
    result = run(sim, name, targets, [LEAVER, "leaver2@contoso.com"])
    assert not result.get("failed"), result
    graph_requests = [entry for entry in sim.log if not entry.in_batch and "/oauth2/" not in entry.path and "/.well-known/" not in entry.path]
    stats = result["graph_stats"]
    assert set(stats) == {"requests", "batches", "retries", "throttled", "waited_seconds"}
    assert stats["requests"] == len(graph_requests)
    # A $batch sent again after a 429 on the whole envelope is one more request, not one more batch.
    assert stats["batches"] == len([entry for entry in graph_requests if entry.path.endswith("/$batch") and entry.status == 200])
    assert stats["throttled"] == len([entry for entry in sim.log if entry.status == 429]) == 2
    assert stats["retries"] >= stats["throttled"] and stats["waited_seconds"] >= 0.1
