"""GraphClient.batch and .paged against the simulator: packing, order, per-item retries, writes, paging."""
import math

import pytest

from ansible_collections.entra.membership.plugins.module_utils._connection_options import connection_settings
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest
from ansible_collections.entra.membership.plugins.module_utils._module import build_client

BATCH = r"^/v1\.0/\$batch$"


def client_for(sim, **options):
    return build_client(connection_settings(dict(sim.module_auth(), **options)))


def user_reads(sim, count):
    upns = sorted(user["userPrincipalName"] for user in sim.state.users.values() if "#EXT#" not in user["userPrincipalName"])
    upns = (upns * math.ceil(count / len(upns)))[:count]
    return upns, [GraphRequest("GET", "/users/" + upn, params={"$select": "id,userPrincipalName"}) for upn in upns]


def test_45_requests_go_in_3_batches_and_come_back_in_input_order(graphsim):
    upns, requests = user_reads(graphsim, 45)
    client = client_for(graphsim)
    responses = client.batch(requests)
    assert [response.body["userPrincipalName"] for response in responses] == upns  # the simulator shuffles its answers
    assert all(response.ok and response.status == 200 for response in responses)
    envelopes = graphsim.log.filter(method="POST", path_re=BATCH)
    assert len(envelopes) == 3 and client.stats["batches"] == 3 and client.stats["requests"] == 3
    items = graphsim.log.filter(in_batch=True)
    assert len(items) == 45
    sizes = {}
    for item in items:
        sizes[item.client_request_id] = sizes.get(item.client_request_id, 0) + 1
    assert sorted(sizes.values()) == [5, 20, 20]


def test_batch_items_are_relative_and_ids_unique(graphsim):
    _upns, requests = user_reads(graphsim, 20)
    client_for(graphsim).batch(requests)
    items = graphsim.log.filter(in_batch=True)
    assert all(item.raw_path.startswith("/v1.0/users/") for item in items)  # the simulator refuses absolute or versioned urls
    assert sorted(int(item.batch_id) for item in items) == list(range(20))


def test_one_request_is_sent_without_a_batch(graphsim):
    response = client_for(graphsim).batch([GraphRequest("GET", "/users/ada@contoso.com")])[0]
    assert response.ok and graphsim.log.count(path_re=BATCH) == 0
    assert client_for(graphsim).batch([]) == []


def test_throttled_items_alone_are_sent_again(graphsim):
    graphsim.faults.add(429, rate=0.3, path_re=r"^/v1\.0/users/", retry_after=0.1, seed=7)
    upns, requests = user_reads(graphsim, 45)
    client = client_for(graphsim)
    responses = client.batch(requests)
    assert [response.body["userPrincipalName"] for response in responses] == upns
    items = graphsim.log.filter(in_batch=True)
    throttled = [item for item in items if item.status == 429]
    assert throttled, "the fault should have fired"
    assert len(items) == 45 + len(throttled)  # only the throttled items went again
    assert client.stats["throttled"] == len(throttled) and client.stats["retries"] == len(throttled)
    assert graphsim.log.count(method="POST", path_re=BATCH) > 3


def test_throttled_items_wait_for_the_longest_retry_after(graphsim):
    graphsim.faults.add(429, rate=1, limit=1, path_re=r"ada@", retry_after=0.2)
    graphsim.faults.add(503, rate=1, limit=1, path_re=r"alan@", retry_after=0.05)
    client = client_for(graphsim)
    responses = client.batch([GraphRequest("GET", "/users/ada@contoso.com"), GraphRequest("GET", "/users/alan@contoso.com"),
                              GraphRequest("GET", "/users/grace@contoso.com")])
    assert all(response.ok for response in responses)
    assert client.stats["waited_seconds"] == pytest.approx(0.2)  # one wait, the longest
    assert graphsim.log.count(method="POST", path_re=BATCH) == 2


def test_items_throttled_past_max_retries_keep_their_error(graphsim):
    graphsim.faults.add(429, rate=1, path_re=r"ada@", retry_after=0.01)
    client = client_for(graphsim, max_retries=2)
    ada, alan = client.batch([GraphRequest("GET", "/users/ada@contoso.com"), GraphRequest("GET", "/users/alan@contoso.com")])
    assert alan.ok and (ada.status, ada.ok) == (429, False) and ada.error.status == 429
    assert graphsim.log.count(path_re=r"ada@", in_batch=True) == 3


