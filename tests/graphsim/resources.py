"""What the handlers of owners, directory roles, enterprise apps, accounts and licenses share.

Each of those modules holds one ``Resource`` subclass whose ``routes()`` the Graph router adds to its own; they
answer through the router's envelope, paging, ``$filter`` and ``$select`` so that they behave like the rest.
"""
from __future__ import annotations

import dataclasses

from .graph import INSUFFICIENT_PRIVILEGES, Context, GraphError
from .instrumentation import DestructiveEvent
from .protocol import Reply
from .state import iso_now

# query-parameters.md and known issue 13635: an expanded directory relationship returns at most 20 objects, no nextLink.
EXPAND_LIMIT = 20


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)


def split_top_level(text: str, separator: str) -> list:
    """``a,b($select=c,d)`` -> ``["a", "b($select=c,d)"]``: separators inside parentheses do not split."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current.strip())
    return [part for part in parts if part]


def parse_expand(text: str | None, allowed, type_name: str) -> dict:
    """``$expand=principal,roleDefinition($select=id)`` -> {"principal": None, "roleDefinition": "id"} (nested $select)."""
    found = {}
    for item in split_top_level(text or "", ","):
        name, _paren, options = item.partition("(")
        name = name.strip()
        if name not in allowed:
            raise bad_request(f"Parsing OData Select and Expand failed: Could not find a property named '{name}' on type "
                              f"'microsoft.graph.{type_name}'.", "BadRequest")
        select = None
        for option in split_top_level(options.rstrip(")"), ";"):
            key, _eq, value = option.partition("=")
            if key.strip() != "$select":
                raise bad_request(f"Query option '{key.strip()}' is not allowed inside $expand by graphsim.", "BadRequest")
            select = value.strip()
        found[name] = select
    return found


@dataclasses.dataclass(frozen=True)
class Shape:
    """A resource type as Graph shows it: its name and its properties in Graph's order ($filter and $select use them)."""
    type_name: str
    properties: tuple

    @property
    def resource(self) -> str:
        """The name Graph's filter errors give the type (``unifiedRoleAssignment`` -> ``UnifiedRoleAssignment``)."""
        return self.type_name[0].upper() + self.type_name[1:]

    def of(self, record: dict) -> dict:
        return {name: record.get(name) for name in self.properties}


# serviceprincipal.md (the properties the simulator keeps); shared because any principal can be expanded.
SERVICE_PRINCIPAL = Shape("servicePrincipal", ("id", "appId", "displayName", "description", "accountEnabled", "appRoleAssignmentRequired",
                                               "appRoles", "appOwnerOrganizationId", "servicePrincipalType", "tags"))


class Resource:
    """Shared plumbing: the clock, JSON bodies, views with $filter/$select/$expand, destructive deletions."""

    def __init__(self, graph):
        self.graph = graph
        self.sim = graph.sim

    @property
    def state(self):
        return self.sim.state

    def now(self) -> str:
        return iso_now(self.sim.clock.now())

    def json_object(self, ctx: Context) -> dict:
        body = self.graph._json_body(ctx)
        if not isinstance(body, dict):
            raise bad_request("Invalid request: the body must be a JSON object.")
        return body

    @staticmethod
    def required_text(body: dict, name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise bad_request(f"Invalid request: '{name}' is required.")
        return value

    def view(self, ctx: Context, record: dict, shape: Shape, expand: dict | None = None) -> dict:
        """``record`` as ``shape`` shows it, cut to ``$select``, with the ``$expand``-ed relationships added."""
        select = self.graph._select_from(ctx, shape.properties, shape.type_name)
        body = {name: record.get(name) for name in (select or shape.properties)}
        body.update(expand or {})
        return body

    def expanded(self, ctx: Context, record: dict, relations: dict, type_name: str) -> dict:
        """The ``$expand``-ed relationships of ``record``: ``relations`` maps a name to ``f(record, select) -> value``."""
        return {name: relations[name](record, select)
                for name, select in parse_expand(ctx.query.get("$expand"), relations, type_name).items()}

    def collection(self, ctx: Context, records: list, shape: Shape, context: str, relations: dict | None = None) -> Reply:
        """A paged collection: ``$filter`` over the shape's properties, then ``$select`` and ``$expand`` (checked first)."""
        relations = relations or {}
        self.graph._select_from(ctx, shape.properties, shape.type_name)
        parse_expand(ctx.query.get("$expand"), relations, shape.type_name)
        records = self.graph._filter(ctx, [shape.of(record) for record in records], shape.properties, shape.resource)
        return self.graph._page(ctx, records, context, lambda record: self.view(
            ctx, record, shape, self.expanded(ctx, record, relations, shape.type_name)))

    def entity(self, ctx: Context, record: dict, shape: Shape, context: str, relations: dict | None = None,
               status: int = 200) -> Reply:
        body = {"@odata.context": self.graph._context_url(ctx, context)}
        body.update(self.view(ctx, record, shape, self.expanded(ctx, record, relations or {}, shape.type_name)))
        return Reply(status, body)

    def render_principal(self, ctx: Context, oid: str, select: str | None):
        """A user, group or service principal as a typed directoryObject (``$expand=principal``)."""
        kind, record = self.state.principal(oid)
        if kind is None:
            return None
        names = [name.strip() for name in select.split(",")] if select else None
        if kind == "servicePrincipal":
            body = {"@odata.type": "#microsoft.graph.servicePrincipal"}
            body.update({name: record.get(name) for name in (names or SERVICE_PRINCIPAL.properties)})
            return body
        return self.graph._render(ctx, kind, record, names, typed=True)

    def destroy(self, ctx: Context, kind: str, oid: str) -> None:
        """Delete an object the way Graph does for a DELETE on it, and record the destructive event."""
        if kind not in ("servicePrincipal", "roleDefinition"):
            self.graph._destroy(ctx, kind, oid)
            return
        (self.state.delete_service_principal if kind == "servicePrincipal" else self.state.delete_role_definition)(oid)
        self.sim.destructive_events.append(DestructiveEvent(kind, oid, ctx.call.method, ctx.call.path, ctx.call.request_id))
