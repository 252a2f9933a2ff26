"""When Graph or the path to it misbehaves: retries that run out, a token that expires mid-run, a
permission the app lacks, a proxy's HTML page, an answer slower than ``timeout``, an answer lost
after the write was done. Each ends in a clear per-pair result, the tenant as reported, and a
re-run that finishes the job. (Single-request retries, Retry-After and backoff are in
test_graph_client_transport.py; $batch item retries in test_graph_client_batch.py.)
"""
import copy
import re

import pytest

from graphsim import generate
from graphsim.simulator import load_tenant
from modrun import run_module

from ansible_collections.entra.membership.plugins.module_utils import _graph_client
from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, teams_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
WRITABLE_GROUPS = ["All Staff", "VPN Users", "Legacy App Access", "Marketing"]
TOKEN_REQUESTS = r"/oauth2/v2\.0/token$"


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    """Backoff without Retry-After shrunk to hundredths of a second: the same code path, less waiting."""
    monkeypatch.setattr(_graph_client, "BACKOFF_BASE", 0.01)


def run(sim, module, check_mode=False, client_id=None, **args):
    return run_module(module, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode)


def statuses(result):
    return {(entry["target"]["display_name"], entry["member"]): entry["status"] for entry in result["results"]}


def group_ref_path(sim, name):
    return r"/groups/%s/members/[^/]+/\$ref$" % sim.state.id_of("group", name)


def assert_clear_failure_text(result):
    text = repr(result)
    assert "Traceback" not in text and "<html" not in text.lower() and "<body" not in text.lower()
    for entry in result["results"]:
        if entry["error"]:
            assert len(entry["error"]["message"]) <= 400, entry["error"]["message"]


# -- retries run out ---------------------------------------------------------------------------


def test_pairs_whose_retries_run_out_fail_with_the_last_error_and_a_rerun_finishes(graphsim_session):
    sim = graphsim_session
    members = [LEAVER, LEAVER2]
    sim.faults.add(429, rate=1, path_re=group_ref_path(sim, "VPN Users"), retry_after=0.01)
    sim.faults.add(503, rate=1, path_re=group_ref_path(sim, "Legacy App Access"), retry_after=0.01)
    was_member = {(name, member): sim.state.is_member(sim.state.id_of("group", name), sim.state.user_id(member))
                  for name in WRITABLE_GROUPS for member in members}
    first = run(sim, entra_group_member, groups=WRITABLE_GROUPS, members=members, max_retries=2)
    assert first["failed"] is True and first["changed"] is True
    failed = {pair: entry for pair, entry in zip(statuses(first), first["results"]) if entry["status"] == "failed"}
    # The faulted groups' members; a pair the read showed was no membership is absent without a write.
    assert set(failed) == {(name, member) for name in ("VPN Users", "Legacy App Access") for member in members if was_member[(name, member)]}
    for (name, _member), entry in failed.items():
        expected = (429, "TooManyRequests") if name == "VPN Users" else (503, "ServiceUnavailable")
        assert (entry["error"]["status"], entry["error"]["code"]) == expected and entry["error"]["request_id"]
    # Every pair the faults did not touch says what Graph did; the summary adds up.
    for pair, status in statuses(first).items():
        if pair not in failed:
            assert status == ("removed" if was_member[pair] else "absent"), pair
    assert first["summary"]["failed"] == len(failed) == 3 and sum(first["summary"].values()) == len(first["results"]) == 8
    # Each failed pair was tried exactly 1 + max_retries times.
    for name, member in failed:
        path = "/v1.0/groups/%s/members/%s/$ref" % (sim.state.id_of("group", name), sim.state.user_id(member))
        assert sim.log.count(method="DELETE", path_re=re.escape(path) + "$") == 3
    assert sim.state.is_member(sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER))

    sim.faults.clear()
    again = run(sim, entra_group_member, groups=WRITABLE_GROUPS, members=members, max_retries=2)
    assert again["rc"] == 0 and not again.get("failed")
    for pair, status in statuses(again).items():
        assert status == ("removed" if pair in failed and was_member[pair] else "absent"), pair
    assert not any(sim.state.is_member(sim.state.id_of("group", name), sim.state.user_id(member))
                   for name in WRITABLE_GROUPS for member in members)