def test_a_throttled_envelope_is_retried_as_a_whole(graphsim):
    graphsim.faults.add(503, rate=1, limit=1, path_re=BATCH, retry_after=0.05)
    upns, requests = user_reads(graphsim, 10)
    client = client_for(graphsim)
    assert [response.body["userPrincipalName"] for response in client.batch(requests)] == upns
    assert graphsim.log.count(method="POST", path_re=BATCH) == 2 and graphsim.log.count(in_batch=True) == 10


def test_a_truncated_batch_answer_is_asked_again(graphsim):
    graphsim.faults.add("truncate", rate=1, limit=1, path_re=BATCH)
    upns, requests = user_reads(graphsim, 25)
    client = client_for(graphsim)
    assert [response.body["userPrincipalName"] for response in client.batch(requests)] == upns
    assert graphsim.log.count(method="POST", path_re=BATCH) == 3  # two batches, one of them twice
    assert client.stats["retries"] == 1


def test_a_refused_envelope_fails_every_item_with_its_error(graphsim):
    graphsim.faults.add(503, rate=1, path_re=BATCH, retry_after=0.01)
    client = client_for(graphsim, max_retries=1)
    responses = client.batch([GraphRequest("GET", "/users/ada@contoso.com"), GraphRequest("GET", "/users/alan@contoso.com")])
    assert [(response.status, response.ok) for response in responses] == [(503, False), (503, False)]
    assert all(response.error.status == 503 for response in responses)


def test_writes_in_a_batch_carry_their_content_type_and_cloud_bind_urls(graphsim):
    group = graphsim.state.id_of("group", "Finance Approvers")
    users = [graphsim.state.user_id(upn) for upn in ("ada@contoso.com", "alan@contoso.com")]
    client = client_for(graphsim)
    adds = [GraphRequest("POST", "/groups/%s/members/$ref" % group, body={"@odata.id": client.directory_object_ref(user)}) for user in users]
    assert [response.status for response in client.batch(adds)] == [204, 204]
    assert all(graphsim.state.is_member(group, user) for user in users)
    writes = graphsim.log.writes()
    assert {host for write in writes for host in write.bind_hosts} == {"https://graph.microsoft.com"}
    removals = [GraphRequest("DELETE", "/groups/%s/members/%s/$ref" % (group, user)) for user in users]
    assert [response.status for response in client.batch(removals)] == [204, 204]
    assert not any(graphsim.state.is_member(group, user) for user in users)
    assert graphsim.destructive_events == []


def test_user_bind_names_the_clouds_graph_host(graphsim):
    client = client_for(graphsim, cloud="usgov")
    assert client.user_bind("vera_fabrikam.com#EXT#@contoso.onmicrosoft.com") == (
        "https://graph.microsoft.us/v1.0/users('vera_fabrikam.com%23EXT%23@contoso.onmicrosoft.com')")
    assert client.directory_object_ref("abc") == "https://graph.microsoft.us/v1.0/directoryObjects/abc"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_batches_in_flight_do_not_change_the_answers(graphsim_factory, concurrency):
    sim = graphsim_factory(latency=0.01)
    upns, requests = user_reads(sim, 100)
    client = client_for(sim, max_concurrency=concurrency)
    assert [response.body["userPrincipalName"] for response in client.batch(requests)] == upns
    assert sim.log.count(method="POST", path_re=BATCH) == 5


def test_paging_follows_next_links_to_the_end(graphsim_factory):
    sim = graphsim_factory(page_size=4)
    client = client_for(sim)
    users = list(client.paged("/users", params={"$select": "id,userPrincipalName"}))
    assert sorted(user["id"] for user in users) == sorted(sim.state.users)
    pages = sim.log.filter(path_re=r"^/v1\.0/users$")
    assert len(pages) == math.ceil(len(sim.state.users) / 4) > 5
    assert all(not page.path.startswith("/v1.0/v1.0") for page in pages)
    assert client.stats["requests"] == len(pages)


def test_paging_reads_every_member_of_a_long_list(graphsim_factory):
    sim = graphsim_factory(page_size=5)
    group = sim.state.id_of("group", "All Staff")
    members = list(client_for(sim).paged("/groups/%s/members" % group, params={"$select": "id"}))
    assert {member["id"] for member in members} == sim.state.members(group)
