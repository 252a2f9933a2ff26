"""Large tenants for benchmarks and soak tests.

    from graphsim import GraphSimulator, generate
    spec = generate.tenant(users=10_000, big_group_members=5_000, leaver_groups=500, leaver_aus=50, leaver_teams=50)
    with GraphSimulator(tenant=spec, page_size=100) as sim: ...

or ``PYTHONPATH=tests python -m graphsim.generate --users 10000 -o /tmp/big.yml`` (pass the dict
directly when you can: reading a 10,000-user YAML file takes seconds).

The leaver (``leaver@contoso.com``) is in ``leaver_groups`` security groups, ``leaver_aus``
administrative units and ``leaver_teams`` teams (owner of every tenth, with a co-owner), plus one
group of every kind the demo tenant has; ``big@contoso.com``-style names are stable, so are the ids.
Beyond memberships (all 0 by default): the leaver owns the first ``owned_groups`` of its groups
(every other one with a co-owner), holds User Administrator over the first ``directory_roles`` of
its administrative units (alternately active and PIM-eligible), is assigned to ``app_assignments``
enterprise apps and holds ``licenses`` directly assigned skus.
"""
from __future__ import annotations

import argparse
import copy
import sys

import yaml

from .simulator import DEMO_TENANT, load_tenant

LEAVER = "leaver@contoso.com"
REFUSING_KINDS = ("dynamic", "synced", "mail_security", "distribution", "role_assignable", "unified")


def tenant(users: int = 10_000, big_group_members: int = 5_000, leaver_groups: int = 500, leaver_aus: int = 50,
           leaver_teams: int = 50, extra_groups: int = 0, domain: str = "contoso.com", owned_groups: int = 0,
           directory_roles: int = 0, app_assignments: int = 0, licenses: int = 0) -> dict:
    """A tenant spec (the dict a tenant YAML file holds) of the requested size; deterministic."""
    if users < 2 or big_group_members > users:
        raise ValueError(f"need users >= 2 and big_group_members <= users, got users={users}, big_group_members={big_group_members}")
    if owned_groups > leaver_groups or directory_roles > leaver_aus:
        raise ValueError(f"need owned_groups <= leaver_groups and directory_roles <= leaver_aus, got owned_groups={owned_groups}, "
                         f"leaver_groups={leaver_groups}, directory_roles={directory_roles}, leaver_aus={leaver_aus}")
    upns = [LEAVER] + [f"user{n:05d}@{domain}" for n in range(1, users)]
    spec = {
        "tenant": {"domain": domain, "display_name": domain.split(".")[0].title()},
        "users": [{"userPrincipalName": upn, "displayName": "Lee Leaver" if upn == LEAVER else f"User {n:05d}",
                   "department": ("Engineering", "Sales", "Marketing", "Finance")[n % 4]}
                  for n, upn in enumerate(upns)],
        "groups": [],
        "administrative_units": [],
        "apps": copy.deepcopy(load_tenant(DEMO_TENANT)["apps"]),
    }
    colleague = upns[1]
    spec["groups"].append({"displayName": "Big Group", "kind": "security", "members": upns[:big_group_members]})
    for n in range(leaver_groups):
        spec["groups"].append({"displayName": f"Leaver Group {n:04d}", "kind": "security",
                               "members": [LEAVER, upns[1 + n % (users - 1)]]})
    for kind in REFUSING_KINDS:
        spec["groups"].append({"displayName": f"Leaver {kind} group", "kind": kind, "members": [LEAVER, colleague]})
    for n in range(leaver_teams):
        owners = [LEAVER, colleague] if n % 10 == 0 else [colleague]
        spec["groups"].append({"displayName": f"Leaver Team {n:03d}", "kind": "team",
                               "members": [LEAVER, colleague], "owners": owners})
    for n in range(extra_groups):
        spec["groups"].append({"displayName": f"Other Group {n:05d}", "kind": "security",
                               "members": [upns[1 + (n * 7) % (users - 1)]]})
    for n in range(leaver_aus):
        spec["administrative_units"].append({"displayName": f"Leaver AU {n:03d}", "members": [LEAVER, colleague]})
    _add_access(spec, colleague, owned_groups, directory_roles, app_assignments, licenses)
    return spec


def _add_access(spec: dict, colleague: str, owned_groups: int, directory_roles: int, app_assignments: int, licenses: int) -> None:
    """The leaver's ownerships, directory roles, app role assignments and licenses (tenant file sections of state.py)."""
    leaver_groups = [g for g in spec["groups"] if g["displayName"].startswith("Leaver Group ")]
    for n, group in enumerate(leaver_groups[:owned_groups]):
        group["owners"] = [LEAVER, colleague] if n % 2 else [LEAVER]
    # The app may disable and sign out a privileged user only when it holds such a role itself (demo tenant, too).
    spec["role_assignments"] = [{"principal": "app:Entra Offboarding", "role": "Privileged Authentication Administrator"}]
    spec["role_assignments"] += [{"principal": LEAVER, "role": "User Administrator", "scope": f"au:Leaver AU {n:03d}",
                                  "type": "eligible" if n % 2 else "active"} for n in range(directory_roles)]
    spec["service_principals"] = [{"displayName": f"Leaver App {n:03d}", "appRoles": [{"value": "User", "displayName": "User"}]}
                                  for n in range(app_assignments)]
    spec["app_role_assignments"] = [{"principal": LEAVER, "app": f"Leaver App {n:03d}", "role": "User"} for n in range(app_assignments)]
    spec["skus"] = [{"skuPartNumber": f"LEAVER_SKU_{n:02d}", "enabled": 5,
                     "servicePlans": [{"servicePlanName": f"LEAVER_PLAN_{n:02d}"}]} for n in range(licenses)]
    spec["licenses"] = [{"user": LEAVER, "sku": f"LEAVER_SKU_{n:02d}"} for n in range(licenses)]
    spec["users"][0]["usageLocation"] = "DE"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphsim.generate", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--big-group-members", type=int, default=5_000)
    parser.add_argument("--leaver-groups", type=int, default=500)
    parser.add_argument("--leaver-aus", type=int, default=50)
    parser.add_argument("--leaver-teams", type=int, default=50)
    parser.add_argument("--extra-groups", type=int, default=0)
    parser.add_argument("--owned-groups", type=int, default=0, help="of the leaver's groups, how many it owns")
    parser.add_argument("--directory-roles", type=int, default=0, help="unit-scoped directory roles of the leaver")
    parser.add_argument("--app-assignments", type=int, default=0, help="enterprise apps the leaver is assigned to")
    parser.add_argument("--licenses", type=int, default=0, help="skus assigned to the leaver directly")
    parser.add_argument("-o", "--output", default="-", help="YAML file to write (default: stdout)")
    args = parser.parse_args(argv)
    spec = tenant(users=args.users, big_group_members=args.big_group_members, leaver_groups=args.leaver_groups,
                  leaver_aus=args.leaver_aus, leaver_teams=args.leaver_teams, extra_groups=args.extra_groups,
                  owned_groups=args.owned_groups, directory_roles=args.directory_roles, app_assignments=args.app_assignments,
                  licenses=args.licenses)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(spec, Dumper=dumper, sort_keys=False, width=200)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
