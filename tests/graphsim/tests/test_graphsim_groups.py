"""Groups and administrative units: reads, $ref writes, refusals, the no-$ref deletion, replication lag."""
from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

from graphsim.pytest_plugin import destructive_failure

from .conftest import EVENTUAL, GraphApi, assert_graph_error

LEAVER = "leaver@contoso.com"
NOT_FOUND = "Resource '{}' does not exist or one of its queried reference-property objects are not present."
ALREADY = "One or more added object references already exist for the following modified properties: 'members'."


def ref(sim, member_id, host="https://graph.microsoft.com", collection="directoryObjects"):
    return {"@odata.id": f"{host}/v1.0/{collection}/{member_id}"}


def test_group_by_id_and_by_display_name(sim, api):
    sales = sim.state.id_of("group", "Sales")
    answer = api.get(f"/groups/{sales}")
    assert answer.json()["displayName"] == "Sales"
    for flag in ("groupTypes", "membershipRule", "membershipRuleProcessingState", "mailEnabled", "securityEnabled", "mail",
                 "onPremisesSyncEnabled", "isAssignableToRole", "resourceProvisioningOptions"):
        assert flag in answer.json()
    assert "isManagementRestricted" not in answer.json()
    listed = api.get("/groups", params={"$filter": "displayName eq 'Sales'"}).json()["value"]
    assert [g["id"] for g in listed] == [sales]
    quoted = api.get("/groups", params={"$filter": "displayName eq 'Partners'' Portal'"}).json()["value"]
    assert [g["displayName"] for g in quoted] == ["Partners' Portal"]
    assert api.get("/groups", params={"$filter": "displayName eq 'No Such Group'"}).json()["value"] == []


def test_beta_shows_is_management_restricted(sim, beta):
    board = sim.state.id_of("group", "Executive Board")
    assert beta.get(f"/groups/{board}").json()["isManagementRestricted"] is True


def test_group_kinds_carry_their_flags(sim, api):
    def flags(name):
        return api.get(f"/groups/{sim.state.id_of('group', name)}").json()
    assert flags("All Employees (dynamic)")["groupTypes"] == ["DynamicMembership"]
    assert flags("All Employees (dynamic)")["membershipRule"] == '(user.userType -eq "Member")'
    assert flags("CORP-FileShare-RW")["onPremisesSyncEnabled"] is True
    assert (flags("Security Alerts")["mailEnabled"], flags("Security Alerts")["securityEnabled"]) == (True, True)
    assert (flags("All Hands DL")["mailEnabled"], flags("All Hands DL")["securityEnabled"]) == (True, False)
    assert flags("Helpdesk Admins")["isAssignableToRole"] is True
    assert flags("Marketing")["groupTypes"] == ["Unified"]
    assert flags("Platform Team")["resourceProvisioningOptions"] == ["Team"]


def test_invalid_and_missing_group_ids(sim, api):
    assert_graph_error(api.get("/groups/not-a-guid"), 400, "Request_BadRequest", "Invalid object identifier 'not-a-guid'.")
    ghost = "00000000-0000-0000-0000-00000000dead"
    assert_graph_error(api.get(f"/groups/{ghost}"), 404, "Request_ResourceNotFound", NOT_FOUND.format(ghost))


def test_members_are_typed_paged_and_castable(graphsim_factory):
    small = graphsim_factory(page_size=2)
    api = GraphApi(small)
    engineering = small.state.id_of("group", "Engineering")
    first = api.get(f"/groups/{engineering}/members").json()
    assert len(first["value"]) == 2 and first["@odata.nextLink"].startswith(small.base_url + "/v1.0/groups/")
    everything = api.all_pages(f"/groups/{engineering}/members")
    assert {m["@odata.type"] for m in everything} == {"#microsoft.graph.user", "#microsoft.graph.group"}
    assert len(everything) == 4
    users = api.all_pages(f"/groups/{engineering}/members/microsoft.graph.user", params={"$select": "id,userPrincipalName", "$count": "true"},
                          headers=EVENTUAL)  # a cast is an advanced query (group-list-members)
    assert len(users) == 3 and all(set(u) == {"@odata.type", "id", "userPrincipalName"} for u in users)
    assert_graph_error(api.get(f"/groups/{engineering}/members/microsoft.graph.device"), 400, "Request_UnsupportedQuery")
    assert_graph_error(api.get(f"/groups/{engineering}/members/microsoft.graph.nonsense"), 400, "BadRequest")
    marketing = small.state.id_of("group", "Marketing")  # Microsoft 365 groups have no group members
    assert_graph_error(api.get(f"/groups/{marketing}/members/microsoft.graph.group"), 400, "Request_UnsupportedQuery")
    owners = api.all_pages(f"/groups/{engineering}/owners")
    assert [o["userPrincipalName"] for o in owners] == ["ada@contoso.com"]


