"""The Microsoft Graph slice: users, groups, administrative units, memberOf, teams.

Messages reproduced from Microsoft's documentation or from Graph answers quoted in Microsoft's
docs repositories are marked with their source. Where the docs are silent the choice is written
down in docs/simulator.md.
"""
from __future__ import annotations

import base64
import datetime
import re
import urllib.parse

from . import odata
from .identity import GRAPH_RESOURCES
from .instrumentation import DestructiveEvent
from .protocol import Reply

VERSIONS = ("v1.0", "beta")

# Application permissions, endpoint by endpoint, as each page's permissions table lists them (least privileged and
# higher privileged together; Graph accepts any one). Microsoft generates those tables from
# microsoftgraph/microsoft-graph-devx-content permissions/new/permissions.json, which is where they were read.
# Left out: Intune (DeviceManagement*), agent-identity (AgentIdUser*) and resource-specific consent (*.Group)
# permissions, which the tables also list but no app of this collection holds or could hold.
# user-get, user-list
READ_USER = {"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "User.ReadWrite.CrossCloud", "Directory.Read.All",
             "Directory.ReadWrite.All"}
# group-get, group-list; plus GroupMember.ReadWrite.All, which the tables omit but whose own description (permissions
# reference) says it "Allows the app to list groups, read basic properties, read and update the membership".
READ_GROUP = {"Group.ReadBasic.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All",
              "Directory.Read.All", "Directory.ReadWrite.All", "Group-NestingSupport.ReadWrite.All",
              "Group-PreferredDataLocation.ReadWrite.All", "Group.ManageProtection.All"}
# group-list-members (GroupMember.ReadWrite.All is listed here although not for group-get)
READ_GROUP_MEMBERS = {"GroupMember.ReadBasic.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.ReadBasic.All",
                      "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All"}
# group-list-owners
READ_GROUP_OWNERS = {"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All",
                     "Directory.Read.All"}
