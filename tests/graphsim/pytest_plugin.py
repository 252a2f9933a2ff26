"""pytest fixtures for the Graph simulator (registered by tests/conftest.py).

- ``graphsim``: a fresh simulator on the demo tenant for one test.
- ``graphsim_session``: one server for the whole session (per xdist worker), reset before each test.
- ``graphsim_factory(tenant=..., **kwargs)``: start simulators with other tenants or knobs.

Every test (autouse) fails when a directory object was deleted during it (a member removal
without ``/$ref`` does that on Graph) by a simulator it used -- one of these fixtures or one it
started itself -- unless the test is marked ``@pytest.mark.allow_destructive``.
"""
from __future__ import annotations

import pytest

from .simulator import GraphSimulator, start_observers

_SIMULATOR_FIXTURES = ("graphsim", "graphsim_session", "_graphsim_shared")


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


def simulators_used(funcargs, started) -> list:
    """The simulators a test used: those of the fixtures above and those it ``started``, each once."""
    found = {id(value): value for name, value in (funcargs or {}).items()
             if name in _SIMULATOR_FIXTURES and isinstance(value, GraphSimulator)}
    found.update((id(sim), sim) for sim in started)
    return list(found.values())


@pytest.fixture(autouse=True)
def _graphsim_destructive_check(request):
    """Active for every test: the destructive events of every simulator the test used fail it."""
    started = []
    start_observers.append(started.append)
    yield
    start_observers.remove(started.append)
    message = destructive_failure(simulators_used(request.node.funcargs, started),
                                  request.node.get_closest_marker("allow_destructive") is not None)
    if message:
        pytest.fail(message, pytrace=False)


@pytest.fixture
def graphsim():
    with GraphSimulator() as sim:
        yield sim


@pytest.fixture(scope="session")
def _graphsim_shared():
    with GraphSimulator() as sim:
        yield sim


@pytest.fixture
def graphsim_session(_graphsim_shared):
    _graphsim_shared.reset()
    return _graphsim_shared


@pytest.fixture
def graphsim_factory():
    started = []

    def factory(tenant=None, **kwargs) -> GraphSimulator:
        sim = GraphSimulator(tenant=tenant, **kwargs).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
