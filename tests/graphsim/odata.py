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
# The same known issue: "When filtering using the 'eq' operator, the maximum limit of the value to match is 120
# characters [...] even for properties like displayName on directory objects that can be up to 256 characters."
# Graph answers it as a property it cannot filter (microsoft-graph-explorer-v4 issue 2103 shows the 400 for a
# startswith value, msgraph-sdk-dotnet issue 159 for a group's displayName), so startswith and in values count too.
VALUE_LIMIT = 120
# https://learn.microsoft.com/graph/aad-advanced-queries: "The endsWith operator is supported only with advanced
# query parameters by mail, otherMails, userPrincipalName, and proxyAddresses properties."
ENDS_WITH_PROPERTIES = {"mail", "otherMails", "userPrincipalName", "proxyAddresses"}


class FilterError(ValueError):
    """A ``$filter`` Graph would refuse; ``code`` is the Graph error code to answer with."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def needs_advanced_query(operator: str) -> FilterError:
    """aad-advanced-queries.md, "Error handling for advanced queries": Graph's answer for endsWith without the
    advanced-query pair; the simulator answers ``ne`` and ``not`` the same way (the docs show no example of theirs)."""
    return FilterError("Request_UnsupportedQuery", f"Operator '{operator}' is not supported because the required parameters "
                                                   f"might be missing. Try adding $count=true query parameter and "
                                                   f"ConsistencyLevel:eventual header. Refer to "
                                                   f"https://aka.ms/graph-docs/advanced-queries for more information")


def unsupported_property(name: str, resource: str) -> FilterError:
    return FilterError("Request_UnsupportedQuery", f"Unsupported or invalid query filter clause specified for property "
                                                   f"'{name}' of resource '{resource}'.")


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
    """Recursive descent over or / and / not / ( ) / comparisons / in / startswith / endswith / any().

    ``advanced``: the request is an advanced query (aad-advanced-queries.md), which unlocks ``ne``, ``not`` and
    ``endsWith`` and lifts the 15-value ``in`` and 120-character value limits.
    """

    def __init__(self, text: str, properties: dict, resource: str, advanced: bool = False):
        self.text, self.properties, self.resource, self.advanced = text, properties, resource, advanced
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
            if not self.advanced:
                raise needs_advanced_query("not")
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
            raise unsupported_property(name, self.resource)
        return name

    def _value_within_limit(self, prop: str, value):
        if not self.advanced and isinstance(value, str) and len(value) > VALUE_LIMIT:
            raise unsupported_property(prop, self.resource)
        return value

    def _predicate(self):
        token = self._take(kind="name")
        lowered = token[1].lower()
        if lowered in ("startswith", "endswith") and self._peek("("):
            if lowered == "endswith" and not self.advanced:
                raise needs_advanced_query("endsWith")
            self.index += 1
            prop = self._property(self._take(kind="name"))
            if lowered == "endswith" and prop not in ENDS_WITH_PROPERTIES:
                raise unsupported_property(prop, self.resource)
            self._take(",")
            value = self._value_within_limit(prop, self._literal())
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
            values = [self._value_within_limit(prop, self._literal())]
            while self._peek(","):
                self.index += 1
                values.append(self._value_within_limit(prop, self._literal()))
            self._take(")")
            if not self.advanced and len(values) > IN_LIMIT:
                # Graph's own words (the code is our guess: the directory's usual one for a refused filter).
                raise FilterError("Request_UnsupportedQuery", f"Too many child clauses specified in search filter expression containing "
                                                              f"'OR' operators: {len(values)}. Max allowed: {IN_LIMIT}.")
            return lambda obj: any(_equal(obj.get(prop), value) for value in values)
        if op not in COMPARISONS:
            raise _syntax(operator[2], self.text)
        if op == "ne" and not self.advanced:
            raise needs_advanced_query("ne")
        value = self._value_within_limit(prop, self._literal())
        if op == "eq":
            return lambda obj: _equal(obj.get(prop), value)
        if op == "ne":
            return lambda obj: not _equal(obj.get(prop), value)
        raise unsupported_property(prop, self.resource)


def _equal(actual, expected) -> bool:
    # Directory string comparisons are case-insensitive (UPNs, display names, mail).
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return actual == expected


def compile_filter(text: str, properties, resource: str, advanced: bool = False):
    """A predicate over an object dict; ``FilterError`` for anything Graph would refuse (``advanced``: an advanced query)."""
    return _Parser(text, set(properties), resource, advanced).parse()


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


# https://learn.microsoft.com/graph/search-query-parameter#using-search-on-directory-object-collections: clauses
# "property:value" joined by AND / OR; values are matched word by word, a word matching the start of a word of the
# property ("displayName:tier" finds "Contoso-tier Query Notification"), words split at spaces, symbols and changes of case.
SEARCH_PROPERTIES = {"displayName", "description", "mail", "mailNickname", "userPrincipalName", "givenName", "surname"}
_SEARCH_TOKEN = re.compile(r'\s*(?:(?P<clause>"(?P<prop>[A-Za-z]+):(?P<term>[^"]*)")|(?P<op>AND|OR))\s*')
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+")


def _words(text: str) -> list:
    return [word.lower() for word in _WORD.findall(text or "")]


def compile_search(text: str, properties, resource: str):
    """A predicate over an object dict for a ``$search`` value; ``FilterError`` for a clause Graph would refuse."""
    groups, current, position, expect_clause = [], [], 0, True
    while position < len(text):
        match = _SEARCH_TOKEN.match(text, position)
        if not match or bool(match["clause"]) != expect_clause:
            raise FilterError("BadRequest", f"Syntax error: character '{text[position:position + 1]}' is not valid at position "
                                            f"{position} in '{text}'.")
        if match["clause"]:
            prop = match["prop"]
            if prop not in SEARCH_PROPERTIES or prop not in properties:
                raise FilterError("Request_UnsupportedQuery", f"Unsupported or invalid query filter clause specified for property "
                                                              f"'{prop}' of resource '{resource}'.")
            current.append((prop, _words(match["term"])))
        elif match["op"] == "OR":
            groups.append(current)
            current = []
        position, expect_clause = match.end(), not expect_clause
    if expect_clause:
        raise FilterError("BadRequest", f"Syntax error: the $search value '{text}' must be \"property:value\" clauses joined by AND or OR.")
    groups.append(current)

    def clause_matches(obj, prop, terms):
        have = _words(obj.get(prop) if isinstance(obj.get(prop), str) else "")
        return all(any(word.startswith(term) for word in have) for term in terms)

    return lambda obj: any(all(clause_matches(obj, prop, terms) for prop, terms in group) for group in groups)


def parse_orderby(text: str, properties, type_name: str) -> tuple:
    """``(property, descending)`` from ``$orderby`` (one property, ``asc`` or ``desc``)."""
    parts = text.split()
    if len(parts) not in (1, 2) or "," in text or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise FilterError("BadRequest", f"Invalid $orderby value '{text}': give one property, optionally followed by asc or desc.")
    if parts[0] not in properties:
        raise FilterError("Request_BadRequest", f"Could not find a property named '{parts[0]}' on type 'microsoft.graph.{type_name}'.")
    return parts[0], len(parts) == 2 and parts[1].lower() == "desc"