# group-post-members, group-delete-members
WRITE_GROUP = {"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}
# administrativeunit-get, administrativeunit-list, administrativeunit-list-members
READ_AU = {"AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
# administrativeunit-post-members (Directory.ReadWrite.All listed) and administrativeunit-delete-members ("Not available")
WRITE_AU = {"AdministrativeUnit.ReadWrite.All", "Directory.ReadWrite.All"}
REMOVE_AU_MEMBER = {"AdministrativeUnit.ReadWrite.All"}
# group-post-members: role-assignable groups additionally need this one.
ROLE_ASSIGNABLE_WRITE = {"RoleManagement.ReadWrite.Directory"}
# user-list-memberof: Directory.Read.All is the least privileged application permission (delegated: User.Read).
READ_MEMBER_OF = {"Directory.Read.All", "Directory.ReadWrite.All", "Group.ReadBasic.All", "GroupMember.ReadBasic.All"}
# user-list-transitivememberof: User.Read.All is the least privileged application permission.
READ_TRANSITIVE_MEMBER_OF = {"User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All",
                             "Group.ReadBasic.All", "GroupMember.Read.All", "GroupMember.ReadBasic.All"}
# directoryobject-get
READ_DIRECTORY_OBJECT = {"Directory.Read.All"}
# directoryrole-get (what it takes to see a directory role's properties in a memberOf answer)
READ_ROLE = {"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}
# serviceprincipal-get, serviceprincipal-list-memberof
READ_SERVICE_PRINCIPAL = {"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy",
                          "Directory.Read.All", "Directory.ReadWrite.All"}
READ_SP_MEMBER_OF = READ_SERVICE_PRINCIPAL
# team-get
READ_TEAM = {"Team.ReadBasic.All", "TeamSettings.Read.All", "TeamSettings.ReadWrite.All", "Group.Read.All",
             "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
# team-list-members; earlier versions of its table also listed these, "supported only for backward compatibility".
READ_TEAM_MEMBERS = {"TeamMember.Read.All", "TeamMember.ReadWrite.All"}
READ_TEAM_MEMBERS_BACKWARD_COMPATIBLE = {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
# conversationmembers-add (TeamMember.ReadWriteNonOwnerRole.All cannot add owners) and conversationmembers-remove
ADD_TEAM_MEMBERS = {"TeamMember.ReadWrite.All", "TeamMember.ReadWriteNonOwnerRole.All"}
WRITE_TEAM_MEMBERS = {"TeamMember.ReadWrite.All"}
# user-list-joinedteams
READ_JOINED_TEAMS = {"Team.ReadBasic.All", "TeamSettings.Read.All", "TeamSettings.ReadWrite.All", "User.Read.All",
                     "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
# What it takes to delete an object of each type (a removal without /$ref deletes the member): user-delete,
# group-delete, administrativeunit-delete.
DELETE_OBJECT = {
    "user": {"User.DeleteRestore.All", "User.ReadWrite.All"},
    "group": {"Group.ReadWrite.All", "Directory.ReadWrite.All"},
    "administrativeUnit": {"AdministrativeUnit.ReadWrite.All"},
    "directoryRole": set(),
    "servicePrincipal": {"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"},
}

USER_DEFAULT_SELECT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
                       "preferredLanguage", "surname", "userPrincipalName", "id")
USER_PROPERTIES = USER_DEFAULT_SELECT + ("userType", "accountEnabled", "department", "usageLocation", "onPremisesSyncEnabled",
                                         "signInSessionsValidFromDateTime", "assignedLicenses", "licenseAssignmentStates")
GROUP_PROPERTIES = ("id", "displayName", "description", "groupTypes", "membershipRule", "membershipRuleProcessingState",
                    "mailEnabled", "securityEnabled", "mail", "mailNickname", "onPremisesSyncEnabled", "isAssignableToRole",
                    "resourceProvisioningOptions", "visibility")
GROUP_BETA_PROPERTIES = GROUP_PROPERTIES + ("isManagementRestricted",)
AU_PROPERTIES = ("id", "displayName", "description", "membershipType", "membershipRule", "membershipRuleProcessingState",
                 "visibility", "isMemberManagementRestricted")
ROLE_PROPERTIES = ("id", "displayName", "description", "roleTemplateId")
# servicePrincipal's properties in the CSDL (msgraph-metadata schemas/v1.0-Prod.csdl) that a member list shows.
SERVICE_PRINCIPAL_PROPERTIES = ("id", "displayName", "appId", "appDisplayName", "servicePrincipalType", "accountEnabled")
TYPE_PROPERTIES = {"user": USER_PROPERTIES, "group": GROUP_BETA_PROPERTIES + ("assignedLicenses",), "administrativeUnit": AU_PROPERTIES,
                   "directoryRole": ROLE_PROPERTIES, "servicePrincipal": SERVICE_PRINCIPAL_PROPERTIES}
JOINED_TEAM_PROPERTIES = ("id", "displayName", "description")
# includes/limited-info.md: in a directoryObject collection, an object of a type the app may not read comes back
# with only its @odata.type and id, every other property null.
READ_OBJECT = {"user": READ_USER, "group": READ_GROUP, "administrativeUnit": READ_AU, "directoryRole": READ_ROLE,
               "servicePrincipal": READ_SERVICE_PRINCIPAL}
CASTS = {"microsoft.graph.user": "user", "microsoft.graph.group": "group",
         "microsoft.graph.administrativeUnit": "administrativeUnit", "microsoft.graph.directoryRole": "directoryRole",
         "microsoft.graph.servicePrincipal": "servicePrincipal"}
OTHER_DIRECTORY_TYPES = {"microsoft.graph.device", "microsoft.graph.orgContact", "microsoft.graph.application"}
EXPAND_LIMIT = 20
# The query options that narrow or order a collection (aad-advanced-queries.md).
QUERY_OPTIONS = ("$filter", "$search", "$orderby")
# aad-advanced-queries.md, "Support for sorting by properties": what sorts without the advanced-query pair.
ORDERBY_BY_DEFAULT = {"User": {"displayName", "userPrincipalName"}, "Group": {"displayName"}}
MEMBER_COLLECTIONS = {"directoryObjects", "users", "groups", "devices", "servicePrincipals", "contacts", "orgContacts"}

# concepts/json-batching.md (example answer, item 3): 403 Authorization_RequestDenied with this message.
INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation."
# Messages Graph sends for membership writes; quoted in GRAPH-NOTES.md from production clients
# (Canvas LMS lib/microsoft_sync, manicminer/hamilton msgraph/groups.go) and microsoft-graph-docs issues.
ALREADY_MEMBER = "One or more added object references already exist for the following modified properties: 'members'."
REPLICATION_LAG = "One or more removed object references do not exist for the following modified properties: 'members'."
ON_PREMISES = ("Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
               "currently undergoing migration.")
MAIL_ENABLED = "Cannot Update a mail-enabled security groups and or distribution list."
# microsoftgraph/microsoft-graph-docs issue #12054 (DELETE /groups/{id}/owners/{id}/$ref answer).
LAST_OWNER = "The group must have at least one owner, hence this owner cannot be removed."
GUEST_OWNER = "Guest users cannot be owners of a team."
TEAMS_NOT_FOUND = {"code": "NotFound", "message": "Could not find resource"}  # seed 004, example 3
# microsoft-graph-docs issue 12712 (POST /teams/{id}/members on a team with dynamic membership).
TEAMS_FORBIDDEN = "You do not have permission to perform this operation."
TEAMS_BATCH_LIMIT = 20


def _not_found(oid: str) -> "GraphError":
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{oid}' does not exist or one of its queried reference-property objects are not present.")


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def bounded_list(body, key: str, limit: int, missing_message: str) -> list:
    """``body[key]`` as a non-empty list of at most ``limit`` items (Teams bulk values, $batch requests), else 400."""
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise GraphError(400, "BadRequest", missing_message)
    if len(items) > limit:
        raise GraphError(400, "BadRequest", f"The number of {key} in the request ({len(items)}) exceeds the maximum of {limit}.")
    return items


def error_body(exc: GraphError, request_id: str, client_request_id: str | None) -> dict:
    """Graph's error envelope (concepts/errors.md); without a client-request-id Graph repeats the request-id."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return {"error": {"code": exc.code, "message": exc.message, "innerError": {
        "date": date, "request-id": request_id, "client-request-id": client_request_id or request_id}}}


_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KEY_SEGMENT = re.compile(r"^(?P<name>[A-Za-z]+)\('(?P<key>(?:[^']|'')*)'\)$")
_BIND_PATH = re.compile(r"^/(?P<version>v1\.0|beta)/(?P<collection>[A-Za-z]+)(?:/(?P<id>[^/()]+)|\('(?P<key>(?:[^']|'')*)'\))/?$")


class KeySegment(str):
    """A key written in parentheses (``users('$x@y')``): never an OData system segment, even when it starts with ``$``."""


def split_segments(path: str) -> list:
    """Path segments after the version, with ``users('x')`` read as ``users``, ``x``."""
    segments = []
    for segment in path.strip("/").split("/"):
        match = _KEY_SEGMENT.match(segment)
        if match:
            segments += [match["name"], KeySegment(match["key"].replace("''", "'"))]
        elif segment:
            segments.append(segment)
    return segments


def quote_query(text: str) -> str:
    """Percent-encode a query name or value the way Graph writes its nextLinks (``$`` and OData punctuation kept)."""
    return urllib.parse.quote(text, safe="$'(),:@")


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


# Documented behaviours a simulator can relax, by name (``GraphSimulator(lenient=...)``, ``sim.lenient``): where Graph
# is known to answer both ways, or where the collection's client still relies on the kinder answer. The strict
# behaviour is Microsoft's documented one; docs/simulator.md lists who relies on which leniency.
LENIENCIES = {
    # user-list-memberof / group-list-members: "This header and $count are required when using the $search, $filter,
    # $orderby, or OData cast query parameters"; microsoft-graph-docs-contrib issue 1517 shows the 400 without them,
    # microsoft-graph-docs issue 17604 a cast ignored without them.
    "casts": "OData casts on memberOf, transitiveMemberOf and members are served without the advanced-query pair",
    # user-list-memberof's table lists only Directory.Read.All (and higher) for applications, while
    # includes/limited-info.md describes apps with narrower permissions reading memberOf with limited information.
    "member_of_permissions": "memberOf also answers apps holding only a user or group read permission (limited information)",
    # team-list-members: Group.Read.All, Group.ReadWrite.All, Directory.Read.All and Directory.ReadWrite.All were listed
    # "for backward compatibility only" and are gone from today's table.
    "backward_compatible_permissions": "team rosters can also be read with the group and directory read permissions",
}
DEFAULT_LENIENT = frozenset()


def check_lenient(names) -> frozenset:
    names = frozenset([names] if isinstance(names, str) else names)
    unknown = sorted(names - set(LENIENCIES))
    if unknown:
        raise ValueError(f"unknown leniencies {unknown}; known: {sorted(LENIENCIES)}")
    return names


class Context:
    """One Graph request after authentication."""

    def __init__(self, call, version: str, claims: dict):
        self.call, self.version, self.claims = call, version, claims
        self.roles = set(claims.get("roles") or [])
        self.query = call.query
        self.count_segment = False  # the path ended in /$count: the answer is the number of items, as text

    def require(self, allowed: set) -> None:
        if not self.roles & allowed:
            raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)

    def _next_page_of_advanced_query(self) -> bool:
        return "$skiptoken" in self.query and odata.skiptoken_is_advanced(self.query["$skiptoken"])

    def eventual(self) -> bool:
        """``ConsistencyLevel: eventual`` (what ``$search`` and the ``$count`` segment need), or a next page of such a query."""
        return self._next_page_of_advanced_query() or self.call.headers.get("ConsistencyLevel", "").lower() == "eventual"

    def advanced_query(self) -> bool:
        """``ConsistencyLevel: eventual`` + ``$count=true``, or a next page of such a query (its skiptoken remembers)."""
        if self._next_page_of_advanced_query():
            return True
        return (self.call.headers.get("ConsistencyLevel", "").lower() == "eventual"
                and (self.count_segment or self.query.get("$count", "").lower() == "true"))


class Graph:
    def __init__(self, sim):
        self.sim = sim
        self.routes = self._routes()

    # ------------------------------------------------------------------ envelope
    def error_reply(self, exc: GraphError, call) -> Reply:
        return Reply(exc.status, error_body(exc, call.request_id, call.client_request_id), dict(exc.headers))

    def handle(self, call) -> Reply:
        parts = call.path.split("/", 2)
        version = parts[1]
        try:
            claims = self._authenticate(call)
            ctx = Context(call, version, claims)
            reply = self._route(ctx, split_segments(parts[2] if len(parts) > 2 else ""))
        except GraphError as exc:
            reply = self.error_reply(exc, call)
        if call.method == "GET":
            self.sim.state.count_read()
        return reply

    def _authenticate(self, call) -> dict:
        header = call.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        claims, problem = self.sim.identity.validate(token)
        if problem:
            raise GraphError(401, "InvalidAuthenticationToken", problem,
                             {"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                                                  'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'})
        return claims

    # ------------------------------------------------------------------ routing
    def _routes(self) -> list:
        au = ("directory", "administrativeUnits")
        beta_au = ("administrativeUnits",)
        routes = [
            ("GET", ("users",), self.list_users, None),
            ("GET", ("users", "{id}"), self.get_user, None),
            ("DELETE", ("users", "{id}"), self.delete_user, None),
            ("GET", ("users", "{id}", "memberOf"), self.member_of, None),
            ("GET", ("users", "{id}", "memberOf", "{cast}"), self.member_of, None),
            ("GET", ("users", "{id}", "transitiveMemberOf"), self.transitive_member_of, None),
            ("GET", ("users", "{id}", "transitiveMemberOf", "{cast}"), self.transitive_member_of, None),
            ("GET", ("users", "{id}", "joinedTeams"), self.joined_teams, None),
            ("GET", ("directoryObjects", "{id}"), self.get_directory_object, None),
            ("GET", ("servicePrincipals", "{id}", "memberOf"), self.service_principal_member_of, None),
            ("GET", ("servicePrincipals", "{id}", "memberOf", "{cast}"), self.service_principal_member_of, None),
            ("GET", ("servicePrincipals", "{id}", "transitiveMemberOf"), self.service_principal_transitive_member_of, None),
            ("GET", ("servicePrincipals", "{id}", "transitiveMemberOf", "{cast}"), self.service_principal_transitive_member_of, None),
            ("GET", ("groups",), self.list_containers, "group"),
            ("GET", ("groups", "{id}"), self.get_container, "group"),
            ("GET", ("groups", "{id}", "members"), self.list_members, "group"),
            ("GET", ("groups", "{id}", "members", "{cast}"), self.list_members, "group"),
            ("GET", ("groups", "{id}", "owners"), self.list_owners, "group"),
            ("POST", ("groups", "{id}", "members", "$ref"), self.add_member, "group"),
            ("DELETE", ("groups", "{id}", "members", "{member}", "$ref"), self.remove_member, "group"),
            ("DELETE", ("groups", "{id}", "members", "{member}"), self.delete_member_object, "group"),
            ("GET", ("teams", "{id}"), self.get_team, None),
            ("GET", ("teams", "{id}", "members"), self.list_team_members, None),
            ("POST", ("teams", "{id}", "members", "add"), self.team_add, None),
            ("POST", ("teams", "{id}", "members", "remove"), self.team_remove, None),
        ]
        for prefix, versions in ((au, VERSIONS), (beta_au, ("beta",))):
            routes += [
                ("GET", prefix, self.list_containers, "administrativeUnit", versions),
                ("GET", prefix + ("{id}",), self.get_container, "administrativeUnit", versions),
                ("GET", prefix + ("{id}", "members"), self.list_members, "administrativeUnit", versions),
                ("GET", prefix + ("{id}", "members", "{cast}"), self.list_members, "administrativeUnit", versions),
                ("POST", prefix + ("{id}", "members", "$ref"), self.add_member, "administrativeUnit", versions),
                ("DELETE", prefix + ("{id}", "members", "{member}", "$ref"), self.remove_member, "administrativeUnit", versions),
                ("DELETE", prefix + ("{id}", "members", "{member}"), self.delete_member_object, "administrativeUnit", versions),
            ]
        from . import accounts, apps, directory_roles, licenses, owners  # they build on this module: imported late
        self.owners = owners.Owners(self)
        for resource in (self.owners, directory_roles.DirectoryRoles(self), apps.Apps(self), accounts.Accounts(self),
                         licenses.Licenses(self)):
            routes += resource.routes()
        return [route if len(route) == 5 else route + (VERSIONS,) for route in routes]

    def _route(self, ctx: Context, segments: list) -> Reply:
        if len(segments) > 1 and segments[-1] == "$count" and not isinstance(segments[-1], KeySegment):
            ctx.count_segment = True  # aad-advanced-queries.md: "Use of $count as a URL segment"
            segments = segments[:-1]
        method_mismatch = False
        for method, pattern, handler, kind, versions in self.routes:
            if ctx.version not in versions or len(pattern) != len(segments):
                continue
            params = {}
            for want, got in zip(pattern, segments):
                if want.startswith("{"):
                    # A bare segment starting with '$' is an OData system segment ($ref, $count), not a key.
                    if got.startswith("$") and not isinstance(got, KeySegment):
                        break
                    params[want[1:-1]] = got
                elif want.lower() != got.lower():
                    break
            else:
                if method != ctx.call.method:
                    method_mismatch = True
                    continue
                if kind:
                    params["kind"] = kind
                if ctx.count_segment and handler not in self._countable():
                    raise GraphError(400, "BadRequest", "Resource not found for the segment '$count'.")
                return handler(ctx, **params)
        if method_mismatch:  # concepts/json-batching.md (example answer, item 4)
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
        unknown = self._unknown_segment(ctx.version, segments)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{unknown}'.")

    def _countable(self) -> tuple:
        """The handlers of directory collections, which take a ``/$count`` segment."""
        return (self.list_users, self.list_containers, self.list_members, self.list_owners, self.member_of,
                self.transitive_member_of, self.service_principal_member_of, self.service_principal_transitive_member_of)

    def _unknown_segment(self, version: str, segments: list) -> str:
        for depth in range(len(segments), 0, -1):
            for route in self.routes:
                pattern, versions = route[1], route[4]
                if version in versions and len(pattern) >= depth and all(
                        want.startswith("{") or want.lower() == got.lower() for want, got in zip(pattern, segments[:depth])):
                    return segments[depth] if depth < len(segments) else segments[-1]
        return segments[0] if segments else ""

    # ------------------------------------------------------------------ representations
    def _context_url(self, ctx: Context, fragment: str) -> str:
        return f"{self.sim.base_url}/{ctx.version}/$metadata#{fragment}"

    def _render(self, ctx: Context, kind: str, record: dict, select=None, typed=False) -> dict:
        if kind == "user":
            names = select or USER_DEFAULT_SELECT
        elif kind == "group":
            names = select or (GROUP_BETA_PROPERTIES if ctx.version == "beta" else GROUP_PROPERTIES)
        else:
            names = select or TYPE_PROPERTIES[kind]
        body = {"@odata.type": f"#microsoft.graph.{kind}"} if typed else {}
        for name in names:
            body[name] = record.get(name)
        if kind == "group" and "$expand" in ctx.query:
            body.update(self.owners.expand_group(ctx, record))
        return body

    def _select(self, ctx: Context, kinds) -> list | None:
        properties = set()
        for kind in kinds:
            properties.update(TYPE_PROPERTIES[kind])
        try:
            return odata.parse_select(ctx.query.get("$select"), properties, kinds[0] if len(kinds) == 1 else "directoryObject")
        except odata.FilterError as exc:
            raise GraphError(400, exc.code, str(exc)) from None

    def _typed_page(self, ctx: Context, pairs: list, kinds: list, cast: str | None, context: str) -> Reply:
        """A page of directory objects of mixed types, ``(kind, record)`` pairs: cast segment, $select, $filter, @odata.type."""
        if cast is not None:
            if cast in OTHER_DIRECTORY_TYPES or (cast in CASTS and CASTS[cast] not in kinds):
                # group-list-members.md: "An attempt to filter by an OData cast that represents an unsupported
                # member type returns a 400 Bad Request error with the Request_UnsupportedQuery code."
                raise GraphError(400, "Request_UnsupportedQuery", f"The type cast '{cast}' is not supported for this request.")
            if cast not in CASTS:
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{cast}'.")
            if not ctx.advanced_query() and "casts" not in self.sim.lenient:
                # user-list-memberof.md (request headers): ConsistencyLevel and $count "are required when using [...]
                # OData cast query parameters"; the answer without them: microsoft-graph-docs-contrib issue 1517.
                raise GraphError(400, "Request_UnsupportedQuery", "Invalid search request.")
            kinds = [CASTS[cast]]
            context += f"/{cast}"
        select = self._select(ctx, kinds)
        pairs = [(kind, record) for kind, record in pairs if kind in kinds]
        if any(option in ctx.query for option in QUERY_OPTIONS):
            properties = set().union(*(TYPE_PROPERTIES[k] for k in kinds))
            kept = self._query(ctx, [record for _kind, record in pairs], properties, "DirectoryObject", relationship=True)
            kind_of = {record["id"]: kind for kind, record in pairs}
            pairs = [(kind_of[record["id"]], record) for record in kept]
        return self._page(ctx, pairs, context, lambda pair: self._limited(ctx, pair[0], self._render(ctx, pair[0], pair[1], select, typed=True)))

    @staticmethod
    def _limited(ctx: Context, kind: str, body: dict) -> dict:
        if kind in READ_OBJECT and not ctx.roles & READ_OBJECT[kind]:
            return {name: (value if name in ("@odata.type", "id") else None) for name, value in body.items()}
        return body

    def _page(self, ctx: Context, items: list, context: str, render=None) -> Reply:
        """One page of ``items`` (``render`` turns each item of the page into its JSON form)."""
        top = ctx.query.get("$top")
        size = self.sim.page_size
        if top is not None:
            if not top.isdigit() or not 1 <= int(top) <= 999:
                raise GraphError(400, "Request_BadRequest", f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")
            size = min(int(top), size)
        if ctx.count_segment:
            # aad-advanced-queries.md, "Error handling for advanced queries": the segment without the header is refused.
            if not ctx.eventual():
                raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
            return Reply(200, str(len(items)).encode(), {"Content-Type": "text/plain"})
        # The same section: without the header, Graph "silently ignores the $count query parameter" (no @odata.count).
        count = "true" if ctx.query.get("$count", "").lower() == "true" and ctx.advanced_query() else ""
        try:
            offset = odata.decode_skiptoken(ctx.query["$skiptoken"]) if "$skiptoken" in ctx.query else 0
        except odata.FilterError as exc:
            raise GraphError(400, exc.code, str(exc)) from None
        body = {"@odata.context": self._context_url(ctx, context)}
        if count == "true":
            body["@odata.count"] = len(items)
        body["value"] = [render(item) if render else item for item in items[offset:offset + size]]
        if offset + size < len(items):
            query = {k: v for k, v in ctx.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = odata.encode_skiptoken(offset + size, advanced=ctx.advanced_query())
            path = urllib.parse.quote(ctx.call.path, safe="/$'()@,:;=!*+")
            encoded = "&".join(f"{quote_query(k)}={quote_query(v)}" for k, v in query.items())
            body["@odata.nextLink"] = f"{self.sim.base_url}{path}?{encoded}"
        return Reply(200, body)

    def _query(self, ctx: Context, records: list, properties, resource: str, relationship=False) -> list:
        """``$filter``, ``$search`` and ``$orderby`` over ``records``, as aad-advanced-queries.md allows each of them.

        ``relationship``: a relationship of an object (members, memberOf), where all three need an advanced query.
        """
        records = self._filter(ctx, records, properties, resource, advanced_only=relationship)
        records = self._search(ctx, records, properties, resource)
        return self._order(ctx, records, properties, resource, relationship)

    def _search(self, ctx: Context, records: list, properties, resource: str) -> list:
        text = ctx.query.get("$search")
        if text is None:
            return records
        if not ctx.eventual():
            # aad-advanced-queries.md, "Error handling for advanced queries": $search works only with the header.
            raise GraphError(400, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph "
                                                              "with a special request header: 'ConsistencyLevel: eventual'")
        try:
            predicate = odata.compile_search(text.strip(), properties, resource)
        except odata.FilterError as exc:
            raise GraphError(400, exc.code, str(exc)) from None
        return [record for record in records if predicate(record)]

    def _order(self, ctx: Context, records: list, properties, resource: str, relationship: bool) -> list:
        text = ctx.query.get("$orderby")
        if text is None:
            return records
        try:
            prop, descending = odata.parse_orderby(text, properties, resource[:1].lower() + resource[1:])
        except odata.FilterError as exc:
            raise GraphError(400, exc.code, str(exc)) from None
        # aad-advanced-queries.md, "Support for sorting": only these sort by default; $filter with $orderby, and
        # sorting a relationship, need the advanced-query pair. The message is the one Graph is seen to send.
        by_default = relationship is False and "$filter" not in ctx.query and prop in ORDERBY_BY_DEFAULT.get(resource, ())
        if not by_default and not ctx.advanced_query():
            raise GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
        present = [r for r in records if r.get(prop) is not None]
        absent = [r for r in records if r.get(prop) is None]
        return sorted(present, key=lambda r: str(r[prop]).lower(), reverse=descending) + absent

    def _filter(self, ctx: Context, records: list, properties, resource: str, advanced_only=False) -> list:
        text = ctx.query.get("$filter")
        if text is None:
            return records
        if advanced_only and not ctx.advanced_query():
            raise GraphError(400, "Request_UnsupportedQuery",
                             "The specified filter to the reference property query is currently not supported.")
        try:
            predicate = odata.compile_filter(text, properties, resource, advanced=ctx.advanced_query())
        except odata.FilterError as exc:
            raise GraphError(400, exc.code, str(exc)) from None
        return [record for record in records if predicate(record)]

    def _entity(self, ctx: Context, kind: str, record: dict, context: str) -> Reply:
        select = self._select(ctx, [kind])
        body = {"@odata.context": self._context_url(ctx, context)}
        body.update(self._render(ctx, kind, record, select))
        return Reply(200, body)

    # ------------------------------------------------------------------ users
    def _user(self, ref: str) -> dict:
        user = self.sim.state.find_user(ref)
        if user is None:
            raise _not_found(ref)
        return user

    def list_users(self, ctx: Context) -> Reply:
        ctx.require(READ_USER)
        with self.sim.state.lock:
            users = sorted(self.sim.state.users.values(), key=lambda u: u["userPrincipalName"].lower())
        users = self._query(ctx, users, USER_PROPERTIES, "User")
        select = self._select(ctx, ["user"])
        return self._page(ctx, users, "users", lambda user: self._render(ctx, "user", user, select))

    def get_user(self, ctx: Context, id: str) -> Reply:  # noqa: A002 - the Graph path parameter's name
        ctx.require(READ_USER)
        return self._entity(ctx, "user", self._user(id), "users/$entity")

    def delete_user(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(DELETE_OBJECT["user"])
        user = self._user(id)
        self._destroy(ctx, "user", user["id"])
        return Reply(204)

    def _destroy(self, ctx: Context, kind: str, oid: str) -> None:
        self.sim.state.delete_object(oid)
        self.sim.destructive_events.append(DestructiveEvent(kind, oid, ctx.call.method, ctx.call.path, ctx.call.request_id))

    def get_directory_object(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_DIRECTORY_OBJECT)
        kind, record = self.sim.state.object(id)
        if kind is None:
            raise _not_found(id)
        body = {"@odata.context": self._context_url(ctx, "directoryObjects/$entity")}
        body.update(self._render(ctx, kind, record, self._select(ctx, [kind]), typed=True))
        return Reply(200, body)

    def _containers_of(self, ctx: Context, member_id: str, transitive: bool) -> list:
        state = self.sim.state
        seen, order, frontier = set(), [], [member_id]
        while frontier:
            current = frontier.pop(0)
            for cid in state.visible_containers_of(current):
                if cid not in seen:
                    seen.add(cid)
                    order.append(cid)
                    if transitive and cid in state.groups:
                        frontier.append(cid)
            if not transitive:
                break
        return sorted(order, key=state._sort_key)

    def _memberships(self, ctx: Context, id: str, cast: str | None, transitive: bool, context: str) -> Reply:  # noqa: A002
        allowed = READ_TRANSITIVE_MEMBER_OF if transitive else READ_MEMBER_OF
        if "member_of_permissions" in self.sim.lenient:
            allowed = allowed | READ_USER | READ_GROUP_MEMBERS
        ctx.require(allowed)
        user = self._user(id)
        return self._memberships_of(ctx, user["id"], ["group", "administrativeUnit", "directoryRole"], cast, transitive, context)

    def _memberships_of(self, ctx: Context, member_id: str, kinds: list, cast: str | None, transitive: bool, context: str) -> Reply:
        pairs = [self.sim.state.object(cid) for cid in self._containers_of(ctx, member_id, transitive)]
        return self._typed_page(ctx, pairs, kinds, cast, context)

    def _service_principal(self, oid: str) -> dict:
        record = self.sim.state.service_principals.get(oid)
        if record is None:
            raise _not_found(oid)
        return record

    def service_principal_member_of(self, ctx: Context, id: str, cast: str | None = None) -> Reply:  # noqa: A002
        """serviceprincipal-list-memberof: the groups and directory roles it is a direct member of (v1.0 included)."""
        ctx.require(READ_SP_MEMBER_OF)
        return self._memberships_of(ctx, self._service_principal(id)["id"], ["group", "directoryRole"], cast, False, "directoryObjects")

    def service_principal_transitive_member_of(self, ctx: Context, id: str, cast: str | None = None) -> Reply:  # noqa: A002
        ctx.require(READ_SP_MEMBER_OF)
        return self._memberships_of(ctx, self._service_principal(id)["id"], ["group", "directoryRole"], cast, True, "directoryObjects")

    def member_of(self, ctx: Context, id: str, cast: str | None = None) -> Reply:  # noqa: A002
        return self._memberships(ctx, id, cast, False, "directoryObjects")

    def transitive_member_of(self, ctx: Context, id: str, cast: str | None = None) -> Reply:  # noqa: A002
        return self._memberships(ctx, id, cast, True, "directoryObjects")

    def joined_teams(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_JOINED_TEAMS)
        user = self._user(id)
        state = self.sim.state
        teams = [state.groups[cid] for cid in self._containers_of(ctx, user["id"], False) if state.is_team(cid)]
        # With application permissions Graph returns only these three properties of each team.
        select = self._select_from(ctx, JOINED_TEAM_PROPERTIES, "team")
        items = [{name: team.get(name) for name in (select or JOINED_TEAM_PROPERTIES)} for team in teams]
        return self._page(ctx, items, "teams")

    def _select_from(self, ctx: Context, properties, type_name: str):
        try:
            return odata.parse_select(ctx.query.get("$select"), properties, type_name)
        except odata.FilterError as exc:
            raise GraphError(400, exc.code, str(exc)) from None

    # ------------------------------------------------------------------ groups and administrative units
    def _store(self, kind: str) -> dict:
        return self.sim.state.groups if kind == "group" else self.sim.state.aus

    def _read_permission(self, kind: str) -> set:
        return READ_GROUP if kind == "group" else READ_AU

    def _container(self, kind: str, oid: str) -> dict:
        if not is_guid(oid):
            raise GraphError(400, "Request_BadRequest", f"Invalid object identifier '{oid}'.")
        record = self._store(kind).get(oid)
        if record is None:
            raise _not_found(oid)
        return record

    @staticmethod
    def _collection(kind: str) -> str:
        return "groups" if kind == "group" else "directory/administrativeUnits"

    def list_containers(self, ctx: Context, kind: str) -> Reply:
        ctx.require(self._read_permission(kind))
        with self.sim.state.lock:
            records = sorted(self._store(kind).values(), key=lambda r: (r["displayName"].lower(), r["id"]))
        records = self._query(ctx, records, TYPE_PROPERTIES[kind], "Group" if kind == "group" else "AdministrativeUnit")
        select = self._select(ctx, [kind])
        return self._page(ctx, records, self._collection(kind), lambda record: self._render(ctx, kind, record, select))

    def get_container(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(self._read_permission(kind))
        record = self._container(kind, id)
        reply = self._entity(ctx, kind, record, f"{self._collection(kind)}/$entity")
        if "$expand" in ctx.query and "members" not in reply.body:
            reply.body.update(self._expanded(ctx, kind, record, ctx.query["$expand"]))
        return reply

    def _expanded(self, ctx: Context, kind: str, record: dict, expand: str) -> dict:
        """``$expand=members`` on one group or unit: group-list-members.md names ``/groups/{id}?$expand=members`` as
        the v1.0 way to see service principal members. Known issue 13635
        (https://developer.microsoft.com/graph/known-issues/?search=13635): "Returns a maximum of 20 objects", and
        no @odata.nextLink. Other relationships are not expanded here."""
        if expand.strip().split("(")[0] != "members":
            return {}
        state = self.sim.state
        pairs = [state.object(oid) for oid in state.visible_members(record["id"])][:EXPAND_LIMIT]
        return {"members": [self._limited(ctx, k, self._render(ctx, k, r, typed=True)) for k, r in pairs if k is not None]}

    def list_members(self, ctx: Context, id: str, kind: str, cast: str | None = None) -> Reply:  # noqa: A002
        ctx.require(READ_GROUP_MEMBERS if kind == "group" else READ_AU)
        record = self._container(kind, id)
        pairs = [self.sim.state.object(mid) for mid in self.sim.state.visible_members(id)]
        # Microsoft 365 groups cannot have groups as members, so that cast is refused for them (group-list-members.md).
        member_kinds = ["user"] if "Unified" in (record.get("groupTypes") or []) else ["user", "group"]
        if kind == "group":
            pairs, member_kinds = self._service_principals_listed(ctx, pairs, member_kinds, cast)
        return self._typed_page(ctx, pairs, member_kinds, cast, "directoryObjects")

    def _service_principals_listed(self, ctx: Context, pairs: list, member_kinds: list, cast: str | None) -> tuple:
        """group-list-members.md: "This API has a known issue where service principals are not listed as group members
        in v1.0. Use this API on the beta endpoint instead or the /groups/{id}?$expand=members API."

        Whether the v1.0 cast ``/members/microsoft.graph.servicePrincipal`` lists them is not documented: the simulator
        answers it with no service principals (the stricter reading), so only the documented workarounds show them.
        """
        if ctx.version == "beta":
            return pairs, member_kinds + ["servicePrincipal"]
        if cast == "microsoft.graph.servicePrincipal":
            return [], member_kinds + ["servicePrincipal"]
        return [(kind, record) for kind, record in pairs if kind != "servicePrincipal"], member_kinds

    def list_owners(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(READ_GROUP_OWNERS)
        self._container(kind, id)
        select = self._select(ctx, ["user"])
        owners = sorted(self.sim.state.owners_of(id), key=self.sim.state._sort_key)
        items = [self._render(ctx, "user", self.sim.state.users[uid], select, typed=True)
                 for uid in owners if uid in self.sim.state.users]
        return self._page(ctx, items, "directoryObjects")

    def _check_writable(self, ctx: Context, kind: str, record: dict) -> None:
        """Refuse a membership change the way Graph does for targets it will not change (GRAPH-NOTES table)."""
        if kind == "group":
            if record.get("isAssignableToRole") and not ctx.roles & ROLE_ASSIGNABLE_WRITE:
                raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
            if self._management_restricted(ctx, kind, record):
                raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
            # group-delete-members.md: "You can't remove a member from groups with dynamic memberships."
            if "DynamicMembership" in (record.get("groupTypes") or []):
                raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
            if record.get("onPremisesSyncEnabled"):
                raise GraphError(400, "Request_BadRequest", ON_PREMISES)
            if record.get("mailEnabled") and "Unified" not in (record.get("groupTypes") or []):
                raise GraphError(400, "Request_BadRequest", MAIL_ENABLED)
        else:
            if self._management_restricted(ctx, kind, record):
                raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
            if record.get("membershipType") == "Dynamic":
                raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)

    def _management_restricted(self, ctx: Context, kind: str, record: dict) -> bool:
        """Whether a restricted management administrative unit keeps this app from changing ``record``'s members.

        admin-units-restricted-management.md, "Programmability": "Applications can't modify objects in restricted
        management administrative units by default. To grant an application access [...] you must assign a Microsoft
        Entra role to the application at the scope of the restricted management administrative unit"; "Who can modify
        objects?": a role scoped to any restricted unit the object is in will do. A group is protected when it is in such
        a unit (or its ``isManagementRestricted`` flag says so). For the unit's own member list the page names only
        tenant-wide Global and Privileged Role Administrators, not application permissions: the simulator refuses it
        too unless the app holds a role scoped to that unit (the stricter reading).
        """
        state = self.sim.state
        if kind == "group":
            units = {aid for aid, unit in state.aus.items() if unit.get("isMemberManagementRestricted") and state.is_member(aid, record["id"])}
            if not units and not record.get("isManagementRestricted"):
                return False
        elif record.get("isMemberManagementRestricted"):
            units = {record["id"]}
        else:
            return False
        app = state.apps.get(ctx.claims.get("appid")) or {}
        return not units & set(app.get("scoped_administrative_units") or ())

    def _write_permission(self, kind: str) -> set:
        return WRITE_GROUP if kind == "group" else WRITE_AU

    def _remove_permission(self, kind: str) -> set:
        return WRITE_GROUP if kind == "group" else REMOVE_AU_MEMBER

    def add_member(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(self._write_permission(kind))
        record = self._container(kind, id)
        body = self._json_body(ctx)
        if not isinstance(body, dict) or not isinstance(body.get("@odata.id"), str):
            raise GraphError(400, "Request_BadRequest", "Invalid request: the body must carry the member's '@odata.id'.")
        collection, member_ref = self.parse_bind(ctx, body["@odata.id"])
        if collection not in MEMBER_COLLECTIONS:
            raise GraphError(400, "Request_BadRequest", f"Invalid URL format specified in @odata.id: '{body['@odata.id']}'.")
        self._check_writable(ctx, kind, record)
        member_kind, member = self.sim.state.object(member_ref)
        if member is None:
            raise _not_found(member_ref)
        if self.sim.state.is_member(id, member_ref):
            raise GraphError(400, "Request_BadRequest", ALREADY_MEMBER)
        self.sim.state.add_member(id, member_ref)
        return Reply(204)

    def remove_member(self, ctx: Context, id: str, member: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(self._remove_permission(kind))
        record = self._container(kind, id)
        self._check_writable(ctx, kind, record)
        if not self.sim.state.is_member(id, member):
            if self.sim.replication_lag and self.sim.state.was_recently_removed(id, member):
                raise GraphError(400, "Request_BadRequest", REPLICATION_LAG)
            # group-delete-members / GRAPH-NOTES: the 404 names the TARGET, not the member.
            raise _not_found(id)
        self.sim.state.remove_member(id, member)
        return Reply(204)

    def delete_member_object(self, ctx: Context, id: str, member: str, kind: str) -> Reply:  # noqa: A002
        """Seeds' Caution: without /$ref, an app allowed to manage the member's type deletes the member itself."""
        ctx.require(self._remove_permission(kind))
        self._container(kind, id)
        member_kind = self.sim.state.object(member)[0]
        if member_kind is None or not self.sim.state.is_member(id, member):
            raise _not_found(id)
        if not ctx.roles & DELETE_OBJECT[member_kind]:
            raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
        self._destroy(ctx, member_kind, member)
        return Reply(204)

    # ------------------------------------------------------------------ binds
    def allowed_hosts(self) -> set:
        return {h.lower() for h in GRAPH_RESOURCES} | {self.sim.base_url.lower()} | {h.rstrip("/").lower() for h in self.sim.graph_hosts}

    def parse_bind(self, ctx: Context, url: str) -> tuple:
        """(collection, id or UPN) from an ``@odata.id`` / ``user@odata.bind`` URL; records the host used."""
        parsed = urllib.parse.urlsplit(url)
        host = f"{parsed.scheme}://{parsed.netloc}".lower()
        ctx.call.bind_hosts.append(host)
        match = _BIND_PATH.match(urllib.parse.unquote(parsed.path))
        if host not in self.allowed_hosts() or not match:
            raise GraphError(400, "BadRequest", f"Invalid URL format specified in @odata.bind: '{url}'.")
        key = match["id"] if match["id"] is not None else match["key"].replace("''", "'")
        return match["collection"], key

    @staticmethod
    def _json_body(ctx: Context):
        try:
            return ctx.call.json()
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is "
                                                "set and payload is of valid JSON format.") from None

    # ------------------------------------------------------------------ teams
    def _team(self, id: str) -> dict:  # noqa: A002
        group = self.sim.state.groups.get(id)
        if group is None or not self.sim.state.is_team(id):
            raise GraphError(404, "NotFound", f"No team found with Group Id {id}")
        return group

    def get_team(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_TEAM)
        group = self._team(id)
        return Reply(200, {
            "@odata.context": self._context_url(ctx, "teams/$entity"),
            "id": group["id"], "createdDateTime": "2024-01-15T09:00:00Z", "displayName": group["displayName"],
            "description": group.get("description"), "internalId": f"19:{group['id'].replace('-', '')}@thread.tacv2",
            "classification": None, "specialization": "none", "visibility": (group.get("visibility") or "private").lower(),
            "webUrl": f"https://teams.microsoft.com/l/team/19%3A{group['id'].replace('-', '')}%40thread.tacv2/",
            "isArchived": False, "tenantId": self.sim.state.tenant_id, "isMembershipLimitedToOwners": False,
        })

    def membership_id(self, team_id: str, user_id: str) -> str:
        """Teams' conversationMember ids are opaque; this one is stable for (team, user)."""
        raw = f"0#19:{team_id.replace('-', '')}@thread.tacv2##{user_id}"
        return base64.b64encode(raw.encode()).decode()

    def list_team_members(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        lenient = "backward_compatible_permissions" in self.sim.lenient
        ctx.require(READ_TEAM_MEMBERS | (READ_TEAM_MEMBERS_BACKWARD_COMPATIBLE if lenient else set()))
        self._team(id)
        state = self.sim.state
        owners = state.owners_of(id)
        items = []
        for uid in state.visible_members(id):
            user = state.users.get(uid)
            if user is None:
                continue
            items.append({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "id": self.membership_id(id, uid),
                "roles": ["guest"] if user["userType"] == "Guest" and uid not in owners else (["owner"] if uid in owners else []),
                "displayName": user["displayName"],
                "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                "userId": uid,
                "email": user.get("mail"),
                "tenantId": state.tenant_id,
            })
        return self._page(ctx, items, f"teams('{id}')/members")

    def _team_values(self, ctx: Context) -> list:
        values = bounded_list(self._json_body(ctx), "values", TEAMS_BATCH_LIMIT,
                              "The request body must contain a non-empty 'values' collection.")
        parsed = []
        for value in values:
            if not isinstance(value, dict) or value.get("@odata.type", "").lstrip("#") != "microsoft.graph.aadUserConversationMember":
                raise GraphError(400, "BadRequest", "Each value must be a microsoft.graph.aadUserConversationMember.")
            bind = value.get("user@odata.bind")
            if not isinstance(bind, str):
                raise GraphError(400, "BadRequest", "Each value must carry 'user@odata.bind'.")
            collection, ref = self.parse_bind(ctx, bind)
            if collection != "users":
                raise GraphError(400, "BadRequest", f"Invalid URL format specified in @odata.bind: '{bind}'.")
            roles = value.get("roles", [])
            if not isinstance(roles, list) or any(r not in ("owner", "member", "guest") for r in roles):
                raise GraphError(400, "BadRequest", f"Invalid roles {roles!r} for user '{ref}'.")
            parsed.append((ref, roles))
        return parsed

    def _team_write(self, ctx: Context, team_id: str, apply_one, all_ok_status: int, permission: set) -> Reply:
        """Run ``apply_one(state, ref, roles) -> (userId, error)`` for each value; 207 when any failed."""
        ctx.require(permission)
        group = self._team(team_id)
        values = self._team_values(ctx)
        if any("owner" in roles for _ref, roles in values) and not ctx.roles & WRITE_TEAM_MEMBERS:
            # conversationmembers-add: TeamMember.ReadWriteNonOwnerRole.All adds members, not owners. Graph's answer
            # to an owner sent with it is not documented: the simulator refuses the whole request like a roster it may not change.
            raise GraphError(403, "Forbidden", TEAMS_FORBIDDEN)
        if "DynamicMembership" in (group.get("groupTypes") or []):
            # microsoft-graph-docs issue 12712: adding a member to a team whose group has dynamic membership answers 403
            # Forbidden; the simulator answers members/add and members/remove the same way.
            raise GraphError(403, "Forbidden", TEAMS_FORBIDDEN)
        state = self.sim.state
        with state.lock:
            results = [apply_one(state, ref, roles) for ref, roles in values]
        body = {
            "@odata.context": self._context_url(ctx, "Collection(microsoft.graph.aadUserConversationMemberResult)"),
            "value": [{"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": user_id, "error": error}
                      for user_id, error in results],
        }
        if any(error is not None for _user_id, error in results):
            return Reply(207, body)
        return Reply(all_ok_status, body if all_ok_status != 204 else None)

    def team_remove(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """Seed 004: 204 when every member was removed, else 207 with one result per user."""
        def remove(state, ref, _roles):
            user = state.find_user(ref)
            if user is None or not state.is_member(id, user["id"]):
                return (user["id"] if user else ref), dict(TEAMS_NOT_FOUND)
            owners = state.owners_of(id)
            if user["id"] in owners and len(owners) == 1:
                return user["id"], {"code": "BadRequest", "message": LAST_OWNER}
            state.remove_member(id, user["id"])
            return user["id"], None
        return self._team_write(ctx, id, remove, 204, WRITE_TEAM_MEMBERS)

    def team_add(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """200 when every member was added (or already was one), else 207; ``roles: ["owner"]`` also makes an owner."""
        def add(state, ref, roles):
            user = state.find_user(ref)
            if user is None:
                return ref, dict(TEAMS_NOT_FOUND)
            if "owner" in roles and user["userType"] == "Guest":
                return user["id"], {"code": "BadRequest", "message": GUEST_OWNER}
            if not state.is_member(id, user["id"]):
                state.add_member(id, user["id"])
            if "owner" in roles:
                state.add_owner(id, user["id"])
            return user["id"], None
        return self._team_write(ctx, id, add, 200, ADD_TEAM_MEMBERS)
