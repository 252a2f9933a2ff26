"""The request and reply objects every part of the simulator passes around."""
from __future__ import annotations

import dataclasses
import json


class Headers(dict):
    """Request headers with case-insensitive lookup (HTTP header names are case-insensitive)."""

    def __init__(self, items=()):
        super().__init__()
        for key, value in (items.items() if isinstance(items, dict) else items):
            self[key] = value

    def __setitem__(self, key, value):
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)


@dataclasses.dataclass
class Call:
    """One request to the simulator (an HTTP request, or one item of a $batch)."""
    method: str
    path: str            # percent-decoded, from the root: "/v1.0/groups/..."
    query: dict          # parsed, decoded; one value per name
    headers: Headers
    body: bytes
    request_id: str
    client_request_id: str | None
    in_batch: bool = False
    raw_path: str = ""
    bind_hosts: list = dataclasses.field(default_factory=list)
    log_body: object = None  # what the request log keeps of a body that must not be logged as is

    def json(self):
        """The body parsed as JSON; ``ValueError`` when it is not JSON."""
        if not self.body:
            return None
        return json.loads(self.body)


@dataclasses.dataclass
class Reply:
    status: int
    body: object = None     # dict/list: sent as JSON; bytes: sent as is; None: no body
    headers: dict = dataclasses.field(default_factory=dict)
    fault: str | None = None  # "reset" or "truncate": the HTTP layer cuts the connection

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode("utf-8")
