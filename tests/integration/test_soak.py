"""Fault soak: offboard and restore many members across groups, administrative units and teams while
30 % of Graph's answers fail (429 with and without Retry-After, 503, 504, a reset connection, a
truncated answer, 429 inside $batch answers). Afterwards the tenant must be exactly as intended and
every result must say what really happened. ``make test`` runs the CI size; ``make soak`` the full one.

Waiting is shrunk, not skipped: Retry-After values are hundredths of a second and the client's
backoff base is lowered for the run (the same code paths, a hundredth of the time).
"""
import collections
import copy

import pytest

from graphsim import generate
from modrun import run_module

from ansible_collections.entra.membership.plugins.module_utils import _graph_client
from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, teams_member

LEAVER = generate.LEAVER
GRAPH_PATHS = r"^/(v1\.0|beta)/"
WRITE_PATHS = r"(/members/[^/]+/\$ref|/members/\$ref|/members/(remove|add))$"
SEED = 20261123
# (name, kind, Retry-After): six ways a request fails, each ~5.8 %: 1 - 0.942**6 = 30 % of requests.
HTTP_FAULTS = (("429 with Retry-After", 429, 0.01), ("429 without Retry-After", 429, None), ("503", 503, 0.02),
               ("504", 504, None), ("reset", "reset", None), ("truncate", "truncate", None))
HTTP_FAULT_RATE = 0.058
BATCH_ITEM_429_RATE = 0.12    # on top of the 429/503/504 above, which $batch items draw too: ~30 % of items
MAX_RETRIES = 12              # 0.3 ** 13: no pair should run out of retries in either size

SIZES = {
    "ci": dict(groups=16, aus=6, teams=4, members=6, max_concurrency=1),
    "full": dict(groups=200, aus=30, teams=20, members=8, max_concurrency=4),
}


def soak_tenant(size):
    """A generated tenant whose leaver groups, units and teams hold about two thirds of the soak's members."""
    spec = generate.tenant(users=40, big_group_members=10, leaver_groups=size["groups"], leaver_aus=size["aus"],
                           leaver_teams=size["teams"])
    members = [LEAVER] + [user["userPrincipalName"] for user in spec["users"][1:size["members"]]]
    for number, target in enumerate(spec["groups"] + spec["administrative_units"]):
        if target["displayName"].startswith(("Leaver Group ", "Leaver AU ", "Leaver Team ")):
            extra = [upn for index, upn in enumerate(members) if (number + index) % 3]
            target["members"] = list(dict.fromkeys(target["members"] + extra))
    return spec, members


def inject_faults(sim, seed):
    for offset, (_name, kind, retry_after) in enumerate(HTTP_FAULTS):
        sim.faults.add(kind, rate=HTTP_FAULT_RATE, path_re=GRAPH_PATHS, retry_after=retry_after, seed=seed + offset)
    sim.faults.add(429, rate=BATCH_ITEM_429_RATE, path_re=WRITE_PATHS, retry_after=0.01, seed=seed + 99)


def ids(sim, kind, prefix, count):
    return [sim.state.id_of(kind, "%s%s" % (prefix, format(number, "04d" if kind == "group" else "03d"))) for number in range(count)]


class Ledger:
    """What should happen to each pair, from the tenant before the run, and what the results said."""

    def __init__(self, sim):
        self.sim = sim
        self.before = sim.state.snapshot()
        self.expected = copy.deepcopy(self.before)
        self.statuses = collections.Counter()

    def run(self, module, target_option, target_ids, members, section, **options):
        state = options.get("state", "absent")
        result = run_module(module, dict(self.sim.module_auth(), **{target_option: target_ids}, members=members,
                                         max_retries=MAX_RETRIES, **options))
        member_ids = {upn: self.sim.state.user_id(upn) for upn in members}
        pairs = [(target_id, upn) for target_id in target_ids for upn in members]
        # Each pair exactly once, in input order; the summary adds up to the pairs.
        assert [(entry["target"]["id"], entry["member"]) for entry in result["results"]] == pairs
        assert sum(result["summary"].values()) == len(pairs)
        counted = collections.Counter(entry["status"] for entry in result["results"])
        assert result["summary"] == {status: counted[status] for status in result["summary"]}
        for entry in result["results"]:
            target_id, member_id = entry["target"]["id"], member_ids[entry["member"]]
            was_member = member_id in self._members(section, target_id)
            if state == "absent":
                wanted = "removed" if was_member else "absent"
            else:
                wanted = "present" if was_member else "added"
            assert (entry["status"], entry["error"]) == (wanted, None), (entry, was_member)
            self._apply(section, target_id, member_id, state, options.get("role"))
        self.statuses.update(result["summary"])
        assert result["rc"] == 0 and not result.get("failed"), result["msg"]
        return result

    def _members(self, section, target_id):
        return self.expected[section][target_id]

    def _apply(self, section, target_id, member_id, state, role):
        members = self.expected[section][target_id]
        if state == "absent":
            if member_id in members:
                members.remove(member_id)
            if section == "groups":
                owners = self.expected["group_owners"][target_id]
                if member_id in owners:
                    owners.remove(member_id)
                self.expected["teams"].get(target_id, {}).pop(member_id, None)
        elif member_id not in members:
            members.append(member_id)
            members.sort()
            if section == "groups" and target_id in self.expected["teams"]:
                self.expected["teams"][target_id][member_id] = role or "member"
                if role == "owner":
                    self.expected["group_owners"][target_id] = sorted(self.expected["group_owners"][target_id] + [member_id])
                self.expected["teams"][target_id] = dict(sorted(self.expected["teams"][target_id].items()))


