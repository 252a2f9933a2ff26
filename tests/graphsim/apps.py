"""Enterprise applications: service principals, their app roles, and app role assignments of users and groups.

serviceprincipal-list.md, serviceprincipal-delete.md, serviceprincipal-list-approleassignedto.md (+ post, delete),
user-list-approleassignments.md, user-post-approleassignments.md, user-delete-approleassignments.md and the group-*
counterparts. A user reaches an app "through group X" when X holds the assignment; GET /users/{id}/appRoleAssignments
lists the user's own assignments only.
"""
from __future__ import annotations

from .graph import Context, _not_found
from .protocol import Reply
from .resources import SERVICE_PRINCIPAL, Resource, Shape, bad_request
from .state import DEFAULT_ACCESS_ROLE

# serviceprincipal-list.md: Application.Read.All (least) ... Directory.ReadWrite.All.
READ_APPS = {"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All",
             "Directory.ReadWrite.All"}
DELETE_APPS = {"Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.ReadWrite.All"}
# user-list-approleassignments.md / group-list-approleassignments.md: Directory.Read.All (least) for an app.
READ_PRINCIPAL_ASSIGNMENTS = {"Directory.Read.All", "AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All"}
READ_ASSIGNED_TO = READ_APPS | {"AppRoleAssignment.ReadWrite.All"}
# user-post-approleassignments.md, user-delete-approleassignments.md and the others: only this one.
WRITE_APP_ROLES = {"AppRoleAssignment.ReadWrite.All"}
# The directory's answers, as production clients quote them (Microsoft Graph PowerShell, Azure CLI and app scripts).
ALREADY_ASSIGNED = "Permission being assigned already exists on the object"
ROLE_NOT_FOUND = "Permission being assigned was not found on application '{app_id}'."
APP_ROLE_ASSIGNMENT = Shape("appRoleAssignment", ("id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName",
                                                  "principalId", "principalType", "resourceDisplayName", "resourceId"))


