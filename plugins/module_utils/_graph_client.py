# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ONE Microsoft Graph client: transport, TLS, retries, ``$batch`` and paging.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import base64
import json
import math
import random
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
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
_ANSWER_MAY_BE_LOST = frozenset((None, 504))  # no answer, or a gateway that stopped waiting: the request may have been carried out
MAX_RETRY_AFTER = 300.0              # seconds; a longer Retry-After is a broken header, not a plan
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
_QUERY_SAFE = "$,'()/:@!*"           # OData's own punctuation stays readable; spaces, '#', '&', '+', '=' are encoded
_KEY_SAFE = "@'!$&()*+,;=-._~:"      # inside users('...'): '#', '%', '/', '?' and spaces are encoded


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


class GraphClient:
    """Graph requests for one module run. See docs/dev/architecture.md for the contract."""

    def __init__(self, settings, authenticator, session, api_version='v1.0', sleep=time.sleep):
        self.settings = settings
        self.api_version = api_version
        self.graph_url = settings.endpoints.graph_url
        self.max_retries = settings.max_retries
        self.max_concurrency = settings.max_concurrency
        self.stats = {'requests': 0, 'batches': 0, 'retries': 0, 'throttled': 0, 'waited_seconds': 0.0}
        self._auth = authenticator
        self._session = session
        self._sleep = sleep
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
            self._sleep(seconds)

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

    def request(self, method, path, body=None, params=None, headers=None):
        """Send one request with retries; never raises on an HTTP status (auth failures raise EntraAuthError)."""
        try:
            url = self._absolute(path, params)
        except GraphError as exc:
            return GraphResponse(None, error=exc)
        attempt = 0
        refreshed = False
        answer_lost = False
        while True:
            token = self._auth.token()
            response, retryable = self._send(method.upper(), url, body, headers, token)
            response.replayed = answer_lost
            if response.status == 401 and not refreshed:
                # An expired or revoked token: one fresh token, one more try, whatever the error code.
                refreshed = True
                self._auth.token(force_refresh=True, rejected=token)
                continue
            if not retryable or attempt >= self.max_retries:
                return response
            answer_lost = answer_lost or response.status in _ANSWER_MAY_BE_LOST or (response.error is not None and response.error.code == 'IncompleteResponse')
            attempt += 1
            throttled = response.status in RETRY_STATUSES
            delay = parse_retry_after(header_value(response.headers, 'retry-after')) if throttled else None
            self._count(retries=1, throttled=1 if throttled else 0)
            self._wait(backoff_delay(attempt) if delay is None else delay)

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
        """Responses to independent requests, in input order: 20 per $batch, max_concurrency batches at a time."""
        graph_requests = list(graph_requests)
        responses = [None] * len(graph_requests)
        # An absolute URL (a nextLink) cannot go into a $batch: it is sent on its own.
        alone = {index for index, item in enumerate(graph_requests) if item.path.startswith(('https://', 'http://'))}
        batchable = [index for index in range(len(graph_requests)) if index not in alone]
        chunks = [batchable[start:start + BATCH_LIMIT] for start in range(0, len(batchable), BATCH_LIMIT)] + [[index] for index in sorted(alone)]

        def run(chunk):
            for index, response in self._run_chunk(graph_requests, chunk).items():
                responses[index] = response

        if len(chunks) > 1 and self.max_concurrency > 1:
            with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(chunks))) as pool:
                for _done in pool.map(run, chunks):
                    pass
        else:
            for chunk in chunks:
                run(chunk)
        return responses

    def _run_chunk(self, graph_requests, chunk):
        if len(chunk) == 1:
            # One request gains nothing from $batch and keeps its own request-id this way.
            only = graph_requests[chunk[0]]
            return {chunk[0]: self.request(only.method, only.path, body=only.body, params=only.params, headers=only.headers)}
        done = {}
        pending = list(chunk)
        item_attempts = dict.fromkeys(chunk, 0)
        broken_answers = 0
        replayed = set()
        refreshed = False
        while pending:
            payload = {'requests': [self._batch_item(index, graph_requests[index]) for index in pending]}
            sent_with = self._auth.token()
            outer = self.request('POST', '/$batch', body=payload)
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
                if response.status in _ANSWER_MAY_BE_LOST:
                    replayed.add(index)
                if response.status == 401 and not refreshed:
                    unauthorized.append(index)  # the token expired under the $batch: its items say so one by one
                elif response.status in RETRY_STATUSES and item_attempts[index] < self.max_retries:
                    item_attempts[index] += 1
                    throttled.append(index)
                    waits.append(parse_retry_after(header_value(response.headers, 'retry-after')))
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
        if not outer.ok or not isinstance(outer.body, dict) or not isinstance(outer.body.get('responses'), list):
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

    The first pages travel together in ``$batch``; the rare further pages follow one by one.
    """
    collected = []
    for response in client.batch(graph_requests):
        if not response.ok:
            collected.append((None, response.error))
            continue
        body = response.body if isinstance(response.body, dict) else {}
        items = list(body.get('value') or [])
        next_link = body.get('@odata.nextLink')
        try:
            if next_link:
                items.extend(client.paged(next_link))
        except GraphError as exc:
            collected.append((None, exc))
            continue
        collected.append((items, None))
    return collected
