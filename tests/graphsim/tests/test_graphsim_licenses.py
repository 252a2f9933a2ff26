"""Licenses: subscribedsku-list.md, user-assignlicense.md, licenseassignmentstate.md (group-based licensing)."""
from __future__ import annotations

from .conftest import GraphApi, api_with_roles, assert_graph_error, batch_answers

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"


def assign(api, upn, add=(), remove=()):
    return api.post(f"/users/{upn}/assignLicense", json={"addLicenses": list(add), "removeLicenses": list(remove)})


def plan(sim, name):
    return sim.state.id_of("servicePlan", name)


def test_subscribed_skus_list_part_numbers_plans_and_units(sim, api):
    skus = {s["skuPartNumber"]: s for s in api.all_pages("/subscribedSkus")}
    e3 = skus["ENTERPRISEPACK"]
    assert e3["skuId"] == sim.state.sku_id("ENTERPRISEPACK") == "6fd2c87f-b296-42f0-b197-1e91e994b900"
    assert (e3["consumedUnits"], e3["prepaidUnits"]["enabled"], e3["appliesTo"], e3["capabilityStatus"]) == (2, 25, "User", "Enabled")
    assert "YAMMER_ENTERPRISE" in {p["servicePlanName"] for p in e3["servicePlans"]}
    assert skus["EMS"]["consumedUnits"] == len(sim.state.members(sim.state.id_of("group", "All Staff")))
    selected = api.get("/subscribedSkus", params={"$select": "skuId,skuPartNumber"}).json()["value"]
    assert all(set(s) == {"skuId", "skuPartNumber"} for s in selected)
    assert api.get(f"/subscribedSkus/{e3['id']}").json()["skuPartNumber"] == "ENTERPRISEPACK"
    assert_graph_error(api.get("/subscribedSkus", params={"$filter": "skuPartNumber eq 'EMS'"}), 400, "Request_UnsupportedQuery")


def test_users_show_direct_and_group_based_licenses(sim, api):
    user = api.get(f"/users/{LEAVER}", params={"$select": "assignedLicenses,licenseAssignmentStates,usageLocation"}).json()
    e3, ems, staff = sim.state.sku_id("ENTERPRISEPACK"), sim.state.sku_id("EMS"), sim.state.id_of("group", "All Staff")
    assert user["assignedLicenses"] == [{"disabledPlans": [plan(sim, "YAMMER_ENTERPRISE")], "skuId": e3}, {"disabledPlans": [], "skuId": ems}]
    assert [(s["skuId"], s["assignedByGroup"], s["state"], s["error"]) for s in user["licenseAssignmentStates"]] == [
        (e3, None, "Active", "None"), (ems, staff, "Active", "None")]
    assert api.get(f"/groups/{staff}", params={"$select": "id,assignedLicenses"}).json()["assignedLicenses"] == [
        {"disabledPlans": [], "skuId": ems}]


def test_assign_license_removes_a_direct_license_and_restores_it_with_its_disabled_plans(sim, api):
    leaver, before = sim.state.user_id(LEAVER), sim.state.snapshot()
    e3 = sim.state.sku_id("ENTERPRISEPACK")
    answer = assign(api, LEAVER, remove=[e3])
    assert answer.status_code == 200, answer.text
    assert [lic["skuId"] for lic in answer.json()["assignedLicenses"]] == [sim.state.sku_id("EMS")]
    assert e3 not in sim.state.licenses(leaver)
    assert_graph_error(assign(api, LEAVER, remove=[e3]), 400, "Request_BadRequest", "User does not have a corresponding license.")
    assert assign(api, LEAVER, add=[{"skuId": e3, "disabledPlans": [plan(sim, "YAMMER_ENTERPRISE")]}]).status_code == 200
    assert sim.state.snapshot() == before
    # Adding a sku the user holds replaces its disabled plans.
    assert assign(api, LEAVER, add=[{"skuId": e3, "disabledPlans": []}]).status_code == 200
    assert sim.state.licenses(leaver)[e3]["disabledPlans"] == []


