# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ONE Microsoft Graph client: transport, TLS, retries, ``$batch`` and paging.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import random
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError, header_value

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    _Session = object
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
    _Session = requests.Session

# The collection's version, sent in the User-Agent; tests/unit/test_graph_client.py keeps it equal to galaxy.yml.
COLLECTION_VERSION = '1.0.0'
USER_AGENT = 'entra.membership/%s' % COLLECTION_VERSION

BATCH_LIMIT = 20                     # Graph's maximum number of requests in one $batch
RETRY_STATUSES = frozenset((429, 503, 504))
# Answers after which the request may still have been carried out: none at all (a cut connection, a timeout), a
# gateway that stopped waiting (504), and even a throttling answer: a Teams removal in $batch answered 429 was
# carried out (Microsoft Q&A 5529013). A write sent again after one of these may meet its own work.
_MAY_HAVE_HAPPENED = frozenset((None,)) | RETRY_STATUSES
MAX_RETRY_AFTER = 300.0              # seconds; a longer Retry-After is a broken header, not a plan
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
_QUERY_SAFE = "$,'()/:@!*"           # OData's own punctuation stays readable; spaces, '#', '&', '+', '=' are encoded
_KEY_SAFE = "@'!$&()*+,;=-._~:"      # inside users('...'): '#', '%', '/', '?' and spaces are encoded
# Pacing (docs/reliability.md, "Pacing"): after a throttling event the send rate drops to PACE_RATE_DECREASE x
# the rate Graph accepted since the previous one, then grows back along CUBIC's curve (RFC 9438: constants
# C = 0.4 and beta = 0.7, as in AWS SDKs' adaptive retry mode): quickly at first, flat near that rate, then
# faster and faster, so that a share freed by another process is taken up within seconds.
PACE_RATE_DECREASE = 0.7
PACE_CUBIC_C = 0.4                   # requests per second per second cubed
PACE_MIN_RATE = 1.0                  # requests ($batch items counted one by one) per second
# includes/throttling-identity-and-access.md: "x-ms-throttle-limit-percentage - Returned only when the application
# consumed more than 0.8 of its limit". Once Graph has sent it, answers without it mean room to spare: the rate doubles.
LIMIT_PERCENTAGE_HEADER = 'x-ms-throttle-limit-percentage'
PACE_SLOT_POLL = 1.0                 # seconds; a worker waiting for a free slot looks again at least this often
# After SIGINT or SIGTERM (docs/reliability.md, "Interrupted"): how long the answers to requests already sent are waited for.
# Short, because AWX follows its SIGTERM with SIGKILL a few seconds later: the results must be out before that.
INTERRUPT_GRACE = 1.0                # seconds
INTERRUPTED = 'Interrupted'          # the code of a GraphError for a request the interruption kept from an answer
_WAIT_POLL = 0.5                     # seconds; how often the main thread looks at an interruption while workers run
_NOT_STARTED, _STILL_OUT, _DONE = 'not started', 'still out', 'done'   # a job's state in GraphClient._run_jobs


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After value (seconds, fractional seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None or moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retry_after_of(headers):
    """Seconds an answer's Retry-After header asks for; None without a usable one."""
    return parse_retry_after(header_value(headers, 'retry-after'))


def backoff_delay(attempt, rng=random):
    """Capped exponential backoff with jitter for retry number ``attempt`` (1-based): half fixed, half random."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempt - 1, 0)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def encode_query(params):
    """``params`` as a query string with %20 for spaces (not '+') and OData's punctuation kept."""
    return '&'.join('%s=%s' % (quote(str(key), safe='$'), quote(str(value), safe=_QUERY_SAFE))
                    for key, value in (params or {}).items() if value is not None)


def key_literal(value):
    """An OData string key for a path: ``'value'`` with quotes doubled and URL-special characters encoded."""
    return "'%s'" % quote(str(value).replace("'", "''"), safe=_KEY_SAFE)


@dataclass
class GraphRequest:
    """One Graph request; ``path`` is relative to the version root, e.g. ``/groups/{id}/members/{mid}/$ref``."""

    method: str
    path: str
    body: object = None
    headers: dict | None = None
    params: dict | None = None

    def url(self):
        """The path with its query, as a $batch item's relative url."""
        query = encode_query(self.params)
        if not query:
            return self.path
        return self.path + ('&' if '?' in self.path else '?') + query


@dataclass
class GraphResponse:
    """Graph's answer: ``status`` None when no HTTP answer came; ``error`` set whenever ``ok`` is false.

    ``replayed``: an earlier attempt of this request may have been carried out without its answer
    reaching us (a cut connection, a truncated answer, a timeout, a gateway's 504), so this answer
    may describe the world after our own write (a 404 for the member we just removed).
    """

    status: int | None
    headers: dict = field(default_factory=dict)
    body: object = None
    request_id: str | None = None
    client_request_id: str | None = None
    error: GraphError | None = None
    replayed: bool = False

    @property
    def ok(self):
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def raise_for_error(self):
        if not self.ok:
            raise self.error or GraphError.from_response(self.status, self.body, self.headers, self.request_id)
        return self


def _answer(status, headers, body, request_id, client_request_id):
    response = GraphResponse(status, dict(headers or {}), body, request_id, client_request_id)
    if not (status is not None and 200 <= status < 300):
        response.error = GraphError.from_response(status, body, headers, request_id)
        response.request_id = response.request_id or response.error.request_id
    return response


class _GraphSession(_Session):
    """A requests.Session whose ``verify`` beats REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE and that has a default timeout.

    requests merges the environment into each request and lets the environment's CA bundle win
    over ``Session.verify`` (psf/requests#3829); proxies from the environment must keep working,
    so ``trust_env`` stays on and only the CA decision is pinned here.
    """

    def __init__(self, verify, timeout, pool_size):
        super().__init__()
        self.verify = verify
        self._pinned_verify = None if verify is True else verify
        self._timeout = timeout
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.mount('https://', adapter)
        self.mount('http://', adapter)
        self.headers['User-Agent'] = USER_AGENT

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._pinned_verify is not None:
            settings['verify'] = self._pinned_verify
        return settings

    def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ
        if kwargs.get('timeout') is None:  # MSAL sends none
            kwargs['timeout'] = self._timeout
        return super().request(method, url, *args, **kwargs)


def build_session(settings, warn=None):
    """The one HTTP session of a module run: Graph and the login host both go through it."""
    if not settings.validate_certs:
        if warn:
            warn('validate_certs is false: the TLS certificates of %s and %s are not verified; use ca_path to trust a private CA instead'
                 % (settings.endpoints.graph_url, settings.endpoints.authority_host))
        try:
            from urllib3.exceptions import InsecureRequestWarning
            import warnings
            warnings.simplefilter('ignore', InsecureRequestWarning)  # warned once above, not once per request
        except ImportError:
            pass
    return _GraphSession(settings.verify, settings.timeout, pool_size=max(10, settings.max_concurrency + 2))


class Interruption:
    """A stop asked for from outside (SIGINT, SIGTERM): no request starts after it, and the answers to those in flight
    are waited for INTERRUPT_GRACE seconds at most (no longer after a second stop)."""

    def __init__(self, grace=INTERRUPT_GRACE, clock=time.monotonic):
        self.reason = None               # what stopped the run, e.g. 'SIGTERM'; None while it runs
        self._grace = grace
        self._clock = clock
        self._deadline = None
        self._event = threading.Event()

    def stop(self, reason):
        """Stop: the first call starts the grace period, a second one ends it. Called in a signal handler: the main thread
        takes no lock of this run's (its requests all go out from worker threads), so nothing here can wait for itself."""
        now = self._clock()
        if self._event.is_set():
            self._deadline = now
            return
        self.reason = reason
        self._deadline = now + self._grace
        self._event.set()

    def is_set(self):
        return self._event.is_set()

    def time_left(self):
        """Seconds still granted to requests in flight; None while not stopped."""
        return None if self._deadline is None else max(0.0, self._deadline - self._clock())

    def sleep(self, seconds):
        """Sleep ``seconds``, or less when stopped meanwhile."""
        self._event.wait(seconds)

    def not_sent(self):
        """The answer of a request the stop kept from being sent: nothing it asked for happened."""
        return GraphResponse(None, error=GraphError(None, INTERRUPTED, 'not sent: the module was interrupted (%s) before this request went out'
                                                    % self.reason))

    def unanswered(self):
        """The answer of a request sent before the stop whose answer did not come in time: it may have been carried out."""
        return GraphResponse(None, error=GraphError(None, INTERRUPTED, 'the module was interrupted (%s) while this request was in flight: '
                                                    'it may have been carried out; run the task again (check mode shows where it stands)'
                                                    % self.reason))


@dataclass
class PacerTicket:
    """What the pacer needs back when the answer comes: the throttling epoch the request was sent in, its weight, when."""

    epoch: int
    weight: int
    sent_at: float


class Pacer:
    """How fast one GraphClient sends; every worker of the client (one module run: one process) goes through it.

    Graph's identity and access budget is a token bucket per app and tenant (about 20 writes a second,
    docs/reliability.md, "Pacing"); a client that only retries keeps hitting the empty bucket. Three
    controls, all driven by Graph's answers:

    - a shared pause: a 429's Retry-After holds every worker until it has passed, not only the one it came to;
    - the requests in flight (a ``$batch`` counts once), between 1 and ``max_concurrency``: halved on a throttling
      event, one more after as many answers without a 429 (to requests sent since) as are allowed in flight;
    - the send rate, in requests a second with ``$batch`` items counted one by one: none until Graph throttles,
      then PACE_RATE_DECREASE x the rate Graph accepted since the previous event (time without any request
      out is left out, a pause is not), growing back along CUBIC's curve; doubled when Graph, having said the
      app was near its limit (``x-ms-throttle-limit-percentage``), stops saying so.

    A throttling event is a 429 on a request sent after the last slowdown: answers to requests that were
    already out say nothing new. Several processes sharing one app and tenant (forks, AWX job slices on
    other nodes) each slow down on their own 429s and so share the budget between them.
    """

    def __init__(self, max_concurrency, clock=time.monotonic, interruption=None):
        self.max_concurrency = max_concurrency
        self.interruption = interruption
        self.concurrency = max_concurrency
        self.events = 0                  # throttling events: slowdowns
        self.held = 0                    # requests that found the client paused by a Retry-After (that came to another request)
        self._clock = clock
        self._changed = threading.Condition()
        self._in_flight = 0
        self._waiting = 0
        self._answers_without_429 = 0
        self._epoch = 0
        self._paused_until = 0.0
        self._rate_peak = None           # requests a second Graph accepted before the last event; None: no rate limit yet
        self._rate_since = 0.0
        self._allowance = float(BATCH_LIMIT)  # requests that may start at once, refilled at the rate, at most BATCH_LIMIT
        self._allowance_at = 0.0
        self._accepted = 0
        self._measured_from = None
        self._idle_since = None
        self._limit_reported = False
        self._doubled_at = 0.0

    def _plateau(self, peak):
        """Seconds CUBIC takes from a slowdown back to ``peak``."""
        return (peak * (1 - PACE_RATE_DECREASE) / PACE_CUBIC_C) ** (1 / 3.0)

    def rate(self, now=None):
        """The send rate allowed now (requests a second), None while Graph has not throttled."""
        if self._rate_peak is None:
            return None
        now = self._clock() if now is None else now
        since = max(0.0, now - self._rate_since)
        return max(PACE_MIN_RATE, self._rate_peak + PACE_CUBIC_C * (since - self._plateau(self._rate_peak)) ** 3)

    def snapshot(self):
        """The pacer's state, for tests and benchmarks."""
        with self._changed:
            return {'concurrency': self.concurrency, 'rate': self.rate(), 'events': self.events, 'held': self.held,
                    'paused_for': max(0.0, self._paused_until - self._clock())}

    def delay(self, weight, now):
        """Seconds before a request of ``weight`` may start: 0.0 now, None once a request in flight has come back."""
        if now < self._paused_until:
            return self._paused_until - now
        if self._in_flight >= self.concurrency:
            return None
        rate = self.rate(now)
        if rate is None:
            return 0.0
        need = min(weight, BATCH_LIMIT)
        allowance = min(float(BATCH_LIMIT), self._allowance + (now - self._allowance_at) * rate)
        return 0.0 if allowance >= need else (need - allowance) / rate

    def acquire(self, weight):
        """Wait for the turn of a request of ``weight``; returns its ticket (None: interrupted, do not send) and the seconds
        slept for throttling."""
        slept = 0.0
        with self._changed:
            now = self._clock()
            if self._measured_from is None:
                self._measured_from = now
            if self._idle_since is not None:
                # Time with nothing to send says nothing about Graph's rate; a pause does.
                self._measured_from += max(0.0, now - max(self._idle_since, self._paused_until))
                self._idle_since = None
            self._waiting += 1
            if now < self._paused_until:
                self.held += 1
            try:
                while True:
                    if self.interruption is not None and self.interruption.is_set():
                        return None, slept
                    wait = self.delay(weight, now)
                    if wait == 0.0:
                        break
                    self._changed.wait(PACE_SLOT_POLL if wait is None else wait)
                    later = self._clock()
                    if wait is not None:
                        slept += later - now
                    now = later
            finally:
                self._waiting -= 1
            rate = self.rate(now)
            if rate is not None:
                self._allowance = min(float(BATCH_LIMIT), self._allowance + (now - self._allowance_at) * rate) - min(weight, BATCH_LIMIT)
                self._allowance_at = now
            self._in_flight += 1
            return PacerTicket(self._epoch, weight, now), slept

    def record_answer(self, ticket, accepted, throttled, retry_after, near_limit=None):
        """The answer to ``ticket``: ``accepted`` and ``throttled`` (429) requests of its weight, the longest Retry-After,
        whether Graph said the app was near its limit (None: nothing said either way)."""
        with self._changed:
            now = self._clock()
            self._in_flight -= 1
            self._accepted += accepted
            if throttled:
                self._answers_without_429 = 0
                if retry_after:
                    self._paused_until = max(self._paused_until, now + retry_after)
                if ticket.epoch == self._epoch:
                    self._slow_down(now)
            elif accepted and ticket.epoch == self._epoch:
                self._answers_without_429 += 1
                if self._answers_without_429 >= self.concurrency and self.concurrency < self.max_concurrency:
                    self.concurrency += 1
                    self._answers_without_429 = 0
                if near_limit is False and self._limit_reported and ticket.sent_at > self._doubled_at and self._rate_peak is not None:
                    # Sent after the last doubling, answered with room to spare: double again.
                    self._rate_peak = 2 * self.rate(now)
                    self._rate_since = now - self._plateau(self._rate_peak)
                    self._doubled_at = now
            self._limit_reported = self._limit_reported or bool(near_limit)
            if not self._in_flight and not self._waiting:
                self._idle_since = now
            self._changed.notify_all()

    def _slow_down(self, now):
        self._epoch += 1
        self.events += 1
        self.concurrency = max(1, self.concurrency // 2)
        elapsed = now - self._measured_from
        estimate = self._accepted / elapsed if self._accepted and elapsed > 0 else self.rate(now)
        if estimate:
            self._rate_peak = estimate
            self._rate_since = now
            self._allowance = min(self._allowance, 0.0)
            self._allowance_at = now
        self._accepted = 0
        self._measured_from = now


class GraphClient:
    """Graph requests for one module run. See docs/dev/architecture.md for the contract."""

    def __init__(self, settings, authenticator, session, api_version='v1.0', interruption=None):
        self.settings = settings
        self.api_version = api_version
        self.graph_url = settings.endpoints.graph_url
        self.max_retries = settings.max_retries
        self.max_concurrency = settings.max_concurrency
        self.interruption = interruption or Interruption()
        self.pacer = Pacer(settings.max_concurrency, interruption=self.interruption)
        self.stats = {'requests': 0, 'batches': 0, 'retries': 0, 'throttled': 0, 'waited_seconds': 0.0}
        self._auth = authenticator
        self._session = session
        self._stats_lock = threading.Lock()

    # -- helpers for request bodies ------------------------------------------------------------

    def user_bind(self, user_id_or_upn):
        """``user@odata.bind`` value: always the cloud's Graph host and v1.0, as Graph requires."""
        return "%s/v1.0/users(%s)" % (self.settings.endpoints.bind_url, key_literal(user_id_or_upn))

    def directory_object_ref(self, object_id):
        """``@odata.id`` value for adding a member with ``POST .../members/$ref``."""
        return '%s/v1.0/directoryObjects/%s' % (self.settings.endpoints.bind_url, quote(str(object_id), safe=''))

    def authenticate(self):
        """Fetch the first token now, so that configuration and credential errors surface before any work."""
        self._auth.token()

    @property
    def secrets(self):
        return self._auth.secrets

    def granted_permissions(self):
        """The permissions the current token carries (application ``roles`` plus delegated ``scp``).

        None when the token is opaque to us (Graph's own tokens are JWTs, a pre-fetched one may not
        be): callers then predict nothing and let Graph's answer decide. The claims are read, never shown.
        """
        try:
            payload = self._auth.token().split('.')[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
        except (IndexError, ValueError, TypeError):
            return None
        if not isinstance(claims, dict) or ('roles' not in claims and 'scp' not in claims):
            return None
        scopes = claims.get('scp') if isinstance(claims.get('scp'), str) else ''
        return set(claims.get('roles') or []) | set(scopes.split())

    # -- single requests -----------------------------------------------------------------------

    def _count(self, **increments):
        with self._stats_lock:
            for key, value in increments.items():
                self.stats[key] += value

    def _wait(self, seconds):
        self._count(waited_seconds=seconds)
        if seconds > 0:
            self.interruption.sleep(seconds)

    def _absolute(self, path, params=None):
        if path.startswith(('https://', 'http://')):
            url = self._trusted_next_link(path)
        else:
            url = '%s/%s/%s' % (self.graph_url, self.api_version, path.lstrip('/'))
        query = encode_query(params)
        return url + ('&' if '?' in url else '?') + query if query else url

    def _trusted_next_link(self, url):
        """An absolute URL Graph gave us (@odata.nextLink), only towards Graph: the token goes with it."""
        given = urlsplit(url)
        mine = urlsplit(self.graph_url)
        cloud = urlsplit(self.settings.endpoints.bind_url)
        if (given.scheme, given.netloc) == (mine.scheme, mine.netloc):
            return url
        if (given.scheme, given.netloc) == (cloud.scheme, cloud.netloc):
            # Behind graph_endpoint (a gateway), Graph still writes its own host into links.
            return self.graph_url + url[len('%s://%s' % (given.scheme, given.netloc)):]
        raise GraphError(None, 'UntrustedLink', "refusing to send the token to '%s://%s', which is not %s" % (given.scheme, given.netloc, self.graph_url))

    def _send(self, method, url, body, headers, token):
        client_request_id = str(uuid.uuid4())
        sent_headers = {'Accept': 'application/json', 'client-request-id': client_request_id, 'Authorization': 'Bearer ' + token}
        data = None
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            sent_headers['Content-Type'] = 'application/json'
        sent_headers.update(headers or {})
        self._count(requests=1)
        try:
            reply = self._session.request(method, url, data=data, headers=sent_headers)
            content = reply.content
        except requests.exceptions.RequestException as exc:
            response = GraphResponse(None, client_request_id=client_request_id,
                                     error=GraphError.from_exception(exc, url, self.settings.timeout, self.settings.ca_path))
            retryable = not isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.InvalidURL))
            return response, retryable
        parsed = None
        parse_failed = False
        if content:
            try:
                parsed = json.loads(content.decode('utf-8'))
            except ValueError:
                parsed = content.decode('utf-8', 'replace')
                parse_failed = 'json' in (reply.headers.get('Content-Type') or '').lower()
        response = _answer(reply.status_code, reply.headers, parsed, reply.headers.get('request-id'), client_request_id)
        if parse_failed and response.ok:
            # Cut off mid-answer: the write may have happened, the answer is lost; asking again is safe.
            response.error = GraphError(reply.status_code, 'IncompleteResponse', 'HTTP %s answer could not be parsed as JSON (truncated?)'
                                        % reply.status_code, response.request_id)
            return response, True
        return response, response.status in RETRY_STATUSES

    def _throttling(self, response, weight, is_batch):
        """What the pacer learns from an answer, among its ``weight`` requests: ``(accepted, throttled, longest Retry-After,
        near_limit)``, the last None when nothing was accepted, else whether any said the app was near its limit."""
        answers = self._batch_answers(response) if is_batch else None
        replies = [self._item_response(item, response) for item in answers.values()] if answers is not None else [response] * weight
        throttled = [reply for reply in replies if reply.status == 429]
        waits = [wait for wait in (retry_after_of(reply.headers) for reply in throttled) if wait is not None]
        answered = [reply for reply in replies if reply.status is not None and reply.status not in RETRY_STATUSES]
        near_limit = any(header_value(reply.headers, LIMIT_PERCENTAGE_HEADER) for reply in answered) if answered else None
        return len(answered), len(throttled), max(waits, default=None), near_limit

    def request(self, method, path, body=None, params=None, headers=None):
        """Send one request with retries; never raises on an HTTP status (auth failures raise EntraAuthError).

        Interrupted: an ``Interrupted`` error answer, ``not_sent`` or ``unanswered`` (docs/reliability.md, "Interrupted").
        """
        ((state, response),) = self._run_jobs([functools.partial(self._request, method, path, body, params, headers)], 1)
        return response if state == _DONE else self._stopped(sent_before=state == _STILL_OUT)

    def _request(self, method, path, body=None, params=None, headers=None, batch_items=0):
        """``request()``; ``batch_items``: how many ``$batch`` items the body carries, each paced and judged on its own."""
        try:
            url = self._absolute(path, params)
        except GraphError as exc:
            return GraphResponse(None, error=exc)
        attempt = 0
        refreshed = False
        answer_lost = False
        while True:
            if self.interruption.is_set():
                return self._stopped(sent_before=attempt > 0 or refreshed)
            token = self._auth.token()
            ticket, slept = self.pacer.acquire(batch_items or 1)
            self._count(waited_seconds=slept)
            if ticket is None:
                return self._stopped(sent_before=attempt > 0 or refreshed)
            response, retryable = self._send(method.upper(), url, body, headers, token)
            self.pacer.record_answer(ticket, *self._throttling(response, batch_items or 1, batch_items > 0))
            if batch_items and retryable and self._batch_answers(response) is not None:
                retryable = False  # a $batch refused as a whole that still answers each item: its items say what to retry
            response.replayed = answer_lost
            if response.status == 401 and not refreshed:
                # An expired or revoked token: one fresh token, one more try, whatever the error code.
                refreshed = True
                self._auth.token(force_refresh=True, rejected=token)
                continue
            if not retryable or attempt >= self.max_retries:
                return response
            answer_lost = answer_lost or response.status in _MAY_HAVE_HAPPENED or (response.error is not None and response.error.code == 'IncompleteResponse')
            attempt += 1
            throttled = response.status in RETRY_STATUSES
            delay = retry_after_of(response.headers) if throttled else None
            self._count(retries=1, throttled=1 if throttled else 0)
            self._wait(backoff_delay(attempt) if delay is None else delay)

    def _stopped(self, sent_before):
        """The answer to give instead of sending (again) after an interruption: an attempt already out (answered 429,
        5xx or not at all) may have been carried out."""
        return self.interruption.unanswered() if sent_before else self.interruption.not_sent()

    def get(self, path, params=None, headers=None):
        """The JSON body of a GET; raises GraphError when Graph did not answer 2xx."""
        response = self.request('GET', path, params=params, headers=headers).raise_for_error()
        return response.body if isinstance(response.body, dict) else {}

    def paged(self, path, params=None, headers=None):
        """Every item of a collection, following @odata.nextLink (absolute, already versioned) to the end."""
        url, query, seen = path, params, set()
        while url:
            page = self.get(url, params=query, headers=headers)
            yield from page.get('value') or []
            url, query = page.get('@odata.nextLink'), None
            if url in seen:
                raise GraphError(None, 'PagingLoop', 'Graph returned the same @odata.nextLink twice: %s' % url)
            seen.add(url)

    # -- $batch --------------------------------------------------------------------------------

    def batch(self, graph_requests):
        """Responses to independent requests, in input order: 20 per $batch, max_concurrency batches at a time.

        Interrupted: the chunks not yet sent answer ``not_sent``, those still out when the grace ends ``unanswered``.
        """
        graph_requests = list(graph_requests)
        responses = [None] * len(graph_requests)
        # An absolute URL (a nextLink) cannot go into a $batch: it is sent on its own.
        alone = {index for index, item in enumerate(graph_requests) if item.path.startswith(('https://', 'http://'))}
        batchable = [index for index in range(len(graph_requests)) if index not in alone]
        chunks = [batchable[start:start + BATCH_LIMIT] for start in range(0, len(batchable), BATCH_LIMIT)] + [[index] for index in sorted(alone)]
        jobs = [functools.partial(self._run_chunk, graph_requests, chunk) for chunk in chunks]
        for chunk, (state, answers) in zip(chunks, self._run_jobs(jobs, self.max_concurrency)):
            for index in chunk:
                responses[index] = answers[index] if state == _DONE else self._stopped(sent_before=state == _STILL_OUT)
        return responses

    def _run_jobs(self, jobs, workers):
        """``[(state, result)]`` of ``jobs`` (callables), run on up to ``workers`` daemon threads while this thread waits.

        ``state`` is _DONE; or, once the run is interrupted, _NOT_STARTED for a job that never started and _STILL_OUT
        for one still running when the grace ended. That one is left behind (a daemon thread), so that the module can
        exit with the results it has. A job's exception is raised here.
        """
        count = len(jobs)
        states = [_NOT_STARTED] * count
        results = [None] * count
        errors = []
        changed = threading.Condition()
        queue = iter(range(count))

        def work():
            while True:
                with changed:
                    index = None if self.interruption.is_set() else next(queue, None)
                    if index is None:
                        changed.notify_all()
                        return
                    states[index] = _STILL_OUT
                try:
                    value = jobs[index]()
                except BaseException as exc:  # pylint: disable=broad-exception-caught  # raised again in the waiting thread
                    value = None
                    errors.append(exc)
                with changed:
                    results[index] = value
                    states[index] = _DONE
                    changed.notify_all()

        threads = [threading.Thread(target=work, name='graph-worker-%d' % number, daemon=True) for number in range(min(workers, count))]
        for thread in threads:
            thread.start()
        with changed:
            while any(state != _DONE for state in states) and any(thread.is_alive() for thread in threads):
                left = self.interruption.time_left()
                if left is not None and left <= 0:
                    break
                changed.wait(_WAIT_POLL if left is None else min(left, _WAIT_POLL))
            if errors:
                raise errors[0]
            return list(zip(states, results))

    def _run_chunk(self, graph_requests, chunk):
        if len(chunk) == 1:
            # One request gains nothing from $batch and keeps its own request-id this way.
            only = graph_requests[chunk[0]]
            return {chunk[0]: self._request(only.method, only.path, only.body, only.params, only.headers)}
        done = {}
        pending = list(chunk)
        item_attempts = dict.fromkeys(chunk, 0)
        broken_answers = 0
        replayed = set()
        refreshed = False
        first_round = True
        while pending:
            if not first_round and self.interruption.is_set():
                # Sent before, answered with a retry (429, 5xx, a cut answer): each may have been carried out.
                done.update((index, self.interruption.unanswered()) for index in pending)
                return done
            first_round = False
            payload = {'requests': [self._batch_item(index, graph_requests[index]) for index in pending]}
            sent_with = self._auth.token()
            outer = self._request('POST', '/$batch', body=payload, batch_items=len(pending))
            if outer.status is not None or not self.interruption.is_set():
                self._count(batches=1)
            if outer.replayed:
                replayed.update(pending)
            answers = self._batch_answers(outer)
            if answers is None:
                # Refused, unanswered or unreadable even after request()'s own retries: so is every item.
                for index in pending:
                    done[index] = GraphResponse(outer.status, outer.headers, outer.body, outer.request_id, outer.client_request_id, outer.error,
                                                replayed=index in replayed)
                return done
            missing = [index for index in pending if str(index) not in answers]
            throttled, waits, unauthorized = [], [], []
            for index in pending:
                if str(index) not in answers:
                    continue
                response = self._item_response(answers[str(index)], outer)
                response.replayed = index in replayed
                if response.status in _MAY_HAVE_HAPPENED:
                    replayed.add(index)
                if response.status == 401 and not refreshed:
                    unauthorized.append(index)  # the token expired under the $batch: its items say so one by one
                elif response.status in RETRY_STATUSES and item_attempts[index] < self.max_retries:
                    item_attempts[index] += 1
                    throttled.append(index)
                    waits.append(retry_after_of(response.headers))
                else:
                    done[index] = response
            replayed.update(missing)
            if missing:
                # A truncated or unparseable answer: ask again for what is unanswered. Writes are
                # idempotent at the membership layer, so a repeated DELETE/POST $ref is harmless.
                if broken_answers >= self.max_retries:
                    error = outer.error or GraphError(outer.status, 'IncompleteBatchResponse', '$batch answer had no response for this request',
                                                      outer.request_id)
                    for index in missing:
                        done[index] = GraphResponse(outer.status, client_request_id=outer.client_request_id, request_id=outer.request_id, error=error,
                                                    replayed=True)
                    missing = []
                else:
                    broken_answers += 1
            if unauthorized:
                # As request() does for a 401: one fresh token, one more try.
                refreshed = True
                self._auth.token(force_refresh=True, rejected=sent_with)
                self._count(retries=len(unauthorized))
            if missing or throttled:
                self._count(retries=len(missing) + len(throttled), throttled=len(throttled))
                known = [wait for wait in waits if wait is not None]
                self._wait(max(known) if known else backoff_delay(max([broken_answers] + [item_attempts[i] for i in throttled])))
            pending = sorted(missing + throttled + unauthorized)
        return done

    def _batch_item(self, index, graph_request):
        item = {'id': str(index), 'method': graph_request.method.upper(), 'url': graph_request.url()}
        headers = dict(graph_request.headers or {})
        if graph_request.body is not None:
            item['body'] = graph_request.body
            if not any(key.lower() == 'content-type' for key in headers):
                headers['Content-Type'] = 'application/json'
        if headers:
            item['headers'] = headers
        return item

    @staticmethod
    def _batch_answers(outer):
        """``{item id: answer}`` of a ``$batch`` answer, whatever its own status: "a throttled batch may fail as a whole
        with 424" while its body still answers each item (throttling.md, "Throttling and batching"); None without them."""
        if outer.status is None or not isinstance(outer.body, dict) or not isinstance(outer.body.get('responses'), list):
            return None
        return {str(item.get('id')): item for item in outer.body['responses'] if isinstance(item, dict)}

    @staticmethod
    def _item_response(item, outer):
        headers = item.get('headers') if isinstance(item.get('headers'), dict) else {}
        try:
            status = int(item.get('status'))
        except (TypeError, ValueError):
            return GraphResponse(None, headers, None, outer.request_id, outer.client_request_id,
                                 GraphError(None, 'InvalidBatchResponse', '$batch item without a status', outer.request_id))
        request_id = header_value(headers, 'request-id')
        response = _answer(status, headers, item.get('body'), request_id, outer.client_request_id)
        response.request_id = response.request_id or outer.request_id
        if response.error and not response.error.request_id:
            response.error.request_id = response.request_id
        return response


def read_collections(client, graph_requests):
    """For each collection request: ``(items, None)`` with every page followed, or ``(None, GraphError)``.

    The first pages travel together in ``$batch``; then, round by round, the next page of every collection that has
    one, side by side (a nextLink is absolute, so each goes on its own, ``max_concurrency`` at a time).
    """
    items = [None] * len(graph_requests)
    errors = [None] * len(graph_requests)
    links = {}
    seen = {}

    def take(index, response):
        if not response.ok:
            errors[index] = response.error
            return
        body = response.body if isinstance(response.body, dict) else {}
        items[index] = (items[index] or []) + list(body.get('value') or [])
        link = body.get('@odata.nextLink')
        if not link:
            return
        if link in seen.setdefault(index, set()):
            errors[index] = GraphError(None, 'PagingLoop', 'Graph returned the same @odata.nextLink twice: %s' % link)
            return
        seen[index].add(link)
        links[index] = link

    for index, response in enumerate(client.batch(graph_requests)):
        take(index, response)
    while links:
        round_links, links = links, {}
        for index, response in zip(round_links, client.batch([GraphRequest('GET', link) for link in round_links.values()])):
            take(index, response)
    return [(None, error) if error is not None else (found, None) for found, error in zip(items, errors)]
