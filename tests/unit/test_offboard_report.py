"""The offboarding report as data (plugins/plugin_utils/_offboard_report.py): plan lines, recorded answers, what restore puts back."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as r

USER = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"
IDS = {name: "%08d-0000-0000-0000-000000000000" % number for number, name in enumerate(
    ["Sales", "Finance", "Team A", "Team B", "Germany"], start=1)}


def plan(user_id=USER, upn="leaver@contoso.com", **remove):
    targets = {"team": [], "group": [], "administrative_unit": []}
    for kind, names in remove.items():
        targets[kind] = [dict({"id": IDS[name], "display_name": name, "type": kind}, **({"role": role} if kind == "team" else {}))
                         for name, role in names]
    return {"user": upn, "id": user_id, "user_principal_name": upn, "display_name": "Lee", "error": None, "remove": targets,
            "kept": [], "unmatched_exclusions": []}


def running_report(*plans, run_id="20261123T090000Z-aaaaaa"):
    report = r.new_report({"run_id": run_id, "started": "2026-11-23T09:00:00Z", "users": [p["user"] for p in plans]})
    return r.set_plan(report, list(plans), tenant="contoso")


def answer(kind, name, status="removed", member=USER, **extra):
    return dict({"target": {"id": IDS[name], "display_name": name, "type": kind}, "member": member, "member_id": member,
                 "status": status, "error": None, "request_id": "req-" + name}, **extra)


def pairs(report, kind):
    return [(user["id"], line["target"]["id"]) for user in report["users"] for line in user["memberships"] if line["target"]["type"] == kind]


def statuses(report):
    return {line["target"]["display_name"]: line["status"] for user in report["users"] for line in user["memberships"]}


def test_the_plan_is_a_planned_line_per_removal_in_removal_order_with_the_team_role():
    report = running_report(plan(group=[("Sales", None)], team=[("Team A", "owner")], administrative_unit=[("Germany", None)]))
    lines = report["users"][0]["memberships"]
    assert [(line["target"]["type"], line["status"]) for line in lines] == [
        ("team", "planned"), ("group", "planned"), ("administrative_unit", "planned")]
    assert lines[0]["role"] == "owner" and report["status"] == "running" and report["stage"] == "removal"


def test_a_recorded_answer_replaces_only_the_lines_of_its_call_and_counts_progress():
    report = running_report(plan(group=[("Sales", None), ("Finance", None)]), plan(OTHER, "other@contoso.com", group=[("Sales", None)]))
    done, total = r.record_step(report, "group", [(USER, IDS["Sales"]), (USER, IDS["Finance"])],
                                {"results": [answer("group", "Sales"), answer("group", "Finance", "absent")],
                                 "graph_stats": {"requests": 2, "waited_seconds": 1.5}})
    assert (done, total) == (2, 3)
    assert [line["status"] for line in report["users"][1]["memberships"]] == ["planned"]
    assert report["stats"]["requests"] == 2 and report["stats"]["waited_seconds"] == 1.5 and report["stats"]["module_runs"] == 1


def test_a_call_that_answered_nothing_leaves_its_lines_failed_with_the_modules_message_and_restorable():
    report = running_report(plan(group=[("Sales", None)]))
    r.record_step(report, "group", pairs(report, "group"), {"failed": True, "msg": "Authentication failed: AADSTS7000215"})
    line = report["users"][0]["memberships"][0]
    assert line["status"] == "failed" and "AADSTS7000215" in line["error"]["message"]
    assert r.restorable(line), "a module that died mid-call may have removed it"


def test_a_last_owner_refusal_moves_the_team_to_kept_as_unremovable():
    report = running_report(plan(team=[("Team A", "owner")]))
    refusal = {"status": None, "code": "LastOwner", "message": "no other owner", "request_id": None}
    r.record_step(report, "team", pairs(report, "team"), {"results": [answer("team", "Team A", "failed", error=refusal, role="owner")]})
    user = report["users"][0]
    assert user["memberships"] == [] and user["kept"][0]["kept_because"] == "unremovable" and user["kept"][0]["role"] == "owner"


@pytest.mark.parametrize("line, restored", [
    ({"status": "removed"}, True),
    ({"status": "planned"}, True),                                            # its call never answered
    ({"status": "absent"}, False),                                            # it was not a member
    ({"status": "failed", "error": {"status": None, "code": "NoAnswer"}}, True),
    ({"status": "failed", "error": {"status": 503, "code": "ServiceUnavailable"}}, True),
    ({"status": "failed", "error": {"status": 429, "code": "TooManyRequests"}}, True),
    ({"status": "failed", "error": {"status": 207, "code": "MissingMemberResult"}}, True),
    ({"status": "failed", "error": {"status": 403, "code": "Authorization_RequestDenied"}}, False),
    ({"status": "failed", "error": {"status": 404, "code": "Request_ResourceNotFound"}}, False),
])
def test_restore_puts_back_what_was_removed_or_may_have_been_never_what_graph_refused(line, restored):
    assert r.restorable(dict(line, target={"id": IDS["Sales"], "type": "group"})) is restored


def test_finish_fails_lines_that_never_answered_and_sums_up():
    report = running_report(plan(group=[("Sales", None), ("Finance", None)]))
    r.record_step(report, "group", [(USER, IDS["Sales"])], {"results": [answer("group", "Sales")]})
    r.finish_report(report, "2026-11-23T09:00:10Z")
    assert statuses(report) == {"Sales": "removed", "Finance": "failed"}
    assert report["users"][0]["memberships"][1]["error"]["code"] == "NoAnswer"
    assert report["status"] == "failed" and report["summary"]["removed"] == 1 and report["stats"]["elapsed_seconds"] == 10.0
    assert report["stats"]["removals_per_second"] == 0.1


def test_a_continuing_run_carries_the_stopped_runs_removals_and_names_it():
    stopped = running_report(plan(group=[("Sales", None), ("Finance", None)], team=[("Team A", "owner")]), run_id="20261123T080000Z-000001")
    r.record_step(stopped, "team", pairs(stopped, "team"), {"results": [answer("team", "Team A", role="owner")]})
    stopped["status"] = "interrupted"
    # The new run no longer sees Team A (removed); Sales and Finance are still there.
    new = running_report(plan(group=[("Sales", None), ("Finance", None)]), run_id="20261123T090000Z-000002")
    continued = r.carry_forward(new, [stopped], lambda report: "/reports/offboard-%s.json" % report["run_id"])
    assert continued == [{"run_id": stopped["run_id"], "file": "/reports/offboard-%s.json" % stopped["run_id"], "status": "interrupted"}]
    carried = new["users"][0]["carried"]
    assert {(line["target"]["display_name"], line["status"], line["from_run"]) for line in carried} == {
        ("Team A", "removed", stopped["run_id"]), ("Sales", "planned", stopped["run_id"]), ("Finance", "planned", stopped["run_id"])}
    # Restore from the new report alone puts back Team A (as owner) too; each membership once.
    calls = r.restore_plan([new])["calls"]
    assert [(call["type"], call["memberships"]) for call in calls] == [
        ("group", [{"target": IDS["Sales"], "member": USER}, {"target": IDS["Finance"], "member": USER}]),
        ("team", [{"target": IDS["Team A"], "member": USER, "role": "owner"}])]


def test_a_user_named_by_upn_in_the_stopped_run_is_the_same_user_by_id_later():
    stopped = r.new_report({"run_id": "20261123T080000Z-000001", "users": ["Leaver@Contoso.com"]})  # stopped during discovery
    new = running_report(plan(group=[("Sales", None)]))
    assert r.carry_forward(new, [stopped], lambda report: "f")[0]["run_id"] == stopped["run_id"]
    assert new["users"][0]["carried"] == []


def test_a_re_run_with_nothing_to_do_points_at_the_report_with_the_removals():
    first = running_report(plan(group=[("Sales", None)]), run_id="20261123T080000Z-000001")
    r.record_step(first, "group", pairs(first, "group"), {"results": [answer("group", "Sales")]})
    r.finish_report(first, "2026-11-23T08:00:05Z")
    rerun = running_report(plan())
    r.note_earlier_reports(rerun, [first], lambda report: "offboard-%s.json" % report["run_id"])
    r.finish_report(rerun, "2026-11-23T09:00:01Z")
    assert rerun["users"][0]["earlier_report"] == {"run_id": first["run_id"], "file": "offboard-%s.json" % first["run_id"]}
    line, = [line for line in r.summary_lines(rerun) if line.startswith("leaver@contoso.com")]
    assert line.endswith("(nothing to remove: the removals are in offboard-20261123T080000Z-000001.json)")


def test_restore_plan_of_several_reports_takes_each_membership_once_the_oldest_role_winning():
    older = running_report(plan(team=[("Team A", "owner")]), run_id="20261123T080000Z-000001")
    newer = running_report(plan(team=[("Team A", "member")], group=[("Sales", None)]), run_id="20261123T090000Z-000002")
    other = running_report(plan(OTHER, "other@contoso.com", administrative_unit=[("Germany", None)]), run_id="20261123T090000Z-000003")
    result = r.restore_plan([older, newer, other])
    assert [(call["type"], call["memberships"], call["label"]) for call in result["calls"]] == [
        ("administrative_unit", [{"target": IDS["Germany"], "member": OTHER}], "administrative_units 1/1: 1 memberships of 1 user"),
        ("group", [{"target": IDS["Sales"], "member": USER}], "groups 1/1: 1 memberships of 1 user"),
        ("team", [{"target": IDS["Team A"], "member": USER, "role": "owner"}], "teams 1/1: 1 memberships of 1 user")]
    assert result["memberships"] == 3
    assert result["users"] == [{"id": USER, "user": "leaver@contoso.com"}, {"id": OTHER, "user": "other@contoso.com"}]


def test_restore_calls_take_every_user_together_and_are_bounded_by_the_chunk_size():
    reports = [running_report(plan(group=[("Sales", None), ("Finance", None)]),
                              plan(OTHER, "other@contoso.com", group=[("Sales", None), ("Finance", None)]))]
    calls = r.restore_plan(reports, chunk_size=3)["calls"]
    assert [(len(call["memberships"]), call["label"]) for call in calls] == [
        (3, "groups 1/2: 3 memberships of 2 users"), (1, "groups 2/2: 1 memberships of 1 user")]


@pytest.mark.parametrize("change, message", [
    (lambda report: dict(report, report_kind="other"), "not an offboarding report"),
    (lambda report: dict(report, report_version=3), "report_version 3 is not supported"),
    (lambda report: dict(report, users={}), "no 'users' list"),
    (lambda report: dict(report, users=[dict(report["users"][0], id=None)]), "no object id"),
    (lambda report: dict(report, users=[dict(report["users"][0], carried=[{"target": {"id": "x", "type": "group"}}])]), "no valid target"),
])
def test_a_report_restore_cannot_trust_is_refused_naming_its_source(change, message):
    report = running_report(plan(group=[("Sales", None)]))
    with pytest.raises(r.ReportError, match=message) as raised:
        r.load_report(change(copy.deepcopy(report)), "restore_report r.json")
    assert "restore_report r.json" in str(raised.value)


def test_a_version_1_report_is_read_as_its_statuses_say():
    version_1 = {"report_kind": r.REPORT_KIND, "report_version": 1, "run_id": "x", "users": [
        {"user": "leaver@contoso.com", "id": USER, "memberships": [
            dict(answer("group", "Sales"), status="removed"), dict(answer("group", "Finance"), status="absent")]}]}
    (call,) = r.restore_plan([r.load_report(version_1, "v1.json")])["calls"]
    assert call["memberships"] == [{"target": IDS["Sales"], "member": USER}]


def test_the_markdown_of_an_unfinished_run_says_so_and_lists_carried_lines():
    stopped = running_report(plan(group=[("Sales", None)]), run_id="20261123T080000Z-000001")
    new = running_report(plan(group=[("Finance", None)]))
    r.carry_forward(new, [stopped], lambda report: "f")
    markdown = r.markdown(new)
    assert "**This run did not finish (running).**" in markdown
    assert "| group | Sales | planned |  |  |  | 20261123T080000Z-000001 |" in markdown
    assert "- Continues run 20261123T080000Z-000001 (running)" in markdown
