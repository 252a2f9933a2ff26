"""The entra.membership.offboard_* filters: the role's decisions, as pure functions."""
from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.entra.membership.plugins.filter import offboard as f

USER_ID = "11111111-1111-1111-1111-111111111111"
IDS = {name: "%08d-0000-0000-0000-000000000000" % number for number, name in enumerate(
    ["Sales", "Exec-Board", "Dyn", "Team A", "Team B", "Germany", "Restricted AU", "Nested"], start=1)}


def group(name, **flags):
    return dict({"id": IDS[name], "display_name": name, "type": "group", "is_team": False, "removable": True, "reason": None}, **flags)


def discovered(**overrides):
    user = {
        "user": "leaver@contoso.com", "id": USER_ID, "user_principal_name": "leaver@contoso.com", "display_name": "Lee Leaver",
        "found": True, "error": None,
        "groups": [group("Sales"), group("Exec-Board"), group("Dyn", removable=False, reason="dynamic membership"),
                   group("Team A", is_team=True), group("Team B", is_team=True)],
        "administrative_units": [{"id": IDS["Germany"], "display_name": "Germany", "type": "administrative_unit", "removable": True},
                                 {"id": IDS["Restricted AU"], "display_name": "Restricted AU", "type": "administrative_unit",
                                  "removable": False, "reason": "restricted"}],
        "teams": [{"id": IDS["Team A"], "display_name": "Team A", "type": "team", "role": "owner", "removable": True},
                  {"id": IDS["Team B"], "display_name": "Team B", "type": "team", "role": "member", "removable": True}],
    }
    user.update(overrides)
    return user


def inputs(**raw):
    return f.offboard_inputs(dict({"offboard_users": ["leaver@contoso.com"]}, **raw))


def removal_ids(plan, kind):
    return [target["display_name"] for target in plan["remove"][kind]]


def kept(plan):
    return {entry["target"]["display_name"]: entry["kept_because"] for entry in plan["kept"]}


# --------------------------------------------------------------------------------------- inputs

def test_a_chunk_size_given_as_text_on_the_command_line_is_a_number():
    assert f.offboard_input_problems({"offboard_users": ["a@contoso.com"], "offboard_chunk_size": "40"}) == []


def test_survey_text_becomes_lists():
    result = f.offboard_inputs({"offboard_users": "a@contoso.com\r\n\n b@contoso.com \na@contoso.com\n",
                                "offboard_exclude_teams": "Legacy, Inc.\nExec-*", "offboard_scopes": "groups,teams"})
    assert result["offboard_users"] == ["a@contoso.com", "b@contoso.com"]
    assert result["offboard_exclude_teams"] == ["Legacy, Inc.", "Exec-*"]  # a name with a comma survives one-per-line
    assert result["offboard_scopes"] == ["groups", "teams"]
    assert result["offboard_exclude_groups"] == [] and result["offboard_include_patterns"] == []


@pytest.mark.parametrize("raw, named", [
    ({"offboard_users": " \n "}, "offboard_users"),
    ({"offboard_users": ["a@contoso.com"], "offboard_scopes": ["groups", "licences"]}, "offboard_scopes"),
    ({"offboard_users": ["a@contoso.com"], "offboard_scopes": []}, "offboard_scopes"),
    ({"offboard_users": ["a@contoso.com"], "offboard_exclude_groups": {"Sales": 1}}, "offboard_exclude_groups"),
    ({"offboard_users": ["a@contoso.com", 5]}, "offboard_users"),
    ({"offboard_users": ["a@contoso.com"], "offboard_chunk_size": 0}, "offboard_chunk_size must be a whole number of memberships"),
    ({"offboard_users": ["a@contoso.com"], "offboard_chunk_size": "many"}, "offboard_chunk_size"),
    ({"offboard_users": ["a@contoso.com"], "offboard_chunk_size": True}, "offboard_chunk_size"),
])
def test_bad_inputs_name_the_option_and_value(raw, named):
    with pytest.raises(AnsibleFilterError, match=named):
        f.offboard_inputs(raw)


