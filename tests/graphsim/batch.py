"""JSON batching: ``POST /{version}/$batch`` (concepts/json-batching.md in microsoft-graph-docs-contrib)."""
from __future__ import annotations

import json
import random
import urllib.parse
import uuid

from .graph import VERSIONS, GraphError, bounded_list
from .protocol import Call, Headers, Reply

BATCH_LIMIT = 20
# As in the example answer of concepts/json-batching.md.
ITEM_HEADERS = {"Cache-Control": "no-cache", "x-ms-resource-unit": "1"}
ITEM_BODY_HEADERS = {"OData-Version": "4.0",
                     "Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"}


class Batch:
    def __init__(self, sim):
        self.sim = sim
        self._rng = random.Random(sim.seed)

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def handle(self, call: Call, version: str) -> Reply:
        try:
            steps = self._steps(call)
        except GraphError as exc:
            return self.sim.graph.error_reply(exc, call)
        answers, statuses = {}, {}
        pending = list(steps)
        while pending:
            # Items run in input order, each after the items it depends on (Graph runs dependent items sequentially).
            step = next(s for s in pending if all(d in statuses for d in s.get("dependsOn") or []))
            pending.remove(step)
            failed = [d for d in step.get("dependsOn") or [] if not 200 <= statuses[d] < 300]
            if failed:
                answer = self._item(step["id"], 424, {"error": {
                    "code": "FailedDependency",
                    "message": f"The request with id '{step['id']}' could not run because the request(s) it depends on "
                               f"({', '.join(failed)}) failed."}})
            else:
                answer = self._run(call, version, step)
            answers[step["id"]] = answer
            statuses[step["id"]] = answer["status"]
        order = [s["id"] for s in steps]
        self._rng.shuffle(order)  # Graph answers in any order: clients must match by id
        return Reply(200, {"responses": [answers[i] for i in order]})

    def _steps(self, call: Call) -> list:
        try:
            body = call.json()
        except ValueError:
            body = None
        steps = bounded_list(body, "requests", BATCH_LIMIT, "Invalid batch payload format.")
        seen = set()
        for step in steps:
            if not isinstance(step, dict) or not all(isinstance(step.get(k), str) and step.get(k) for k in ("id", "method", "url")):
                raise GraphError(400, "BadRequest", "Each batch request must carry 'id', 'method' and 'url'.")
            if step["id"] in seen:
                raise GraphError(400, "BadRequest", f"Batch request contains duplicate request id '{step['id']}'.")
            seen.add(step["id"])
        for step in steps:
            depends = step.get("dependsOn") or []
            if not isinstance(depends, list) or any(d not in seen or d == step["id"] for d in depends):
                raise GraphError(400, "BadRequest", f"Request '{step['id']}' depends on an unknown request id.")
        self._check_acyclic(steps)
        return steps

    @staticmethod
    def _check_acyclic(steps: list) -> None:
        done, remaining = set(), list(steps)
        while remaining:
            ready = [s for s in remaining if all(d in done for d in s.get("dependsOn") or [])]
            if not ready:
                raise GraphError(400, "BadRequest", "The dependsOn references of the batch form a cycle.")
            for step in ready:
                done.add(step["id"])
                remaining.remove(step)

    @staticmethod
    def _item(item_id: str, status: int, body=None, headers=None) -> dict:
        answer = {"id": item_id, "status": status, "headers": dict(ITEM_HEADERS)}
        answer["headers"].update(headers or {})
        if body is not None:
            answer["headers"].update({k: v for k, v in ITEM_BODY_HEADERS.items() if k.lower() not in {h.lower() for h in answer["headers"]}})
            answer["body"] = body
        return answer

    def _run(self, outer: Call, version: str, step: dict) -> dict:
        url = step["url"]
        headers = Headers(step.get("headers") or {})
        if "Authorization" in outer.headers and "Authorization" not in headers:
            headers["Authorization"] = outer.headers["Authorization"]  # items run with the envelope's token
        body = step.get("body")
        refusal = None
        if urllib.parse.urlsplit(url).scheme or url.lstrip("/").split("/")[0] in VERSIONS:
            refusal = GraphError(400, "BadRequest", f"Invalid request URL '{url}': batch request URLs must be relative to "
                                                    f"the version, e.g. '/users/{{id}}'.")
        elif body is not None and "Content-Type" not in headers:
            # concepts/json-batching.md: "When a body is included with the request, the headers object must contain a value for Content-Type."
            refusal = GraphError(400, "BadRequest", "Content-Type header must be specified for a request with a body.")
        path, _mark, query = url.lstrip("/").partition("?")
        raw_body = b"" if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        item = Call(
            method=step["method"].upper(),
            path=f"/{version}/" + urllib.parse.unquote(path),
            query={k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()},
            headers=headers, body=raw_body, request_id=str(uuid.uuid4()),
            client_request_id=headers.get("client-request-id") or outer.client_request_id,
            in_batch=True, raw_path=f"/{version}/{path}",
        )
        reply = self.sim.dispatch(item, batch_id=step["id"], refusal=refusal)
        item_headers = {k: v for k, v in reply.headers.items()
                        if k.lower() in ("retry-after", "location", "content-type", "www-authenticate") or k.lower().startswith("x-ms-")}
        return self._item(step["id"], reply.status, reply.body if not isinstance(reply.body, bytes) else None, item_headers)
