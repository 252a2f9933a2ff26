"""An offboarding stopped at any instant (AWX cancel, job timeout, a lost node) loses nothing.

`ansible-playbook entra.membership.offboard` runs as a process against a simulator with latency
and is stopped at a point read from the simulator's request log ("after the Nth group removal"),
never after a sleep: with SIGINT to its process group (Ctrl-C, AWX's first signal), or as AWX
ends a job (SIGTERM, then SIGKILL of every process 2 s later, ansible-playbook's workers too, as
the job's container goes). Then, for every kill point:

- a report exists, still `running`, and names every write Graph received from the run;
- restoring from it returns the tenant to exactly its state before the run (owners included);
- the same kill again, then a new run (which continues the stopped one), then a restore from the
  newest report alone, returns it exactly too.

`make test` runs three kill points on a small tenant (each way at least once) and one in the owners' step of a run with
every scope on (the demo leaver: account, ownership with a substitute owner, apps, roles, licenses); `make soak`
(pytest -m slow) runs 32 on a tenant where each of 3 users has over 300 memberships, 16 in the steps beyond memberships,
and the scenario of issue 15: one user with 363 memberships, SIGINT in the middle of the groups, a re-run, a restore
from the newest report.
"""
from __future__ import annotations

import os
import re
from typing import NamedTuple

import pytest
from graphsim import GraphSimulator, generate
from offboard_runs import RunningPlaybook, ansible_playbook, leavers_tenant, load, reports_in, wait_until_quiet

pytestmark = pytest.mark.playbook

LEAVER = generate.LEAVER
MEMBERSHIP_WRITES = {
    "team": ("POST", r"^/v1\.0/teams/[^/]+/members/remove$"),
    "group": ("DELETE", r"^/v1\.0/groups/[^/]+/members/[^/]+/\$ref$"),
    "administrative_unit": ("DELETE", r"^/v1\.0/directory/administrativeUnits/[^/]+/members/[^/]+/\$ref$"),
}
# The steps beyond memberships (issues 19 and 20): method and path of each kind's writes.
WRITES = dict(MEMBERSHIP_WRITES, **{
    "account": ("POST|PATCH", r"^/v1\.0/users/[^/]+(/revokeSignInSessions)?$"),
    "group_owner": ("POST|DELETE", r"^/v1\.0/groups/[^/]+/owners/([^/]+/)?\$ref$"),
    "app_role": ("DELETE", r"^/v1\.0/users/[^/]+/appRoleAssignments/[^/]+$"),
    "directory_role": ("POST|DELETE", r"^/v1\.0/roleManagement/directory/(roleAssignments/[^/]+|role(Eligibility|Assignment)ScheduleRequests)$"),
    "license": ("POST", r"^/v1\.0/users/[^/]+/assignLicense$"),
})
OWNER_ID = re.compile(r"directoryObjects/([0-9a-fA-F-]{36})")
BOUND_USER = re.compile(r"users\('([^']+)'\)")


class KillPoint(NamedTuple):
    """Where to stop the run: ``when`` is ``discovery``, ``residual``, a kind's Nth write, or ``after`` a kind's last answer."""

    when: str
    kind: str = ""
    count: int = 1
    how: str = "int"

    def __str__(self):
        return "-".join(str(part) for part in (self.when, self.kind, self.count if self.when == "write" else "", self.how) if part)


def writes_of(sim, kind, since):
    method, path_re = WRITES[kind]
    return [entry for entry in list(sim.log)[since:] if re.fullmatch(method, entry.method) and re.search(path_re, entry.path)]


def reached(point, sim, since, report_dir):
    if point.when == "discovery":
        return any("/memberOf" in entry.path for entry in list(sim.log)[since:])
    if point.when == "residual":
        return any("/transitiveMemberOf" in entry.path for entry in list(sim.log)[since:])
    if point.when == "write":
        return len(writes_of(sim, point.kind, since)) >= point.count
    # "after": every planned line of the kind is answered in the report on disk, and nothing of the next kind started yet.
    paths = reports_in(report_dir)
    if not paths:
        return False
    report = load(paths[0])
    lines = [line for user in report["users"] for line in user["memberships"] if line["target"]["type"] == point.kind]
    return report["stage"] == "removal" and bool(lines) and all(line["status"] != "planned" for line in lines)


