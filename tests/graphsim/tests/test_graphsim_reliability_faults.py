"""Faults for the reliability tests (HTML page, slow answer, token expiry) and what the secret scan reads."""
from __future__ import annotations

import time

import pytest
import requests

from graphsim import GraphSimulator
from graphsim import simulator as graphsim_simulator

from .conftest import GraphApi, assert_graph_error, token_for

LEAVER = "leaver@contoso.com"


def leaver_ref(sim, group_name="VPN Users"):
    group, leaver = sim.state.id_of("group", group_name), sim.state.user_id(LEAVER)
    return group, leaver, f"/groups/{group}/members/{leaver}/$ref"


def test_html_fault_is_a_proxy_page_and_nothing_is_done(sim, api):
    group, leaver, path = leaver_ref(sim)
    sim.faults.add("html", rate=1, limit=1, path_re=r"/members/")
    answer = api.delete(path)
    assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<!DOCTYPE html>") and "<title>502 Bad Gateway</title>" in answer.text
    assert sim.state.is_member(group, leaver)
    assert [entry.fault for entry in sim.log.filter(path_re=r"/members/")] == ["html"]
    assert api.delete(path).status_code == 204  # limit=1: the next one goes through


def test_slow_fault_answers_late_but_carries_the_request_out(sim, api):
    group, leaver, path = leaver_ref(sim)
    sim.faults.add("slow", rate=1, limit=1, path_re=r"/members/", delay=0.5)
    with pytest.raises(requests.exceptions.Timeout):
        api.delete(path, timeout=0.1)
    # The client gave up; the simulator still does the work, as a slow Graph would (logged once done).
    for _poll in range(100):
        if sim.log.count(method="DELETE"):
            break
        time.sleep(0.05)
    assert [(entry.fault, entry.status) for entry in sim.log.filter(method="DELETE")] == [("slow", 204)]
    assert not sim.state.is_member(group, leaver)
    assert api.delete(path).status_code == 404


def test_expire_token_fault_expires_every_token_issued_so_far(sim):
    old = token_for(sim)
    api = GraphApi(sim, token=old)
    sim.faults.add("expire_token", rate=1, limit=1, path_re=r"^/v1\.0/users/")
    assert_graph_error(api.get(f"/users/{LEAVER}"), 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    assert_graph_error(api.get(f"/users/{LEAVER}"), 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    assert GraphApi(sim, token=token_for(sim)).get(f"/users/{LEAVER}").status_code == 200  # a token issued now is good
    assert [entry.fault for entry in sim.log.filter(path_re=r"^/v1\.0/users/")] == ["expire_token", None, None]


def test_new_fault_kinds_are_not_drawn_for_batch_items(sim, api):
    _group, _leaver, path = leaver_ref(sim)
    sim.faults.add("html", rate=1, path_re=r"/members/")
    answer = api.post("/$batch", json={"requests": [{"id": "1", "method": "DELETE", "url": path}]})
    assert answer.status_code == 200 and answer.json()["responses"][0]["status"] == 204


def test_secrets_are_every_credential_the_simulator_knows_or_made(sim):
    token = token_for(sim)
    given = sim.issue_token()
    assertion_file = sim.issue_federated_assertion()
    with open(assertion_file, encoding="utf-8") as handle:
        assertion = handle.read()
    with open(sim.credentials["certificate_path"], encoding="utf-8") as handle:
        key_lines = handle.read().split("PRIVATE KEY-----")[1].split("-----END")[0].split()
    known = sim.secrets()
    assert {app["secrets"][0] for app in sim.state.apps.values() if app["secrets"]} <= set(known)
    assert {token, given, assertion} <= set(known)
    assert set(key_lines) <= set(known)
    # ... and none of them is in the request log, whose token requests keep only harmless fields.
    logged = repr(list(sim.log))
    assert not [secret for secret in known if secret in logged]


def test_start_observers_hear_of_every_simulator_started():
    seen = []
    graphsim_simulator.start_observers.append(seen.append)
    try:
        with GraphSimulator() as started:
            assert seen == [started]
    finally:
        graphsim_simulator.start_observers.remove(seen.append)


def test_after_lets_the_first_matching_requests_pass(sim, api):
    sim.faults.add(503, rate=1, limit=1, after=2, path_re=r"^/v1\.0/users/")
    statuses = [api.get(f"/users/{LEAVER}").status_code for _request in range(4)]
    assert statuses == [200, 200, 503, 200]


def test_an_unknown_fault_kind_is_refused(sim):
    with pytest.raises(ValueError, match="fault kind must be one of"):
        sim.faults.add("teapot")