# --------------------------------------------------------------------------------------- plan

def test_plan_removes_teams_as_teams_and_keeps_unremovable_with_reason():
    plan, = f.offboard_plan({"users": [discovered()]}, inputs())
    assert removal_ids(plan, "team") == ["Team A", "Team B"]
    assert removal_ids(plan, "group") == ["Sales", "Exec-Board"]  # the teams' groups are not removed twice
    assert removal_ids(plan, "administrative_unit") == ["Germany"]
    assert plan["remove"]["team"][0]["role"] == "owner"
    assert kept(plan) == {"Dyn": "unremovable", "Restricted AU": "unremovable"}
    assert {entry["reason"] for entry in plan["kept"]} == {"dynamic membership", "restricted"}


def test_exclusions_by_pattern_name_and_id_and_unused_ones_are_named():
    plan, = f.offboard_plan([discovered()], inputs(offboard_exclude_groups=["exec-*"], offboard_exclude_teams=[IDS["Team B"], "Nope"],
                                                   offboard_exclude_administrative_units="GERMANY"))
    assert kept(plan) == {"Exec-Board": "excluded", "Team B": "excluded", "Germany": "excluded", "Dyn": "unremovable",
                          "Restricted AU": "unremovable"}
    assert "offboard_exclude_groups entry 'exec-*'" in next(e["reason"] for e in plan["kept"] if e["target"]["display_name"] == "Exec-Board")
    assert plan["unmatched_exclusions"] == ["offboard_exclude_teams: Nope"]


def test_scopes_and_include_patterns_limit_the_removal():
    plan, = f.offboard_plan([discovered()], inputs(offboard_scopes=["groups"], offboard_include_patterns=["S*"]))
    assert removal_ids(plan, "group") == ["Sales"]
    assert removal_ids(plan, "team") == removal_ids(plan, "administrative_unit") == []
    assert kept(plan)["Team A"] == "out_of_scope" and kept(plan)["Germany"] == "out_of_scope"
    assert kept(plan)["Exec-Board"] == "not_included"


def test_a_team_group_without_a_team_entry_is_still_a_team():
    plan, = f.offboard_plan([discovered(teams=[])], inputs(offboard_scopes=["groups"]))
    assert removal_ids(plan, "group") == ["Sales", "Exec-Board"]
    assert kept(plan)["Team A"] == "out_of_scope"


def test_unknown_user_and_failed_discovery_are_errors_with_nothing_to_remove():
    unknown, = f.offboard_plan([{"user": "ghost@contoso.com", "id": None, "found": False, "error": None}], inputs())
    assert unknown["error"]["code"] == "UserNotFound" and not any(unknown["remove"].values())
    failed = f.offboard_plan({"failed": True, "msg": "AADSTS7000215: invalid client secret"}, inputs(offboard_users="a@x.com\nb@x.com"))
    assert [plan["user"] for plan in failed] == ["a@x.com", "b@x.com"]
    assert all(plan["error"]["code"] == "DiscoveryFailed" and "AADSTS7000215" in plan["error"]["message"] for plan in failed)


# --------------------------------------------------------------------------------------- outcome and report

def module_result(kind, names, status="removed", **extra):
    results = [dict({"target": {"id": IDS[name], "display_name": name, "type": kind}, "member": USER_ID, "member_id": USER_ID,
                     "status": status, "error": None, "request_id": "req-" + name}, **extra) for name in names]
    return {"changed": status == "removed", "results": results}


def outcome_for(check_mode=False, after=None, **removals):
    plan = f.offboard_plan([discovered()], inputs())
    registered = {"user": "leaver@contoso.com", "teams": {"skipped": True}, "groups": {"skipped": True},
                  "administrative_units": {"skipped": True}}
    registered.update(removals)
    return f.offboard_outcome(plan, [registered], after, check_mode)