def test_a_team_request_whose_retries_run_out_fails_its_members_only(graphsim_session):
    sim = graphsim_session
    support = sim.state.id_of("team", "Support Rotation")
    sim.faults.add(504, rate=1, path_re=r"/teams/%s/members/remove$" % support)
    first = run(sim, teams_member, teams=["Support Rotation", "Sales EMEA"], members=[LEAVER], max_retries=1)
    assert statuses(first) == {("Support Rotation", LEAVER): "failed", ("Sales EMEA", LEAVER): "removed"}
    assert first["results"][0]["error"]["code"] == "GatewayTimeout"
    sim.faults.clear()
    again = run(sim, teams_member, teams=["Support Rotation", "Sales EMEA"], members=[LEAVER])
    assert statuses(again) == {("Support Rotation", LEAVER): "removed", ("Sales EMEA", LEAVER): "absent"}


# -- an answer lost after the write was done ------------------------------------------------------


@pytest.mark.parametrize("kind", ["truncate", 504])
def test_a_removal_whose_answer_was_lost_is_still_reported_removed(graphsim_session, kind):
    """The resent DELETE gets 404 (we removed it the first time): removed, not absent; a non-member stays absent."""
    sim = graphsim_session
    if kind == "truncate":  # the $batch is carried out, its answer cut short
        sim.faults.add("truncate", rate=1, limit=1, path_re=r"/\$batch$", after=1)
    else:  # a gateway gives up; here the simulator did nothing, so the resend does the work: removed either way
        sim.faults.add(504, rate=1, limit=1, path_re=r"/\$batch$", after=1)
    result = run(sim, entra_group_member, groups=WRITABLE_GROUPS + ["Finance Approvers"], members=[LEAVER])
    assert [entry["status"] for entry in result["results"]] == ["removed"] * 4 + ["absent"]
    assert sim.log.count(method="POST", path_re=r"/\$batch$", status=200) >= 2
    if kind == "truncate":
        assert sim.log.count(method="DELETE", status=404) >= 4  # the resent removals, answered "not a member"


def test_a_team_removal_whose_answer_was_lost_is_still_reported_removed(graphsim_session):
    """A gateway's 504 after Teams removed the member (leaver2, not in the team, is absent without a request: the roster
    and the group agree); the resend's 207 NotFound is this run's own removal."""
    sim = graphsim_session
    sim.faults.add(504, rate=1, limit=1, path_re=r"/members/remove$", applied=True)
    result = run(sim, teams_member, teams=["Support Rotation"], members=[LEAVER, LEAVER2])
    assert statuses(result) == {("Support Rotation", LEAVER): "removed", ("Support Rotation", LEAVER2): "absent"}
    assert [(entry.status, entry.fault) for entry in sim.log.filter(path_re=r"/members/remove$")] == [(504, 504), (207, None)]


def test_an_addition_whose_answer_was_lost_is_still_reported_added(graphsim_session):
    sim = graphsim_session
    sim.faults.add("truncate", rate=1, limit=1, path_re=r"/\$batch$", after=1)
    result = run(sim, entra_group_member, groups=["Finance Approvers", "Engineering", "All Staff"], members=[LEAVER], state="present")
    assert [entry["status"] for entry in result["results"]] == ["added", "added", "present"]


# -- the token expires in the middle of a run ------------------------------------------------------


