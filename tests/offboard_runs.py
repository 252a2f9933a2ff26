"""ansible-playbook runs of the offboarding and restore playbooks against a Graph simulator, for the tests.

Each run gets nothing but the environment variables the modules read (``sim.environment()``: what
an AWX credential injects, plus where the simulator and its CA are). ``start`` leaves the run
going, in its own session as AWX's runner starts it, so a test can stop it at a chosen point:
``stop`` sends the signals AWX (or a terminal, or a dying node) sends.
"""
from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

from graphsim import generate

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)
# The caller's own connection settings must not leak into the runs.
_CONNECTION_PREFIXES = ("AZURE_", "ENTRA_")
# AWX's cancel: SIGTERM, then SIGKILL of the process group 2 s later (ansible-runner's handle_termination); the
# container goes with it, so every process of the job dies, ansible-playbook's workers (own sessions) included.
AWX_GRACE_SECONDS = 2.0
# What ansible-core prints when it drops a SIGINT (RunningPlaybook._interrupt), and how often Ctrl-C is pressed again.
LOST_SIGINT = re.compile(r"Exception ignored in: <function _releaseLock.*?\n[^\n]*KeyboardInterrupt", re.S)
SIGINT_PATIENCE_SECONDS = 10.0
SIGINT_ATTEMPTS = 3
RUN_TIMEOUT = 900


class Run:
    """One finished ansible-playbook run: its output, exit status and PLAY RECAP per host."""

    def __init__(self, output, returncode):
        self.output = output
        self.returncode = returncode
        self.recap = {match["host"]: {key: int(value) for key, value in (pair.split("=") for pair in match["counts"].split())}
                      for match in RECAP_LINE.finditer(self.output)}

    def total(self, counter):
        return sum(counts[counter] for counts in self.recap.values())


def environment(sim, env=None):
    environ = {name: value for name, value in os.environ.items() if not name.startswith(_CONNECTION_PREFIXES)}
    environ.update(sim.environment(), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", PYTHONUNBUFFERED="1",
                   PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    environ.update(env or {})
    return environ


def command(playbook, extra_vars, *args):
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-e", json.dumps(extra_vars), *args]


def ansible_playbook(sim, cwd, playbook, extra_vars, *args, env=None):
    completed = subprocess.run(command(playbook, extra_vars, *args), env=environment(sim, env), cwd=str(cwd), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, check=False, timeout=RUN_TIMEOUT)
    return Run(completed.stdout, completed.returncode)


class RunningPlaybook:
    """An ansible-playbook run left going (``start``), stopped by ``stop`` at a point the test chose."""

    def __init__(self, sim, cwd, playbook, extra_vars, *args, env=None):
        self.output_path = os.path.join(str(cwd), "ansible-playbook-%d.log" % time.monotonic_ns())
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(command(playbook, extra_vars, *args), env=environment(sim, env), cwd=str(cwd),
                                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def running(self):
        return self.process.poll() is None

    def wait_for(self, condition, timeout=RUN_TIMEOUT, interval=0.005):
        """Poll ``condition()`` until it holds (True) or the run ends first (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if not self.running():
                return condition()
            time.sleep(interval)
        raise TimeoutError("the condition did not hold within %s s" % timeout)

    def stop(self, how):
        """``how``: ``"int"`` (Ctrl-C: SIGINT to the process group), ``"awx"`` (SIGTERM, then SIGKILL of every process 2 s later)."""
        family = descendants(self.process.pid)
        if how == "int":
            self._interrupt()
        elif how == "awx":
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=AWX_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            family |= descendants(self.process.pid)
            for pid in [self.process.pid] + sorted(family):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        else:
            raise ValueError("how must be int or awx, got %r" % (how,))
        self.process.wait(timeout=RUN_TIMEOUT)
        wait_until_gone(family)
        return self.finished()

    def _interrupt(self):
        """Ctrl-C, and Ctrl-C again if ansible-core lost it, as a user does when nothing happens. ansible-core loses a
        SIGINT that lands while it forks a worker: its handler's KeyboardInterrupt is raised inside logging's at-fork hook,
        where Python prints "Exception ignored in: <function _releaseLock ...>" and drops it; the run carries on."""
        sent = 0
        while sent < SIGINT_ATTEMPTS:
            os.killpg(self.process.pid, signal.SIGINT)
            sent += 1
            deadline = time.monotonic() + SIGINT_PATIENCE_SECONDS
            while time.monotonic() < deadline:
                if not self.running():
                    return
                if self._lost_interrupts() >= sent:
                    break
                time.sleep(0.02)
            else:
                return  # still stopping (a module waits for the answers in flight): the caller waits for the end

    def _lost_interrupts(self):
        with open(self.output_path, encoding="utf-8", errors="replace") as output:
            return len(LOST_SIGINT.findall(output.read()))

    def finished(self):
        self.process.wait(timeout=RUN_TIMEOUT)
        with open(self.output_path, encoding="utf-8", errors="replace") as output:
            return Run(output.read(), self.process.returncode)


def descendants(pid):
    """Every process below ``pid`` (its workers run in their own sessions, so a signal to its group misses them)."""
    children = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), set()).add(int(stat.split("/")[2]))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_until_gone(pids, timeout=60):
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        else:
            raise TimeoutError("process %d outlived the run by %s s" % (pid, timeout))


def wait_until_quiet(sim, quiet_seconds=1.0, timeout=60):
    """Until the simulator has logged nothing new for ``quiet_seconds``: the requests in flight when the run died are answered."""
    deadline = time.monotonic() + timeout
    seen, since = len(sim.log), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if len(sim.log) != seen:
            seen, since = len(sim.log), time.monotonic()
        elif time.monotonic() - since >= quiet_seconds + sim.latency:
            return
    raise TimeoutError("the simulator kept receiving requests")


def reports_in(report_dir, pattern="offboard-*.json"):
    return sorted(glob.glob(os.path.join(str(report_dir), pattern)))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def leavers_tenant(leavers, groups, units, teams):
    """A generated tenant whose ``leavers`` users are each in every leaver group, unit and team (owner of some, never the last).

    The generated tenant's user00001 co-owns every team, so it is never a leaver.
    """
    spec = generate.tenant(users=max(20, leavers + 2), big_group_members=5, leaver_groups=groups, leaver_aus=units, leaver_teams=teams)
    others = ["user%05d@contoso.com" % number for number in range(2, leavers + 1)]
    for target in spec["groups"] + spec["administrative_units"]:
        name = target["displayName"]
        if name.startswith(("Leaver Group ", "Leaver AU ", "Leaver Team ")):
            target["members"] = list(dict.fromkeys(target["members"] + others))
        if name.startswith("Leaver Team ") and int(name.rsplit(" ", 1)[1]) % 4 == 1:
            target["owners"] = list(dict.fromkeys(target["owners"] + others))
    return spec, [generate.LEAVER] + others
