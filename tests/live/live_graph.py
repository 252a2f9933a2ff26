"""Reads the live check makes itself, with the collection's Graph client: collections page by page, and one membership read back."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

# Enough pages for any group a test would use, few enough that a huge one costs little.
MAX_PAGES = 50


def read_pages(graph, path, params, max_pages=MAX_PAGES):
    """``(items, answers)`` of a collection read page by page through @odata.nextLink; stops at the first failed page."""
    items, answers, url, query = [], [], path, params
    while url and len(answers) < max_pages:
        answer = graph.request("GET", url, params=query)
        answers.append(answer)
        if not answer.ok:
            break
        items += answer.body.get("value") or []
        url, query = answer.body.get("@odata.nextLink"), None
    return items, answers


def unique_name(prefix="entra-live-check"):
    """A name no object of a tenant has: for the reads that must find nothing."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


@dataclass
class Membership:
    member: bool
    role: str | None               # teams: "owner" or "member"; None elsewhere or when not a member
    answers: list = field(default_factory=list)

    @property
    def readable(self):
        return all(answer.ok for answer in self.answers)


def read_membership(graph, kind, target_id, user_id):
    """Whether the user is a direct member of the target, as Graph lists it now: the user's memberOf for a group or an
    administrative unit, the team's roster (with the role) for a team."""
    if kind == "team":
        roster, answers = read_pages(graph, "/teams/%s/members" % target_id, None)
        mine = [entry for entry in roster if entry.get("userId") == user_id]
        role = ("owner" if "owner" in (mine[0].get("roles") or []) else "member") if mine else None
        return Membership(bool(mine), role, answers)
    objects, answers = read_pages(graph, "/users/%s/memberOf" % user_id, {"$select": "id", "$top": "999"})
    return Membership(target_id in {item.get("id") for item in objects}, None, answers)


def settle(read, wanted, seconds, sleep=time.sleep, clock=time.monotonic):
    """``(membership, waited seconds, reads)``: ``read()`` again, waiting 1, 2, 4 ... seconds, until ``wanted(membership)`` or
    ``seconds`` have passed (Graph's reads may lag behind a write: graph/aad-advanced-queries, Designing for eventual consistency)."""
    start = clock()
    membership, reads, delay = read(), 1, 1
    while not (membership.readable and wanted(membership)) and clock() - start + delay <= seconds:
        sleep(delay)
        membership, reads, delay = read(), reads + 1, delay * 2
    return membership, clock() - start, reads
