"""The offboarding role with the scopes beyond memberships (issues 19 and 20): the account, ownership, directory roles,
app assignments and licenses, each planned, recorded and restored; the account guard; and the access a run leaves
alone, reported as kept.

Each test runs real ansible-playbook subprocesses against the Graph simulator (tests/offboard_runs.py) and judges them
by the simulator's state and request log and by the reports the run wrote. The demo tenant's leaver owns four groups
(the only owner of two: its manager Grace steps in), holds Helpdesk Administrator (privileged, tenant-wide), Groups
Administrator over Germany until 2030, User Administrator eligible over Germany, Password Administrator through the
group Helpdesk Admins, two app assignments and one through All Staff, ENTERPRISEPACK with Yammer disabled and EMS
through All Staff.
"""
from __future__ import annotations

import re

import pytest
from offboard_runs import ansible_playbook, load, reports_in

pytestmark = pytest.mark.playbook

LEAVER = "leaver@contoso.com"
GRACE = "grace@contoso.com"  # the leaver's manager: the substitute owner
MEMBER_REF = re.compile(r"/members(/[^/]+)?/\$ref$")
EVERY_SCOPE = ["account", "owned_groups", "teams", "groups", "app_roles", "directory_roles", "administrative_units", "licenses"]


def actions(report):
    """(type, target, setting/scope/type/substitute) -> status, of every change the run made or would make."""
    return {(line["target"]["type"], line["target"]["display_name"], line.get("setting") or line.get("scope"),
             line.get("assignment_type"), line.get("member")): line["status"]
            for user in report["users"] for line in user["memberships"]}


def of_type(report, kind):
    return [line for user in report["users"] for line in user["memberships"] if line["target"]["type"] == kind]


