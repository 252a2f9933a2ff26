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


# ---------------------------------------------------------------------------------------------
# The kinds beyond memberships (issues 19 and 20): the account, ownership, roles, apps, licenses
# ---------------------------------------------------------------------------------------------

ROLE = "62e90394-69f5-4237-9190-012177145e10"
UNIT_SCOPE = "/administrativeUnits/" + IDS["Germany"]
GRACE = "33333333-3333-3333-3333-333333333333"


def role_entry(scope, assignment_type, end=None):
    return {"id": ROLE, "display_name": "User Administrator", "type": "directory_role", "scope": scope,
            "scope_display_name": "tenant" if scope == "/" else "Germany", "assignment_type": assignment_type,
            "schedule": {"start_date_time": None, "end_date_time": end}, "through": None}


def scoped_plan(**remove):
    planned = plan()
    planned["remove"].update(remove)
    return planned


def test_two_assignments_of_one_role_are_two_lines_answered_by_scope_and_type():
    report = running_report(scoped_plan(directory_role=[role_entry("/", "active"), role_entry(UNIT_SCOPE, "eligible", "2030-06-30T00:00:00Z")]))
    answers = [dict(answer_role, target={"id": ROLE, "display_name": "User Administrator", "type": "directory_role"}, member_id=USER,
                    status=status, error=None, request_id="req")
               for answer_role, status in ((role_entry(UNIT_SCOPE, "eligible", "2030-06-30T00:00:00Z"), "removed"),
                                           (role_entry("/", "active"), "absent"))]
    assert r.record_step(report, "directory_role", [(USER, ROLE)], {"results": answers}) == (2, 2)
    lines = {line["scope"]: line for line in report["users"][0]["memberships"]}
    assert lines[UNIT_SCOPE]["status"] == "removed" and lines["/"]["status"] == "absent"
    assert lines[UNIT_SCOPE]["schedule"]["end_date_time"] == "2030-06-30T00:00:00Z", "the end restore re-creates"


def owner_result(member, status, **extra):
    return dict({"target": {"id": IDS["Team A"], "display_name": "Team A", "type": "group"}, "member": member, "member_id": member,
                 "status": status, "error": None, "request_id": None, "substitute_for": None, "added_as_member": False}, **extra)


def test_the_owners_preview_puts_the_substitute_on_record_and_the_real_answer_confirms_it():
    report = running_report(scoped_plan(group_owner=[{"id": IDS["Team A"], "display_name": "Team A", "type": "group_owner"}]))
    substitute = dict(owner_result(GRACE, "added", substitute_for=[USER], added_as_member=True), member="grace@contoso.com")
    assert r.record_prediction(report, "group_owner", {"results": [owner_result(USER, "removed"), substitute]}) == 1
    lines = report["users"][0]["memberships"]
    assert [(line["target"]["type"], line["status"]) for line in lines] == [("owner_substitute", "planned"), ("group_owner", "planned")]
    assert r.restorable(lines[0]), "a run stopped now may have added the substitute: restore takes it off"
    r.record_step(report, "group_owner", [(USER, IDS["Team A"])], {"results": [owner_result(USER, "removed"), substitute]})
    assert [(line["target"]["type"], line["status"]) for line in report["users"][0]["memberships"]] == [
        ("owner_substitute", "added"), ("group_owner", "removed")], "answered in place, not recorded twice"
    calls = r.restore_plan([report])["calls"]
    assert [(call["type"], call["target"], call["members"]) for call in calls] == [
        ("group_owner", IDS["Team A"], [USER]), ("owner_substitute", IDS["Team A"], [GRACE])]
    assert calls[1]["added_as_member"] is True