def written_pairs(sim, since):
    """(member id, target id) of every removal Graph received from the run, answered or not."""
    pairs = set()
    for kind in MEMBERSHIP_WRITES:
        for entry in writes_of(sim, kind, since):
            parts = entry.path.split("/")
            if kind == "team":
                pairs.update((user.lower(), parts[3].lower()) for user in BOUND_USER.findall(str(entry.body)))
            else:
                pairs.add((parts[-2].lower(), parts[-4].lower()))
    return pairs


def owner_writes(sim, since):
    """(owner id, group id) of every owner Graph was asked to add (a substitute) or remove (a leaver), answered or not."""
    pairs = set()
    for entry in writes_of(sim, "group_owner", since):
        parts = entry.path.split("/")
        owner = parts[-2] if entry.method == "DELETE" else (OWNER_ID.findall(str(entry.body)) or ["?"])[0]
        pairs.add((owner.lower(), parts[3].lower()))
    return pairs


def recorded_owners(report):
    """(owner id, group id) of every ownership line of the report: the leavers' and the substitutes'."""
    return {((line.get("member_id") or user["id"]).lower(), line["target"]["id"].lower())
            for user in report["users"] for line in user["memberships"] + user.get("carried", [])
            if line["target"]["type"] in ("group_owner", "owner_substitute")}


def restorable_pairs(report):
    """(member id, target id) of every line restore puts back: removed or maybe removed, carried ones too."""
    from ansible_collections.entra.membership.plugins.plugin_utils._offboard_report import restorable

    return {(user["id"].lower(), line["target"]["id"].lower())
            for user in report["users"] for line in user["memberships"] + user.get("carried", []) if restorable(line)}


class KillRun:
    """One tenant, its leavers, and the runs of a kill point against it."""

    def __init__(self, sim, tmp_path, leavers):
        self.sim = sim
        self.tmp_path = tmp_path
        self.leavers = leavers
        self.before = sim.state.snapshot()

    scopes = None  # the role's default

    def offboard_vars(self, report_dir):
        scopes = {"offboard_scopes": self.scopes} if self.scopes else {}
        return dict({"offboard_users": self.leavers, "offboard_report_dir": str(report_dir)}, **scopes)

    def killed(self, point, report_dir):
        """Start the offboarding, stop it at ``point``; returns the report it left, after checking it names every write."""
        since = len(self.sim.log)
        run = RunningPlaybook(self.sim, self.tmp_path, "entra.membership.offboard", self.offboard_vars(report_dir))
        assert run.wait_for(lambda: reached(point, self.sim, since, report_dir)), \
            "the run ended before %s:\n%s" % (point, run.finished().output)
        stopped = run.stop(point.how)
        assert stopped.returncode != 0, stopped.output
        wait_until_quiet(self.sim)
        (path,) = reports_in(report_dir)
        report = load(path)
        assert report["status"] == "running" and report["check_mode"] is False
        unrecorded = written_pairs(self.sim, since) - restorable_pairs(report)
        assert not unrecorded, "writes the report does not name: %s" % sorted(unrecorded)
        unrecorded_owners = owner_writes(self.sim, since) - recorded_owners(report)
        assert not unrecorded_owners, "owner writes the report does not name: %s" % sorted(unrecorded_owners)
        return path, report

    def restore(self, *report_paths):
        run = ansible_playbook(self.sim, self.tmp_path, "entra.membership.restore", {"restore_report": list(report_paths)})
        assert run.returncode == 0, run.output
        return run

    def assert_exactly_as_before(self):
        after = self.sim.state.snapshot()
        assert after == self.before, "memberships or owners differ from before the run: %s" % sorted(
            key for key in self.before if self.before[key] != after.get(key))

    def kill_then_restore(self, point):
        report_dir = self.tmp_path / ("restore-" + str(point))
        path, _report = self.killed(point, report_dir)
        self.restore(path)
        self.assert_exactly_as_before()
        assert load(path)["status"] == "interrupted", "the restore did not mark the stopped run interrupted"

    def kill_continue_then_restore_newest(self, point, preview_first=False):
        report_dir = self.tmp_path / ("continue-" + str(point))
        stopped_path, stopped = self.killed(point, report_dir)
        if preview_first:
            # A preview shows what a run would continue, and changes nothing: not the tenant, not the stopped run's report.
            preview = ansible_playbook(self.sim, self.tmp_path, "entra.membership.offboard", self.offboard_vars(report_dir), "--check")
            assert preview.returncode == 0 and "continues run %s" % stopped["run_id"] in preview.output, preview.output
            assert load(stopped_path) == stopped
            preview_path = (set(reports_in(report_dir)) - {stopped_path}).pop()
            assert "PREVIEW" in preview_path and load(preview_path)["continues"][0]["run_id"] == stopped["run_id"]
            os.remove(preview_path)
            os.remove(preview_path[:-len(".json")] + ".md")
        rerun = ansible_playbook(self.sim, self.tmp_path, "entra.membership.offboard", self.offboard_vars(report_dir))
        assert rerun.returncode == 0, rerun.output
        newest_path = (set(reports_in(report_dir)) - {stopped_path}).pop()
        newest = load(newest_path)
        assert newest["status"] == "done"
        assert [entry["run_id"] for entry in newest["continues"]] == [stopped["run_id"]]
        assert "continues run %s" % stopped["run_id"] in rerun.output
        assert load(stopped_path)["status"] == "interrupted" and load(stopped_path)["interrupted"]["noticed_by"] == newest["run_id"]
        self.assert_offboarded()
        self.restore(newest_path)
        self.assert_exactly_as_before()

    def assert_offboarded(self):
        for user in self.leavers:
            assert not any(self.sim.state.is_member(target, self.sim.state.user_id(user)) for target in self.removable_targets())

    def removable_targets(self):
        """The ids of every leaver group, unit and team: the leavers are in none of them once the offboarding is done."""
        state = self.sim.state
        return [target_id for store in (state.groups, state.aus) for target_id, target in store.items()
                if target["displayName"].startswith(("Leaver Group ", "Leaver AU ", "Leaver Team "))]