def test_outcome_records_status_request_id_and_role():
    entry, = outcome_for(teams=module_result("team", ["Team A", "Team B"], role="owner"),
                         groups=module_result("group", ["Sales", "Exec-Board"]),
                         administrative_units=module_result("administrative_unit", ["Germany"], status="absent"))
    assert entry["status"] == "done"
    assert [(line["target"]["display_name"], line["status"]) for line in entry["memberships"]] == [
        ("Team A", "removed"), ("Team B", "removed"), ("Sales", "removed"), ("Exec-Board", "removed"), ("Germany", "absent")]
    assert entry["memberships"][0]["role"] == "owner" and entry["memberships"][2]["request_id"] == "req-Sales"
    assert entry["summary"] == {"removed": 4, "absent": 1, "failed": 0, "planned": 0, "kept": 2, "unremovable": 2, "carried": 0}
    assert entry["residual"]["error"] == "no residual discovery for this user"


def test_last_owner_refusal_is_kept_as_unremovable_and_a_failed_call_fails_its_targets():
    last_owner = {"status": None, "code": "LastOwner", "message": "the team would have no owner: add another owner first"}
    teams = results_of(module_result("team", ["Team A"], status="failed", error=last_owner), module_result("team", ["Team B"]))
    entry, = outcome_for(teams=teams, groups={"failed": True, "msg": "Authentication failed: AADSTS7000215"})
    assert kept(entry)["Team A"] == "unremovable"
    assert next(item["reason"] for item in entry["kept"] if item["target"]["display_name"] == "Team A") == f.LAST_OWNER_REASON
    assert [line["status"] for line in entry["memberships"] if line["target"]["type"] == "group"] == ["failed", "failed"]
    assert "AADSTS7000215" in entry["memberships"][1]["error"]["message"]
    # Germany was planned but its module call was skipped: no answer is a failure, never a silent success.
    assert entry["memberships"][-1]["status"] == "failed" and entry["status"] == "failed"


def test_residual_lists_nested_groups_and_what_is_still_there():
    nested = dict(group("Nested"), removable=False, reason="reached through nested group membership")
    after = [discovered(groups=[group("Sales"), group("Dyn", removable=False, reason="dynamic membership")], teams=[],
                        administrative_units=[], transitive_groups=[nested])]
    entry, = outcome_for(after=after, groups=module_result("group", ["Sales"], status="failed", error={"message": "Forbidden"}))
    residual = entry["residual"]
    assert residual["as_of"] == "after the removals" and residual["error"] is None
    assert [(r["target"]["display_name"], r["reason"]) for r in residual["remaining"]] == [("Sales", "the removal failed: Forbidden")]
    assert [r["target"]["display_name"] for r in residual["nested_groups"]] == ["Nested"]
    assert {k["target"]["display_name"] for k in residual["kept"]} == {"Dyn", "Restricted AU"}


def test_preview_residual_does_not_list_what_would_be_removed():
    entry, = outcome_for(check_mode=True, after=[discovered(transitive_groups=[])], teams=module_result("team", ["Team A", "Team B"]),
                         groups=module_result("group", ["Sales", "Exec-Board"]),
                         administrative_units=module_result("administrative_unit", ["Germany"]))
    assert entry["residual"]["remaining"] == [] and "preview" in entry["residual"]["as_of"]


RUN = {"run_id": "20261123T090000Z-abc123", "started": "2026-11-23T09:00:00Z", "finished": "2026-11-23T09:00:09Z",
       "tenant": "contoso", "cloud": "global", "run_by": "admin", "check_mode": False, "options": {}}


