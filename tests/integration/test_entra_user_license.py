"""entra_user_license against the Graph simulator over HTTPS, run in-process (tests/modrun.py).

Endpoints: subscribedsku-list, user-assignlicense; licenseAssignmentStates (licenseassignmentstate) tell direct assignments
from those a group gives (group-based licensing).
"""
import json

import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_user_license

LEAVER = "leaver@contoso.com"      # ENTERPRISEPACK directly (YAMMER_ENTERPRISE disabled), EMS through All Staff
# leaver2: ENTERPRISEPACK and EXCHANGEARCHIVE_ADDON directly (the add-on's plan needs Exchange from ENTERPRISEPACK), EMS through All Staff
LEAVER2 = "leaver2@contoso.com"
YAMMER = "7547a3fe-08ee-4ccb-b430-5077c5041653"


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_user_license, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def rows(result):
    return [(entry["member"], entry["target"]["display_name"], entry["status"]) for entry in result["results"]]


def licenses(sim, upn):
    """{part number: (disabled plans, how)} the user holds, how 'direct' or the group's id."""
    held = sim.state.licenses(sim.state.user_id(upn))
    names = {sku["skuId"]: sku["skuPartNumber"] for sku in sim.state.skus.values()}
    return {names[sku]: (sorted(entry["disabledPlans"]), tuple("direct" if by is None else by for by in entry["assignedBy"]))
            for sku, entry in held.items()}


def test_all_direct_licenses_go_the_group_one_is_reported_and_a_rerun_sends_no_write(graphsim_session):
    sim = graphsim_session
    all_staff = sim.state.id_of("group", "All Staff")
    first = run(sim, users=[LEAVER])
    assert first["rc"] == 0 and first["changed"] is True
    assert rows(first) == [(LEAVER, "ENTERPRISEPACK", "removed"), (LEAVER, "EMS", "skipped")]
    assert first["msg"] == "entra_user_license: 1 removed, 1 skipped across 1 principal"
    removed, inherited = first["results"]
    assert removed["disabled_plans"] == [YAMMER] and removed["disabled_plan_names"] == ["YAMMER_ENTERPRISE"]
    assert removed["target"]["id"] == sim.state.sku_id("ENTERPRISEPACK") and removed["through"] is None
    assert inherited["through"] == {"id": all_staff, "display_name": "All Staff", "type": "group"} and inherited["error"] is None
    assert "held through group 'All Staff'" in inherited["reason"] and "entra_group_member" in inherited["reason"]
    assert licenses(sim, LEAVER) == {"EMS": ([], (all_staff,))}
    assert [(entry.method, entry.path.rsplit("/", 1)[-1]) for entry in sim.log.writes()] == [("POST", "assignLicense")]
    assert sim.log.writes()[0].body == {"addLicenses": [], "removeLicenses": [sim.state.sku_id("ENTERPRISEPACK")]}

    count = len(sim.log.writes())
    again = run(sim, users=[LEAVER])
    assert again["changed"] is False and rows(again) == [(LEAVER, "EMS", "skipped")]
    assert len(sim.log.writes()) == count


def test_a_license_given_by_a_group_is_reported_and_never_removed_even_when_named(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[LEAVER], skus=["EMS"])
    assert result["rc"] == 0 and result["changed"] is False and rows(result) == [(LEAVER, "EMS", "skipped")]
    assert result["results"][0]["through"]["display_name"] == "All Staff"
    assert sim.log.writes() == [] and "EMS" in licenses(sim, LEAVER)


def test_a_sku_held_directly_and_through_a_group_loses_only_its_direct_assignment(graphsim_session):
    sim = graphsim_session
    all_staff = sim.state.id_of("group", "All Staff")
    given = run(sim, users=[LEAVER], skus=["EMS"], state="present")   # a direct EMS on top of the group's
    assert rows(given) == [(LEAVER, "EMS", "added")] and licenses(sim, LEAVER)["EMS"][1] == ("direct", all_staff)
    result = run(sim, users=[LEAVER], skus=["EMS"])
    assert rows(result) == [(LEAVER, "EMS", "removed"), (LEAVER, "EMS", "skipped")]
    assert licenses(sim, LEAVER)["EMS"] == ([], (all_staff,))


