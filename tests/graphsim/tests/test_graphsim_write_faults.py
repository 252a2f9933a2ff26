"""Faults that hide a write that happened, and $batch envelopes answered with an error status.

- Microsoft Q&A 5529013 (https://learn.microsoft.com/answers/questions/5529013/batch-request-with-the-graph-sdk):
  a Teams removal in a $batch answered 429, and the user was removed all the same.
- https://learn.microsoft.com/graph/throttling#throttling-and-batching: a throttled batch may be answered 424 as a
  whole while its body still carries each item's answer.
"""
from __future__ import annotations

import time

import pytest
import requests

from .conftest import GraphApi, assert_graph_error

LEAVER = "leaver@contoso.com"
TEAM = "Support Rotation"


def ref_delete(sim, item_id, group_name):
    group = sim.state.id_of("group", group_name)
    return {"id": item_id, "method": "DELETE", "url": f"/groups/{group}/members/{sim.state.user_id(LEAVER)}/$ref"}


def team_remove(sim, team_name=TEAM, upn=LEAVER):
    body = {"values": [{"@odata.type": "microsoft.graph.aadUserConversationMember",
                        "user@odata.bind": f"https://graph.microsoft.com/v1.0/users('{upn}')"}]}
    return f"/teams/{sim.state.id_of('team', team_name)}/members/remove", body


@pytest.mark.parametrize("kind, code", [(429, "TooManyRequests"), (503, "ServiceUnavailable"), (504, "GatewayTimeout")])
def test_applied_fault_carries_out_the_write_then_answers_the_error(sim, api, kind, code):
    sim.faults.add(kind, path_re=r"/\$ref$", method="DELETE", retry_after=2, limit=1, applied=True)
    group, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER)
    answer = api.delete(f"/groups/{group}/members/{leaver}/$ref")
    assert_graph_error(answer, kind, code)
    assert answer.headers["Retry-After"] == "2"
    assert not sim.state.is_member(group, leaver)  # it happened
    entry = sim.log.filter(method="DELETE")[0]
    assert entry.fault == kind and entry.applied is True and entry.status == kind
    retried = api.delete(f"/groups/{group}/members/{leaver}/$ref")  # what a client's retry meets
    assert_graph_error(retried, 404, "Request_ResourceNotFound")


def test_applied_429_on_a_teams_removal_inside_a_batch_as_microsoft_qa_5529013_saw(sim, api):
    sim.faults.add(429, path_re=r"/members/remove$", retry_after=1.5, limit=1, applied=True)
    path, body = team_remove(sim)
    answer = api.post("/$batch", json={"requests": [
        {"id": "1", "method": "POST", "url": path, "body": body, "headers": {"Content-Type": "application/json"}}]})
    assert answer.status_code == 200
    (item,) = answer.json()["responses"]
    assert item["status"] == 429 and item["headers"]["Retry-After"] == "1.5"
    assert item["body"]["error"]["code"] == "TooManyRequests"
    assert sim.state.team_role(sim.state.id_of("team", TEAM), sim.state.user_id(LEAVER)) is None  # removed all the same
    (entry,) = sim.log.filter(in_batch=True)
    assert entry.applied is True and entry.fault == 429
    again = api.post(path, json=body)  # the retry: Teams now says the user is not there
    assert again.status_code == 207 and again.json()["value"][0]["error"]["code"] == "NotFound"


def test_unapplied_status_faults_still_do_nothing(sim, api):
    sim.faults.add(429, path_re=r"/\$ref$", limit=1)
    group, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 429
    assert sim.state.is_member(group, leaver) and sim.log.filter(method="DELETE")[0].applied is False


def test_slow_batch_envelope_applies_every_item_before_the_late_answer(sim):
    """A write that timed out: the client gave up, Graph carried the whole $batch out."""
    sim.faults.add("slow", path_re=r"/\$batch$", delay=1.0, limit=1)
    impatient = GraphApi(sim)
    names = ["All Staff", "VPN Users"]
    with pytest.raises(requests.exceptions.Timeout):
        impatient.post("/$batch", json={"requests": [ref_delete(sim, str(n), name) for n, name in enumerate(names)]}, timeout=0.3)
    for _poll in range(200):  # the simulator finishes the envelope on its own thread; wait for it, time is not asserted
        if sim.log.filter(path_re=r"/\$batch$"):
            break
        time.sleep(0.05)
    (envelope,) = sim.log.filter(path_re=r"/\$batch$")
    assert envelope.fault == "slow" and envelope.status == 200 and sim.log.count(in_batch=True, status=204) == 2
    leaver = sim.state.user_id(LEAVER)
    assert not any(sim.state.is_member(sim.state.id_of("group", name), leaver) for name in names)


def test_batch_status_fault_answers_424_with_every_item_response(sim, api):
    sim.faults.add(429, path_re=r"/\$ref$", limit=1, retry_after=3)  # one item throttled, not carried out
    sim.faults.add("batch_status", retry_after=3, limit=1)  # the envelope: 424 as a whole
    names = ["All Staff", "VPN Users", "Marketing"]
    answer = api.post("/$batch", json={"requests": [ref_delete(sim, str(n), name) for n, name in enumerate(names)]})
    assert answer.status_code == 424 and answer.headers["Retry-After"] == "3"
    statuses = sorted(item["status"] for item in answer.json()["responses"])
    assert statuses == [204, 204, 429]
    leaver = sim.state.user_id(LEAVER)
    assert sum(sim.state.is_member(sim.state.id_of("group", name), leaver) for name in names) == 1
    envelope = sim.log.filter(path_re=r"/\$batch$")[0]
    assert envelope.fault == "batch_status" and envelope.status == 424


@pytest.mark.parametrize("status", [500, 503])
def test_batch_status_fault_takes_any_error_status(sim, api, status):
    sim.faults.add("batch_status", status=status, limit=1)
    answer = api.post("/$batch", json={"requests": [ref_delete(sim, "1", "VPN Users")]})
    assert answer.status_code == status and answer.json()["responses"][0]["status"] == 204


def test_batch_status_fault_matches_only_batch_envelopes(sim, api):
    sim.faults.add("batch_status")
    assert api.get(f"/users/{LEAVER}").status_code == 200
    group, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER)
    assert api.delete(f"/groups/{group}/members/{leaver}/$ref").status_code == 204
    assert all(entry.fault is None for entry in sim.log)


def test_batch_status_fault_leaves_a_malformed_batch_its_400(sim, api):
    sim.faults.add("batch_status")
    assert_graph_error(api.post("/$batch", json={"requests": []}), 400, "BadRequest")


def test_fault_arguments_are_checked(sim):
    with pytest.raises(ValueError, match="applied=True"):
        sim.faults.add("reset", applied=True)
    with pytest.raises(ValueError, match="status"):
        sim.faults.add("batch_status", status=200)
