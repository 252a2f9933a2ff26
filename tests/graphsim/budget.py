"""Graph's identity and access throttling budget, as Microsoft documents it, optionally time-scaled.

Source: microsoft-graph-docs-contrib ``concepts/throttling-limits.md``, section "Identity and access
service limits" (its text lives in ``includes/throttling-identity-and-access.md``), and
``concepts/throttling.md`` ("Sample response", "Throttling and batching"). What the pages say, and
what this model does with it:

- "Throttling is based on a token bucket algorithm, which works by adding individual costs of
  requests": one bucket per limit, full at the start, refilled continuously at quota / window.
- Limits per application+tenant pair: resource units, S 3,500 / M 5,000 / L 8,000 per 10 seconds,
  the tenant size being "S - under 50 users, M - between 50 and 500 users, and L - above 500 users";
  writes, 3,000 requests per 2 minutes and 30 seconds. Per tenant, for all applications: writes,
  18,000 requests per 5 minutes. (The per-application limits across all tenants, 150,000 resource
  units per 20 seconds and 35,000 writes per 5 minutes, cannot bind before these with one tenant,
  so they are left out.)
- The cost table: GET 1 resource unit, writes (POST, PATCH, PUT, DELETE) 1 resource unit and 1 write,
  the listed paths more (``request_cost``); ``$select`` -1, ``$expand`` +1, ``$top`` under 20 -1, never
  below 1; a ``me/`` row applies to ``users/{id}/`` as well.
- "Requests in a batch are evaluated individually against throttling limits and if any request
  exceeds the limits, it fails with a status code of 429 ... The batch itself succeeds with a status
  code of 200": every ``$batch`` item is charged on its own; the envelope costs nothing.
- "Microsoft Graph continues to log resource usage while a client is being throttled": a refused
  request still spends its resource units (down to an empty bucket), never a write.
- A 429 carries ``Retry-After`` (whole seconds, like the sample's ``Retry-After: 10``): when the
  fullest refusing bucket holds the request's cost again, rounded up to ``retry_after_step``;
  ``x-ms-throttle-scope`` (``<Scope>/<Limit>/<ApplicationId>/<TenantId>``) and
  ``x-ms-throttle-information`` (``ResourceUnitLimitExceeded`` / ``WriteLimitExceeded``).
  Every admitted request carries ``x-ms-resource-unit`` (its cost) and, above 0.8 of a limit used,
  ``x-ms-throttle-limit-percentage``.

Teams paths (``/teams/...``, ``joinedTeams``) belong to the Microsoft Teams service, whose limits the
page lists apart: they pass uncharged. ``time_scale`` divides every window (and every Retry-After)
so that a test can run a window in seconds; ``quota_scale`` multiplies every quota, to reach the
throttled regime with fewer requests. See docs/simulator.md, "Throttling budget".
"""
from __future__ import annotations

import dataclasses
import math
import threading

from .graph import VERSIONS, GraphError, error_body, split_segments
from .protocol import Reply

# includes/throttling-identity-and-access.md: resource units per 10 seconds by tenant size.
RESOURCE_UNITS_PER_10_SECONDS = {"S": 3_500, "M": 5_000, "L": 8_000}
SMALL_TENANT_BELOW = 50      # "S - under 50 users"
LARGE_TENANT_ABOVE = 500     # "M - between 50 and 500 users, and L - above 500 users"
THROTTLED_MESSAGE = "Please retry again later."  # concepts/throttling.md, "Sample response"
LIMIT_PERCENTAGE_FROM = 0.8  # x-ms-throttle-limit-percentage: "Returned only when the application consumed more than 0.8 of its limit"