def test_report_merges_hosts_names_missing_ones_and_common_unused_exclusions():
    done, = outcome_for(teams=module_result("team", ["Team A", "Team B"]), groups=module_result("group", ["Sales", "Exec-Board"]),
                        administrative_units=module_result("administrative_unit", ["Germany"]))
    done["unmatched_exclusions"] = ["offboard_exclude_teams: Nope", "offboard_exclude_groups: Sales"]
    other = dict(done, user="other@contoso.com", unmatched_exclusions=["offboard_exclude_teams: Nope"])
    report = f.offboard_report([[done], [other], None], dict(RUN, hosts=["h1", "h2", "h3"]))
    assert report["summary"]["users"] == 2 and report["summary"]["removed"] == 10
    assert report["status"] == "failed" and report["summary"]["failed"] == 1
    assert report["warnings"] == ["offboard_exclude_teams: Nope matched no membership of any user",
                                  "host h3 stopped before its user was offboarded: see the play output"]
    assert "unmatched_exclusions" not in report["users"][0]
    assert f.offboard_report_name(report) == "offboard-20261123T090000Z-abc123"
    assert f.offboard_report_name(dict(report, check_mode=True)) == "offboard-PREVIEW-20261123T090000Z-abc123"
    markdown = f.offboard_markdown(report)
    assert "| team | Team A | removed |" in markdown and "Restricted AU: unremovable: restricted" in markdown
    summary = f.offboard_summary(report)
    assert any(line.startswith("leaver@contoso.com") and line.endswith("done") for line in summary)
    assert len(summary) < 40


# --------------------------------------------------------------------------------------- restore

def results_of(*calls):
    """One module call's answer made of several kinds of result."""
    return {"results": [entry for call in calls for entry in call["results"]]}


def real_report():
    entry, = outcome_for(teams=results_of(module_result("team", ["Team A"], role="owner"), module_result("team", ["Team B"], role="member")),
                         groups=results_of(module_result("group", ["Sales"]), module_result("group", ["Exec-Board"], status="absent")),
                         administrative_units=module_result("administrative_unit", ["Germany"]))
    return f.offboard_report([[entry]], dict(RUN, hosts=["localhost"]))


def test_restore_plan_re_adds_only_what_was_removed_with_team_roles():
    plan, = f.offboard_restore_plan(json.dumps(real_report()), "r.json")
    assert plan["id"] == USER_ID
    assert plan["team_owner"] == [IDS["Team A"]] and plan["team_member"] == [IDS["Team B"]]
    assert plan["groups"] == [IDS["Sales"]] and plan["administrative_units"] == [IDS["Germany"]]


@pytest.mark.parametrize("change, message", [
    (lambda r: dict(r, check_mode=True), "PREVIEW"),
    (lambda r: dict(r, report_kind="something else"), "not an offboarding report"),
    (lambda r: dict(r, report_version=99), "report_version 99"),
    (lambda r: dict(r, users="nobody"), "no 'users' list"),
    (lambda r: dict(r, users=[dict(r["users"][0], id="not-a-guid")]), "no object id"),
    (lambda r: dict(r, users=[dict(r["users"][0], memberships=[{"target": {"id": "../x", "type": "group"}, "status": "removed"}])]),
     "no valid target"),
])
def test_restore_refuses_bad_reports_naming_the_file(change, message):
    with pytest.raises(AnsibleFilterError, match=message) as raised:
        f.offboard_restore_plan(change(real_report()), "r.json")
    assert "restore_report r.json" in str(raised.value)


def test_restore_refuses_text_that_is_not_json():
    with pytest.raises(AnsibleFilterError, match="restore_report r.json is not a JSON offboarding report"):
        f.offboard_restore_plan("{not json", "r.json")


def test_restore_summary_counts_and_names_failures():
    calls = {"results": [{"item": {"user": "a"}, "results": module_result("group", ["Sales"], status="added")["results"]},
                         {"item": {"user": "b"}, "failed": True, "msg": "403 Forbidden"}, {"skipped": True}]}
    summary = f.offboard_restore_summary([calls, {"skipped": True, "results": []}])
    assert summary["counts"] == {"added": 1, "present": 0, "failed": 1}
    assert summary["lines"] == ["Restore: 1 added back, 0 already there, 1 failed", "FAILED b: 403 Forbidden"]
