"""What tests read and steer: the request log, destructive events and fault injection."""
from __future__ import annotations

import dataclasses
import random
import re
import threading
import time

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
FAULT_KINDS = (429, 503, 504, "reset", "truncate", "html", "slow", "expire_token", "batch_status")
# Faults that make sense for one item of a $batch answer (a socket cannot be cut per item).
BATCH_ITEM_FAULTS = (429, 503, 504)


@dataclasses.dataclass
class LogEntry:
    """One request the simulator answered (a ``$batch`` also logs each of its items, ``in_batch=True``).

    ``path`` is percent-decoded and starts with the version (``/v1.0/groups/...``) for Graph,
    ``raw_path`` is what came over the wire. ``body`` is kept for Graph writes only; the
    Authorization header, tokens, secrets and assertions are never stored.
    """
    method: str
    path: str
    query: dict
    status: int | None = None
    duration: float = 0.0
    in_batch: bool = False
    request_id: str = ""
    client_request_id: str | None = None
    raw_path: str = ""
    body: object = None
    bind_hosts: list = dataclasses.field(default_factory=list)
    batch_id: str | None = None  # the item id inside its $batch
    fault: object = None  # the injected fault kind, if one answered instead of the simulator
    applied: bool = False  # an ``applied`` fault: the request was carried out, then the fault answered
    headers: dict = dataclasses.field(default_factory=dict)  # request headers, minus Authorization

    @property
    def is_write(self) -> bool:
        """A Graph request that asks to change the directory (not the $batch envelope, not a token request)."""
        return self.method in WRITE_METHODS and "/oauth2/" not in self.path and not self.path.endswith("/$batch")


class RequestLog:
    """Thread-safe, list-like log of ``LogEntry``."""

    def __init__(self):
        self._entries = []
        self._lock = threading.Lock()

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def __iter__(self):
        with self._lock:
            return iter(list(self._entries))

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def __getitem__(self, index):
        with self._lock:
            return self._entries[index]

    def __repr__(self):
        return f"RequestLog({len(self)} entries)"

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def filter(self, method=None, path_re=None, in_batch=None, status=None) -> list:
        pattern = re.compile(path_re) if isinstance(path_re, str) else path_re
        methods = {method} if isinstance(method, str) else (set(method) if method else None)
        return [
            entry for entry in self
            if (methods is None or entry.method in methods)
            and (pattern is None or pattern.search(entry.path))
            and (in_batch is None or entry.in_batch == in_batch)
            and (status is None or entry.status == status)
        ]

    def count(self, method=None, path_re=None, in_batch=None, status=None) -> int:
        return len(self.filter(method, path_re, in_batch, status))

    def writes(self) -> list:
        """Every request that asked Graph to change something, including the items of a $batch."""
        return [entry for entry in self if entry.is_write]

    def graph_requests(self) -> list:
        """Every HTTP request that reached Graph (not the identity endpoints), $batch envelopes included, items not."""
        return [entry for entry in self if not entry.in_batch and "/oauth2/" not in entry.path
                and "/.well-known/" not in entry.path]


@dataclasses.dataclass
class DestructiveEvent:
    """A directory object was deleted (what a member removal without ``/$ref`` does on Graph)."""
    kind: str          # the deleted object's type: user, group, ...
    object_id: str
    method: str
    path: str
    request_id: str


@dataclasses.dataclass
class FaultRule:
    kind: object
    rate: float
    path_re: object
    retry_after: object
    rng: random.Random
    method: object
    limit: object
    fired: int = 0
    delay: float = 0.0
    after: int = 0
    seen: int = 0
    applied: bool = False
    status: int = 424


class Faults:
    """Deterministic fault injection: ``sim.faults.add(429, rate=0.5, path_re=r"/members/", retry_after=1.5, seed=3)``.

    ``rate`` is the chance (0..1) for each matching request; the draw comes from a generator
    seeded with ``seed``, so a run is repeatable. ``limit`` caps how often the rule fires (e.g.
    ``rate=1, limit=2``: the first two matching requests fail). ``retry_after`` is sent as the
    ``Retry-After`` header (seconds, int or float; None sends none). Kinds: 429, 503, 504 (answered
    without doing anything), ``"reset"`` (the connection is reset before anything is done or
    answered), ``"truncate"`` (the request IS carried out, then the answer is cut short: a
    ``Content-Length`` larger than what is sent, and the connection closes), ``"html"`` (a proxy's
    502 HTML error page, nothing done), ``"slow"`` (``delay`` seconds pass, then the request is
    carried out and answered: a client with a shorter timeout has given up by then) and
    ``"expire_token"`` (the simulator's clock jumps past the lifetime of every token issued so far,
    then the request is handled: Graph answers 401 as it does when a token expires mid-run).
    ``after=N``: the first N matching requests pass untouched (a fault in the middle of a run).

    ``applied=True`` (429, 503, 504): the request IS carried out, then answered with the fault, as Graph may do
    (Microsoft Q&A 5529013: a Teams removal in a ``$batch`` answered 429, and the user was removed); inside a
    ``$batch`` too. ``"batch_status"`` matches only ``$batch`` envelopes: every item is run and answered as usual,
    then the envelope's own HTTP status becomes ``status`` (default 424, with ``Retry-After`` when given) while its
    body still carries the ``responses`` (https://learn.microsoft.com/graph/throttling#throttling-and-batching).
    """

    def __init__(self):
        self._rules = []
        self._lock = threading.Lock()

    def add(self, kind, rate=1.0, path_re=None, retry_after=None, seed=0, method=None, limit=None, delay=0.0, after=0,
            applied=False, status=424) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {kind!r}")
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {rate!r}")
        if applied and kind not in BATCH_ITEM_FAULTS:
            raise ValueError(f"applied=True is for the status faults {BATCH_ITEM_FAULTS}, got {kind!r}")
        if not (isinstance(status, int) and 300 <= status <= 599):
            raise ValueError(f"status must be an HTTP error status (300..599), got {status!r}")
        rule = FaultRule(kind, rate, re.compile(path_re) if path_re else None, retry_after,
                         random.Random(seed), method.upper() if method else None, limit, delay=delay, after=after,
                         applied=applied, status=status)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def __len__(self):
        return len(self._rules)

    def pick(self, method: str, path: str, in_batch: bool = False):
        """The rule that fires for this request, if any (each matching rule draws once, in order)."""
        with self._lock:
            for rule in self._rules:
                if in_batch and rule.kind not in BATCH_ITEM_FAULTS:
                    continue
                if rule.kind == "batch_status" and not path.rstrip("/").endswith("/$batch"):
                    continue
                if rule.path_re is not None and not rule.path_re.search(path):
                    continue
                if rule.method and rule.method != method:
                    continue
                if rule.limit is not None and rule.fired >= rule.limit:
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.rng.random() < rule.rate:
                    rule.fired += 1
                    return rule
        return None


class Clock:
    """The simulator's notion of now: real time plus an offset tests move with ``advance``."""

    def __init__(self):
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
