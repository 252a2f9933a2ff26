"""The live check's compatibility report: each Graph behaviour of docs/graph-compatibility.md the run saw.

A test that exercises a behaviour records what Graph answered, with the answers' request ids:
"seen as documented" when the answer is the one the table describes, "differs: ..." otherwise. A
difference does not fail the test that saw it (the collection is meant to work with either reading,
and the module tests say whether it did); it is what a maintainer brings back to the table and to
the simulator. The report also lists every module run with its request ids and graph_stats.
"""
from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, field

from live_settings import REPO_ROOT

COMPATIBILITY_DOC = os.path.join(REPO_ROOT, "docs", "graph-compatibility.md")
SEEN = "seen as documented"

# What the live check can see, each behaviour named by words of its row's "Request -> answer" column
# (rows are found by these words, not by number, so the table may grow in any order).
BEHAVIOURS = {
    "token": "`POST /{tenant}/oauth2/v2.0/token`",
    "invalid_token": "Graph answers 401 `InvalidAuthenticationToken`",
    "user_get": "`GET /users/{id or UPN}` → the user",
    "upn_in_filter": "`GET /users?$filter=userPrincipalName in (...)`",
    "display_name_eq": "`GET /groups?$filter=displayName eq '...'` matches ignoring case",
    "filter_value_limit": "over **120 characters**",
    "target_flags": "`GET /groups/{id}`, `/directory/administrativeUnits/{id}`",
    "member_of": "`GET /users/{id}/memberOf` with `$select` (no cast)",
    "casts": "OData **casts**",
    "count": "`?$count=true` without `ConsistencyLevel`",
    "advanced_filter": "`$filter` on a relationship",
    "search": "`$search` needs `ConsistencyLevel: eventual`",
    "batch_item_headers": "Inside `$batch`, an item's `ConsistencyLevel`",
    "transitive_member_of": "`GET /users/{id}/transitiveMemberOf`",
    "members_paged": "with `$select=id&$top=999`, paged",
    "owners": "`GET /groups/{id}/owners`",
    "joined_teams": "`GET /users/{id}/joinedTeams`",
    "team_reads": "`GET /teams/{id}` 404 `NotFound`",
    "eventual_consistency": "Reads see changes late",
    "member_of_permissions": "`user-list-memberof`'s table lists only `Directory.Read.All`",
    "ref_delete": "`DELETE /groups/{id}/members/{mid}/$ref` → 204",
    "not_a_member": "Not a member, or target missing → 404",
    "replication_lag": "Right after a change, removing again may answer 400",
    "ref_post": "`POST /groups/{id}/members/$ref`",
    "teams_bulk": "`POST /teams/{id}/members/remove` / `add`",
    "throttling": "429 with `Retry-After` (seconds",
    "error_body": "Error body `{\"error\":",
}

_ROW = re.compile(r"^\|\s*(\d+)\s*\|(.*)$")


@dataclass(frozen=True)
class Row:
    number: int
    request: str     # the "Request -> answer" column
    status: str      # documented / observed / unverified, as the table words it


def table_rows(path=COMPATIBILITY_DOC) -> dict:
    """``{number: Row}`` of every numbered row of the compatibility tables."""
    rows = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = _ROW.match(line.strip())
            if match:
                cells = [cell.strip() for cell in match.group(2).split(" | ")]
                rows[int(match.group(1))] = Row(int(match.group(1)), cells[0], cells[2] if len(cells) > 2 else "")
    return rows


def rows_matching(anchor, rows) -> list:
    return [row for row in rows.values() if anchor in row.request]


def row_of(behaviour, rows) -> Row | None:
    """The one row that describes ``behaviour``; None when the table has none or several (the report says so)."""
    matching = rows_matching(BEHAVIOURS[behaviour], rows)
    return matching[0] if len(matching) == 1 else None


def request_ids(answers) -> list:
    """Request ids of GraphResponses, requests' responses, module results or plain strings, in order, once each."""
    found = []
    for answer in answers:
        if isinstance(answer, str):
            value = answer
        elif isinstance(answer, dict):
            value = answer.get("request_id") or (answer.get("error") or {}).get("request_id")
        else:
            headers = getattr(answer, "headers", None) or {}
            value = getattr(answer, "request_id", None) or headers.get("request-id")
        if value and value not in found:
            found.append(value)
    return found


@dataclass
class Observation:
    behaviour: str
    what: str              # what was asked, in a few words
    verdict: str           # SEEN, or "differs: ..."
    request_ids: list = field(default_factory=list)