def test_seed_000_ref_delete_then_not_a_member(sim, api):
    group = sim.state.id_of("group", "VPN Users")
    leaver = sim.state.user_id(LEAVER)
    answer = api.delete(f"/groups/{group}/members/{leaver}/$ref")
    assert answer.status_code == 204 and answer.content == b""
    assert not sim.state.is_member(group, leaver)
    again = api.delete(f"/groups/{group}/members/{leaver}/$ref")
    assert_graph_error(again, 404, "Request_ResourceNotFound", NOT_FOUND.format(group))  # names the TARGET
    ghost_group = "00000000-0000-0000-0000-00000000beef"
    assert_graph_error(api.delete(f"/groups/{ghost_group}/members/{leaver}/$ref"), 404, "Request_ResourceNotFound",
                       NOT_FOUND.format(ghost_group))
    assert sim.destructive_events == []


def test_ref_post_adds_then_already_exists(sim, api):
    group = sim.state.id_of("group", "Finance Approvers")
    leaver = sim.state.user_id(LEAVER)
    assert api.post(f"/groups/{group}/members/$ref", json=ref(sim, leaver)).status_code == 204
    assert sim.state.is_member(group, leaver)
    assert sim.log[-1].body == ref(sim, leaver) and sim.log[-1].bind_hosts == ["https://graph.microsoft.com"]
    assert_graph_error(api.post(f"/groups/{group}/members/$ref", json=ref(sim, leaver)), 400, "Request_BadRequest", ALREADY)
    ghost = "00000000-0000-0000-0000-0000000000aa"
    assert_graph_error(api.post(f"/groups/{group}/members/$ref", json=ref(sim, ghost)), 404, "Request_ResourceNotFound",
                       NOT_FOUND.format(ghost))


def test_ref_post_accepts_national_cloud_and_own_hosts_only(sim, api):
    group = sim.state.id_of("group", "Finance Approvers")
    for n, host in enumerate(("https://graph.microsoft.us", "https://dod-graph.microsoft.us",
                              "https://microsoftgraph.chinacloudapi.cn", sim.base_url)):
        member = sim.state.user_id(["ada@contoso.com", "alan@contoso.com", "grace@contoso.com", "ken@contoso.com"][n])
        assert api.post(f"/groups/{group}/members/$ref", json=ref(sim, member, host, "users")).status_code == 204
        assert sim.log[-1].bind_hosts == [host.lower()]
    answer = api.post(f"/groups/{group}/members/$ref", json=ref(sim, sim.state.user_id(LEAVER), "https://evil.example.com"))
    assert_graph_error(answer, 400, "BadRequest")
    assert not sim.state.is_member(group, sim.state.user_id(LEAVER))
    assert_graph_error(api.post(f"/groups/{group}/members/$ref", data="{not json", headers={"Content-Type": "application/json"}),
                       400, "BadRequest")