# Heavy (seven ansible-playbook runs): the guard and "keeps" tests below run the same code paths on every core.
@pytest.mark.heavy
def test_every_scope_preview_run_rerun_restore_twice(graphsim_session, tmp_path):
    """Every scope on: the preview says what the run does, in its order; a re-run writes nothing; restore gives back the
    tenant exactly (sign-in sessions aside: revoking cannot be undone, and the restore says so); restoring again changes nothing."""
    sim = graphsim_session
    state = sim.state
    report_dir = tmp_path / "reports"
    leaver_id, grace_id = state.user_id(LEAVER), state.user_id(GRACE)
    before = state.snapshot()
    offboard_vars = {"offboard_users": [LEAVER], "offboard_report_dir": str(report_dir), "offboard_scopes": EVERY_SCOPE}

    preview = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars, "--check")
    assert preview.returncode == 0, preview.output
    assert sim.log.writes() == [] and state.snapshot() == before, "check mode changed the tenant"
    planned = load(reports_in(report_dir)[0])

    offboard = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars)
    assert offboard.returncode == 0 and offboard.total("failed") == 0, offboard.output
    report_path, = set(reports_in(report_dir)) - {reports_in(report_dir, "offboard-PREVIEW-*.json")[0]}
    report = load(report_path)
    assert report["status"] == "done" and report["options"]["offboard_disable_privileged"] is True
    assert actions(report) == actions(planned), "the preview did not say what the run did"
    # In the run's order: the account, ownership (the substitutes in first), teams, groups, apps, roles, units, licenses.
    kinds = [line["target"]["type"] for line in report["users"][0]["memberships"]]
    order = ["account", "owner_substitute", "group_owner", "team", "group", "app_role", "directory_role", "administrative_unit",
             "license"]
    assert kinds == sorted(kinds, key=order.index) and set(kinds) == set(order)
    assert {line["status"] for line in report["users"][0]["memberships"]} <= {"removed", "added"}

    # The account: sessions revoked, sign-in disabled (the roles went in the same run, so the guard let it).
    account = {line["setting"]: line for line in of_type(report, "account")}
    assert account["sign_in_sessions"]["status"] == "removed" and account["account_enabled"]["previous"] is True
    assert state.users[leaver_id]["accountEnabled"] is False
    # Ownership handed over: Grace (the manager) owns the two groups the leaver owned alone, and is a member of the team.
    assert {line["target"]["display_name"] for line in of_type(report, "group_owner")} == {
        "Data Science Guild", "Legacy App Access", "Platform Team", "VPN Users"}
    substitutes = {line["target"]["display_name"]: line for line in of_type(report, "owner_substitute")}
    assert set(substitutes) == {"Data Science Guild", "Legacy App Access"}
    assert substitutes["Data Science Guild"]["added_as_member"] is True and substitutes["Data Science Guild"]["member_id"] == grace_id
    for name in substitutes:
        assert state.owners[state.id_of("group", name)] == {grace_id}
    # The team the leaver owned alone could be left, once Grace was in.
    assert "Data Science Guild" in {line["target"]["display_name"] for line in of_type(report, "team")}
    roles = {(line["target"]["display_name"], line["scope_display_name"], line["assignment_type"]) for line in of_type(report, "directory_role")}
    assert roles == {("Helpdesk Administrator", "tenant", "active"), ("Groups Administrator", "Germany", "active"),
                     ("User Administrator", "Germany", "eligible")}
    assert {line["target"]["display_name"] for line in of_type(report, "app_role")} == {"Contoso ERP", "Workday"}
    (license_line,) = of_type(report, "license")
    assert license_line["target"]["display_name"] == "ENTERPRISEPACK" and license_line["disabled_plan_names"] == ["YAMMER_ENTERPRISE"]
    # What stays goes through groups (and ends with them) or cannot be changed: kept, with the reason.
    kept = {(item["target"]["type"], item["target"]["display_name"]): item["kept_because"] for item in report["users"][0]["kept"]}
    through_groups = {("directory_role", "Password Administrator"), ("app_role", "Contoso Intranet"), ("license", "EMS")}
    assert {key: kept.get(key) for key in through_groups} == dict.fromkeys(through_groups, "through_group")
    assert "Data Science Guild" not in {name for _kind, name in kept}
    assert "keeps  " not in offboard.output, "nothing is outside the scopes"
    with open(report_path[:-len(".json")] + ".md", encoding="utf-8") as markdown:
        text = markdown.read()
    assert "| directory_role | User Administrator | removed | Germany, eligible |" in text
    assert "| account | Lee Leaver | removed | sign-in sessions (cannot be undone) |" in text

    after_offboard = state.snapshot()
    sim.log.clear()
    rerun = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars)
    assert rerun.returncode == 0 and rerun.total("changed") == 0 and rerun.total("failed") == 0, rerun.output
    assert sim.log.writes() == [] and state.snapshot() == after_offboard

    restore = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": report_path})
    assert restore.returncode == 0 and restore.total("failed") == 0, restore.output
    assert state.snapshot() == before, "restore did not give back the tenant (owners, roles, apps, licenses, account)"
    assert state.users[leaver_id]["accountEnabled"] is True
    assert "Restore: 22 added back, 0 already there, 0 failed; substitutes: 3 taken off, 0 already gone" in restore.output
    assert "not restorable: %s, sign in sessions: irreversible" % LEAVER in restore.output
    (restore_path,) = reports_in(report_dir, "restore-2*.json")
    assert load(restore_path)["not_restorable"][0]["setting"] == "sign_in_sessions"
    sim.log.clear()
    again = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": report_path})
    assert again.returncode == 0 and again.total("changed") == 0, again.output
    assert "Restore: 0 added back, 22 already there, 0 failed; substitutes: 0 taken off, 3 already gone" in again.output
    # The member modules learn "already there" (or "already gone") from Graph's answer to the write, which changes nothing;
    # the other modules read first and send nothing.
    assert all(MEMBER_REF.search(w.path) and not w.applied for w in sim.log.writes()), sim.log.writes()
    assert state.snapshot() == before


