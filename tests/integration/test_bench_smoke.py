"""`make bench`'s code at a tiny size, so that `make test` proves it still works.

Request counts only (the simulator's log is deterministic), never seconds: timing belongs to
`make bench` and docs/performance.md, not to a shared CI machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

# pylint: disable=wrong-import-position
import cases  # noqa: E402
import harness  # noqa: E402
import reorganisation  # noqa: E402
import report  # noqa: E402
from harness import Bench, tenant_spec  # noqa: E402

pytestmark = [pytest.mark.playbook, pytest.mark.heavy]

MEMBERS = 40
URI_MEMBERS = 2  # Ansible runs one module process per loop item: a few are enough to prove the playbook


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    # No added latency: the counts do not depend on it, and the test stays short.
    with Bench(tenant_spec(MEMBERS, leaver_groups=2, leaver_aus=1, leaver_teams=1), latency=0.0,
               work_dir=str(tmp_path_factory.mktemp("bench"))) as running:
        yield running


@pytest.fixture(scope="module")
def measurements(bench):
    measured = cases.bulk_removal(bench, MEMBERS, {"entra_group_member": 1, "entra_group_member (process)": 1, "naive client": 1})
    measured += cases.bulk_removal(bench, URI_MEMBERS, {"uri loop": 1})
    measured += cases.throttled(bench, MEMBERS, 1, contender=cases.module_process)  # the playbook ran above
    return {(m.case, m.contender, m.size): m for m in measured}


def test_the_module_batches_resolution_and_removal(measurements):
    for contender in ("entra_group_member", "entra_group_member (process)"):
        measured = measurements[("1", contender, MEMBERS)]
        # A token, MSAL's discovery, the group, then the UPNs 15 to a filter GET (three, in one $batch), the group's members
        # (read before writing: what tells a resent removal's 404 from "not a member"), and 20 removals to a $batch.
        assert measured.requests == [cases.request_ceiling(MEMBERS, constant=4)] == [7], contender
        assert measured.items == [cases.batch_items(MEMBERS)] == [3 + MEMBERS]
        assert measured.tokens == [1] and measured.failures == [0] and measured.module_invocations == [1]


def test_the_module_process_reports_its_own_memory(measurements):
    rss_mb = measurements[("1", "entra_group_member (process)", MEMBERS)].rss_mb[0]
    assert 10 < rss_mb < report.RSS_LIMIT_MB


def test_the_baselines_send_two_requests_per_member(measurements):
    # A token, the group by name, then a GET and a DELETE $ref per member, one after the other.
    assert measurements[("1", "naive client", MEMBERS)].requests == [2 * MEMBERS + 2]
    assert measurements[("1", "uri loop", URI_MEMBERS)].requests == [2 * URI_MEMBERS + 2]
    assert measurements[("1", "naive client", MEMBERS)].items == [0]


def test_throttled_removal_retries_to_the_end(measurements):
    measured = measurements[("4", "entra_group_member", MEMBERS)]
    assert measured.throttled[0] > 0
    assert measured.failures == [0]  # and cases checked every member left the group
    assert measured.waited_seconds[0] >= 1  # graph_stats: each 429 came with Retry-After: 1, and the module slept on it
    assert measured.requests[0] > cases.request_ceiling(MEMBERS, constant=4)


def test_the_report_has_every_case(measurements, tmp_path):
    path = tmp_path / "performance.md"
    growth = [m for m in measurements.values() if m.contender == "entra_group_member (process)"]
    as_growth = [report.Measurement("3", m.contender, size, m.seconds, [cases.request_ceiling(size, constant=4)], m.items, m.tokens, m.rss_mb)
                 for m in growth for size in (10, MEMBERS)]
    report.write(str(path), list(measurements.values()) + as_growth,
                 {"ratio_size": MEMBERS, "large_size": MEMBERS, "case2_skipped": "not in the smoke test", "command": "pytest"},
                 report.datetime.datetime.now(report.datetime.timezone.utc), 1.0)
    text = path.read_text(encoding="utf-8")
    for heading in ("## 1. Bulk removal", "## 2. Offboarding", "## 3. Growth", "## 4. Under throttling"):
        assert heading in text
    assert "| ≤ 60 HTTP requests in all at %d members | %d" % (MEMBERS, cases.request_ceiling(MEMBERS, constant=4)) in text
    slope = (cases.request_ceiling(MEMBERS) - cases.request_ceiling(10)) / (MEMBERS - 10)
    assert "requests grow with slope ≤ 1/20 = 0.05 per membership | %.4f" % slope in text and slope == 1 / 30
    assert os.path.isfile(tmp_path / "performance-growth.png") == ("performance-growth.png" in text)


# -- case 5 (issue 18) at a small size: the role in list mode against the budget -----------------------

REORG_LEAVERS = 30
REORG_GROUPS, REORG_UNITS = 4, 1


def test_a_small_reorganisation_at_the_write_budget_removes_every_membership_once_in_five_module_runs(tmp_path):
    """30 leavers x 5 memberships through playbooks/offboard.yml against the documented budget, time-scaled by 50, its quotas
    by 0.02 (a bucket of 60 writes, then 20 a second): Graph throttles, yet nothing fails, nothing is lost, no write is sent
    twice, and list mode makes one module run per step (discovery, groups, units, residual, and the read of the access the
    leavers keep outside offboard_scopes)."""
    spec = reorganisation.reorganisation_tenant(REORG_LEAVERS, REORG_GROUPS, REORG_UNITS)
    with Bench(spec, latency=0.0, work_dir=str(tmp_path / "reorganisation")) as bench:
        run = reorganisation.reorganise(bench, budget={"time_scale": 50, "quota_scale": 0.02})
    memberships = REORG_LEAVERS * (REORG_GROUPS + REORG_UNITS)
    assert (run["memberships"], run["removed"], run["writes"]) == (memberships, memberships, memberships)
    assert (run["failed"], run["lost"]) == (0, 0)
    assert run["throttled_by"]["app_tenant_writes"] > 0
    assert run["module_runs"] == 5 and run["reports"] == 1
    assert [count for count, _seconds in run["write_calls"]] == [REORG_LEAVERS * REORG_GROUPS, REORG_LEAVERS * REORG_UNITS]


def test_slices_of_a_reorganisation_are_awxs_every_nth_leaver():
    assert reorganisation.slices_of(list("abcdefg"), 3) == [list("adg"), list("be"), list("cf")]


# -- the start-up cost the profile removed (docs/performance.md) stays removed -------------------------

LOADED_PROBE = """
import json, runpy, sys
%s
sys.argv = ["entra_group_member", sys.argv[1]]
try:
    runpy.run_path(%r, run_name="__main__")