# (method, path after the version with {id} for any one segment, resource units, writes):
# includes/throttling-identity-and-access.md, "base request costs". Anything else: GET 1/0, a write 1/1.
BASE_COSTS = (
    ("GET", "applications", 2, 0),
    ("GET", "applications/{id}/extensionProperties", 2, 0),
    ("GET", "contracts", 3, 0),
    ("POST", "directoryObjects/getByIds", 5, 0),
    ("GET", "domains/{id}/domainNameReferences", 4, 0),
    ("POST", "getObjectsById", 5, 0),
    ("GET", "groups/{id}/members", 3, 0),
    ("GET", "groups/{id}/transitiveMembers", 5, 0),
    ("POST", "isMemberOf", 4, 0),
    ("POST", "me/checkMemberGroups", 4, 0),
    ("POST", "me/checkMemberObjects", 4, 0),
    ("POST", "me/getMemberGroups", 2, 0),
    ("POST", "me/getMemberObjects", 2, 0),
    ("GET", "me/licenseDetails", 2, 0),
    ("GET", "me/memberOf", 2, 0),
    ("GET", "me/ownedObjects", 2, 0),
    ("GET", "me/transitiveMemberOf", 2, 0),
    ("GET", "oauth2PermissionGrants", 2, 0),
    ("GET", "oauth2PermissionGrants/{id}", 2, 0),
    ("GET", "servicePrincipals/{id}/appRoleAssignments", 2, 0),
    ("GET", "subscribedSkus", 3, 0),
    ("GET", "users", 2, 0),
)
# "Using $select for directoryObjects/getByIds and getObjectsById results in 2 ResourceUnits."
SELECT_COST = {"directoryObjects/getByIds": 2, "getObjectsById": 2}
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
TEAMS_ROOTS = frozenset({"teams", "chats", "teamwork", "appcatalogs"})
TEAMS_SEGMENTS = frozenset({"joinedteams", "teamwork", "chats"})


@dataclasses.dataclass(frozen=True)
class Limit:
    """One documented limit: ``quota`` per ``window`` seconds (budget time), counted per app+tenant or per tenant."""
    name: str
    scope: str          # x-ms-throttle-scope's Scope: Tenant_Application | Tenant
    counts: str         # x-ms-throttle-scope's Limit: ReadWrite (resource units of every request) | Write (write requests)
    quota: float
    window: float
    information: str    # x-ms-throttle-information

    @property
    def per_app(self) -> bool:
        return self.scope == "Tenant_Application"


def size_of_tenant(users: int) -> str:
    """S, M or L, as the page defines the sizes by the number of users."""
    if users < SMALL_TENANT_BELOW:
        return "S"
    return "M" if users <= LARGE_TENANT_ABOVE else "L"


def documented_limits(size: str, quota_scale: float = 1.0) -> tuple:
    return (
        Limit("app_tenant_resource_units", "Tenant_Application", "ReadWrite", RESOURCE_UNITS_PER_10_SECONDS[size] * quota_scale, 10.0,
              "ResourceUnitLimitExceeded"),
        Limit("app_tenant_writes", "Tenant_Application", "Write", 3_000 * quota_scale, 150.0, "WriteLimitExceeded"),
        Limit("tenant_writes", "Tenant", "Write", 18_000 * quota_scale, 300.0, "WriteLimitExceeded"),
    )


def _matches(pattern: str, segments: list) -> bool:
    wanted = pattern.split("/")
    return len(wanted) == len(segments) and all(w == "{id}" or w.lower() == s.lower() for w, s in zip(wanted, segments))


