"""The Teams engine's pure parts: request bodies (the bind host per national cloud, roles), roster roles, chunks, option warnings."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._connection_options import connection_settings
from ansible_collections.entra.membership.plugins.module_utils._module import build_client
from ansible_collections.entra.membership.plugins.module_utils._engine_teams import TEAMS_CHUNK, TeamMembers, member_value, roster_role

USER = "18a80140-b0fb-4489-b360-2f6efaf225a0"


def client(cloud, **options):
    params = dict(tenant_id="contoso.onmicrosoft.com", client_id="00000000-0000-0000-0000-000000000001", client_secret="not-a-secret",
                  cloud=cloud, **options)
    return build_client(connection_settings(params))


@pytest.mark.parametrize("cloud, host", [
    ("global", "https://graph.microsoft.com"),
    ("usgov", "https://graph.microsoft.us"),
    ("usgov_dod", "https://dod-graph.microsoft.us"),
    ("china", "https://microsoftgraph.chinacloudapi.cn"),
])
def test_user_bind_names_the_clouds_graph_host(cloud, host):
    value = member_value(client(cloud), USER)
    assert value == {"@odata.type": "microsoft.graph.aadUserConversationMember", "user@odata.bind": "%s/v1.0/users('%s')" % (host, USER)}
    # a gateway in front of Graph changes where requests go, not what the body names
    behind_gateway = member_value(client(cloud, graph_endpoint="https://127.0.0.1:8443"), USER)
    assert behind_gateway["user@odata.bind"].startswith(host + "/v1.0/")


def test_an_added_member_carries_exactly_the_roles_asked_for():
    assert member_value(client("global"), USER, ["owner"])["roles"] == ["owner"]
    assert member_value(client("global"), USER, [])["roles"] == []
    assert "roles" not in member_value(client("global"), USER)


@pytest.mark.parametrize("roles, role", [(["owner"], "owner"), ([], "member"), (["guest"], "member"), (None, "member")])
def test_only_the_owner_role_makes_an_owner_and_a_guest_is_a_member(roles, role):
    assert roster_role({"roles": roles}) == role


def test_a_request_carries_at_most_twenty_members_as_graph_allows():
    assert TEAMS_CHUNK == 20


def test_a_role_given_with_state_absent_is_a_warning_not_an_error():
    engine = TeamMembers(role="owner")
    assert engine.option_warnings({"state": "absent", "role": "owner"}) == [
        "role 'owner' is ignored with state=absent: members are removed whatever their role"]
    assert engine.option_warnings({"state": "present", "role": "owner"}) == []
    assert TeamMembers().option_warnings({"state": "absent", "role": None}) == []
