"""The demo tenant's access beyond memberships, sim.state's snapshot and helpers for it, and the generator's options."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from graphsim import generate

from .conftest import GraphApi

LEAVER = "leaver@contoso.com"
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_demo_leaver_holds_every_kind_of_access_the_new_modules_remove(sim):
    state, leaver = sim.state, sim.state.user_id(LEAVER)
    owned = {state.groups[g]["displayName"]: sorted(state.users[o]["userPrincipalName"] for o in state.owners_of(g))
             for g in state.owned_groups(leaver)}
    assert owned == {"Legacy App Access": [LEAVER], "VPN Users": [LEAVER, "radia@contoso.com"],
                     "Data Science Guild": [LEAVER], "Platform Team": ["grace@contoso.com", LEAVER]}
    assert state.manager_of(leaver) == state.user_id("grace@contoso.com")
    germany = f"/administrativeUnits/{state.id_of('au', 'Germany')}"
    assert [(r["type"], r["role"], r["directoryScopeId"], r["ends"]) for r in state.role_assignments(leaver)] == [
        ("active", "Groups Administrator", germany, "2030-06-30T00:00:00Z"), ("active", "Helpdesk Administrator", "/", None),
        ("eligible", "User Administrator", germany, None)]
    helpdesk = state.id_of("group", "Helpdesk Admins")
    assert state.is_member(helpdesk, leaver) and [r["role"] for r in state.role_assignments(helpdesk)] == ["Password Administrator"]
    assert state.role_holders("62e90394-69f5-4237-9190-012177145e10") == {state.user_id("frances@contoso.com")}
    assert [a["resourceDisplayName"] for a in state.app_role_assignments(leaver)] == ["Contoso ERP", "Workday"]
    assert [a["resourceDisplayName"] for a in state.app_role_assignments(state.id_of("group", "All Staff"))] == ["Contoso Intranet"]
    licenses = state.licenses(leaver)
    yammer = state.id_of("servicePlan", "YAMMER_ENTERPRISE")
    assert licenses[state.sku_id("ENTERPRISEPACK")] == {"disabledPlans": [yammer], "assignedBy": [None]}
    assert licenses[state.sku_id("EMS")]["assignedBy"] == [state.id_of("group", "All Staff")]
    assert state.account_enabled(leaver) is True and state.holds_privileged_role(leaver)


def test_snapshot_sees_every_kind_of_change_and_a_restore_compares_equal(sim, api):
    leaver, before = sim.state.user_id(LEAVER), sim.state.snapshot()
    legacy, grace = sim.state.id_of("group", "Legacy App Access"), sim.state.user_id("grace@contoso.com")
    erp = sim.state.app_role_assignments(leaver)[0]
    helpdesk = next(r for r in sim.state.role_assignments(leaver) if r["role"] == "Helpdesk Administrator")
    e3 = sim.state.sku_id("ENTERPRISEPACK")
    changes = [
        ("group_owners", lambda: api.post(f"/groups/{legacy}/owners/$ref", json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{grace}"}),
         lambda: api.delete(f"/groups/{legacy}/owners/{grace}/$ref")),
        ("role_assignments", lambda: api.delete(f"/roleManagement/directory/roleAssignments/{helpdesk['id']}"),
         lambda: api.post("/roleManagement/directory/roleAssignments",
                          json={"principalId": leaver, "roleDefinitionId": helpdesk["roleDefinitionId"], "directoryScopeId": "/"})),
        ("app_role_assignments", lambda: api.delete(f"/users/{leaver}/appRoleAssignments/{erp['id']}"),
         lambda: api.post(f"/users/{leaver}/appRoleAssignments",
                          json={"principalId": leaver, "resourceId": erp["resourceId"], "appRoleId": erp["appRoleId"]})),
        ("direct_licenses", lambda: api.post(f"/users/{LEAVER}/assignLicense", json={"addLicenses": [], "removeLicenses": [e3]}),
         lambda: api.post(f"/users/{LEAVER}/assignLicense", json={"addLicenses": [
             {"skuId": e3, "disabledPlans": [sim.state.id_of("servicePlan", "YAMMER_ENTERPRISE")]}], "removeLicenses": []})),
        ("accounts", lambda: api.request("PATCH", f"/users/{LEAVER}", json={"accountEnabled": False}),
         lambda: api.request("PATCH", f"/users/{LEAVER}", json={"accountEnabled": True})),
    ]
    for key, change, undo in changes:
        assert change().status_code in (200, 201, 204), key
        changed = sim.state.snapshot()
        assert changed[key] != before[key] and {k for k in before if before[k] != changed[k]} <= {key, "directory_roles"}, key
        assert undo().status_code in (200, 201, 204), key
        assert sim.state.snapshot() == before, key


def test_snapshot_survives_json_as_the_state_file_writes_it(sim):
    snapshot = sim.state.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot


@pytest.mark.allow_destructive
def test_deleting_a_user_takes_its_roles_app_assignments_licenses_and_manager_links_along(sim, api):
    grace = sim.state.user_id("grace@contoso.com")
    assert api.delete(f"/users/{grace}").status_code == 204
    leaver = sim.state.user_id(LEAVER)
    assert sim.state.manager_of(leaver) is None
    assert grace not in sim.state.owners_of(sim.state.id_of("team", "Platform Team"))
    assert api.delete(f"/users/{leaver}").status_code == 204
    assert sim.state.role_assignments(leaver) == [] and sim.state.app_role_assignments(leaver) == []
    assert leaver not in sim.state.direct_licenses
    consumed = {s["skuPartNumber"]: s["consumedUnits"] for s in api.get("/subscribedSkus").json()["value"]}
    assert consumed["ENTERPRISEPACK"] == 1  # leaver2's


def test_generator_gives_the_leaver_owned_groups_roles_app_assignments_and_licenses(graphsim_factory):
    spec = generate.tenant(users=60, big_group_members=20, leaver_groups=12, leaver_aus=4, leaver_teams=0,
                           owned_groups=6, directory_roles=4, app_assignments=3, licenses=2)
    sim = graphsim_factory(tenant=spec, page_size=5)
    api = GraphApi(sim)
    leaver = sim.state.user_id(LEAVER)
    groups = api.all_pages("/groups", params={"$select": "id", "$expand": "owners($select=id)"})
    assert sum(1 for g in groups if leaver in {o["id"] for o in g["owners"]}) == 6
    roles = api.all_pages("/roleManagement/directory/roleAssignments", params={"$filter": f"principalId eq '{leaver}'"})
    eligible = api.all_pages("/roleManagement/directory/roleEligibilitySchedules", params={"$filter": f"principalId eq '{leaver}'"})
    assert (len(roles), len(eligible)) == (2, 2)
    assert len(api.all_pages(f"/users/{leaver}/appRoleAssignments")) == 3
    assert len(api.get(f"/users/{leaver}", params={"$select": "assignedLicenses"}).json()["assignedLicenses"]) == 2
    with pytest.raises(ValueError, match="owned_groups"):
        generate.tenant(users=10, big_group_members=2, leaver_groups=1, owned_groups=2)


def test_generator_command_line_takes_the_access_options(tmp_path):
    output = tmp_path / "access.yml"
    subprocess.run([sys.executable, "-m", "graphsim.generate", "--users", "20", "--big-group-members", "5", "--leaver-groups", "4",
                    "--leaver-aus", "2", "--leaver-teams", "0", "--owned-groups", "2", "--directory-roles", "2",
                    "--app-assignments", "1", "--licenses", "1", "-o", str(output)],
                   env=dict(os.environ, PYTHONPATH=TESTS_DIR), check=True, timeout=60)
    spec = yaml.safe_load(output.read_text())
    assert len(spec["app_role_assignments"]) == 1 and len(spec["licenses"]) == 1
    assert sum(1 for g in spec["groups"] if LEAVER in g.get("owners", [])) == 2
    assert len([r for r in spec["role_assignments"] if r["principal"] == LEAVER]) == 2
