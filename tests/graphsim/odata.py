"""The OData query options Graph's directory honours: ``$filter`` (a subset), ``$select``, paging."""
from __future__ import annotations

import base64
import json
import re

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<open_string>'.*)
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_./@]*)
  | (?P<punct>[(),:])
""", re.VERBOSE)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
# Known issue 13635 (https://developer.microsoft.com/graph/known-issues/?search=13635): an 'in' takes at most 15
# values by default; advanced queries (ConsistencyLevel: eventual + $count) limit the URL's length instead.
IN_LIMIT = 15


class FilterError(ValueError):
    """A ``$filter`` Graph would refuse; ``code`` is the Graph error code to answer with."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _syntax(position: int, text: str) -> FilterError:
    return FilterError("BadRequest", f"Invalid filter clause: Syntax error at position {position} in '{text}'.")


def _tokens(text: str) -> list:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise _syntax(position, text)
        kind = match.lastgroup
        if kind == "open_string":
            raise FilterError("BadRequest", f"Invalid filter clause: There is an unterminated string literal at position "
                                            f"{position} in '{text}'.")
        if kind != "ws":
            tokens.append((kind, match.group(), position))
        position = match.end()
    return tokens


def literal_value(kind: str, raw: str):
    if kind == "string":
        return raw[1:-1].replace("''", "'")
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    if kind == "guid":
        return raw
    return {"true": True, "false": False, "null": None}[raw]


class _Parser:
    """Recursive descent over or / and / not / ( ) / comparisons / in / startswith / any()."""

    def __init__(self, text: str, properties: dict, resource: str, in_limit: int | None = None):
        self.text, self.properties, self.resource, self.in_limit = text, properties, resource, in_limit
        self.tokens = _tokens(text)
        self.index = 0

    def parse(self):
        if not self.tokens:
            raise _syntax(0, self.text)
        node = self._or()
        if self.index != len(self.tokens):
            raise _syntax(self.tokens[self.index][2], self.text)
        return node

    def _peek(self, value=None):
        if self.index >= len(self.tokens):
            return None
        token = self.tokens[self.index]
        if value is not None and token[1].lower() != value:
            return None
        return token

    def _take(self, value=None, kind=None):
        token = self._peek()
        if token is None or (value is not None and token[1].lower() != value) or (kind is not None and token[0] != kind):
            raise _syntax(token[2] if token else len(self.text), self.text)
        self.index += 1
        return token

    def _or(self):
        return self._chain("or", self._and, lambda left, right: lambda obj: left(obj) or right(obj))

    def _and(self):
        return self._chain("and", self._not, lambda left, right: lambda obj: left(obj) and right(obj))

    def _chain(self, keyword, operand, combine):
        """``operand (keyword operand)*``, left-associative."""
        node = operand()
        while self._peek(keyword):
            self.index += 1
            node = combine(node, operand())
        return node

    def _not(self):
        if self._peek("not"):
            self.index += 1
            inner = self._not()
            return lambda obj: not inner(obj)
        if self._peek("("):
            self.index += 1
            node = self._or()
            self._take(")")
            return node
        return self._predicate()

    def _literal(self):
        token = self._take()
        if token[0] in ("string", "number", "guid") or (token[0] == "name" and token[1] in ("true", "false", "null")):
            return literal_value(token[0], token[1])
        raise _syntax(token[2], self.text)

    def _property(self, token) -> str:
        name = token[1]
        if name not in self.properties:
            raise FilterError("Request_UnsupportedQuery", f"Unsupported or invalid query filter clause specified for property "
                                                          f"'{name}' of resource '{self.resource}'.")
        return name

    def _predicate(self):
        token = self._take(kind="name")
        lowered = token[1].lower()
        if lowered in ("startswith", "endswith") and self._peek("("):
            self.index += 1
            prop = self._property(self._take(kind="name"))
            self._take(",")
            value = self._literal()
            self._take(")")
            test = str.startswith if lowered == "startswith" else str.endswith
            return lambda obj: isinstance(obj.get(prop), str) and test(obj[prop].lower(), str(value).lower())
        if "/" in token[1]:  # collection/any(x:x eq 'v')
            prop, _slash, func = token[1].partition("/")
            self._property((token[0], prop, token[2]))
            if func.lower() != "any":
                raise _syntax(token[2], self.text)
            self._take("(")
            variable = self._take(kind="name")[1]
            self._take(":")
            if self._take(kind="name")[1] != variable:
                raise _syntax(token[2], self.text)
            self._take("eq")
            value = self._literal()
            self._take(")")
            return lambda obj: any(_equal(item, value) for item in obj.get(prop) or [])
        prop = self._property(token)
        operator = self._take(kind="name")
        op = operator[1].lower()
        if op == "in":
            self._take("(")
            values = [self._literal()]
            while self._peek(","):
                self.index += 1
                values.append(self._literal())
            self._take(")")
            if self.in_limit is not None and len(values) > self.in_limit:
                # Graph's own words (the code is our guess: the directory's usual one for a refused filter).
                raise FilterError("Request_UnsupportedQuery", f"Too many child clauses specified in search filter expression containing "
                                                              f"'OR' operators: {len(values)}. Max allowed: {self.in_limit}.")
            return lambda obj: any(_equal(obj.get(prop), value) for value in values)
        if op not in COMPARISONS:
            raise _syntax(operator[2], self.text)
        value = self._literal()
        if op == "eq":
            return lambda obj: _equal(obj.get(prop), value)
        if op == "ne":
            return lambda obj: not _equal(obj.get(prop), value)
        raise FilterError("Request_UnsupportedQuery", f"Unsupported or invalid query filter clause specified for property "
                                                      f"'{prop}' of resource '{self.resource}'.")


def _equal(actual, expected) -> bool:
    # Directory string comparisons are case-insensitive (UPNs, display names, mail).
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return actual == expected


def compile_filter(text: str, properties, resource: str, in_limit: int | None = IN_LIMIT):
    """A predicate over an object dict; ``FilterError`` for anything Graph would refuse (``in_limit`` None: an advanced query)."""
    return _Parser(text, set(properties), resource, in_limit).parse()


def parse_select(text: str | None, properties, type_name: str):
    """The list of properties ``$select`` asks for (None: the default set)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in properties:
            raise FilterError("Request_BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
    return names


def encode_skiptoken(offset: int, advanced: bool = False) -> str:
    data = {"offset": offset, "v": 1, "advanced": advanced}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _skiptoken_data(token: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if int(data["offset"]) >= 0:
            return data
    except (ValueError, KeyError, TypeError):
        pass
    raise FilterError("Request_BadRequest", "Invalid value for '$skiptoken' query parameter.")


def decode_skiptoken(token: str) -> int:
    return int(_skiptoken_data(token)["offset"])


def skiptoken_is_advanced(token: str) -> bool:
    """Whether the first page was an advanced query: Graph's next pages do not need the ConsistencyLevel header again."""
    try:
        return bool(_skiptoken_data(token).get("advanced"))
    except FilterError:
        return False
