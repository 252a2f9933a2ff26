"""The four cases of issue 9, each a function of a running ``Bench`` returning ``Measurement``s.

Every contender's work is checked against the simulator's state after each repeat: a time is
reported only for a run that did what it says (``ContenderFailed`` otherwise).
"""
from __future__ import annotations

import math
import os

from harness import REPO_ROOT, Bench, ContenderFailed, debug_result, member_upns
from naive import NaiveClient

from ansible_collections.entra.membership.plugins.module_utils._graph_client import BATCH_LIMIT
from ansible_collections.entra.membership.plugins.module_utils._resolve import UPN_FILTER_LIMIT

BIG_GROUP = "Big Group"
LEAVER = "leaver@contoso.com"
OFFBOARD_PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "offboard.yml")
OFFBOARD_ROLE = os.path.join(REPO_ROOT, "roles", "offboard", "tasks", "main.yml")
THROTTLE_SHARE = 0.2
# graphsim.generate puts the leaver in one group of each of these kinds; Graph refuses member writes to them.
UNCHANGEABLE_KINDS = ("dynamic", "synced", "mail_security", "distribution")


def _require_removed(bench: Bench, upns: list) -> None:
    group_id = bench.sim.state.id_of("group", BIG_GROUP)
    left = [upn for upn in upns if bench.sim.state.is_member(group_id, bench.sim.state.user_id(upn))]
    if left:
        raise ContenderFailed("%d of %d members are still in %s, e.g. %s" % (len(left), len(upns), BIG_GROUP, left[:3]))


def _module_numbers(result: dict, size: int) -> dict:
    summary = result.get("summary") or {}
    if summary.get("removed", 0) + summary.get("failed", 0) != size:
        raise ContenderFailed("entra_group_member: %s" % (result.get("msg") or result))
    # graph_stats: what the module's Graph client counted, the time it slept on Retry-After and back-off included.
    waited = (result.get("graph_stats") or {}).get("waited_seconds")
    return {"failures": summary.get("failed", 0), "waited_seconds": waited, "module_invocations": 1}


def module_task(bench: Bench, upns: list):
    """entra_group_member as one playbook task: Ansible's own cost included, as users pay it."""
    def action():
        output = bench.run_playbook("module_bulk_remove.yml", {"group": BIG_GROUP, "members": upns})
        numbers = _module_numbers(debug_result(output), len(upns))
        _require_removed(bench, upns)
        return numbers
    return action


def module_process(bench: Bench, upns: list, profile: str | None = None):
    """entra_group_member as its own process with an args file (no ansible-playbook): its peak RSS is its own."""
    def action():
        result, rss_mb = bench.run_module("entra_group_member", {"groups": [BIG_GROUP], "members": upns}, profile=profile)
        numbers = _module_numbers(result, len(upns))
        _require_removed(bench, upns)
        return dict(numbers, rss_mb=rss_mb)
    return action


def naive_client(bench: Bench, upns: list):
    def action():
        statuses = NaiveClient(bench.sim.environment()).remove_members(BIG_GROUP, upns)
        _require_removed(bench, upns)
        return {"failures": len(upns) - statuses.get(204, 0)}
    return action


def uri_loop(bench: Bench, upns: list):
    def action():
        bench.run_playbook("uri_bulk_remove.yml", {"group": BIG_GROUP, "members": upns})
        _require_removed(bench, upns)
        return {"failures": 0}
    return action


def bulk_removal(bench: Bench, size: int, repeats: dict) -> list:
    """Case 1: ``size`` UPNs out of one group; ``repeats`` per contender (0 or missing: not run)."""
    upns = member_upns(size)
    contenders = (("entra_group_member", module_task), ("entra_group_member (process)", module_process), ("naive client", naive_client),
                  ("uri loop", uri_loop))
    return [bench.measure("1", name, size, make(bench, upns), repeats[name]) for name, make in contenders if repeats.get(name)]