def test_a_group_based_license_cannot_be_removed_from_the_user_only_by_leaving_the_group(sim, api):
    leaver, ems, staff = sim.state.user_id(LEAVER), sim.state.sku_id("EMS"), sim.state.id_of("group", "All Staff")
    assert_graph_error(assign(api, LEAVER, remove=[ems]), 400, "Request_BadRequest",
                       "User license is inherited from group membership and cannot be removed directly from the user.")
    assert api.delete(f"/groups/{staff}/members/{leaver}/$ref").status_code == 204
    assert ems not in sim.state.licenses(leaver)
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{leaver}"}
    assert api.post(f"/groups/{staff}/members/$ref", json=body).status_code == 204
    assert sim.state.licenses(leaver)[ems]["assignedBy"] == [staff]


def test_assign_license_refusals_write_nothing(sim, api):
    before = sim.state.snapshot()
    ghost = "00000000-0000-0000-0000-00000000beef"
    assert_graph_error(assign(api, LEAVER, remove=[ghost]), 400, "Request_BadRequest",
                       f"License {ghost} does not correspond to a valid company License.")
    assert_graph_error(assign(api, LEAVER, add=[{"skuId": ghost}]), 400, "Request_BadRequest")
    bi = sim.state.sku_id("POWER_BI_PRO")
    assert_graph_error(assign(api, "grace@contoso.com", add=[{"skuId": bi}]), 400, "Request_BadRequest",
                       "License assignment cannot be done for user with invalid usage location.")
    assert assign(api, LEAVER2, add=[{"skuId": bi}]).status_code == 200  # the second of two seats
    assert_graph_error(assign(api, LEAVER, add=[{"skuId": bi}]), 400, "Request_BadRequest",
                       f"Subscription with SKU {bi} does not have any available licenses.")
    assert assign(api, LEAVER2, remove=[bi]).status_code == 200
    assert_graph_error(api.post(f"/users/{LEAVER}/assignLicense", json={"addLicenses": []}), 400, "Request_BadRequest",
                       "Invalid value specified for property 'removeLicenses' of resource 'User'.")
    assert_graph_error(assign(api, LEAVER, remove=["ENTERPRISEPACK"]), 400, "Request_BadRequest")
    assert_graph_error(assign(api, LEAVER, add=[{"skuId": sim.state.sku_id("EMS"), "disabledPlans": [plan(sim, "TEAMS1")]}]),
                       400, "Request_BadRequest")
    assert sim.state.snapshot() == before


def test_removing_a_license_another_license_depends_on_fails_with_graphs_reason(sim, api):
    e3, archive = sim.state.sku_id("ENTERPRISEPACK"), sim.state.sku_id("EXCHANGEARCHIVE_ADDON")
    answer = assign(api, LEAVER2, remove=[e3])
    error = assert_graph_error(answer, 400, "Request_BadRequest")
    assert plan(sim, "EXCHANGE_S_ARCHIVE_ADDON") in error["message"] and plan(sim, "EXCHANGE_S_ENTERPRISE") in error["message"]
    assert e3 in sim.state.licenses(sim.state.user_id(LEAVER2))
    assert assign(api, LEAVER2, remove=[e3, archive]).status_code == 200  # both at once is fine
    assert list(sim.state.licenses(sim.state.user_id(LEAVER2))) == [sim.state.sku_id("EMS")]  # All Staff's, inherited


def test_license_permissions_as_documented(sim):
    auditor = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Read Only Auditor")))
    assert auditor.get("/subscribedSkus").status_code == 200  # LicenseAssignment.Read.All
    assert_graph_error(assign(auditor, LEAVER2, remove=[sim.state.sku_id("EXCHANGEARCHIVE_ADDON")]), 403, "Authorization_RequestDenied")
    least = api_with_roles(sim, ["LicenseAssignment.ReadWrite.All"])
    assert assign(least, LEAVER2, remove=[sim.state.sku_id("EXCHANGEARCHIVE_ADDON")]).status_code == 200
    assert_graph_error(api_with_roles(sim, ["User.Read.All"]).get("/subscribedSkus"), 403, "Authorization_RequestDenied")


def test_license_removals_in_one_batch(sim, api):
    leaver, leaver2 = sim.state.user_id(LEAVER), sim.state.user_id(LEAVER2)
    body = {"addLicenses": [], "removeLicenses": [sim.state.sku_id("ENTERPRISEPACK")]}
    answers = batch_answers(api, ("POST", f"/users/{leaver}/assignLicense", body), ("POST", f"/users/{leaver2}/assignLicense", body))
    assert answers["1"]["status"] == 200 and answers["2"]["status"] == 400  # leaver2's archive add-on needs it
    assert sim.state.sku_id("ENTERPRISEPACK") not in sim.state.licenses(leaver)