# ---------------------------------------------------------------------------------------------
# make test: three kill points on a small tenant (one user, 27 memberships)
# ---------------------------------------------------------------------------------------------

SMALL = dict(leavers=1, groups=20, units=3, teams=4)
# (kill point, restore from its report, continue then restore from the newest): both ways at least once, each run costs seconds.
# The first two are `heavy` (make pytest runs them); every core of the matrix runs the third.
SMALL_KILL_POINTS = [
    pytest.param(KillPoint("write", "group", 10, "int"), True, True, marks=pytest.mark.heavy),  # in the middle of the groups
    pytest.param(KillPoint("write", "team", 1, "awx"), False, True, marks=pytest.mark.heavy),   # during the teams, as AWX cancels a job (and a preview first)
    pytest.param(KillPoint("after", "team", how="int"), True, False),  # between two steps: teams recorded, no group removal sent yet
]


@pytest.fixture(scope="module")
def small_tenant():
    spec, leavers = leavers_tenant(**SMALL)
    with GraphSimulator(tenant=spec, latency=0.05) as sim:
        yield sim, leavers


@pytest.mark.parametrize("point, restore_it, continue_it", SMALL_KILL_POINTS, ids=[str(param.values[0]) for param in SMALL_KILL_POINTS])
def test_a_stopped_run_is_undone_exactly_by_restore_or_by_continue_then_restore(small_tenant, tmp_path, point, restore_it, continue_it):
    sim, leavers = small_tenant
    sim.reset()
    sim.latency = 0.05
    kill = KillRun(sim, tmp_path, leavers)
    if restore_it:
        kill.kill_then_restore(point)
    if continue_it:
        kill.kill_continue_then_restore_newest(point, preview_first=point.how == "awx")


# ---------------------------------------------------------------------------------------------
# The steps beyond memberships: the demo leaver with every scope on (the account, ownership with a
# substitute, app roles, directory roles, licenses), stopped during one of those steps
# ---------------------------------------------------------------------------------------------

EVERY_SCOPE = ["account", "owned_groups", "teams", "groups", "app_roles", "directory_roles", "administrative_units", "licenses"]


class EveryScopeKillRun(KillRun):
    """The demo tenant's leaver, every scope on. The snapshot compares owners, roles, apps, licenses and the account too."""

    scopes = EVERY_SCOPE

    def removable_targets(self):
        state = self.sim.state
        return [state.id_of("group", name) for name in ("All Staff", "Marketing", "Platform Engineers", "Helpdesk Admins")] + [
            state.id_of("team", name) for name in ("Platform Team", "Data Science Guild")] + [state.id_of("administrative_unit", "Germany")]

    def assert_offboarded(self):
        super().assert_offboarded()
        state = self.sim.state
        leaver = state.user_id(LEAVER)
        assert state.users[leaver]["accountEnabled"] is False
        assert not any(leaver in owners for owners in state.owners.values())


