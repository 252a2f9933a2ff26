"""The report's action plugins without a play: which earlier runs a new run continues, how the work is cut, what restore takes."""
from __future__ import annotations

import os

import pytest

from ansible_collections.entra.membership.plugins.action.offboard_report import ActionModule as ReportAction
from ansible_collections.entra.membership.plugins.action.offboard_restore import given_reports
from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data
from ansible_collections.entra.membership.plugins.plugin_utils import _report_files as files

USER = "11111111-1111-1111-1111-111111111111"
GROUP = "00000000-0000-0000-0000-000000000000"  # the first of plan()'s groups


def plan(user="leaver@contoso.com", user_id=USER, groups=1):
    return {"user": user, "id": user_id, "user_principal_name": user, "error": None, "kept": [],
            "remove": {"team": [], "group": [{"id": "%08d-0000-0000-0000-000000000000" % n, "display_name": "G%d" % n, "type": "group"}
                                             for n in range(groups)], "administrative_unit": []}}


def write_report(directory, run_id, status, plans=(), continues=(), check_mode=False):
    report = report_data.new_report({"run_id": run_id, "started": "2026-11-23T09:00:00Z", "users": [p["user"] for p in plans],
                                     "check_mode": check_mode, "controller": {"host": "elsewhere", "pid": 1}})
    report_data.set_plan(report, list(plans))
    report.update(status=status, continues=[{"run_id": run_id_, "file": None, "status": "interrupted"} for run_id_ in continues])
    files.write_json(files.report_file(str(directory))(report), report, new=True)
    return report


def continued_by(directory, new):
    earlier, already_continued, problems = ReportAction._earlier_reports(str(directory), new)  # pylint: disable=protected-access
    assert problems == []
    return [report["run_id"] for report in earlier
            if report["run_id"] not in already_continued and ReportAction._continues(report, new)]  # pylint: disable=protected-access


def test_a_new_run_continues_each_unfinished_run_of_its_users_once_and_never_an_undone_or_preview_one(tmp_path):
    write_report(tmp_path, "20261123T080000Z-000001", "interrupted", [plan()])
    write_report(tmp_path, "20261123T081000Z-000002", "running", [plan()], continues=["20261123T080000Z-000001"])
    write_report(tmp_path, "20261123T082000Z-000003", "running", [plan("other@contoso.com", "22222222-2222-2222-2222-222222222222")])
    write_report(tmp_path, "20261123T083000Z-000004", "done", [plan()])
    write_report(tmp_path, "20261123T084000Z-000005", "running", [plan()])
    write_report(tmp_path, "20261123T085000Z-000006", "running", [plan()], check_mode=True)   # a preview: never continued
    files.write_json(str(tmp_path / "restore-20261123T086000Z-aaaaaa.json"),
                     {"report_kind": report_data.RESTORE_REPORT_KIND, "restores": [{"run_id": "20261123T084000Z-000005"}]}, new=True)
    new = report_data.set_plan(report_data.new_report({"run_id": "20261123T090000Z-000007", "users": ["leaver@contoso.com"]}), [plan()])
    # 000001 is carried on by 000002; 000003 is someone else's; 000004 finished; 000005 was restored; 000006 is a preview.
    assert continued_by(tmp_path, new) == ["20261123T081000Z-000002"]


def test_an_unreadable_file_in_the_report_directory_is_named_not_fatal(tmp_path):
    (tmp_path / "offboard-20261123T080000Z-000001.json").write_text("{half a report", encoding="utf-8")
    new = report_data.new_report({"run_id": "20261123T090000Z-000002", "users": ["leaver@contoso.com"]})
    earlier, _continued, problems = ReportAction._earlier_reports(str(tmp_path), new)  # pylint: disable=protected-access
    assert earlier == [] and len(problems) == 1 and "offboard-20261123T080000Z-000001.json could not be read" in problems[0]


def test_the_work_is_one_call_per_kind_for_every_user_of_the_host_cut_at_the_chunk_size():
    plans = [plan(groups=3), plan("other@contoso.com", "22222222-2222-2222-2222-222222222222", groups=2),
             dict(plan("ghost@contoso.com", None), error={"code": "UserNotFound"})]
    calls = ReportAction._work(plans, 4)  # pylint: disable=protected-access
    assert [(call["kind"], call["module"], len(call["memberships"]), call["label"]) for call in calls] == [
        ("group", "entra.membership.entra_group_member", 4, "groups 1/2: 4 memberships of 2 users"),
        ("group", "entra.membership.entra_group_member", 1, "groups 2/2: 1 memberships of other@contoso.com")]
    assert calls[0]["memberships"][0] == {"target": GROUP, "member": USER}


def test_plans_come_per_host_in_inventory_mode_or_as_the_one_hosts_list():
    one, two = plan(), plan("other@contoso.com")
    assert ReportAction._plans_by_host([one, two], None) == {"localhost": [one, two]}  # pylint: disable=protected-access
    assert ReportAction._plans_by_host([[one], [two]], ["a", "b"]) == {"a": [one], "b": [two]}  # pylint: disable=protected-access
    with pytest.raises(ValueError, match="2 plan lists for 1 hosts"):
        ReportAction._plans_by_host([[one], [two]], ["a"])  # pylint: disable=protected-access


@pytest.mark.parametrize("given, expected", [
    ("/r/offboard-1.json", ["/r/offboard-1.json"]),
    ("/r/offboard-1.json\n /r/offboard-2.json \n", ["/r/offboard-1.json", "/r/offboard-2.json"]),   # an AWX survey textarea
    (["/r/a, b.json", {"report_kind": "x"}], ["/r/a, b.json", {"report_kind": "x"}]),               # a comma is part of a path
])
def test_restore_takes_a_path_paths_one_per_line_or_reports_as_data(given, expected):
    assert given_reports(given) == expected


@pytest.mark.parametrize("given, message", [
    (None, "restore_report is required"),
    ([], "restore_report must be the path"),
    ([5], "restore_report entries must be paths or reports, got 5"),
])
def test_restore_without_a_usable_report_says_what_to_give(given, message):
    with pytest.raises(report_data.ReportError, match=message):
        given_reports(given)


def test_a_report_file_is_named_after_its_run_and_a_preview_says_so(tmp_path):
    name = files.report_file(str(tmp_path))
    assert name({"run_id": "20261123T090000Z-abcdef"}) == os.path.join(str(tmp_path), "offboard-20261123T090000Z-abcdef.json")
    assert name({"run_id": "x", "check_mode": True}).endswith("offboard-PREVIEW-x.json")