def test_a_preview_counts_a_team_handed_over_to_a_substitute_as_removed_not_kept():
    report = running_report(scoped_plan(group_owner=[{"id": IDS["Team A"], "display_name": "Team A", "type": "group_owner"}],
                                        team=[{"id": IDS["Team A"], "display_name": "Team A", "type": "team", "role": "owner"}]))
    report["check_mode"] = True
    r.record_step(report, "group_owner", [(USER, IDS["Team A"])],
                  {"results": [owner_result(USER, "removed"), owner_result(GRACE, "added", substitute_for=[USER])]})
    last_owner = answer("team", "Team A", "failed", error={"status": None, "code": "LastOwner", "message": "only owner"}, role="owner")
    r.record_step(report, "team", [(USER, IDS["Team A"])], {"results": [last_owner]})
    (team,) = [line for line in report["users"][0]["memberships"] if line["target"]["type"] == "team"]
    assert team["status"] == "removed" and report["users"][0]["kept"] == []


def account_line(setting, previous, status="removed"):
    return {"target": {"id": USER, "display_name": "Lee", "type": "account"}, "setting": setting, "previous": previous, "status": status}


@pytest.mark.parametrize("line, restored", [
    (account_line("account_enabled", True), True),
    (account_line("account_enabled", True, "planned"), True),
    (account_line("account_enabled", False, "absent"), False),   # disabled before the run: stays disabled
    (account_line("sign_in_sessions", "2024-01-15T09:00:00Z"), False),  # revoking cannot be undone
])
def test_restore_enables_only_accounts_that_were_enabled_and_never_claims_to_restore_sessions(line, restored):
    assert r.restorable(line) is restored


def test_the_restore_plan_groups_users_by_what_they_had_and_lists_revoked_sessions_as_not_restorable():
    first = scoped_plan(license=[{"id": IDS["Sales"], "display_name": "ENTERPRISEPACK", "type": "license", "disabled_plans": ["p2", "p1"]}])
    second = plan(OTHER, "other@contoso.com")
    second["remove"]["license"] = [{"id": IDS["Sales"], "display_name": "ENTERPRISEPACK", "type": "license", "disabled_plans": ["p1", "p2"]}]
    third = plan("44444444-4444-4444-4444-444444444444", "third@contoso.com")
    third["remove"]["license"] = [{"id": IDS["Sales"], "display_name": "ENTERPRISEPACK", "type": "license", "disabled_plans": []}]
    report = running_report(first, second, third)
    report["users"][0]["memberships"].append(dict(account_line("sign_in_sessions", "t"), note="irreversible"))
    result = r.restore_plan([report])
    assert [(call["members"], call["disabled_plans"]) for call in result["calls"]] == [
        ([USER, OTHER], ["p1", "p2"]), (["44444444-4444-4444-4444-444444444444"], [])], \
        "one call per set of disabled plans: no user gets another's plans"
    assert result["not_restorable"] == [{"user": "leaver@contoso.com", "id": USER, "setting": "sign_in_sessions", "note": "irreversible"}]
    summary = r.restore_summary([], not_restorable=result["not_restorable"])
    assert summary["lines"][-1] == "not restorable: leaver@contoso.com, sign in sessions: irreversible"


def test_access_kept_outside_the_scopes_reads_in_plain_words_and_unknown_when_unreadable():
    report = running_report(plan(), plan(OTHER, "other@contoso.com"))
    found = {"user": "leaver@contoso.com", "id": USER, "found": True, "error": None,
             "directory_roles": [role_entry("/", "active"), role_entry(UNIT_SCOPE, "eligible")],
             "owned_groups": [{"id": IDS["Sales"], "display_name": "Sales"}, {"id": IDS["Finance"], "display_name": "Finance"}],
             "account": {"account_enabled": False}}
    unreadable = {"user": "other@contoso.com", "id": OTHER, "found": True,
                  "error": {"status": 403, "message": "reading roles needs RoleManagement.Read.Directory"}}
    r.record_kept_access(report, ["owned_groups", "directory_roles", "account"], [found, unreadable])
    assert r.kept_access_lines(report["users"][0]) == [
        "owns 2 groups (Sales, Finance)",
        "still User Administrator, User Administrator over Germany, eligible (PIM)",
        "account disabled"]
    assert r.kept_access_lines(report["users"][1]) == [
        "owned_groups, directory_roles, account unknown (outside offboard_scopes, not read: reading roles needs RoleManagement.Read.Directory)"]
    assert report["users"][1]["status"] == "running", "access that cannot be read does not fail the user"
