"""includes/limited-info.md: objects of a type the app may not read come back with only @odata.type and id."""
from .conftest import EVENTUAL
from .conftest import api_with_roles as app_with

LEAVER = "leaver@contoso.com"


def test_groups_and_units_without_their_read_permission_are_ids_only(sim):
    sim.lenient = {"member_of_permissions"}  # off by default: memberOf's table starts at Directory.Read.All (test below)
    api = app_with(sim, ["User.Read.All"])
    items = api.all_pages(f"/users/{LEAVER}/memberOf", params={"$select": "id,displayName,groupTypes,membershipType"})
    board = sim.state.id_of("group", "Executive Board")
    germany = sim.state.id_of("au", "Germany")
    by_id = {item["id"]: item for item in items}
    assert by_id[board] == {"@odata.type": "#microsoft.graph.group", "id": board, "displayName": None, "groupTypes": None, "membershipType": None}
    assert by_id[germany]["@odata.type"] == "#microsoft.graph.administrativeUnit" and by_id[germany]["displayName"] is None


def test_each_read_permission_opens_its_own_type(sim):
    sim.lenient = {"member_of_permissions", "casts"}  # both off by default (graph.LENIENCIES)
    api = app_with(sim, ["User.Read.All", "GroupMember.Read.All"])
    advanced = {"$select": "id,displayName", "$count": "true"}  # a cast is an advanced query (user-list-memberof)
    groups = api.all_pages(f"/users/{LEAVER}/memberOf/microsoft.graph.group", params=advanced, headers=EVENTUAL)
    assert "Executive Board" in {group["displayName"] for group in groups}
    units = api.all_pages(f"/users/{LEAVER}/memberOf/microsoft.graph.administrativeUnit", params=advanced, headers=EVENTUAL)
    assert units and all(unit["displayName"] is None for unit in units)
    members = api.all_pages(f"/groups/{sim.state.id_of('group', 'Platform Engineers')}/members", params={"$select": "id,displayName"})
    assert "Lee Leaver" in {member["displayName"] for member in members}
    no_users = app_with(sim, ["GroupMember.Read.All"])
    hidden = no_users.all_pages(f"/groups/{sim.state.id_of('group', 'Platform Engineers')}/members/microsoft.graph.user",
                                params={"$count": "true"}, headers=EVENTUAL)
    assert hidden and all(set(value for key, value in member.items() if key not in ("@odata.type", "id")) == {None} for member in hidden)


def test_documented_tables_still_give_limited_information_for_types_the_app_cannot_read(sim):
    """With the tables as documented (no leniency): user-list-transitivememberof takes User.Read.All, which reads no
    group; user-list-memberof takes Group.ReadBasic.All, which reads groups but no unit and no directory role, and
    GroupMember.ReadBasic.All, which reads memberships but no group's properties (permissions reference)."""
    sim.lenient = ()
    users_only = app_with(sim, ["User.Read.All"])
    transitive = users_only.all_pages(f"/users/{LEAVER}/transitiveMemberOf", params={"$select": "id,displayName"})
    assert transitive and all(item["displayName"] is None for item in transitive)
    assert users_only.get(f"/users/{LEAVER}/memberOf").status_code == 403  # its table starts at Directory.Read.All

    def names_by_type(roles):
        named = {}
        for item in app_with(sim, roles).all_pages(f"/users/{LEAVER}/memberOf", params={"$select": "id,displayName"}):
            named.setdefault(item["@odata.type"], set()).add(item["displayName"])
        return named

    groups_only = names_by_type(["Group.ReadBasic.All"])
    assert None not in groups_only["#microsoft.graph.group"]
    assert groups_only["#microsoft.graph.administrativeUnit"] == groups_only["#microsoft.graph.directoryRole"] == {None}
    assert set(names_by_type(["GroupMember.ReadBasic.All"])["#microsoft.graph.group"]) == {None}
    assert names_by_type(["Group.ReadBasic.All", "RoleManagement.Read.Directory"])["#microsoft.graph.directoryRole"] == {
        "Helpdesk Administrator"}