def request_cost(method: str, path: str, query: dict):
    """``(resource_units, writes)`` of one Graph request (``path`` from the root, e.g. ``/v1.0/users``), or None
    when the identity and access budget does not count it (Teams, the ``$batch`` envelope, not Graph)."""
    parts = path.split("/", 2)
    if len(parts) < 3 or parts[1] not in VERSIONS:
        return None
    segments = [s for s in split_segments(parts[2]) if not s.startswith("microsoft.graph.")]  # casts cost like their collection
    if not segments or segments == ["$batch"] or segments[0] in TEAMS_ROOTS or TEAMS_SEGMENTS & {s.lower() for s in segments}:
        return None
    method = method.upper()
    candidates = [segments]
    if segments[0] == "users" and len(segments) > 2:
        candidates.append(["me"] + segments[2:])  # "Any request cost that applies to ... me/ also applies to ... users/{id | userPrincipalName}/"
    units, writes = 1, 1 if method in WRITE_METHODS else 0
    row_path = None
    for row_method, pattern, row_units, row_writes in BASE_COSTS:
        if row_method == method and any(_matches(pattern, candidate) for candidate in candidates):
            units, writes, row_path = row_units, row_writes, pattern
            break
    if "$select" in query:
        units = SELECT_COST.get(row_path, units - 1)
    if "$expand" in query:
        units += 1
    try:
        if int(query.get("$top", "20")) < 20:
            units -= 1
    except ValueError:
        pass
    return max(units, 1), writes