@pytest.mark.parametrize("name, status, code, message", [
    ("All Employees (dynamic)", 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    ("CORP-FileShare-RW", 400, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered "
                                                     "Directory Sync objects or objects currently undergoing migration."),
    ("Security Alerts", 400, "Request_BadRequest", "Cannot Update a mail-enabled security groups and or distribution list."),
    ("All Hands DL", 400, "Request_BadRequest", "Cannot Update a mail-enabled security groups and or distribution list."),
    ("Executive Board", 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
])
def test_targets_graph_will_not_change(sim, api, name, status, code, message):
    group = sim.state.id_of("group", name)
    leaver = sim.state.user_id(LEAVER)
    assert_graph_error(api.delete(f"/groups/{group}/members/{leaver}/$ref"), status, code, message)
    newcomer = sim.state.user_id("priya@contoso.com")
    assert_graph_error(api.post(f"/groups/{group}/members/$ref", json=ref(sim, newcomer)), status, code, message)
    assert sim.state.is_member(group, leaver) and not sim.state.is_member(group, newcomer)


def test_role_assignable_group_needs_role_management(sim, api):
    group = sim.state.id_of("group", "Helpdesk Admins")
    leaver = sim.state.user_id(LEAVER)
    restricted = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Restricted Offboarding")))
    assert_graph_error(restricted.delete(f"/groups/{group}/members/{leaver}/$ref"), 403, "Authorization_RequestDenied")
    assert sim.state.is_member(group, leaver)
    assert restricted.delete(f"/groups/{sim.state.id_of('group', 'VPN Users')}/members/{leaver}/$ref").status_code == 204
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204  # the default app has it


def test_read_only_app_cannot_write(sim):
    reader = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Read Only Auditor")))
    group = sim.state.id_of("group", "VPN Users")
    assert reader.get(f"/groups/{group}/members").status_code == 200
    assert_graph_error(reader.delete(f"/groups/{group}/members/{sim.state.user_id(LEAVER)}/$ref"), 403,
                       "Authorization_RequestDenied")


def test_replication_lag_switch(sim, api):
    group = sim.state.id_of("group", "Legacy App Access")
    leaver = sim.state.user_id(LEAVER)
    sim.replication_lag = True
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    assert_graph_error(api.delete(f"/groups/{group}/members/{leaver}/$ref"), 400, "Request_BadRequest",
                       "One or more removed object references do not exist for the following modified properties: 'members'.")
    never_member = sim.state.user_id("hedy@contoso.com")
    assert api.delete(f"/groups/{group}/members/{never_member}/$ref").status_code == 404


@pytest.mark.allow_destructive
def test_delete_without_ref_deletes_the_member_object(sim, api):
    group = sim.state.id_of("group", "Legacy App Access")
    leaver = sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{group}/members/{leaver}").status_code == 204
    assert api.get(f"/users/{leaver}").status_code == 404
    [event] = sim.destructive_events
    assert (event.kind, event.object_id, event.path) == ("user", leaver, f"/v1.0/groups/{group}/members/{leaver}")


def test_delete_without_ref_is_403_without_permission_on_the_member_type(sim):
    group = sim.state.id_of("group", "Legacy App Access")
    leaver = sim.state.user_id(LEAVER)
    members_only = GraphApi(sim, token=sim.issue_token(roles=["GroupMember.ReadWrite.All", "User.Read.All"]))
    assert_graph_error(members_only.delete(f"/groups/{group}/members/{leaver}"), 403, "Authorization_RequestDenied")
    assert sim.destructive_events == [] and sim.state.find_user(leaver)


def test_destructive_failure_message_names_the_deletion(sim, api):
    assert destructive_failure([sim], allowed=False) is None
    sim.destructive_events.append(type("E", (), {"method": "DELETE", "path": "/v1.0/users/x", "kind": "user", "object_id": "x"})())
    message = destructive_failure([sim], allowed=False)
    assert "DELETE /v1.0/users/x deleted user x" in message and "allow_destructive" in message
    assert destructive_failure([sim], allowed=True) is None
    sim.destructive_events.clear()


def test_fixture_fails_a_test_that_deletes_without_the_marker(tmp_path):
    """The teardown check itself, in a separate pytest run with the plugin."""
    (tmp_path / "test_it.py").write_text(textwrap.dedent("""
        import pytest, requests

        def _delete_leaver(sim):
            session = requests.Session(); session.trust_env = False; session.verify = sim.ca_path
            session.headers["Authorization"] = "Bearer " + sim.issue_token()
            group = sim.state.id_of("group", "Legacy App Access")
            leaver = sim.state.user_id("leaver@contoso.com")
            assert session.delete(f"{sim.base_url}/v1.0/groups/{group}/members/{leaver}").status_code == 204

        def test_unmarked(graphsim):
            _delete_leaver(graphsim)

        @pytest.mark.allow_destructive
        def test_marked(graphsim):
            _delete_leaver(graphsim)

        def test_session_unmarked(graphsim_session):
            _delete_leaver(graphsim_session)
    """))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "graphsim.pytest_plugin", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
        env={"PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"})
    assert "3 passed, 2 errors" in run.stdout  # the test bodies pass; two teardowns fail, run.stdout + run.stderr
    assert "ERROR at teardown of test_unmarked" in run.stdout
    assert "ERROR at teardown of test_session_unmarked" in run.stdout
    assert "a member removal without /$ref deletes the member itself" in run.stdout


# ---------------------------------------------------------------------- administrative units

def test_au_reads_in_v1_and_beta(sim, api, beta):
    germany = sim.state.id_of("au", "Germany")
    assert api.get(f"/directory/administrativeUnits/{germany}").json()["displayName"] == "Germany"
    assert beta.get(f"/administrativeUnits/{germany}").json()["isMemberManagementRestricted"] is False
    assert_graph_error(api.get(f"/administrativeUnits/{germany}"), 400, "BadRequest",
                       "Resource not found for the segment 'administrativeUnits'.")
    listed = api.get("/directory/administrativeUnits", params={"$filter": "displayName eq 'Germany'"}).json()["value"]
    assert [u["id"] for u in listed] == [germany]
    dynamic = api.get(f"/directory/administrativeUnits/{sim.state.id_of('au', 'All Users (dynamic)')}").json()
    assert (dynamic["membershipType"], dynamic["membershipRule"]) == ("Dynamic", "(user.accountEnabled -eq true)")
    members = api.all_pages(f"/directory/administrativeUnits/{germany}/members")
    assert {m["@odata.type"] for m in members} == {"#microsoft.graph.user", "#microsoft.graph.group"}


def test_seed_002_beta_au_ref_delete(sim, beta, api):
    germany = sim.state.id_of("au", "Germany")
    leaver = sim.state.user_id(LEAVER)
    answer = beta.delete(f"/administrativeUnits/{germany}/members/{leaver}/$ref")
    assert answer.status_code == 204 and answer.content == b""
    assert not sim.state.is_member(germany, leaver)
    assert_graph_error(api.delete(f"/directory/administrativeUnits/{germany}/members/{leaver}/$ref"), 404,
                       "Request_ResourceNotFound", NOT_FOUND.format(germany))
    assert api.post(f"/directory/administrativeUnits/{germany}/members/$ref", json=ref(sim, leaver)).status_code == 204
    assert_graph_error(api.post(f"/directory/administrativeUnits/{germany}/members/$ref", json=ref(sim, leaver)), 400,
                       "Request_BadRequest", ALREADY)
    assert api.delete(f"/directory/administrativeUnits/{germany}/members/{leaver}/$ref").status_code == 204


@pytest.mark.parametrize("name", ["All Users (dynamic)", "Executives"])
def test_au_refusals(sim, api, name):
    unit = sim.state.id_of("au", name)
    leaver = sim.state.user_id(LEAVER)
    assert_graph_error(api.delete(f"/directory/administrativeUnits/{unit}/members/{leaver}/$ref"), 403,
                       "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    assert sim.state.is_member(unit, leaver)


def test_au_writes_need_administrative_unit_readwrite(sim):
    germany = sim.state.id_of("au", "Germany")
    restricted = GraphApi(sim, token=sim.issue_token(client_id=sim.state.id_of("app", "Restricted Offboarding")))
    assert restricted.get(f"/directory/administrativeUnits/{germany}/members").status_code == 200
    assert_graph_error(restricted.delete(f"/directory/administrativeUnits/{germany}/members/{sim.state.user_id(LEAVER)}/$ref"),
                       403, "Authorization_RequestDenied")


@pytest.mark.allow_destructive
def test_au_delete_without_ref_is_destructive(sim, beta):
    germany = sim.state.id_of("au", "Germany")
    leaver = sim.state.user_id(LEAVER)
    assert beta.delete(f"/administrativeUnits/{germany}/members/{leaver}").status_code == 204
    assert [e.object_id for e in sim.destructive_events] == [leaver]