class Apps(Resource):
    def routes(self) -> list:
        routes = [
            ("GET", ("servicePrincipals",), self.list_service_principals, None),
            ("GET", ("servicePrincipals", "{id}"), self.get_service_principal, None),
            ("DELETE", ("servicePrincipals", "{id}"), self.delete_service_principal, None),
            ("GET", ("servicePrincipals", "{id}", "appRoleAssignedTo"), self.list_assigned_to, None),
            ("POST", ("servicePrincipals", "{id}", "appRoleAssignedTo"), self.create_assigned_to, None),
            ("DELETE", ("servicePrincipals", "{id}", "appRoleAssignedTo", "{assignment}"), self.delete_assigned_to, None),
        ]
        for collection, kind in (("users", "user"), ("groups", "group")):
            routes += [
                ("GET", (collection, "{id}", "appRoleAssignments"), self.list_assignments, kind),
                ("POST", (collection, "{id}", "appRoleAssignments"), self.create_assignment, kind),
                ("DELETE", (collection, "{id}", "appRoleAssignments", "{assignment}"), self.delete_assignment, kind),
            ]
        return routes

    # ------------------------------------------------------------------ service principals
    def _service_principal(self, id: str) -> dict:  # noqa: A002
        found = self.state.service_principals.get(id)
        if found is None:
            raise _not_found(id)
        return found

    def list_service_principals(self, ctx: Context) -> Reply:
        ctx.require(READ_APPS)
        with self.state.lock:
            records = sorted(self.state.service_principals.values(), key=lambda sp: (sp["displayName"].lower(), sp["id"]))
        return self.collection(ctx, records, SERVICE_PRINCIPAL, "servicePrincipals")

    def get_service_principal(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_APPS)
        return self.entity(ctx, self._service_principal(id), SERVICE_PRINCIPAL, "servicePrincipals/$entity")

    def delete_service_principal(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """serviceprincipal-delete.md: the enterprise app goes, and with it every assignment to it (destructive)."""
        ctx.require(DELETE_APPS)
        self._service_principal(id)
        self.destroy(ctx, "servicePrincipal", id)
        return Reply(204)

    # ------------------------------------------------------------------ assignments
    def _assignments(self, key: str, value: str) -> list:
        with self.state.lock:
            return sorted((dict(a) for a in self.state.app_assignments.values() if a[key] == value),
                          key=lambda a: (a["createdDateTime"], a["id"]))

    def _principal(self, kind: str, id: str) -> dict:  # noqa: A002
        return self.graph._user(id) if kind == "user" else self.graph._container("group", id)

    def _assign(self, ctx: Context, body: dict, principal_id: str | None = None, resource_id: str | None = None) -> Reply:
        """Create an assignment from ``body``; the path fixes the principal or the resource, which the body must repeat."""
        for name, fixed in (("principalId", principal_id), ("resourceId", resource_id)):
            value = self.required_text(body, name)
            if fixed is not None and value.lower() != fixed.lower():
                raise bad_request(f"Invalid value specified for property '{name}' of resource 'AppRoleAssignment'.")
        app_role_id = self.required_text(body, "appRoleId")
        resource = self._service_principal(body["resourceId"])
        kind, _principal = self.state.principal(body["principalId"])
        if kind is None:
            raise _not_found(body["principalId"])
        allowed = "Application" if kind == "servicePrincipal" else "User"  # users and groups take "User" roles
        roles = {role["id"] for role in resource["appRoles"] if allowed in role["allowedMemberTypes"] and role["isEnabled"]}
        if app_role_id not in roles and not (app_role_id == DEFAULT_ACCESS_ROLE and not resource["appRoles"]):
            raise bad_request(ROLE_NOT_FOUND.format(app_id=resource["appId"]))
        with self.state.lock:
            if any((a["principalId"], a["resourceId"], a["appRoleId"]) == (body["principalId"], resource["id"], app_role_id)
                   for a in self.state.app_assignments.values()):
                raise bad_request(ALREADY_ASSIGNED)
            record = self.state.assign_app_role(body["principalId"], resource["id"], app_role_id, created=self.now())
        return self.entity(ctx, record, APP_ROLE_ASSIGNMENT, "appRoleAssignments/$entity", status=201)

    def _unassign(self, assignment: str, key: str, owner: str) -> Reply:
        found = self.state.app_assignments.get(assignment)
        if found is None or found[key] != owner:
            raise _not_found(assignment)
        self.state.remove_app_role(assignment)
        return Reply(204)

    def list_assignments(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(READ_PRINCIPAL_ASSIGNMENTS)
        principal = self._principal(kind, id)
        return self.collection(ctx, self._assignments("principalId", principal["id"]), APP_ROLE_ASSIGNMENT,
                               f"{kind}s('{principal['id']}')/appRoleAssignments")

    def create_assignment(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(WRITE_APP_ROLES)
        principal = self._principal(kind, id)
        return self._assign(ctx, self.json_object(ctx), principal_id=principal["id"])

    def delete_assignment(self, ctx: Context, id: str, assignment: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(WRITE_APP_ROLES)
        return self._unassign(assignment, "principalId", self._principal(kind, id)["id"])

    def list_assigned_to(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_ASSIGNED_TO)
        self._service_principal(id)
        return self.collection(ctx, self._assignments("resourceId", id), APP_ROLE_ASSIGNMENT,
                               f"servicePrincipals('{id}')/appRoleAssignedTo")

    def create_assigned_to(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(WRITE_APP_ROLES)
        self._service_principal(id)
        return self._assign(ctx, self.json_object(ctx), resource_id=id)

    def delete_assigned_to(self, ctx: Context, id: str, assignment: str) -> Reply:  # noqa: A002
        ctx.require(WRITE_APP_ROLES)
        self._service_principal(id)
        return self._unassign(assignment, "resourceId", id)
