"""What every benchmark case uses: one simulator on a generated tenant, three ways to run the
contenders (the module as its own process, ansible-playbook, the in-process naive client), and
the numbers of a run read from the simulator's request log.

A request here is one HTTP request the simulator answered: token and OpenID discovery requests
included, a ``$batch`` envelope counted once (its items are counted apart, as ``items``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import conftest  # noqa: F401  (keeps .build/collections/ansible_collections/entra/membership -> the repo)
from graphsim import GraphSimulator, generate

REPO_ROOT = conftest.REPO_ROOT
MODULES_DIR = os.path.join(REPO_ROOT, "plugins", "modules")
PLAYBOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
CALLBACK_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
LATENCY = 0.05          # seconds the simulator adds to every HTTP request (issue 9)
GRAPH_PATHS = r"^/(v1\.0|beta)/"  # injected faults hit Graph, not the token endpoint
# Only what a program needs to run: the caller's AZURE_*/ENTRA_* variables must not leak in.
INHERITED_VARIABLES = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def member_upns(count: int) -> list:
    """The first ``count`` members of the generated tenant's ``Big Group`` after the leaver."""
    return ["user%05d@contoso.com" % number for number in range(1, count + 1)]


def tenant_spec(big_group_members: int, leaver_groups: int = 100, leaver_aus: int = 20, leaver_teams: int = 30) -> dict:
    """A generated tenant whose ``Big Group`` holds the leaver and ``member_upns(big_group_members)``."""
    users = big_group_members + 1
    return generate.tenant(users=users, big_group_members=users, leaver_groups=leaver_groups, leaver_aus=leaver_aus,
                           leaver_teams=leaver_teams)


@dataclasses.dataclass
class Measurement:
    """One contender in one case at one size, over its repeats (a list holds one value per repeat)."""

    case: str
    contender: str
    size: int
    seconds: list = dataclasses.field(default_factory=list)
    requests: list = dataclasses.field(default_factory=list)
    items: list = dataclasses.field(default_factory=list)
    tokens: list = dataclasses.field(default_factory=list)
    rss_mb: list = dataclasses.field(default_factory=list)
    waited_seconds: list = dataclasses.field(default_factory=list)
    throttled: list = dataclasses.field(default_factory=list)
    failures: list = dataclasses.field(default_factory=list)
    module_invocations: list = dataclasses.field(default_factory=list)
    task_seconds: list = dataclasses.field(default_factory=list)  # per repeat: [{task, action, seconds}] of a playbook
    note: str = ""

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @staticmethod
    def median(values: list):
        return statistics.median(values) if values else None


class ContenderFailed(RuntimeError):
    """A contender did not do its job; the benchmark must not report its time."""