def test_token_expiring_mid_run_is_refreshed_once_and_the_run_completes(graphsim_factory):
    sim = graphsim_factory(tenant=generate.tenant(users=50, big_group_members=5, leaver_groups=60, leaver_aus=0, leaver_teams=0))
    groups = [sim.state.id_of("group", "Leaver Group %04d" % number) for number in range(60)]
    # The first of the three write $batches (after three that read the groups) finds every token issued so far
    # expired; its items answer 401 one by one.
    sim.faults.add("expire_token", rate=1, limit=1, path_re=r"/\$batch$", after=3)
    result = run(sim, entra_group_member, groups=groups, members=[LEAVER], max_concurrency=1)
    assert result["rc"] == 0 and result["summary"]["removed"] == 60, result["msg"]
    assert sim.log.count(path_re=TOKEN_REQUESTS) == 2  # the first token, and one forced refresh after the 401s
    unauthorized = sim.log.filter(status=401)
    assert len(unauthorized) == 20 and {entry.method for entry in unauthorized} == {"DELETE"}
    assert sim.log.count(method="DELETE", status=204) == 60  # each removal done once, by the resent items
    assert not any(sim.state.is_member(group_id, sim.state.user_id(LEAVER)) for group_id in groups)


# -- the app lacks one permission -----------------------------------------------------------------


def test_without_one_permission_only_the_targets_that_need_it_fail(graphsim_session):
    sim = graphsim_session
    app = sim.app()
    sim.set_app_roles(app["client_id"], [role for role in app["roles"] if role not in ("RoleManagement.ReadWrite.Directory", "TeamMember.ReadWrite.All")])
    groups = run(sim, entra_group_member, groups=["Helpdesk Admins"] + WRITABLE_GROUPS, members=[LEAVER])
    assert statuses(groups) == {("Helpdesk Admins", LEAVER): "failed", **{(name, LEAVER): "removed" for name in WRITABLE_GROUPS}}
    error = groups["results"][0]["error"]
    assert error["status"] == 403 and "RoleManagement.ReadWrite.Directory" in error["message"] and "Helpdesk Admins" in error["message"]
    teams = run(sim, teams_member, teams=["Support Rotation", "Sales EMEA"], members=[LEAVER])
    assert set(statuses(teams).values()) == {"failed"}
    for entry in teams["results"]:
        assert entry["error"]["status"] == 403 and "TeamMember.ReadWrite.All" in entry["error"]["message"]
    units = run(sim, entra_au_member, administrative_units=["Germany"], members=[LEAVER])
    assert statuses(units) == {("Germany", LEAVER): "removed"}
    assert sim.state.is_member(sim.state.id_of("group", "Helpdesk Admins"), sim.state.user_id(LEAVER))
    assert sim.state.team_role(sim.state.id_of("team", "Sales EMEA"), sim.state.user_id(LEAVER)) == "member"


# -- a proxy answers HTML ------------------------------------------------------------------------


def test_a_proxy_html_page_is_a_clear_error_without_the_page(graphsim_session):
    sim = graphsim_session
    sim.faults.add("html", rate=1, path_re=group_ref_path(sim, "VPN Users"))
    result = run(sim, entra_group_member, groups=["VPN Users"], members=[LEAVER])  # one write: sent alone, not in a $batch
    assert statuses(result) == {("VPN Users", LEAVER): "failed"}
    error = result["results"][0]["error"]
    assert error["status"] == 502 and error["code"] == "BadGateway"
    assert "HTML page instead of a Graph answer" in error["message"] and "502 Bad Gateway" in error["message"]
    assert_clear_failure_text(result)


def test_a_proxy_html_page_on_the_batch_fails_its_items_clearly(graphsim_session):
    sim = graphsim_session
    sim.faults.add("html", rate=1, path_re=r"/\$batch$", after=1)  # the reads pass, the writes' $batch meets the proxy
    result = run(sim, entra_group_member, groups=WRITABLE_GROUPS, members=[LEAVER])
    assert set(statuses(result).values()) == {"failed"} and result["changed"] is False
    assert all("HTML page instead of a Graph answer" in entry["error"]["message"] for entry in result["results"])
    assert_clear_failure_text(result)
    assert all(sim.state.is_member(sim.state.id_of("group", name), sim.state.user_id(LEAVER)) for name in WRITABLE_GROUPS)