finally:
    sys.stderr.write("LOADED " + json.dumps(sorted(name for name in ("msal", "cryptography.x509") if name in sys.modules)))
"""


def run_probed(sim, tmp_path, method, block_msal=False):
    """entra_group_member in check mode as its own process: ``(result, heavy libraries it loaded)``."""
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"groups": ["VPN Users"], "members": ["leaver@contoso.com"], "_ansible_check_mode": True}}),
                    encoding="utf-8")
    # The credential comes from the environment, as AWX injects it; the args file holds none.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AZURE_", "ENTRA_"))}
    env.update(sim.environment(), PYTHONPATH=harness.conftest.COLLECTIONS_ROOT)
    if method == "access_token":
        del env["AZURE_CLIENT_SECRET"]
        env["ENTRA_ACCESS_TOKEN"] = sim.issue_token()
    code = LOADED_PROBE % ("sys.modules['msal'] = None  # as if msal were not installed" if block_msal else "",
                           os.path.join(harness.MODULES_DIR, "entra_group_member.py"))
    completed = subprocess.run([sys.executable, "-c", code, str(args)], capture_output=True, text=True, check=False, env=env)
    return json.loads(completed.stdout), json.loads(completed.stderr.rsplit("LOADED ", 1)[1])


def test_an_access_token_run_loads_neither_msal_nor_cryptography(graphsim, tmp_path):
    result, loaded = run_probed(graphsim, tmp_path, "access_token")
    assert not result.get("failed"), result
    assert result["summary"]["removed"] == 1  # check mode: would remove
    assert loaded == []


def test_a_client_secret_run_loads_msal_but_no_certificate_code(graphsim, tmp_path):
    result, loaded = run_probed(graphsim, tmp_path, "secret")
    assert not result.get("failed"), result
    assert loaded == ["msal"]


def test_a_missing_msal_is_reported_before_any_request(graphsim, tmp_path):
    result, _loaded = run_probed(graphsim, tmp_path, "secret", block_msal=True)
    assert result["failed"] is True
    assert "Failed to import the required Python library (msal)" in result["msg"]
    assert len(graphsim.log) == 0
    result, _loaded = run_probed(graphsim, tmp_path, "access_token", block_msal=True)
    assert not result.get("failed"), result  # a pre-fetched token needs no msal