def test_the_account_guard_stands_without_directory_roles_and_yields_to_offboard_disable_privileged(graphsim_session, tmp_path):
    """Only the account in scope: the leaver holds Helpdesk Administrator, so disabling is refused (the user fails with the
    module's message; the sessions are revoked all the same); offboard_disable_privileged: true disables it; restore enables it."""
    sim = graphsim_session
    state = sim.state
    report_dir = tmp_path / "reports"
    leaver_id = state.user_id(LEAVER)
    before = state.snapshot()
    offboard_vars = {"offboard_users": [LEAVER], "offboard_report_dir": str(report_dir), "offboard_scopes": "account"}
    guarded = ansible_playbook(sim, tmp_path, "entra.membership.offboard", offboard_vars)
    assert guarded.returncode != 0 and "Offboarding failed for %s" % LEAVER in guarded.output, guarded.output
    assert "holds the privileged directory roles Helpdesk Administrator" in guarded.output
    first = load(reports_in(report_dir)[0])
    account = {line["setting"]: line for line in of_type(first, "account")}
    assert account["account_enabled"]["status"] == "failed" and account["account_enabled"]["error"]["code"] == "PrivilegedAccount"
    assert account["sign_in_sessions"]["status"] == "removed"
    assert state.users[leaver_id]["accountEnabled"] is True and first["options"]["offboard_disable_privileged"] is False
    # Memberships were out of scope: kept, reported, untouched.
    assert {item["kept_because"] for item in first["users"][0]["kept"]} == {"out_of_scope"}
    assert {w.method for w in sim.log.writes()} == {"POST"}, "only the sessions' revocation was sent"

    allowed = ansible_playbook(sim, tmp_path, "entra.membership.offboard", dict(offboard_vars, offboard_disable_privileged=True))
    assert allowed.returncode == 0, allowed.output
    assert state.users[leaver_id]["accountEnabled"] is False
    restore = ansible_playbook(sim, tmp_path, "entra.membership.restore", {"restore_report": reports_in(report_dir, "offboard-2*.json")})
    assert restore.returncode == 0, restore.output
    assert state.users[leaver_id]["accountEnabled"] is True and state.snapshot() == before


def test_a_memberships_only_preview_reports_in_plain_words_the_access_the_user_keeps(graphsim_session, tmp_path):
    """The default scopes change memberships only; the summary and both report files say what else the leaver keeps."""
    sim = graphsim_session
    report_dir = tmp_path / "reports"
    preview = ansible_playbook(sim, tmp_path, "entra.membership.offboard", {"offboard_users": [LEAVER], "offboard_report_dir": str(report_dir)},
                               "--check")
    assert preview.returncode == 0 and sim.log.writes() == [], preview.output
    keeps = [
        "keeps  leaver@contoso.com: account enabled, can sign in",
        "keeps  leaver@contoso.com: owns 4 groups (Data Science Guild, Legacy App Access, Platform Team, VPN Users)",
        "keeps  leaver@contoso.com: still Helpdesk Administrator, Groups Administrator over Germany, "
        "User Administrator over Germany, eligible (PIM), Password Administrator through group 'Helpdesk Admins'",
        "keeps  leaver@contoso.com: assigned to app 'Contoso ERP' (ERP.Approver), app 'Workday' (Employee), "
        "app 'Contoso Intranet' (default access) through group 'All Staff'",
        "keeps  leaver@contoso.com: holds 2 licenses (ENTERPRISEPACK, EMS through group 'All Staff')",
    ]
    for line in keeps:
        assert line in preview.output, preview.output
    path = reports_in(report_dir)[0]
    kept_access = load(path)["users"][0]["kept_access"]
    assert kept_access["error"] is None and kept_access["kinds"] == ["account", "owned_groups", "app_roles", "directory_roles", "licenses"]
    with open(path[:-len(".json")] + ".md", encoding="utf-8") as markdown:
        assert "- still Helpdesk Administrator" in markdown.read()