class _Bucket:
    """A token bucket in wall-clock seconds (``capacity`` tokens, ``rate`` a second), full at its first use, that
    counts what it admitted per window of its limit since then."""

    def __init__(self, limit: Limit, time_scale: float, now: float):
        self.limit = limit
        self.capacity = limit.quota
        self.rate = limit.quota / limit.window * time_scale
        self.span = limit.window / time_scale
        self.tokens = self.capacity
        self.updated = now
        self.last_spent = None
        self.first_use = now
        self.admitted = []  # per window since the first use

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def spend(self, amount: float, now: float) -> None:
        self.tokens -= amount
        index = int((now - self.first_use) // self.span)
        self.admitted += [0] * (index + 1 - len(self.admitted))
        self.admitted[index] += amount
        self.last_spent = now

    def seconds_until(self, cost: float) -> float:
        return max(cost - self.tokens, 0.0) / self.rate

    def used_fraction(self) -> float:
        return 1.0 - self.tokens / self.capacity


@dataclasses.dataclass
class Admission:
    """The budget's verdict on one request: ``reply`` is the 429 to send, or None; ``headers`` go on an admitted answer."""
    reply: Reply | None = None
    headers: dict = dataclasses.field(default_factory=dict)


class ThrottlingBudget:
    """The identity and access throttling budget of one simulated tenant (module docstring).

    ``time_scale``: windows and Retry-After values divided by it (20: a 2 min 30 s write window lasts 7.5 s).
    ``quota_scale``: every quota multiplied by it. ``tenant_size``: S, M or L; default from the tenant's users.
    ``retry_after_step``: Retry-After is rounded up to a multiple of this many seconds of budget time.
    ``limits``: replaces the documented limits (a sequence of ``Limit``), e.g. for a test of one limit alone.
    """

    def __init__(self, sim, time_scale: float = 1.0, quota_scale: float = 1.0, tenant_size: str | None = None,
                 retry_after_step: float = 1.0, limits=None):
        if min(time_scale, quota_scale, retry_after_step) <= 0:
            raise ValueError(f"time_scale, quota_scale and retry_after_step must be positive, got {time_scale!r}, {quota_scale!r}, {retry_after_step!r}")
        size = tenant_size or size_of_tenant(len(sim.state.users))
        if size not in RESOURCE_UNITS_PER_10_SECONDS:
            raise ValueError(f"tenant_size must be S, M or L, got {size!r}")
        self.sim = sim
        self.time_scale = float(time_scale)
        self.quota_scale = float(quota_scale)
        self.tenant_size = size
        self.retry_after_step = float(retry_after_step)
        self.limits = tuple(limits) if limits is not None else documented_limits(size, quota_scale)
        self._lock = threading.Lock()
        self._buckets = {}
        self._origin = None
        self._apps = {}
        self._throttled_by = {limit.name: 0 for limit in self.limits}
        self._seconds = {}

    # ------------------------------------------------------------------ the hook
    def admit(self, call) -> Admission | None:
        """None when the budget does not count this request, else the verdict (the simulator's dispatch asks)."""
        if call.path.endswith("/$batch") and not call.in_batch:
            return None
        cost = request_cost(call.method, call.path, call.query)
        if cost is None:
            return None
        app_id = self._app_of(call)
        if app_id is None:
            return None  # Graph answers 401 before any budget is spent
        units, writes = cost
        now = self.sim.clock.now()
        with self._lock:
            if self._origin is None:
                self._origin = now
            amounts = [(limit, units if limit.counts == "ReadWrite" else writes) for limit in self.limits]
            charged = [(limit, self._bucket(limit, app_id, now), amount) for limit, amount in amounts if amount]
            refusing = [(limit, bucket, amount) for limit, bucket, amount in charged if bucket.tokens < amount]
            use = self._apps.setdefault(app_id, {"requests": 0, "resource_units": 0, "writes": 0, "throttled": 0, "throttled_writes": 0})
            second = self._second(now)
            use["requests"] += 1
            second["requests"] += 1
            if refusing:
                return self._refuse(call, app_id, units, writes, charged, refusing, use, second)
            for _limit, bucket, amount in charged:
                bucket.spend(amount, now)
            use["resource_units"] += units
            use["writes"] += writes
            second["resource_units"] += units
            second["writes"] += writes
            headers = {"x-ms-resource-unit": str(units)}
            used = max((bucket.used_fraction() for _limit, bucket, _amount in charged), default=0.0)
            if used > LIMIT_PERCENTAGE_FROM:
                headers["x-ms-throttle-limit-percentage"] = f"{used:.2f}"
            return Admission(headers=headers)

    def _refuse(self, call, app_id, units, writes, charged, refusing, use, second) -> Admission:
        worst_limit, worst_bucket, worst_amount = max(refusing, key=lambda row: row[1].seconds_until(row[2]))
        budget_seconds = worst_bucket.seconds_until(worst_amount) * self.time_scale
        steps = max(1, math.ceil(budget_seconds / self.retry_after_step - 1e-9))
        wait = math.ceil(steps * self.retry_after_step / self.time_scale * 1000) / 1000  # never early, to the millisecond
        for limit, bucket, amount in charged:
            if limit.counts == "ReadWrite":
                bucket.tokens = max(0.0, bucket.tokens - amount)  # throttled requests still use resource units
        self._throttled_by[worst_limit.name] += 1
        use["throttled"] += 1
        use["throttled_writes"] += 1 if writes else 0
        second["throttled"] += 1
        headers = {
            "Retry-After": f"{wait:.3f}".rstrip("0").rstrip("."),
            "x-ms-throttle-scope": f"{worst_limit.scope}/{worst_limit.counts}/{app_id}/{self.sim.tenant_id}",
            "x-ms-throttle-information": worst_limit.information,
        }
        body = error_body(GraphError(429, "TooManyRequests", THROTTLED_MESSAGE), call.request_id, call.client_request_id)
        # concepts/throttling.md, "Sample response": the inner error repeats the status.
        body["error"]["innerError"].update({"code": "429", "message": "Please retry after", "status": "429"})
        return Admission(reply=Reply(429, body, headers))

    def _app_of(self, call):
        try:
            return self.sim.graph._authenticate(call).get("appid")  # pylint: disable=protected-access
        except GraphError:
            return None

    def _bucket(self, limit: Limit, app_id: str, now: float) -> _Bucket:
        key = (limit.name, app_id if limit.per_app else None)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit, self.time_scale, now)
        bucket.refill(now)
        return bucket

    def _second(self, now: float) -> dict:
        index = int(now - self._origin)
        return self._seconds.setdefault(index, {"second": index, "requests": 0, "writes": 0, "throttled": 0, "resource_units": 0})

    # ------------------------------------------------------------------ what tests and benchmarks read
    def stats(self) -> dict:
        """Counters: the limits in force, use and 429s per app (client id), 429s per limit, totals."""
        with self._lock:
            apps = {app: dict(use) for app, use in self._apps.items()}
            return {
                "time_scale": self.time_scale, "quota_scale": self.quota_scale, "tenant_size": self.tenant_size,
                "limits": {limit.name: {"quota": limit.quota, "window": limit.window, "window_seconds": limit.window / self.time_scale,
                                        "per_second": limit.quota / limit.window * self.time_scale} for limit in self.limits},
                "apps": apps,
                "requests": sum(use["requests"] for use in apps.values()),
                "writes": sum(use["writes"] for use in apps.values()),
                "throttled": sum(use["throttled"] for use in apps.values()),
                "throttled_by": dict(self._throttled_by),
            }

    def windows(self, limit: str = "app_tenant_writes", app_id: str | None = None) -> list:
        """One entry per window of a write limit, from the first request that spent it to the last admitted write:
        ``achieved`` writes against ``allowed``, the window's refill (pro rata for the last, unfinished window) plus,
        for the first window, the full bucket the limit starts with. ``fraction`` goes above 1.0 in a window that
        spends what earlier windows left in the bucket; sums over windows are what ``utilization`` compares.

        ``app_id``: whose bucket, for a per-app limit (default: the only app that used it).
        """
        wanted = next((known for known in self.limits if known.name == limit), None)
        if wanted is None or wanted.counts != "Write":
            names = [known.name for known in self.limits if known.counts == "Write"]
            raise ValueError(f"limit must name a write limit of this budget ({names}), got {limit!r}")
        with self._lock:
            owners = sorted(key[1] for key in self._buckets if key[0] == limit)
            if wanted.per_app and app_id is None:
                if len(owners) > 1:
                    raise ValueError(f"several apps used {limit}: name one of {owners}")
                app_id = owners[0] if owners else None
            bucket = self._buckets.get((limit, app_id if wanted.per_app else None))
            if bucket is None or bucket.last_spent is None:
                return []
            rows = []
            for index, achieved in enumerate(bucket.admitted):
                start = bucket.first_use + index * bucket.span
                elapsed = min(bucket.span, bucket.last_spent - start)
                allowed = wanted.quota * elapsed / bucket.span + (bucket.capacity if index == 0 else 0.0)
                rows.append({"window": index, "start": start - self._origin, "seconds": elapsed, "achieved": achieved,
                             "allowed": allowed, "fraction": achieved / allowed if allowed else 0.0,
                             "complete": elapsed >= bucket.span})
            return rows

    def utilization(self, limit: str = "app_tenant_writes", app_id: str | None = None) -> float:
        """Writes achieved / allowed over the whole use of ``limit`` (see ``windows``); 0.0 before any write."""
        rows = self.windows(limit, app_id)
        allowed = sum(row["allowed"] for row in rows)
        return sum(row["achieved"] for row in rows) / allowed if allowed else 0.0

    def timeline(self) -> list:
        """Per wall-clock second since the first request: requests, admitted writes, 429s, resource units spent."""
        with self._lock:
            if not self._seconds:
                return []
            last = max(self._seconds)
            return [dict(self._seconds.get(index) or {"second": index, "requests": 0, "writes": 0, "throttled": 0, "resource_units": 0})
                    for index in range(last + 1)]


def build(sim, setting):
    """The budget a ``GraphSimulator(budget=...)`` setting asks for: None/False (off), True (the documented
    limits), a dict of ``ThrottlingBudget`` keywords."""
    if setting is None or setting is False:
        return None
    if setting is True:
        return ThrottlingBudget(sim)
    if isinstance(setting, dict):
        return ThrottlingBudget(sim, **setting)
    raise ValueError(f"budget must be None, True or a dict of ThrottlingBudget keywords, got {setting!r}")
