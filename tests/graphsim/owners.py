"""Group owners, a user's manager and owned objects, ``$expand`` of a group's owners and members, group deletion.

group-post-owners.md, group-delete-owners.md, group-list-owners.md, user-list-manager.md, user-list-ownedobjects.md,
group-delete.md. A team's owners are its group's owners (state.py), so the Teams roster follows every change here.
"""
from __future__ import annotations

from .graph import DELETE_OBJECT, LAST_OWNER, ROLE_ASSIGNABLE_WRITE, Context, GraphError, _not_found, split_segments
from .protocol import Reply
from .resources import EXPAND_LIMIT, Resource, bad_request, denied

# group-post-owners.md / group-delete-owners.md: Group.ReadWrite.All (least), Directory.ReadWrite.All. Unlike members,
# GroupMember.ReadWrite.All is not enough.
WRITE_OWNERS = {"Group.ReadWrite.All", "Directory.ReadWrite.All"}
READ_MANAGER = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
DELETE_SERVICE_PRINCIPAL = {"Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.ReadWrite.All"}
OWNER_COLLECTIONS = {"directoryObjects", "users", "servicePrincipals"}
# The directory's answer to an owner added twice, in the words it uses for members (GRAPH-NOTES, adding a member).
ALREADY_OWNER = "One or more added object references already exist for the following modified properties: 'owners'."
NO_MANAGER = "Resource 'manager' does not exist or one of its queried reference-property objects are not present."


class Owners(Resource):
    def routes(self) -> list:
        return [
            ("POST", ("groups", "{id}", "owners", "$ref"), self.add_owner, None),
            ("DELETE", ("groups", "{id}", "owners", "{owner}", "$ref"), self.remove_owner, None),
            ("DELETE", ("groups", "{id}", "owners", "{owner}"), self.delete_owner_object, None),
            ("DELETE", ("groups", "{id}"), self.delete_group, None),
            ("GET", ("users", "{id}", "manager"), self.manager, None),
            ("GET", ("users", "{id}", "ownedObjects"), self.owned_objects, None),
            ("GET", ("users", "{id}", "ownedObjects", "{cast}"), self.owned_objects, None),
        ]

    def _check_owner_writable(self, ctx: Context, group: dict) -> None:
        """The refusals of member writes, but a dynamic rule governs members only: its owners can change."""
        types = [kind for kind in group.get("groupTypes") or [] if kind != "DynamicMembership"]
        self.graph._check_writable(ctx, "group", dict(group, groupTypes=types))

    def add_owner(self, ctx: Context, id: str) -> Reply:  # noqa: A002 - the Graph path parameter's name
        ctx.require(WRITE_OWNERS)
        group = self.graph._container("group", id)
        body = self.json_object(ctx)
        if not isinstance(body.get("@odata.id"), str):
            raise bad_request("Invalid request: the body must carry the owner's '@odata.id'.")
        collection, owner = self.graph.parse_bind(ctx, body["@odata.id"])
        if collection not in OWNER_COLLECTIONS:
            raise bad_request(f"Invalid URL format specified in @odata.id: '{body['@odata.id']}'.")
        self._check_owner_writable(ctx, group)
        kind = self.state.principal(owner)[0]
        if kind is None:
            raise _not_found(owner)
        if kind == "group":  # group-post-owners.md: owners are users or service principals
            raise bad_request("A group can be owned only by users and service principals.")
        if owner in self.state.owners_of(id):
            raise bad_request(ALREADY_OWNER)
        self.state.add_owner(id, owner)
        return Reply(204)

    def remove_owner(self, ctx: Context, id: str, owner: str) -> Reply:  # noqa: A002
        ctx.require(WRITE_OWNERS)
        group = self.graph._container("group", id)
        self._check_owner_writable(ctx, group)
        owners = self.state.owners_of(id)
        if owner not in owners:
            raise _not_found(id)  # like members: the 404 names the group
        # group-delete-owners.md: "the last owner (a user object) of the group cannot be removed"; the text is
        # Graph's answer quoted in microsoft-graph-docs issue #12054.
        if owner in self.state.users and not (owners - {owner}) & set(self.state.users):
            raise bad_request(LAST_OWNER)
        self.state.remove_owner(id, owner)
        return Reply(204)

    def delete_owner_object(self, ctx: Context, id: str, owner: str) -> Reply:  # noqa: A002
        """Without /$ref the owner object itself is deleted, as for members (microsoft-graph-docs issue 15311)."""
        ctx.require(WRITE_OWNERS)
        self.graph._container("group", id)
        if owner not in self.state.owners_of(id):
            raise _not_found(id)
        kind = self.state.principal(owner)[0]
        if not ctx.roles & (DELETE_SERVICE_PRINCIPAL if kind == "servicePrincipal" else DELETE_OBJECT[kind]):
            raise denied()
        self.destroy(ctx, kind, owner)
        return Reply(204)

    def delete_group(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """group-delete.md: the group itself goes (a destructive event)."""
        ctx.require(DELETE_OBJECT["group"])
        group = self.graph._container("group", id)
        if group.get("isAssignableToRole") and not ctx.roles & ROLE_ASSIGNABLE_WRITE:
            raise denied()
        self.destroy(ctx, "group", id)
        return Reply(204)

    def manager(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_MANAGER)
        user = self.graph._user(id)
        manager = self.state.manager_of(user["id"])
        if manager is None or manager not in self.state.users:
            raise GraphError(404, "Request_ResourceNotFound", NO_MANAGER)
        body = {"@odata.context": self.graph._context_url(ctx, "directoryObjects/$entity")}
        body.update(self.graph._render(ctx, "user", self.state.users[manager], self.graph._select(ctx, ["user"]), typed=True))
        return Reply(200, body)

    def owned_objects(self, ctx: Context, id: str, cast: str | None = None) -> Reply:  # noqa: A002
        """user-list-ownedobjects.md: application permissions are "Not supported", so an app is always refused.

        An app finds a user's groups through the groups' owners instead: GET /groups?$expand=owners($select=id).
        """
        raise denied()

    # ------------------------------------------------------------------ $expand on groups
    def expand_group(self, ctx: Context, group: dict) -> dict:
        """``$expand=owners`` / ``members`` on a group (group.md: "Supports $expand including nested $select").

        Only for GET /groups and GET /groups/{id}: elsewhere a group is rendered inside another type's answer.
        """
        segments = split_segments(ctx.call.path.split("/", 2)[2])
        if segments[0].lower() != "groups" or len(segments) > 2:
            return {}
        relations = {"owners": lambda g, select: self._related(ctx, sorted(self.state.owners_of(g["id"])), select, ("user", "group")),
                     "members": lambda g, select: self._related(ctx, self.state.visible_members(g["id"]), select,
                                                                ("user", "group", "servicePrincipal"))}
        return self.expanded(ctx, group, relations, "group")

    def _related(self, ctx: Context, ids: list, select: str | None, kinds: tuple) -> list:
        # group-list-owners.md: v1.0 does not list service principals among a group's owners; $expand=members
        # shows them (group-list-members.md's known issue concerns the members collection, not the expansion).
        shown = [oid for oid in ids if self.state.principal(oid)[0] in kinds]
        return [self.render_principal(ctx, oid, select) for oid in shown[:EXPAND_LIMIT]]
