"""graphsim: an HTTPS Microsoft Graph + Microsoft identity platform simulator for the entra.membership tests.

    from graphsim import GraphSimulator
    with GraphSimulator() as sim:          # the demo tenant
        sim.base_url, sim.ca_path, sim.module_auth()

See docs/simulator.md.
"""
from .simulator import DEMO_TENANT, EDGE_TENANT, GraphSimulator, load_tenant
from .state import stable_id

__all__ = ["DEMO_TENANT", "EDGE_TENANT", "GraphSimulator", "load_tenant", "stable_id"]