@pytest.fixture(scope="module")
def demo_tenant():
    with GraphSimulator(latency=0.05) as sim:
        yield sim


# make test (make pytest; heavy: the matrix's light suites leave it out): stopped in the owners' step, after the
# substitute owner's addition and before the leaver leaves the owners.
@pytest.mark.heavy
@pytest.mark.parametrize("point", [KillPoint("write", "group_owner", 1, "int")], ids=str)
def test_a_run_stopped_while_handing_over_ownership_is_undone_exactly_substitutes_included(demo_tenant, tmp_path, point):
    sim = demo_tenant
    sim.reset()
    sim.latency = 0.05
    kill = EveryScopeKillRun(sim, tmp_path, [LEAVER])
    kill.kill_then_restore(point)
    kill.kill_continue_then_restore_newest(point)


DEMO_KILL_POINTS = [KillPoint("write", kind, count, how) for how in ("int", "awx") for kind, count in (
    ("account", 1), ("account", 2), ("group_owner", 1), ("group_owner", 4), ("app_role", 1), ("directory_role", 1),
    ("directory_role", 3), ("license", 1),
)]


@pytest.mark.slow
@pytest.mark.parametrize("point", DEMO_KILL_POINTS, ids=str)
def test_kill_soak_the_steps_beyond_memberships_end_with_an_exact_restore(demo_tenant, tmp_path, point):
    sim = demo_tenant
    sim.reset()
    sim.latency = 0.05
    kill = EveryScopeKillRun(sim, tmp_path, [LEAVER])
    if DEMO_KILL_POINTS.index(point) % 2:
        kill.kill_continue_then_restore_newest(point)
    else:
        kill.kill_then_restore(point)


# ---------------------------------------------------------------------------------------------
# make soak: 32 kill points, 3 users with 305 memberships each
# ---------------------------------------------------------------------------------------------

LARGE = dict(leavers=3, groups=265, units=15, teams=25)
LARGE_KILL_POINTS = [KillPoint(when, kind, count, how) for how in ("int", "awx") for when, kind, count in (
    ("discovery", "", 1),
    ("write", "team", 1), ("write", "team", 12), ("write", "team", 24),  # one removal request per team: 25 teams, 3 users each
    ("after", "team", 1),
    ("write", "group", 1), ("write", "group", 100), ("write", "group", 265), ("write", "group", 400), ("write", "group", 600),
    ("write", "group", 780),
    ("after", "group", 1),
    ("write", "administrative_unit", 1), ("write", "administrative_unit", 25),
    ("after", "administrative_unit", 1),
    ("residual", "", 1),
)]


@pytest.fixture(scope="module")
def large_tenant():
    spec, leavers = leavers_tenant(**LARGE)
    with GraphSimulator(tenant=spec, latency=0.05) as sim:
        yield sim, leavers


@pytest.mark.slow
@pytest.mark.parametrize("point", LARGE_KILL_POINTS, ids=str)
def test_kill_soak_every_point_ends_with_an_exact_restore(large_tenant, tmp_path, point):
    sim, leavers = large_tenant
    sim.reset()
    sim.latency = 0.05
    kill = KillRun(sim, tmp_path, leavers)
    # Half the points prove the restore from the stopped run's report, half continue-then-restore: every one ends exact.
    if LARGE_KILL_POINTS.index(point) % 2:
        kill.kill_continue_then_restore_newest(point)
    else:
        kill.kill_then_restore(point)


@pytest.mark.slow
def test_issue_15_new_user_scenario_sigint_mid_groups_rerun_restore_newest(tmp_path):
    """One user, 363 removable memberships (30 teams, 3 as owner), latency 0.5 s: SIGINT mid-groups, re-run, restore: exact."""
    spec = generate.tenant(users=40, big_group_members=5, leaver_groups=300, leaver_aus=33, leaver_teams=30)
    with GraphSimulator(tenant=spec, latency=0.5) as sim:
        kill = KillRun(sim, tmp_path, [LEAVER])
        kill.kill_continue_then_restore_newest(KillPoint("write", "group", 160, "int"))
