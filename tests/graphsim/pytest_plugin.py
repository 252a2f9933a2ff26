"""pytest fixtures for the Graph simulator (registered by tests/conftest.py).

- ``graphsim``: a fresh simulator on the demo tenant for one test.
- ``graphsim_session``: one server for the whole session (per xdist worker), reset before each test.
- ``graphsim_factory(tenant=..., **kwargs)``: start simulators with other tenants or knobs.

Each of them fails the test when a directory object was deleted during it (a member removal
without ``/$ref`` does that on Graph), unless the test is marked ``@pytest.mark.allow_destructive``.
"""
from __future__ import annotations

import pytest

from .simulator import GraphSimulator


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "allow_destructive: the test expects the simulator to record a destructive event (an object deleted)")


def destructive_failure(sims, allowed: bool) -> str | None:
    """The failure message for destructive events seen by ``sims``, or None when there is nothing to report."""
    if allowed:
        return None
    events = [event for sim in sims for event in sim.destructive_events]
    if not events:
        return None
    lines = "\n".join(f"  {e.method} {e.path} deleted {e.kind} {e.object_id}" for e in events)
    return ("graphsim: the test deleted directory objects (a member removal without /$ref deletes the member itself):\n"
            f"{lines}\nMark the test @pytest.mark.allow_destructive if that is what it means to do.")


def _check(request, sims) -> None:
    message = destructive_failure(sims, request.node.get_closest_marker("allow_destructive") is not None)
    if message:
        pytest.fail(message, pytrace=False)


@pytest.fixture
def graphsim(request):
    with GraphSimulator() as sim:
        yield sim
        _check(request, [sim])


@pytest.fixture(scope="session")
def _graphsim_shared():
    with GraphSimulator() as sim:
        yield sim


@pytest.fixture
def graphsim_session(request, _graphsim_shared):
    _graphsim_shared.reset()
    yield _graphsim_shared
    _check(request, [_graphsim_shared])


@pytest.fixture
def graphsim_factory(request):
    started = []

    def factory(tenant=None, **kwargs) -> GraphSimulator:
        sim = GraphSimulator(tenant=tenant, **kwargs).start()
        started.append(sim)
        return sim

    yield factory
    try:
        _check(request, started)
    finally:
        for sim in started:
            sim.stop()
