"""docs/performance.md and its growth chart from the measurements of one run."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess

from harness import LATENCY, REPO_ROOT, Measurement

REQUESTS_AT_1000 = 60
NAIVE_RATIO = 10
URI_RATIO = 40
OFFBOARD_URI_RATIO = 20
OFFBOARD_INVOCATIONS = 5
SLOPE = 1 / 20
RSS_LIMIT_MB = 150
BENCH_SECONDS = 15 * 60  # issue 18: make bench on a fresh machine in under fifteen minutes


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        memory_gb = int(handle.readline().split()[1]) / 1024 / 1024
    load = os.getloadavg()[0]
    import ansible  # pylint: disable=import-outside-toplevel
    return ("%s, %d cores (nproc), %.1f GB RAM, load average %.1f at the start; Python %s, ansible-core %s"
            % (model, os.cpu_count(), memory_gb, load, platform.python_version(), ansible.__version__))


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fit(points: list) -> tuple:
    """Least squares ``(slope, intercept, r2)`` of ``[(x, y), ...]``."""
    count = len(points)
    mean_x = sum(x for x, _y in points) / count
    mean_y = sum(y for _x, y in points) / count
    sxx = sum((x - mean_x) ** 2 for x, _y in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for _x, y in points)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in points)
    return slope, intercept, 1 - residual / total if total else 1.0


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _num(value, digits=1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else "%.*f" % (digits, value)
    return str(value)


def find(measurements: list, case: str, contender: str, size: int | None = None) -> Measurement | None:
    for measurement in measurements:
        if measurement.case == case and measurement.contender == contender and (size is None or measurement.size == size):
            return measurement
    return None


def _row(measurement: Measurement, with_rss=False) -> str:
    median = Measurement.median
    cells = [measurement.contender, str(measurement.size), _num(median(measurement.requests)), _num(median(measurement.items)),
             "%.2f" % measurement.median_seconds, "%.1f" % (1000 * measurement.median_seconds / measurement.size), str(len(measurement.seconds))]
    if with_rss:
        cells.append(_num(median(measurement.rss_mb)))
    return "| " + " | ".join(cells) + " |"


TABLE_HEAD = ("| contender | size | HTTP requests | `$batch` items | median wall time (s) | ms per member | repeats |\n"
              "|---|---:|---:|---:|---:|---:|---:|")
TABLE_HEAD_RSS = TABLE_HEAD.replace("repeats |", "repeats | peak RSS (MB) |", 1) + "---:|"


def _ratio(slow: Measurement | None, fast: Measurement | None) -> float | None:
    if not slow or not fast:
        return None
    return slow.median_seconds / fast.median_seconds


def case1(measurements: list, ratio_size: int, large_size: int) -> list:
    lines = ["## 1. Bulk removal: %d UPNs out of one group" % large_size, "",
             "`entra_group_member` runs as one task of `ansible-playbook` (its start-up and Ansible's per-task cost included); "
             "`entra_group_member (process)` is the same module as its own Python process with an args file, what Ansible runs "
             "for the task, without `ansible-playbook` around it. The naive client and the `uri` loop resolve each UPN with a "
             "GET and remove it with a DELETE `$ref`, one request after the other.", "", TABLE_HEAD]
    rows = [m for m in measurements if m.case == "1"]
    lines += [_row(m) for m in sorted(rows, key=lambda m: (-m.size, m.contender))]
    module_large = find(measurements, "1", "entra_group_member", large_size)
    module = find(measurements, "1", "entra_group_member", ratio_size)
    process = find(measurements, "1", "entra_group_member (process)", ratio_size)
    naive = find(measurements, "1", "naive client", ratio_size)
    uri = find(measurements, "1", "uri loop", ratio_size)
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    if module_large:
        requests = Measurement.median(module_large.requests)
        lines.append("| ≤ %d HTTP requests in all at %d members | %s (token and discovery included) | %s |"
                     % (REQUESTS_AT_1000, large_size, requests, verdict(requests <= REQUESTS_AT_1000)))
    for label, baseline, target in (("naive client", naive, NAIVE_RATIO), ("`uri` loop", uri, URI_RATIO)):
        ratio, process_ratio = _ratio(baseline, module), _ratio(baseline, process)
        if ratio is None:
            continue
        lines.append("| whole task ≥ %d× faster than the %s at %d members | %.1f× (module process alone: %s×) | %s |"
                     % (target, label, ratio_size, ratio, _num(process_ratio), verdict(ratio >= target)))
    return lines


def case2(measurements: list, skipped: str | None) -> list:
    lines = ["## 2. Offboarding one user (100 groups, 20 administrative units, 30 teams)", ""]
    if skipped:
        return lines + ["Not measured in this run: %s." % skipped]
    rows = [m for m in measurements if m.case == "2"]
    if not rows:
        return lines + ["Not measured in this run."]
    lines += ["`size` is the leaver's direct memberships in the generated tenant: 100 groups, 30 teams' groups, 20 administrative "
              "units, `Big Group`, and one group of each of six special kinds (four of which Graph refuses to change, so they "
              "stay). `roles/offboard` runs `playbooks/offboard.yml` (discovery, removal with the three modules, residual check, "
              "report); the baselines read `memberOf` and send one DELETE `$ref` per membership (a team is a group).", "", TABLE_HEAD]
    lines += [_row(m) for m in rows]
    role = find(measurements, "2", "roles/offboard")
    uri = find(measurements, "2", "uri loop")
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    ratio = _ratio(uri, role)
    if ratio is not None:
        lines.append("| ≥ %d× faster than the `uri` playbook | %.1f× | %s |" % (OFFBOARD_URI_RATIO, ratio, verdict(ratio >= OFFBOARD_URI_RATIO)))
    if role:
        invocations = max(role.module_invocations)
        breakdown = _role_breakdown(role)
        lines.append("| ≤ %d module invocations for the user | %d (one token request per module process that talks to Graph) | %s |"
                     % (OFFBOARD_INVOCATIONS, invocations, verdict(invocations <= OFFBOARD_INVOCATIONS)))
        lines += ["", "Where the role's time goes (its run closest to the median, per task from a callback):", "",
                  "| part | tasks | seconds |", "|---|---:|---:|"] + breakdown
    return lines


def _role_breakdown(role: Measurement) -> list:
    closest = min(range(len(role.seconds)), key=lambda index: abs(role.seconds[index] - role.median_seconds))
    tasks = role.task_seconds[closest]
    parts = {}
    for task in tasks:
        if task["action"].startswith("entra.membership."):
            part = "`%s` (talks to Graph)" % task["action"].rsplit(".", 1)[1]
        elif task["action"] in ("ansible.builtin.set_fact", "set_fact", "ansible.builtin.debug", "debug", "ansible.builtin.assert", "assert",
                                "ansible.builtin.include_role", "include_role", "ansible.builtin.include_tasks", "include_tasks",
                                "ansible.builtin.fail", "fail", "ansible.builtin.meta", "meta",
                                "ansible.builtin.validate_argument_spec", "validate_argument_spec"):
            part = "controller-only tasks (set_fact, debug, assert, include, ...)"
        else:
            part = "other module runs (`%s`)" % task["action"].rsplit(".", 1)[-1]
        count, seconds = parts.get(part, (0, 0.0))
        parts[part] = (count + 1, seconds + task["seconds"])
    rows = ["| %s | %d | %.2f |" % (part, count, seconds) for part, (count, seconds) in sorted(parts.items(), key=lambda item: -item[1][1])]
    rows.append("| `ansible-playbook` start-up and the rest | | %.2f |" % (role.seconds[closest] - sum(task["seconds"] for task in tasks)))
    return rows


def case3(measurements: list, chart: str | None) -> list:
    rows = sorted((m for m in measurements if m.case == "3"), key=lambda m: m.size)
    lines = ["## 3. Growth: 10 to 5,000 memberships", "",
             "`entra_group_member` as its own process (an args file, the connection from the environment), removing the first "
             "*size* members of one group. Peak RSS is the process's own (`wait4`).", "",
             TABLE_HEAD_RSS]
    lines += [_row(m, with_rss=True) for m in rows]
    if len(rows) < 2:
        return lines
    requests = fit([(m.size, Measurement.median(m.requests)) for m in rows])
    seconds = fit([(m.size, m.median_seconds) for m in rows])
    largest = rows[-1]
    rss = max(largest.rss_mb)
    lines += ["", "Least-squares fits over the sizes: requests = %.4f × size + %.1f; wall time = %.2f ms × size + %.2f s (r² = %.3f)."
              % (requests[0], requests[1], 1000 * seconds[0], seconds[1], seconds[2]), "",
              "| target | measured | verdict |", "|---|---|---|",
              "| requests grow with slope ≤ 1/20 = 0.05 per membership | %.4f | %s |" % (requests[0], verdict(requests[0] <= SLOPE + 1e-9)),
              "| wall time grows linearly | r² = %.3f of a straight line | %s |" % (seconds[2], verdict(seconds[2] >= 0.95)),
              "| peak RSS < %d MB at %d | %.1f MB (the largest of the repeats) | %s |" % (RSS_LIMIT_MB, largest.size, rss, verdict(rss < RSS_LIMIT_MB))]
    if chart:
        lines += ["", "![requests and wall time against memberships](%s)" % chart]
    return lines


def case4(measurements: list) -> list:
    rows = [m for m in measurements if m.case == "4"]
    lines = ["## 4. Under throttling: case 1 with 20 % of Graph's answers 429 `Retry-After: 1`", ""]
    if not rows:
        return lines + ["Not measured in this run."]
    lines += ["Faults are drawn per HTTP request and per `$batch` item on Graph's paths (the token endpoint is spared), "
              "from a seeded generator in the order requests arrive (the four concurrent batches vary that order a little, so "
              "the counts move by a few from run to run). *Waited* is the module's own `graph_stats.waited_seconds`: the sleeps of "
              "all its `$batch` workers added up, four in flight at a time, so it can exceed the wall time.", "",
              "| size | 429 answers | HTTP requests | `$batch` items | failed pairs | median wall time (s) | waited (module-reported, s) | repeats |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        waited = [value for value in m.waited_seconds if value is not None]
        lines.append("| %d | %s | %s | %s | %s | %.2f | %s | %d |" % (
            m.size, _num(Measurement.median(m.throttled)), _num(Measurement.median(m.requests)), _num(Measurement.median(m.items)),
            max(m.failures), m.median_seconds, _num(Measurement.median(waited)) if waited else "not reported", len(m.seconds)))
    m = rows[0]
    waited = [value for value in m.waited_seconds if value is not None]
    lines += ["", "| target | measured | verdict |", "|---|---|---|",
              "| 0 failures | %d | %s |" % (max(m.failures), verdict(max(m.failures) == 0)),
              "| the module reports how long it waited | %s | %s |" % (
                  "%.1f s (`graph_stats.waited_seconds` in its result)" % Measurement.median(waited) if waited else
                  "its result has no `graph_stats.waited_seconds`",
                  verdict(bool(waited)))]
    return lines


def chart(measurements: list, path: str) -> str | None:
    """The growth chart as PNG; None (and no file) when matplotlib is not installed."""
    rows = sorted((m for m in measurements if m.case == "3"), key=lambda m: m.size)
    if len(rows) < 2:
        return None
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    sizes = [m.size for m in rows]
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4))
    left.plot(sizes, [Measurement.median(m.requests) for m in rows], "o-", label="entra_group_member")
    left.plot(sizes, [2 * size + 1 for size in sizes], "--", color="grey", label="per-member client (2 per member)")
    left.plot(sizes, [size / 20 for size in sizes], ":", color="green", label="target slope 1/20")
    left.set(xscale="log", yscale="log", xlabel="memberships removed", ylabel="HTTP requests", title="Requests")
    left.legend(fontsize=8)
    right.plot(sizes, [m.median_seconds for m in rows], "o-", label="wall time (s)")
    right.set(xlabel="memberships removed", ylabel="median wall time (s)", title="Wall time (50 ms per request)")
    twin = right.twinx()
    twin.plot(sizes, [max(m.rss_mb) for m in rows], "s--", color="tab:red", label="peak RSS (MB)")
    twin.set_ylabel("peak RSS of the module process (MB)")
    twin.set_ylim(0, RSS_LIMIT_MB)
    right.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
    return os.path.basename(path)


def write(path: str, measurements: list, sections: dict, started: datetime.datetime, seconds: float) -> None:
    """``sections``: ratio_size, large_size, case2_skipped, profile (lines), findings (lines), command; machine, commit (else now's)."""
    chart_name = chart(measurements, os.path.join(os.path.dirname(path), "performance-growth.png"))
    provenance = sections.get("provenance") or {}
    if provenance:
        # A --cases run: the other cases, and the fifteen-minute verdict, are those of the runs that measured them.
        runs = {}
        for case, run in sorted(provenance.items()):
            runs.setdefault(json.dumps(run, sort_keys=True), []).append(case)
        kept = ["case%s %s from `%s` on %s UTC at commit `%s` (%.0f s%s)" % (
            "s" if len(kept_cases) > 1 else "", ", ".join(kept_cases), run["command"],
            datetime.datetime.fromisoformat(run["started_at"]).strftime("%Y-%m-%d %H:%M"), run["commit"], run["seconds"],
            "; the whole run in under fifteen minutes: %s" % verdict(run["seconds"] < BENCH_SECONDS) if run["command"] == "make bench" else "")
            for key, kept_cases in runs.items() for run in [json.loads(key)]]
        first = ("Generated by `tests/benchmarks/run.py` on %s UTC in %.0f s at commit `%s`, measuring case%s %s; kept: %s." % (
            started.strftime("%Y-%m-%d %H:%M"), seconds, sections.get("commit") or commit(),
            "s" if len({m.case for m in measurements} - set(provenance)) > 1 else "",
            ", ".join(sorted({m.case for m in measurements} - set(provenance))), "; ".join(kept)))
    else:
        first = ("Generated by `make bench` (`tests/benchmarks/run.py`) on %s UTC in %.0f s, at commit `%s` (the whole run in under "
                 "fifteen minutes: %s; the `uri` baselines' time moves with the machine's load, and case 5 writes at the pace of a "
                 "time-scaled budget, about five minutes)." % (
                     started.strftime("%Y-%m-%d %H:%M"), seconds, sections.get("commit") or commit(), verdict(seconds < BENCH_SECONDS)))
    lines = ["# Performance", "", first, "",
             "Machine: %s." % (sections.get("machine") or machine()), "",
             "Every contender talks HTTPS to the Graph simulator (`tests/graphsim`) with **%d ms added to every HTTP request**, on one "
             "generated tenant (`graphsim.generate.tenant`), reset before every repeat. Requests are counted from the simulator's "
             "log: an *HTTP request* is one request it answered, the token request and MSAL's OpenID discovery included, a `$batch` "
             "envelope once; its items are counted apart. Times are wall-clock medians over the repeats; the machine is shared, so "
             "they move from run to run by some tens of percent, the request counts do not move at all." % int(LATENCY * 1000), "",
             "This run: `%s`. `make bench` measures everything below (ten to fifteen minutes on two cores, most of it in the "
             "`uri` baselines and case 5); `PYTHONPATH=tests .venv/bin/python tests/benchmarks/run.py --quick` tries the same at small sizes; "
             "`--from-json .build/bench/measurements.json` rewrites this page from the last run without measuring again; "
             "`--cases 1,3` measures only those cases and keeps the others from the last saved run (this line then names each "
             "case's run). "
             "`make test` runs the benchmark code at 40 members and case 5 at 30 leavers against the budget "
             "(`tests/integration/test_bench_smoke.py`), and two AWX slice jobs against one budget "
             "(`tests/integration/test_awx_job_slicing.py`), and checks counts only. Where the issue is silent: the uri and "
             "naive baselines run once (they are slow and steady), the others three times; the module process is measured as "
             "Ansible runs it (`python <module> <args file>`), its peak RSS read with `wait4`; the simulator pages at 999 items, "
             "what Graph gives a reader asking `$top=999`." % sections["command"], ""]
    lines += case1(measurements, sections["ratio_size"], sections["large_size"]) + [""]
    lines += case2(measurements, sections.get("case2_skipped")) + [""]
    lines += case3(measurements, chart_name if chart_name else None) + [""]
    if not chart_name:
        lines += ["(No chart: matplotlib is not installed; `pip install -r requirements-dev.txt` adds it.)", ""]
    lines += case4(measurements) + [""]
    import report_scale  # pylint: disable=import-outside-toplevel  # it uses this module's verdict
    scale_runs = sections.get("reorganisation") or {}
    scale_chart = report_scale.chart(scale_runs, os.path.join(os.path.dirname(path), "performance-budget.png"))
    lines += report_scale.section(scale_runs, scale_chart) + [""]
    lines += sections.get("profile", []) + [""]
    lines += sections.get("findings", [])
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines).rstrip() + "\n")
