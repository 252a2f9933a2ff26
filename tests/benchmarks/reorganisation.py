"""Issue 18's case 1, "Reorganisation": many leavers, each in many groups and administrative units, offboarded through
``playbooks/offboard.yml`` in list mode against the simulator's throttling budget (time-scaled), by one job or by
several jobs at once sharing the one app, as AWX job slices do. What it measures, from the simulator and the reports:

- the write budget sustained: writes admitted per window of ``app_tenant_writes`` against what the window allowed
  (``sim.budget.windows()``), over the run;
- failures (the reports' ``failed``) and lost memberships (still there after the run yet not reported failed or kept);
- module runs: each talking module process asks for its own token (MSAL's cache lives in the process);
- wall time of the writing (first to last admitted write) against the budget-optimal time, which spends the full
  bucket at once and then writes at the refill rate; the whole run's wall time besides;
- the longest task (``callback_plugins/task_seconds.py``): progress, and what it would be against Graph's real clock.

    bench = Bench(reorganisation_tenant(1_000, groups=16, units=4), work_dir=...)
    with bench:
        numbers = reorganise(bench, slices=4, budget={"time_scale": 10}, chunk_size=300)
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from graphsim import generate

from harness import REPO_ROOT, Bench, ContenderFailed

OFFBOARD_PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "offboard.yml")
# Groups and administrative units only: Teams' member APIs are the Teams service's, outside the identity and access
# budget (the simulator lets them pass uncharged), so they would only dilute what the write budget measures.
SCOPES = ["groups", "administrative_units"]
WRITE_LIMIT = "app_tenant_writes"
GROUP_PREFIX = "Reorg Group "
UNIT_PREFIX = "Reorg Unit "
# The modules of the role that talk to Graph (the report's action plugins do not), and those of them that write.
MODULES_TALKING_TO_GRAPH = ("entra_member_of_info", "teams_member", "entra_group_member", "entra_au_member")
# remove.yml runs these three tasks for every call, the two of the other kinds skipped; the progress line names the kind.
MODULE_OF_KIND = {"teams": "teams_member", "groups": "entra_group_member", "administrative_units": "entra_au_member"}
JOB_TIMEOUT = 900  # seconds one offboarding job may take before the run is declared hung
# The role's progress line after each module call, e.g. "(groups 2/14: 1200 memberships of 75 users)".
PROGRESS_LINE = re.compile(r"\((\w+) (\d+)/(\d+): (\d+) memberships of \d+ users\)")


def leaver_upns(count: int) -> list:
    return ["leaver%05d@contoso.com" % number for number in range(1, count + 1)]


def reorganisation_tenant(leavers: int, groups: int, units: int) -> dict:
    """A generated tenant (sized as the leavers make it: above 500 users is L) with ``leavers`` users who are each in
    every one of ``groups`` groups and ``units`` administrative units, next to a few users who stay."""
    spec = generate.tenant(users=20, big_group_members=5, leaver_groups=0, leaver_aus=0, leaver_teams=0)
    upns = leaver_upns(leavers)
    spec["users"] += [{"userPrincipalName": upn, "displayName": "Leaver %d" % number} for number, upn in enumerate(upns, 1)]
    stays = [user["userPrincipalName"] for user in spec["users"][:3]]
    spec["groups"] += [{"displayName": "%s%03d" % (GROUP_PREFIX, number), "kind": "security", "members": stays + upns} for number in range(1, groups + 1)]
    spec["administrative_units"] += [{"displayName": "%s%03d" % (UNIT_PREFIX, number), "members": stays + upns}
                                     for number in range(1, units + 1)]
    return spec


def slices_of(users: list, count: int) -> list:
    """AWX's job slicing: slice k of n gets the hosts k, k+n, k+2n, ... (awx Inventory.get_sliced_hosts)."""
    return [users[index::count] for index in range(count)]


def _pairs(sim, users: list, prefixes: tuple = (GROUP_PREFIX, UNIT_PREFIX)) -> set:
    """(target id, user id) of every reorganisation membership of ``users`` still in the tenant."""
    ids = {sim.state.user_id(upn) for upn in users}
    targets = [target for target in list(sim.state.groups) + list(sim.state.aus)
               if (sim.state.groups.get(target) or sim.state.aus.get(target))["displayName"].startswith(prefixes)]
    return {(target, member) for target in targets for member in sim.state.members(target) & ids}


def budget_optimal_seconds(writes: int, limit: dict) -> float:
    """Wall seconds ``writes`` need at best: the full bucket at once, the rest at the refill rate."""
    return max(0.0, writes - limit["quota"]) / limit["per_second"]


def start_job(bench: Bench, users: list, report_dir: str, chunk_size: int | None, name: str) -> tuple:
    """``ansible-playbook playbooks/offboard.yml`` in list mode for ``users``, started, not waited for."""
    extra_vars = {"offboard_users": users, "offboard_report_dir": report_dir, "offboard_scopes": SCOPES,
                  "ansible_python_interpreter": sys.executable}
    if chunk_size:
        extra_vars["offboard_chunk_size"] = chunk_size
    vars_file = bench.new_file("-%s.vars.json" % name, extra_vars)
    times_file = bench.new_file("-%s.tasks.jsonl" % name)
    output = open(bench.new_file("-%s.out" % name), "w+", encoding="utf-8")  # pylint: disable=consider-using-with
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), OFFBOARD_PLAYBOOK, "-e", "@" + vars_file]
    process = subprocess.Popen(command, env=dict(bench.environment(), BENCH_TASK_SECONDS_FILE=times_file),  # pylint: disable=consider-using-with
                               cwd=bench.work_dir, stdout=output, stderr=subprocess.STDOUT, text=True)
    return process, output, times_file