@dataclass
class ModuleRun:
    name: str              # "entra_group_member (check mode)"
    msg: str
    request_ids: list
    graph_stats: dict


class CompatibilityReport:
    def __init__(self):
        self.observations = []
        self.module_runs = []
        self.permissions = None    # the application permissions the token carried, once a test read them

    def observe(self, behaviour, what, as_documented, how_it_differs, answers=()):
        """Record one sighting of ``behaviour``: as documented, or differing as ``how_it_differs`` says."""
        if behaviour not in BEHAVIOURS:
            raise KeyError("unknown behaviour %r: add it to live_report.BEHAVIOURS" % behaviour)
        verdict = SEEN if as_documented else "differs: %s" % how_it_differs
        self.observations.append(Observation(behaviour, what, verdict, request_ids(answers)))
        return as_documented

    def module_run(self, name, result):
        ids = request_ids(result.get("results") or []) + request_ids((user.get("error") or {}) for user in result.get("users") or [])
        self.module_runs.append(ModuleRun(name, result.get("msg", ""), ids, dict(result.get("graph_stats") or {})))

    def note_throttling(self):
        """Throttling is seen only when Graph throttled a module run: its graph_stats count the 429s retried."""
        throttled = self.graph_stats_total().get("throttled", 0)
        if throttled:
            self.observe("throttling", "%d answers throttled in the module runs, retried as Retry-After asked (graph_stats)" % throttled, True, "")

    def graph_stats_total(self):
        total = {}
        for run in self.module_runs:
            for key, value in run.graph_stats.items():
                total[key] = total.get(key, 0) + value
        return total

    def render(self, context, rows=None) -> str:
        """The report in Markdown; ``context``: ``[(label, value)]`` lines for its head (tenant, user, mode, outcome)."""
        rows = table_rows() if rows is None else rows
        lines = ["# entra.membership live check", ""]
        lines += ["- %s: %s" % (label, value) for label, value in context]
        lines += ["", "## Graph behaviours (docs/graph-compatibility.md)", ""]
        if not self.observations:
            lines += ["No Graph behaviour was exercised (every test was skipped or failed before it asked Graph).", ""]
        else:
            lines += ["| # | behaviour | table says | asked | verdict | request ids |", "|---|---|---|---|---|---|"]
            placed = [(row_of(observation.behaviour, rows), observation) for observation in self.observations]
            for row, observation in sorted(placed, key=lambda pair: pair[0].number if pair[0] else 0):
                lines.append("| %s | %s | %s | %s | %s | %s |" % (
                    row.number if row else "?",
                    _cell(_shortened(row.request) if row else "no single row matches %r" % BEHAVIOURS[observation.behaviour]),
                    _cell(row.status if row else ""), _cell(observation.what), _cell(observation.verdict),
                    ", ".join("`%s`" % request_id for request_id in observation.request_ids) or "none returned"))
            differing = sum(1 for observation in self.observations if observation.verdict != SEEN)
            seen_rows = {row.number for row, _observation in placed if row}
            lines += ["", "%d sightings of %d rows: %d as documented, %d differ. Rows not exercised by this run: %s." % (
                len(self.observations), len(seen_rows), len(self.observations) - differing, differing,
                ", ".join(str(number) for number in sorted(set(rows) - seen_rows)) or "none"), ""]
        lines += ["## Module runs", ""]
        if self.module_runs:
            lines += ["| run | msg | request ids | graph_stats |", "|---|---|---|---|"]
            lines += ["| %s | %s | %s | %s |" % (_cell(run.name), _cell(run.msg), ", ".join("`%s`" % i for i in run.request_ids) or
                                                 "none returned (reads only: the modules return the request ids of writes and errors)",
                                                 _cell(_stats(run.graph_stats))) for run in self.module_runs]
            lines += ["", "All runs: %s." % _stats(self.graph_stats_total()), ""]
        else:
            lines += ["No module ran.", ""]
        return "\n".join(lines)


def graph_error_text(error) -> str:
    """``"404 Request_ResourceNotFound"`` of a GraphError; ``"no error"`` for None."""
    return "%s %s" % (error.status, error.code) if error is not None else "no error"


def answered(answer) -> str:
    """What a GraphResponse was, for a report line: ``answered 200`` or ``answered 400 Request_UnsupportedQuery``."""
    return "answered %s" % (graph_error_text(answer.error) if answer.error is not None else answer.status)


# The one report of a run: tests add to it, the terminal summary writes it.
REPORT = CompatibilityReport()


def _stats(stats):
    return ", ".join("%s %s" % (key, value) for key, value in sorted(stats.items())) or "none"


def _shortened(text, limit=160):
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