class Bench:
    """``with Bench(tenant_spec(...)) as bench:`` one simulator for every case and contender."""

    def __init__(self, spec: dict, latency: float = LATENCY, work_dir: str | None = None):
        self.latency = latency
        # Pages of up to 999: what Graph gives a reader that asks $top=999, as the uri baseline does.
        self.sim = GraphSimulator(tenant=spec, page_size=999)
        self.work_dir = work_dir or tempfile.mkdtemp(prefix="entra-bench-")
        shutil.rmtree(self.work_dir, ignore_errors=True)  # the previous run's files, numbered like this run's
        os.makedirs(self.work_dir)
        self._files = 0
        self.last_task_seconds = []

    def __enter__(self):
        self.sim.start()
        return self

    def __exit__(self, *exc_info):
        self.sim.stop()

    # -- state -------------------------------------------------------------------------------

    def reset(self, throttle: float = 0.0) -> None:
        """A fresh tenant, an empty log, the latency; ``throttle``: that share of Graph requests answered 429 Retry-After: 1."""
        self.sim.reset()
        self.sim.latency = self.latency
        if throttle:
            self.sim.faults.add(429, rate=throttle, path_re=GRAPH_PATHS, retry_after=1, seed=9)

    def counts(self) -> dict:
        entries = list(self.sim.log)
        if self.sim.destructive_events:
            raise ContenderFailed("a directory object was deleted: %s" % self.sim.destructive_events)
        return {"requests": sum(1 for entry in entries if not entry.in_batch),
                "items": sum(1 for entry in entries if entry.in_batch),
                "tokens": sum(1 for entry in entries if entry.path.endswith("/oauth2/v2.0/token")),
                "throttled": sum(1 for entry in entries if entry.status == 429)}

    def measure(self, case: str, contender: str, size: int, action, repeats: int, throttle: float = 0.0, note: str = "") -> Measurement:
        """``action()`` ``repeats`` times on a fresh tenant; it returns a dict of extra numbers (rss_mb, failures, ...)."""
        measurement = Measurement(case, contender, size, note=note)
        for _repeat in range(repeats):
            self.reset(throttle)
            started = time.monotonic()
            extra = action() or {}
            measurement.seconds.append(time.monotonic() - started)
            for name, value in {**self.counts(), **extra}.items():
                getattr(measurement, name).append(value)
        return measurement

    # -- contenders --------------------------------------------------------------------------

    def new_file(self, suffix: str, content=None) -> str:
        self._files += 1
        path = os.path.join(self.work_dir, "%03d%s" % (self._files, suffix))
        if content is not None:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(content, handle)
        return path

    def new_dir(self, name: str) -> str:
        self._files += 1
        path = os.path.join(self.work_dir, "%03d-%s" % (self._files, name))
        os.makedirs(path)
        return path

    def environment(self) -> dict:
        """A job's environment: the Azure credential variables, where Graph is, this checkout's collection."""
        env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
        env.update(self.sim.environment())
        env.update(PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", os.defpath)]),
                   ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS_ROOT, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                   ANSIBLE_HOME=os.path.join(self.work_dir, "ansible-home"),
                   ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS, ANSIBLE_CALLBACKS_ENABLED="task_seconds")
        return env

    def run_module(self, module: str, args: dict, profile: str | None = None) -> tuple:
        """The module as Ansible runs it, its own Python process fed an args file: ``(result, peak RSS in MB)``.

        The connection comes from the environment, as with AWX. ``profile``: write cProfile stats there.
        """
        args_file = self.new_file(".args.json", {"ANSIBLE_MODULE_ARGS": args})
        output_file = self.new_file(".result.json")
        command = [sys.executable] + (["-m", "cProfile", "-o", profile] if profile else []) + [os.path.join(MODULES_DIR, module + ".py"), args_file]
        env = dict(self.environment(), PYTHONPATH=conftest.COLLECTIONS_ROOT)
        with open(output_file, "wb") as output, open(output_file + ".err", "wb") as errors:
            process = subprocess.Popen(command, env=env, cwd=self.work_dir, stdout=output, stderr=errors)  # pylint: disable=consider-using-with
            # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would mix in every child so far).
            _pid, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        with open(output_file, encoding="utf-8") as handle:
            text = handle.read()
        try:
            result = json.loads(text)
        except ValueError:
            raise ContenderFailed("%s printed no JSON (exit %s): %s" % (module, process.returncode, text[-500:])) from None
        return result, usage.ru_maxrss / 1024.0

    def run_playbook(self, playbook: str, extra_vars: dict) -> str:
        """``ansible-playbook`` on one of the benchmark's playbooks (or a path); its output. Fails loudly when the play failed.

        ``last_task_seconds`` then holds each task's wall time (callback_plugins/task_seconds.py).
        """
        path = playbook if os.path.isabs(playbook) else os.path.join(PLAYBOOKS_DIR, playbook)
        vars_file = self.new_file(".vars.json", dict(extra_vars, ansible_python_interpreter=sys.executable))
        times_file = self.new_file(".tasks.jsonl")
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), path, "-e", "@" + vars_file]
        completed = subprocess.run(command, env=dict(self.environment(), BENCH_TASK_SECONDS_FILE=times_file), cwd=self.work_dir,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if completed.returncode != 0:
            raise ContenderFailed("%s exited with %s:\n%s" % (os.path.basename(path), completed.returncode, completed.stdout[-3000:]))
        with open(times_file, encoding="utf-8") as handle:
            self.last_task_seconds = [json.loads(line) for line in handle if line.strip()]
        return completed.stdout


def debug_result(playbook_output: str, marker: str = "BENCH-RESULT ") -> dict:
    """The JSON a playbook printed with ``debug: msg="BENCH-RESULT {{ ... | to_json }}"`` (the default callback escapes it)."""
    for line in playbook_output.splitlines():
        start = line.find(marker)
        if start >= 0:
            escaped = line[start + len(marker):line.rindex('"')]
            return json.loads(json.loads('"%s"' % escaped))
    raise ContenderFailed("no %s line in the playbook output:\n%s" % (marker.strip(), playbook_output[-2000:]))