def _finish_job(process, output, times_file) -> tuple:
    """Wait for a job; ``(its tasks with their seconds, [(kind, memberships)] of its module calls that wrote)``."""
    try:
        process.wait(timeout=JOB_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output.seek(0)
    text = output.read()
    output.close()
    if process.returncode != 0:
        raise ContenderFailed("offboard.yml exited with %s:\n%s" % (process.returncode, text[-3000:]))
    with open(times_file, encoding="utf-8") as handle:
        tasks = [json.loads(line) for line in handle if line.strip()]
    # The default callback prints each progress line twice (the task's ok line and its msg): once per call.
    calls = {(kind, number): int(count) for kind, number, _total, count in PROGRESS_LINE.findall(text)}
    return tasks, [(kind, count) for (kind, _number), count in calls.items()]


def _reports(report_dir: str) -> list:
    names = sorted(name for name in os.listdir(report_dir) if name.startswith("offboard-") and name.endswith(".json"))
    reports = []
    for name in names:
        with open(os.path.join(report_dir, name), encoding="utf-8") as handle:
            reports.append(dict(json.load(handle), file=os.path.join(report_dir, name)))
    return reports


def reorganise(bench: Bench, slices: int = 1, budget: dict | None = None, chunk_size: int | None = None,
               leavers: int | None = None) -> dict:
    """Offboard the tenant's leavers (``leavers``: only the first so many) in ``slices`` concurrent list-mode jobs
    against the budget (``ThrottlingBudget`` keywords; default: the documented limits, time-scaled by 20); the numbers."""
    budget = dict(budget or {"time_scale": 20.0})
    time_scale = budget.get("time_scale", 1.0)
    bench.reset()
    bench.sim.set_budget(budget)
    users = sorted(upn for upn in (user["userPrincipalName"] for user in bench.sim.state.users.values()) if upn.startswith("leaver0"))
    users = users[:leavers] if leavers else users
    before = _pairs(bench.sim, users)
    group_memberships = len(_pairs(bench.sim, users, (GROUP_PREFIX,)))
    report_dir = bench.new_dir("reports")  # one directory for every slice: a persistent volume all AWX jobs mount
    started = time.monotonic()
    jobs = [start_job(bench, part, report_dir, chunk_size, "slice%d" % number) for number, part in enumerate(slices_of(users, slices))]
    finished = [_finish_job(*job) for job in jobs]
    tasks = [job_tasks for job_tasks, _calls in finished]
    seconds = time.monotonic() - started
    reports = _reports(report_dir)
    if len(reports) != slices:
        raise ContenderFailed("%d reports for %d jobs in %s" % (len(reports), slices, report_dir))
    summaries = [report["summary"] for report in reports]
    failed = {(line["target"]["id"], user["id"]) for report in reports for user in report["users"] for line in user["memberships"]
              if line.get("status") == "failed"}
    left = _pairs(bench.sim, users)
    model = bench.sim.budget
    counts = bench.counts()
    stats = model.stats()
    limit = stats["limits"][WRITE_LIMIT]
    windows = model.windows(WRITE_LIMIT)
    writing = (windows[-1]["start"] + windows[-1]["seconds"] - windows[0]["start"]) if windows else 0.0
    removed = sum(summary["removed"] for summary in summaries)
    module_tasks = [task for job in tasks for task in job if task["action"].split(".")[-1] in MODULES_TALKING_TO_GRAPH]
    write_calls = []  # (memberships, seconds) of every module call that wrote, in each job's order
    for job_tasks, calls in finished:
        triples = [task for task in job_tasks if task["action"].split(".")[-1] in MODULE_OF_KIND.values()]
        if len(triples) != 3 * len(calls):
            raise ContenderFailed("%d write tasks for %d progress lines" % (len(triples), len(calls)))
        for number, (kind, count) in enumerate(calls):
            (task,) = [task for task in triples[3 * number:3 * number + 3] if task["action"].endswith("." + MODULE_OF_KIND[kind])]
            write_calls.append((count, task["seconds"]))
    other = max((task for job in tasks for task in job if task["action"].split(".")[-1] not in MODULE_OF_KIND.values()),
                key=lambda task: task["seconds"])
    return {
        "leavers": len(users), "memberships": len(before), "group_memberships": group_memberships, "slices": slices, "time_scale": time_scale,
        "quota_scale": budget.get("quota_scale", 1.0), "tenant_size": stats["tenant_size"],
        "chunk_size": chunk_size or "default", "seconds": seconds, "writing_seconds": writing,
        "optimal_seconds": budget_optimal_seconds(len(before), limit), "limit": limit,
        "writes": stats["writes"], "throttled": stats["throttled"], "throttled_by": stats["throttled_by"],
        "utilization": model.utilization(WRITE_LIMIT), "windows": windows, "timeline": model.timeline(),
        "removed": removed, "failed": len(failed), "lost": len(left - failed), "reports": len(reports),
        "module_runs": counts["tokens"], "requests": counts["requests"], "batch_items": counts["items"], "module_tasks": len(module_tasks),
        "write_calls": write_calls,
        "longest_other_task": {"task": other["task"].split(" : ", 1)[-1], "seconds": other["seconds"]},
        "report_files": [report["file"] for report in reports],
    }