def soak(sim, size, members, monkeypatch):
    monkeypatch.setattr(_graph_client, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(_graph_client, "BACKOFF_CAP", 0.1)
    groups = ids(sim, "group", "Leaver Group ", size["groups"])
    aus = ids(sim, "au", "Leaver AU ", size["aus"])
    teams = ids(sim, "team", "Leaver Team ", size["teams"])
    # A team's co-owner (the generator's colleague) stays, so no team loses its last owner.
    team_members = [upn for upn in members if upn != members[1]]
    ledger = Ledger(sim)
    inject_faults(sim, SEED)
    options = dict(max_concurrency=size["max_concurrency"])

    removed = {}
    for module, option, targets, section, who in ((entra_group_member, "groups", groups, "groups", members),
                                                  (entra_au_member, "administrative_units", aus, "administrative_units", members),
                                                  (teams_member, "teams", teams, "groups", team_members)):
        result = ledger.run(module, option, targets, who, section, **options)
        removed[option] = [entry for entry in result["results"] if entry["status"] == "removed"]
    assert sim.state.snapshot() == ledger.expected  # nothing lost, nothing left behind

    # The removal record replayed with state=present puts everything back (team owners as owners).
    for module, option, section in ((entra_group_member, "groups", "groups"), (entra_au_member, "administrative_units", "administrative_units")):
        by_member = collections.defaultdict(list)
        for entry in removed[option]:
            by_member[entry["member"]].append(entry["target"]["id"])
        for member, targets in sorted(by_member.items()):
            ledger.run(module, option, targets, [member], section, state="present", **options)
    for role in ("member", "owner"):
        entries = [entry for entry in removed["teams"] if entry["role"] == role]
        for member in sorted({entry["member"] for entry in entries}):
            targets = [entry["target"]["id"] for entry in entries if entry["member"] == member]
            ledger.run(teams_member, "teams", targets, [member], "groups", state="present", role=role, **options)
    assert sim.state.snapshot() == ledger.expected == ledger.before

    assert sim.destructive_events == []
    faults = collections.Counter(entry.fault for entry in sim.log if entry.fault)
    graph_answers = [entry for entry in sim.log if entry.path.startswith(("/v1.0/", "/beta/"))]
    return ledger.statuses, faults, len(graph_answers)


def run_soak(graphsim_factory, monkeypatch, size_name):
    size = SIZES[size_name]
    spec, members = soak_tenant(size)
    sim = graphsim_factory(tenant=spec, seed=SEED)
    statuses, faults, answers = soak(sim, size, members, monkeypatch)
    operations = statuses["removed"] + statuses["absent"] + statuses["added"] + statuses["present"]
    # Every kind of fault happened, and about 30 % of everything Graph answered was a fault.
    assert set(faults) == {429, 503, 504, "reset", "truncate"}, faults
    assert 0.2 <= sum(faults.values()) / answers <= 0.45, (faults, answers)
    assert any(entry.fault == 429 and entry.in_batch for entry in sim.log)
    return operations, statuses, sim


@pytest.mark.heavy
def test_a_ci_size_soak_under_faults_leaves_the_tenant_exactly_as_intended(graphsim_factory, monkeypatch):
    operations, statuses, sim = run_soak(graphsim_factory, monkeypatch, "ci")
    print("soak, CI size: %d membership operations %s" % (operations, dict(statuses)))
    assert operations >= 200 and statuses["removed"] == statuses["added"] > 0
    # With this seed a $batch of additions lost its answer: the resent POST met "already exist" and
    # the Ledger still saw "added" (the lost-answer path, exercised).
    assert sim.log.count(method="POST", path_re=r"/members/\$ref$", status=400, in_batch=True) >= 1


@pytest.mark.slow
def test_a_full_size_soak_under_faults_leaves_the_tenant_exactly_as_intended(graphsim_factory, monkeypatch):
    operations, statuses, _sim = run_soak(graphsim_factory, monkeypatch, "full")
    print("soak, full size: %d membership operations %s" % (operations, dict(statuses)))
    assert operations >= 2000 and statuses["removed"] == statuses["added"] > 0