def growth(bench: Bench, sizes: list, repeats: int) -> list:
    """Case 3: the module process at each size (requests, wall time, peak RSS)."""
    return [bench.measure("3", "entra_group_member", size, module_process(bench, member_upns(size)), repeats) for size in sizes]


def throttled(bench: Bench, size: int, repeats: int, contender=module_task) -> list:
    """Case 4: case 1 with a fifth of Graph's answers 429 Retry-After: 1."""
    return [bench.measure("4", "entra_group_member", size, contender(bench, member_upns(size)), repeats, throttle=THROTTLE_SHARE)]


def resolution_requests(size: int) -> int:
    """GETs that resolve ``size`` UPNs: UPN_FILTER_LIMIT to a ``userPrincipalName in (...)`` filter."""
    return math.ceil(size / UPN_FILTER_LIMIT)


def request_ceiling(size: int, constant: int = 8) -> int:
    """What batching promises for ``size`` UPNs out of one group: the resolving GETs 20 to a $batch, one removal $batch per 20
    members (a single GET goes alone), plus a constant."""
    return math.ceil(resolution_requests(size) / BATCH_LIMIT) + math.ceil(size / BATCH_LIMIT) + constant


def batch_items(size: int) -> int:
    """Requests inside the $batch envelopes for ``size`` UPNs: the resolving GETs (unless one goes alone) and a removal per member."""
    gets = resolution_requests(size)
    return (gets if gets > 1 else 0) + (size if size > 1 else 0)


# -- case 2: offboarding one user ---------------------------------------------------------------

def offboarding_available() -> str | None:
    """None when roles/offboard and playbooks/offboard.yml are there, else why case 2 is skipped."""
    missing = [os.path.relpath(path, REPO_ROOT) for path in (OFFBOARD_PLAYBOOK, OFFBOARD_ROLE) if not os.path.isfile(path)]
    if missing:
        return "case 2 skipped: %s not in this checkout yet (the offboarding role, issue 7)" % " and ".join(missing)
    return None


def _leaver_memberships(bench: Bench) -> int:
    state = bench.sim.state
    leaver = state.user_id(LEAVER)
    return sum(1 for target in list(state.groups) + list(state.aus) if state.is_member(target, leaver))


def _require_offboarded(bench: Bench, left_at_most: int) -> None:
    left = _leaver_memberships(bench)
    if left > left_at_most:
        raise ContenderFailed("the leaver is still in %d groups/administrative units (at most %d may stay: the ones Graph refuses)" % (left, left_at_most))


def offboarding(bench: Bench, repeats: dict) -> list:
    """Case 2: the leaver of the generated tenant out of everything but the groups Graph refuses to change."""
    if offboarding_available():
        return []
    stays = len(UNCHANGEABLE_KINDS)

    def role():
        bench.run_playbook(OFFBOARD_PLAYBOOK, {"offboard_users": [LEAVER], "offboard_report_dir": bench.new_dir("reports")})
        _require_offboarded(bench, stays)
        # Each module process asks for its own token (MSAL's cache lives in the process): tokens = module runs.
        return {"failures": 0, "module_invocations": bench.counts()["tokens"], "task_seconds": bench.last_task_seconds}

    def uri():
        bench.run_playbook("uri_offboard.yml", {"user": LEAVER})
        _require_offboarded(bench, stays)
        return {"failures": 0}

    def naive():
        NaiveClient(bench.sim.environment()).offboard(LEAVER)
        _require_offboarded(bench, stays)
        return {"failures": 0}

    contenders = (("roles/offboard", role), ("naive client", naive), ("uri loop", uri))
    return [bench.measure("2", name, _offboard_size(bench), action, repeats[name]) for name, action in contenders if repeats.get(name)]


def _offboard_size(bench: Bench) -> int:
    bench.reset()
    return _leaver_memberships(bench)
