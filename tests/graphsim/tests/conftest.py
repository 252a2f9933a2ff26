"""Helpers for the simulator's own tests: real HTTPS sessions against a running simulator."""
from __future__ import annotations

import pytest
import requests

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def https_session(sim) -> requests.Session:
    """A requests session that trusts only the simulator's CA.

    ``trust_env=False``: otherwise REQUESTS_CA_BUNDLE (set on these machines) overrides ``verify``.
    """
    session = requests.Session()
    session.verify = sim.ca_path
    session.trust_env = False
    return session


def token_for(sim, client_id=None, secret=None) -> str:
    app = sim.app(client_id)
    answer = https_session(sim).post(
        f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"],
              "client_secret": secret or app["secrets"][0], "scope": GRAPH_SCOPE})
    answer.raise_for_status()
    return answer.json()["access_token"]


class GraphApi:
    """``api.get("/users/x")``: requests against ``{base_url}/{version}`` with a bearer token."""

    def __init__(self, sim, token=None, version="v1.0"):
        self.sim, self.version = sim, version
        self.session = https_session(sim)
        if token is not False:
            self.session.headers["Authorization"] = f"Bearer {token or token_for(sim)}"

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.sim.base_url}/{self.version}{path}"

    def request(self, method, path, **kwargs):
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def all_pages(self, path, **kwargs) -> list:
        items, url = [], path
        while url:
            answer = self.get(url, **kwargs)
            assert answer.status_code == 200, answer.text
            items += answer.json()["value"]
            url = answer.json().get("@odata.nextLink")
            kwargs.pop("params", None)
        return items


def api_with_roles(sim, roles, version="v1.0") -> GraphApi:
    """An API client of an app holding exactly ``roles`` (the tenant's "No Permissions" app, re-granted)."""
    app = sim.state.id_of("app", "No Permissions")
    sim.set_app_roles(app, roles)
    return GraphApi(sim, token=sim.issue_token(client_id=app), version=version)


def batch_answers(api, *requests):
    """POST one $batch of ``(method, url[, body])`` items; returns the answers by id ("1", "2", ... in order)."""
    items = []
    for number, (method, url, *body) in enumerate(requests, start=1):
        item = {"id": str(number), "method": method, "url": url}
        if body:
            item.update(body=body[0], headers={"Content-Type": "application/json"})
        items.append(item)
    answer = api.post("/$batch", json={"requests": items})
    assert answer.status_code == 200, answer.text
    return {item["id"]: item for item in answer.json()["responses"]}


@pytest.fixture
def sim(graphsim_session):
    """The session's simulator, reset for this test (cheaper than a server per test)."""
    return graphsim_session


@pytest.fixture
def api(sim):
    return GraphApi(sim)


@pytest.fixture
def beta(sim):
    return GraphApi(sim, version="beta")


def assert_graph_error(answer, status, code, message=None):
    """Graph's error envelope, exactly: code, message, innerError with date, request-id, client-request-id."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message, error
    inner = error["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert inner["request-id"] == answer.headers["request-id"]
    return error


@pytest.fixture(scope="session")
def _edge_shared():
    from graphsim import EDGE_TENANT, GraphSimulator
    with GraphSimulator(tenant=EDGE_TENANT) as edge:
        yield edge


@pytest.fixture
def edge(_edge_shared):
    """A simulator on the edge tenant (tenants/edge.yml), reset for this test."""
    _edge_shared.reset()
    return _edge_shared


EVENTUAL = {"ConsistencyLevel": "eventual"}