def test_check_mode_writes_nothing_and_predicts_the_real_run_diff_included(graphsim_session):
    sim = graphsim_session
    args = dict(users=[LEAVER, LEAVER2, "nobody@contoso.com"])
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, diff=True, **args)
    assert sim.log.writes() == [] and sim.state.snapshot() == before and check["check_mode"] is True
    real = run(sim, diff=True, **args)
    assert rows(check) == rows(real) == [(LEAVER, "ENTERPRISEPACK", "removed"), (LEAVER, "EMS", "skipped"),
                                         (LEAVER2, "ENTERPRISEPACK", "removed"), (LEAVER2, "EXCHANGEARCHIVE_ADDON", "removed"),
                                         (LEAVER2, "EMS", "skipped"), ("nobody@contoso.com", None, "absent")]
    assert check["summary"] == real["summary"] and check["diff"] == real["diff"]
    assert check["diff"][0]["before"] == {"sku": ["ENTERPRISEPACK (disabled: YAMMER_ENTERPRISE)"]} and check["diff"][0]["after"] == {"sku": []}
    # One request per user, all of the user's skus together.
    assert sorted(len(entry.body["removeLicenses"]) for entry in sim.log.writes()) == [1, 2]


def test_restoring_from_the_results_gives_back_the_tenant_exactly_disabled_plans_included(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    removal = run(sim, users=[LEAVER, LEAVER2])
    removed = [entry for entry in removal["results"] if entry["status"] == "removed"]
    assert len(removed) == 3
    for entry in removed:
        back = run(sim, users=[entry["member_id"]], skus=[entry["target"]["id"]], disabled_plans=entry["disabled_plans"], state="present")
        assert [result["status"] for result in back["results"]] == ["added"], back
    assert sim.state.snapshot() == before
    assert licenses(sim, LEAVER)["ENTERPRISEPACK"] == ([YAMMER], ("direct",))
    again = run(sim, users=[LEAVER], skus=["ENTERPRISEPACK"], state="present")
    assert again["changed"] is False and rows(again) == [(LEAVER, "ENTERPRISEPACK", "present")]
    assert again["results"][0]["disabled_plan_names"] == ["YAMMER_ENTERPRISE"]   # what it holds, left as it is


def test_a_removal_graph_refuses_fails_with_graphs_reason_and_changes_nothing(graphsim_session):
    sim = graphsim_session
    before = licenses(sim, LEAVER2)
    result = run(sim, users=[LEAVER2], skus=["ENTERPRISEPACK"])
    assert result["rc"] == 1 and rows(result) == [(LEAVER2, "ENTERPRISEPACK", "failed")]
    error = result["results"][0]["error"]
    assert error["status"] == 400 and "depend on the service plan" in error["message"] and result["results"][0]["request_id"]
    assert licenses(sim, LEAVER2) == before
    # Removed together with the add-on that depends on it, it goes.
    together = run(sim, users=[LEAVER2], skus=["ENTERPRISEPACK", "EXCHANGEARCHIVE_ADDON"])
    assert rows(together) == [(LEAVER2, "ENTERPRISEPACK", "removed"), (LEAVER2, "EXCHANGEARCHIVE_ADDON", "removed")]
    assert set(licenses(sim, LEAVER2)) == {"EMS"}


def test_a_removal_whose_answer_was_lost_is_reported_removed_when_its_retry_finds_nothing(graphsim_session):
    sim = graphsim_session
    sim.faults.add(504, path_re=r"/assignLicense$", applied=True, limit=1)   # carried out, then answered 504: the client sends it again
    result = run(sim, users=[LEAVER2])
    assert rows(result) == [(LEAVER2, "ENTERPRISEPACK", "removed"), (LEAVER2, "EXCHANGEARCHIVE_ADDON", "removed"), (LEAVER2, "EMS", "skipped")]
    assert sim.log.count(method="POST", path_re=r"/assignLicense$") == 2 and set(licenses(sim, LEAVER2)) == {"EMS"}


def test_skus_are_found_by_id_and_by_part_number_in_any_case(graphsim_session):
    sim = graphsim_session
    by_id = run(sim, check_mode=True, users=[LEAVER], skus=[sim.state.sku_id("ENTERPRISEPACK").upper()])
    by_name = run(sim, check_mode=True, users=[LEAVER], skus=["enterprisepack"])
    assert rows(by_id) == rows(by_name) == [(LEAVER, "ENTERPRISEPACK", "removed")]


@pytest.mark.parametrize("args, message", [
    (dict(skus=["ENTERPRISEPAK"]), "skus: the tenant subscribes to no sku with the part number 'ENTERPRISEPAK'; did you mean 'ENTERPRISEPACK'?"),
    (dict(skus=["0b4b7c2e-1d3f-4e5a-8b6c-7d8e9f0a1b2c"]), "skus: the tenant subscribes to no sku with the id '0b4b7c2e-1d3f-4e5a-8b6c-7d8e9f0a1b2c'"),
    (dict(skus=["ENTERPRISEPACK"], disabled_plans=["BI_AZURE_P2"], state="present"),
     "disabled_plans: 'BI_AZURE_P2' is not a service plan of ENTERPRISEPACK (their plans: EXCHANGE_S_ENTERPRISE"),
    (dict(skus=["all_direct"], state="present"), "skus: 'all_direct' is only for state=absent"),
    (dict(skus=["all_direct", "EMS"]), "skus: 'all_direct' stands alone"),
    (dict(skus=[""]), "skus: '' is not valid: it is empty"),
    (dict(skus=["ENTERPRISEPACK"], disabled_plans=["YAMMER_ENTERPRISE"]), "disabled_plans: only for state=present"),
])
def test_bad_skus_and_plans_fail_the_task_naming_them_before_any_write(graphsim_session, args, message):
    sim = graphsim_session
    result = run(sim, users=[LEAVER], **args)
    assert result["rc"] == 1 and result["msg"].startswith(message), result["msg"]
    assert sim.log.writes() == []


def test_without_a_license_write_permission_check_mode_and_the_real_run_fail_naming_it(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Read Only Auditor")   # LicenseAssignment.Read.All, User.Read.All
    check = run(sim, check_mode=True, client_id=app, users=[LEAVER])
    real = run(sim, client_id=app, users=[LEAVER])
    assert [entry["status"] for entry in check["results"]] == [entry["status"] for entry in real["results"]] == ["failed", "skipped"]
    for result in (check, real):
        assert "it needs LicenseAssignment.ReadWrite.All" in result["results"][0]["error"]["message"]
    assert real["results"][0]["error"]["status"] == 403 and "ENTERPRISEPACK" in licenses(sim, LEAVER)


def test_the_least_privileged_permissions_suffice(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, ["User.Read.All", "LicenseAssignment.ReadWrite.All"])
    result = run(sim, client_id=app, users=[LEAVER])
    assert rows(result) == [(LEAVER, "ENTERPRISEPACK", "removed"), (LEAVER, "EMS", "skipped")]
    assert result["results"][1]["through"]["display_name"] is None   # no group read: the group is named by its id only


def test_without_a_sku_read_permission_the_task_fails_naming_it_before_any_write(graphsim_session):
    sim = graphsim_session
    app = sim.state.id_of("app", "Restricted Offboarding")
    sim.set_app_roles(app, ["User.Read.All", "User.ReadWrite.All"])
    result = run(sim, client_id=app, users=[LEAVER])
    assert result["rc"] == 1 and "GET /subscribedSkus" in result["msg"] and "needs LicenseAssignment.Read.All" in result["msg"]
    assert sim.log.writes() == []


def test_assigning_to_a_user_without_usage_location_fails_and_check_mode_foresees_it(graphsim_session):
    sim = graphsim_session
    args = dict(users=["ada@contoso.com"], skus=["EMS"], state="present")
    check = run(sim, check_mode=True, **args)
    real = run(sim, **args)
    assert rows(check) == rows(real) == [("ada@contoso.com", "EMS", "failed")]
    assert "usageLocation" in check["results"][0]["error"]["message"]
    assert "usage location" in real["results"][0]["error"]["message"] and real["results"][0]["error"]["status"] == 400


def test_no_seat_left_fails_and_check_mode_foresees_it(graphsim_session):
    sim = graphsim_session
    assert rows(run(sim, users=[LEAVER], skus=["POWER_BI_PRO"], state="present")) == [(LEAVER, "POWER_BI_PRO", "added")]   # the last seat
    check = run(sim, check_mode=True, users=[LEAVER2], skus=["POWER_BI_PRO"], state="present")
    real = run(sim, users=[LEAVER2], skus=["POWER_BI_PRO"], state="present")
    assert rows(check) == rows(real) == [(LEAVER2, "POWER_BI_PRO", "failed")]
    assert "does not have any available licenses" in real["results"][0]["error"]["message"]


def test_a_user_that_does_not_exist_holds_nothing_and_cannot_be_given_a_license(graphsim_session):
    sim = graphsim_session
    gone = run(sim, users=["nobody@contoso.com"])
    assert gone["rc"] == 0 and rows(gone) == [("nobody@contoso.com", None, "absent")]
    given = run(sim, users=["nobody@contoso.com"], skus=["EMS"], state="present")
    assert given["rc"] == 1 and rows(given) == [("nobody@contoso.com", None, "failed")]
    assert sim.log.writes() == []


def test_a_group_given_as_a_user_is_refused(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=[sim.state.id_of("group", "All Staff")])
    assert result["rc"] == 1 and result["results"][0]["error"]["code"] == "NotAUser" and sim.log.writes() == []


def test_bad_users_fail_before_any_request_and_no_secret_shows(graphsim_session):
    sim = graphsim_session
    result = run(sim, users=["leaver@@contoso.com"])
    assert result["rc"] == 1 and result["msg"].startswith("users:") and "leaver@@contoso.com" in result["msg"]
    assert sim.log.graph_requests() == []
    shown = json.dumps(result)
    assert not [secret for secret in sim.secrets() if secret in shown]
