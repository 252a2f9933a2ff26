"""The core path every other engineer relies on: token, users, groups, $ref writes, $batch, log."""
from __future__ import annotations

LEAVER = "leaver@contoso.com"


def test_token_and_user_by_upn_and_id(sim, api):
    by_upn = api.get(f"/users/{LEAVER}")
    assert by_upn.status_code == 200
    assert by_upn.json()["id"] == sim.state.user_id(LEAVER)
    assert api.get(f"/users/{by_upn.json()['id']}").json()["userPrincipalName"] == LEAVER


def test_group_ref_delete_round_trip(sim, api):
    group = sim.state.id_of("group", "Legacy App Access")
    leaver = sim.state.user_id(LEAVER)
    answer = api.delete(f"/groups/{group}/members/{leaver}/$ref")
    assert (answer.status_code, answer.content) == (204, b"")
    assert not sim.state.is_member(group, leaver)
    assert sim.log.count(method="DELETE", path_re=r"/members/.*/\$ref$") == 1
