"""Thousands of writes against the simulator's throttling budget (issue 18): one Graph client, or several
processes sharing one app and tenant as forks and AWX job slices do. What tests/integration/test_graph_client_pacing.py
asserts on and what a benchmark of pacing can print:

    spec = budget_tenant(2_000)
    with GraphSimulator(tenant=spec, budget=dict(time_scale=50, quota_scale=0.1)) as sim:
        paths = removal_paths(sim, 2_000)
        runs = run_processes(sim, split(paths, 3))       # or [run_client(sim.module_auth(), paths)]
        ledger = write_ledger(sim, paths)                 # lost and repeated writes, from the simulator's log
        print(describe(sim, runs, ledger))

Each write is a ``DELETE /groups/{id}/members/{member}/$ref`` of one member of ``Big Group``, through
``GraphClient.batch`` (20 to a ``$batch``, ``max_concurrency`` batches in flight). The processes
authenticate first and start writing together, the hardest case for a shared budget.

Run as a program, this file is one such process: the JSON ``{"auth": module options, "paths": [...],
"options": {...}}`` on stdin, ``ready`` on stdout once authenticated, then a ``go`` line on stdin, then
one JSON line with what it did (never a secret).
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import conftest  # noqa: E402,F401  # pylint: disable=unused-import  # the collection's import path
from graphsim import generate  # noqa: E402

from ansible_collections.entra.membership.plugins.module_utils._connection_options import connection_settings  # noqa: E402
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest  # noqa: E402
from ansible_collections.entra.membership.plugins.module_utils._module import build_client  # noqa: E402

BIG_GROUP = "Big Group"
WORKER_TIMEOUT = 600  # seconds a worker process may take before the run is declared hung


def budget_tenant(writes: int) -> dict:
    """A generated tenant whose ``Big Group`` holds ``writes`` members besides the leaver, and nothing else to speak of."""
    return generate.tenant(users=writes + 1, big_group_members=writes + 1, leaver_groups=0, leaver_aus=0, leaver_teams=0)


def removal_paths(sim, count: int) -> list:
    """``count`` member removals from ``Big Group`` (the leaver stays), as ``$batch``-ready paths."""
    group_id = sim.state.id_of("group", BIG_GROUP)
    leaver = sim.state.user_id(generate.LEAVER)
    members = sorted(member for member in sim.state.members(group_id) if member != leaver)
    if len(members) < count:
        raise ValueError(f"{BIG_GROUP} has {len(members)} members to remove, {count} asked")
    return [f"/groups/{group_id}/members/{member}/$ref" for member in members[:count]]


def split(paths: list, parts: int) -> list:
    """``paths`` dealt into ``parts`` slices of (nearly) equal size, as AWX slices an inventory."""
    return [paths[index::parts] for index in range(parts)]


def run_client(auth: dict, paths: list, options: dict | None = None, ready=None) -> dict:
    """One client removing ``paths`` in this process; ``ready()`` is called once it is authenticated."""
    client = build_client(connection_settings(dict(auth, **(options or {}))))
    client.authenticate()
    if ready:
        ready()
    started = time.monotonic()
    responses = client.batch([GraphRequest("DELETE", path) for path in paths])
    seconds = time.monotonic() - started
    return {"statuses": dict(collections.Counter(str(response.status) for response in responses)),
            "failed": [path for path, response in zip(paths, responses) if not response.ok],
            "stats": dict(client.stats), "pacer": client.pacer.snapshot(), "seconds": seconds}


def run_processes(sim, slices: list, options: dict | None = None) -> list:
    """One process per slice of paths, all against ``sim`` with its default app, writing at the same moment."""
    script = os.path.abspath(__file__)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AZURE_", "ENTRA_"))}
    workers = []
    try:
        for paths in slices:
            worker = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                      stderr=subprocess.PIPE, text=True, env=env)
            worker.stdin.write(json.dumps({"auth": sim.module_auth(), "paths": paths, "options": options or {}}) + "\n")
            worker.stdin.flush()
            workers.append(worker)
        for worker in workers:
            line = worker.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"a pacing worker did not start: {line!r} {worker.stderr.read()[-2000:]}")
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        runs = []
        for worker in workers:
            output, errors = worker.communicate(timeout=WORKER_TIMEOUT)
            if worker.returncode != 0:
                raise RuntimeError(f"a pacing worker exited with {worker.returncode}: {errors[-2000:]}")
            runs.append(json.loads(output.strip().splitlines()[-1]))
        return runs
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def write_ledger(sim, paths: list) -> dict:
    """From the simulator: members still in the group (``lost`` writes), paths sent again after Graph carried them
    out (``repeated``), how many requests were sent for them (``attempts``) and the most 429s one path got in a row
    (``most_throttled``: a path is given up after ``max_retries`` of them)."""
    group_id = sim.state.id_of("group", BIG_GROUP)
    remaining = sim.state.members(group_id)
    wanted = {"/v1.0" + path.replace("/$ref", "") for path in paths}
    attempts, throttled, done, repeated = collections.Counter(), collections.Counter(), set(), set()
    for entry in sim.log.writes():
        key = entry.path[:-len("/$ref")] if entry.path.endswith("/$ref") else entry.path
        if key not in wanted:
            continue
        attempts[key] += 1
        throttled[key] += entry.status == 429
        if key in done:
            repeated.add(key)
        if entry.status == 204:
            done.add(key)
    lost = [path for path in paths if path.split("/")[4] in remaining]
    return {"lost": lost, "repeated": sorted(repeated), "attempts": sum(attempts.values()), "carried_out": len(done),
            "most_throttled": max(throttled.values(), default=0)}


def describe(sim, runs: list, ledger: dict) -> str:
    """What a run achieved against the budget, for a test's output or a benchmark's table."""
    budget = sim.budget.stats()
    limit = budget["limits"]["app_tenant_writes"]
    lines = [f"budget: {limit['quota']:.0f} writes per {limit['window_seconds']:.2f} s ({limit['per_second']:.0f}/s), "
             f"time scale {budget['time_scale']:g}, quota scale {budget['quota_scale']:g}, tenant {budget['tenant_size']}",
             f"writes: {budget['writes']} admitted, {budget['throttled']} answered 429 ({budget['throttled_by']}), "
             f"{ledger['attempts']} sent, {len(ledger['lost'])} lost, {len(ledger['repeated'])} repeated after success, "
             f"at most {ledger['most_throttled']} 429s for one write",
             f"write budget used: {sim.budget.utilization():.1%} over the run"]
    for row in sim.budget.windows():
        lines.append(f"  window {row['window']}: {row['achieved']} of {row['allowed']:.0f} allowed ({row['fraction']:.0%})"
                     + ("" if row["complete"] else f", {row['seconds']:.2f} s of {limit['window_seconds']:.2f} s"))
    for number, run in enumerate(runs):
        lines.append(f"client {number}: {run['statuses']} in {run['seconds']:.1f} s, graph_stats {run['stats']}, pacer {run['pacer']}")
    lines.append("admitted writes per second: " + " ".join(str(second["writes"]) for second in sim.budget.timeline()))
    return "\n".join(lines)


def main() -> int:
    job = json.loads(sys.stdin.readline())

    def ready():
        print("ready", flush=True)
        sys.stdin.readline()

    print(json.dumps(run_client(job["auth"], job["paths"], job.get("options"), ready=ready)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