def test_a_proxy_html_page_instead_of_a_token_is_a_clear_auth_error(graphsim_session):
    sim = graphsim_session
    sim.faults.add("html", rate=1, path_re=TOKEN_REQUESTS)
    result = run(sim, entra_group_member, groups=["VPN Users"], members=[LEAVER])
    assert result["failed"] is True and result["rc"] == 1
    assert sim.tenant_id in result["msg"] and "502" in result["msg"], result["msg"]
    assert "Traceback" not in repr(result) and "<html" not in result["msg"].lower() and len(result["msg"]) <= 600
    assert sim.log.writes() == []


# -- slower than timeout -------------------------------------------------------------------------


def test_an_answer_slower_than_timeout_fails_naming_the_timeout(graphsim_session):
    sim = graphsim_session
    sim.faults.add("slow", rate=1, path_re=group_ref_path(sim, "VPN Users"), delay=1.5)
    result = run(sim, entra_group_member, groups=["VPN Users"], members=[LEAVER], timeout=1, max_retries=0)
    (entry,) = result["results"]
    assert entry["status"] == "failed" and entry["error"]["code"] == "Timeout" and entry["error"]["status"] is None
    assert "within 1 seconds (the timeout option)" in entry["error"]["message"]
    assert sim.base_url.split("//")[1] in entry["error"]["message"]


def test_a_slow_answer_is_retried_and_the_removal_reported_once(graphsim_factory):
    """The first DELETE is carried out 4 s after it came, when the client (timeout 3 s) has given up on it; the resend,
    held 2 s, is carried out after it whatever the machine's load (it leaves 3 s + backoff after the first): Graph's
    404 to it is this run's own removal, which the membership read before writing tells apart from "not a member"."""
    sim = graphsim_factory()  # its own simulator: a late answer never lands in another test's tenant
    path = group_ref_path(sim, "VPN Users")
    sim.faults.add("slow", rate=1, limit=1, path_re=path, delay=4)
    sim.faults.add("slow", rate=1, limit=1, path_re=path, delay=2)
    result = run(sim, entra_group_member, groups=["VPN Users"], members=[LEAVER], timeout=3, max_retries=2)
    assert [entry["status"] for entry in result["results"]] == ["removed"] and result["summary"]["removed"] == 1
    assert [entry.status for entry in sim.log.filter(method="DELETE")] == [204, 404]  # the first did it, the resend met it
    assert result["results"][0]["request_id"] == sim.log.filter(method="DELETE")[1].request_id
    assert not sim.state.is_member(sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER))


# -- no write without /$ref under faults (group-delete-members' Caution) ---------------------------


def test_every_write_under_faults_is_a_ref_or_a_teams_action(graphsim_factory):
    spec = copy.deepcopy(load_tenant(None))
    sim = graphsim_factory(tenant=spec, seed=5)
    for offset, kind in enumerate((429, 503, 504, "reset", "truncate")):
        sim.faults.add(kind, rate=0.1, path_re=r"^/(v1\.0|beta)/", retry_after=0.01 if kind in (429, 503) else None, seed=offset)
    run(sim, entra_group_member, groups=WRITABLE_GROUPS, members=[LEAVER, LEAVER2], max_retries=10)
    run(sim, entra_au_member, administrative_units=["Germany", "EMEA Sales"], members=[LEAVER, LEAVER2], max_retries=10)
    run(sim, teams_member, teams=["Support Rotation", "Sales EMEA"], members=[LEAVER, LEAVER2], max_retries=10)
    writes = sim.log.writes()
    assert writes and all(entry.path.endswith(("/$ref", "/members/remove")) for entry in writes)
    assert not [entry for entry in writes if entry.method == "DELETE" and not entry.path.endswith("/$ref")]
    assert sim.destructive_events == []
