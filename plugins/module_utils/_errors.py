# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's exceptions and the ONE normalised Graph error.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import json
import re
from http.client import responses as HTTP_REASONS
from urllib.parse import quote, quote_plus, urlsplit

MASK = '********'
_MESSAGE_LIMIT = 300
# The part of a requests/urllib3 exception text that says what went wrong, without pool/object noise.
_TRANSPORT_REASON = re.compile(r'(certificate verify failed:[^\'"()]*|\[Errno -?\d+\][^\'")]*|Connection reset by peer|Remote end closed connection[^\'")]*)')
# A JWT (every Entra access token and client assertion is one) or a bearer credential, wherever it
# shows up: a belt to the braces of scrubbing the exact values we know.
_TOKEN_PATTERNS = (
    re.compile(r'eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*'),
    re.compile(r'(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}'),
)


def scrub(text, secrets=()):
    """``text`` with every secret value (also URL-encoded) and anything token-shaped masked."""
    if text is None:
        return None
    text = str(text)
    variants = set()
    for secret in secrets:
        if secret:
            secret = str(secret)
            variants.update((secret, quote(secret, safe=''), quote_plus(secret)))
    for variant in sorted(variants, key=len, reverse=True):
        text = text.replace(variant, MASK)
    text = _TOKEN_PATTERNS[0].sub(MASK, text)
    return _TOKEN_PATTERNS[1].sub(lambda match: match.group(1) + MASK, text)


def _one_line(text, limit=_MESSAGE_LIMIT):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _reason_code(status):
    reason = HTTP_REASONS.get(status)
    return reason.title().replace(' ', '').replace('-', '') if reason else 'HttpError%s' % status


def header_value(headers, name):
    """A header's value, whatever the case of its name; None when absent."""
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def error_dict(status, code, message, request_id=None):
    """An error in the shape every result carries: ``{status, code, message, request_id}``."""
    return {'status': status, 'code': code, 'message': message, 'request_id': request_id}


class EntraConfigError(Exception):
    """An option (or its environment fallback) that cannot work; the message names it and its value."""


class EntraAuthError(Exception):
    """No token: the message names tenant, client id and the AADSTS code, never a secret."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class GraphError(Exception):
    """Graph's answer (or the lack of one) normalised to ``{status, code, message, request_id}``.

    ``status`` is None when no HTTP answer came (connection refused, reset, timeout, TLS).
    """

    def __init__(self, status, code, message, request_id=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    def __str__(self):
        where = 'HTTP %s' % self.status if self.status is not None else 'no HTTP answer'
        request = ', request-id %s' % self.request_id if self.request_id else ''
        return '%s (%s%s): %s' % (self.code, where, request, self.message)

    def to_dict(self):
        return error_dict(self.status, self.code, self.message, self.request_id)

    @classmethod
    def from_response(cls, status, body, headers=None, request_id=None):
        """From an HTTP answer or a ``$batch`` item: a Graph error body, an OAuth error, HTML, text or nothing."""
        request_id = request_id or header_value(headers, 'request-id')
        if isinstance(body, (bytes, bytearray)):
            body = body.decode('utf-8', 'replace')
        if isinstance(body, str):
            try:
                body = json.loads(body) if body.strip() else None
            except ValueError:
                pass
        if isinstance(body, dict):
            error = body.get('error')
            if isinstance(error, dict):
                inner = error.get('innerError') or error.get('innererror') or {}
                return cls(
                    status,
                    error.get('code') or _reason_code(status),
                    _one_line(error.get('message') or HTTP_REASONS.get(status, 'error')),
                    (inner.get('request-id') if isinstance(inner, dict) else None) or request_id,
                )
            if isinstance(error, str):  # the identity platform's OAuth shape
                return cls(status, error, _one_line(body.get('error_description') or error), request_id)
            return cls(status, _reason_code(status), _one_line('HTTP %s with an unexpected JSON body' % status), request_id)
        if isinstance(body, str) and body.strip():
            title = re.search(r'<title[^>]*>(.*?)</title>', body, re.I | re.S)
            if title or body.lstrip().startswith('<'):
                # A proxy or load balancer answered instead of Graph: its title says enough.
                summary = re.sub(r'<[^>]+>', ' ', title.group(1) if title else body)
                message = 'HTTP %s with an HTML page instead of a Graph answer (a proxy or gateway in between?): %s' % (status, _one_line(summary, 120))
            else:
                message = 'HTTP %s with a non-JSON body: %s' % (status, _one_line(body, 120))
            return cls(status, _reason_code(status), message, request_id)
        return cls(status, _reason_code(status), 'HTTP %s %s with an empty body' % (status, HTTP_REASONS.get(status, '')), request_id)

    @classmethod
    def from_exception(cls, exc, url=None, timeout=None, ca_path=None):
        """From a transport failure (requests/urllib3 exception): ``status`` None, a short message naming the host.

        ``ca_path`` is the CA bundle the connection trusted, if one was given: the advice differs.
        """
        names = [klass.__name__ for klass in type(exc).__mro__]
        host = urlsplit(url).netloc if url else 'the server'
        detail = str(exc)
        reason = _TRANSPORT_REASON.search(detail)
        reason = _one_line(reason.group(1).strip() if reason else type(exc).__name__, 160)
        if 'SSLError' in names:
            advice = ("ca_path (%s) does not hold the CA that signed this endpoint's certificate: point it at that CA's PEM bundle" % ca_path
                      if ca_path else
                      "If this endpoint's certificate comes from a private CA, set ca_path (or ENTRA_CA_PATH) to that CA's PEM bundle")
            return cls(None, 'SSLError', "TLS handshake with %s failed: %s. %s" % (host, reason, advice))
        if 'Timeout' in names or 'TimeoutError' in names:
            return cls(None, 'Timeout', 'no answer from %s within %s seconds (the timeout option)' % (host, timeout or 'the allowed'))
        if 'ConnectionError' in names:
            return cls(None, 'ConnectionError', 'connection to %s failed: %s' % (host, reason))
        return cls(None, type(exc).__name__, 'request to %s failed: %s' % (host, reason))
