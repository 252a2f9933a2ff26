"""Directory roles: role definitions, active role assignments, and PIM eligibility and assignment schedules.

rbacapplication-list-roledefinitions.md, rbacapplication-list-roleassignments.md, rbacapplication-post-roleassignments.md,
unifiedroleassignment-delete.md, rbacapplication-list-roleeligibilityschedules.md, ...-roleeligibilityscheduleinstances.md,
rbacapplication-post-roleeligibilityschedulerequests.md and their roleAssignmentSchedule* counterparts.

One store of active assignments serves roleAssignments, roleAssignmentSchedules and roleAssignmentScheduleInstances
(an assignment made with POST roleAssignments is a schedule without an end); eligibilities are a second store.
A built-in role held at "/" shows in the holder's memberOf as its directoryRole (state.py).
"""
from __future__ import annotations

from .graph import Context, GraphError, _not_found
from .protocol import Reply
from .resources import Resource, Shape, bad_request
from .state import AU_SCOPE, TENANT_SCOPE, composite_id, parse_time, permanent_schedule, schedule_end, stable_id

PREFIX = ("roleManagement", "directory")
# rbacapplication-list-roleassignments.md (directory provider), rbacapplication-post-roleassignments.md.
READ_ROLES = {"RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All", "RoleManagement.ReadWrite.Directory",
              "Directory.ReadWrite.All"}
WRITE_ROLES = {"RoleManagement.ReadWrite.Directory"}
# rbacapplication-post-roleeligibilityschedulerequests.md and the PIM list pages: the PIM permissions or RoleManagement.*.
READ_SCHEDULES = {
    "eligible": {"RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.Read.Directory",
                 "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"},
    "active": {"RoleAssignmentSchedule.Read.Directory", "RoleAssignmentSchedule.ReadWrite.Directory", "RoleManagement.Read.Directory",
               "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"},
}
WRITE_SCHEDULES = {"eligible": {"RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"},
                   "active": {"RoleAssignmentSchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"}}
# A role assigned twice (atat PR #1554 quotes the answer) and the PIM request codes (the governance API's error table,
# "400 BadRequest RoleAssignmentExists / RoleAssignmentDoesNotExist"; both seen from live Graph by Terraform and PowerShell users).
CONFLICT = "A conflicting object with one or more of the specified property values is present in the directory."
PIM_EXISTS = ("RoleAssignmentExists", "The Role assignment already exists.")
PIM_MISSING = ("RoleAssignmentDoesNotExist", "The Role assignment does not exist.")
PIM_ACTIONS = ("adminAssign", "adminUpdate", "adminRemove", "selfActivate", "selfDeactivate", "adminExtend", "adminRenew",
               "selfExtend", "selfRenew")
EXPIRATION_TYPES = ("notSpecified", "noExpiration", "afterDateTime", "afterDuration")
# The shapes (unifiedroledefinition.md, unifiedroleassignment.md, unifiedroleeligibilityschedule.md and the others).
ROLE_DEFINITION = Shape("unifiedRoleDefinition", ("id", "description", "displayName", "isBuiltIn", "isEnabled", "resourceScopes",
                                                  "rolePermissions", "templateId", "version"))
ROLE_DEFINITION_BETA = Shape("unifiedRoleDefinition", ROLE_DEFINITION.properties + ("isPrivileged",))  # beta only
ROLE_ASSIGNMENT = Shape("unifiedRoleAssignment", ("id", "principalId", "resourceScope", "directoryScopeId", "appScopeId",
                                                  "roleDefinitionId", "condition"))
_SCHEDULE = ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "createdUsing", "createdDateTime",
             "modifiedDateTime", "status", "memberType", "scheduleInfo")
_INSTANCE = ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "startDateTime", "endDateTime", "memberType")
_REQUEST = ("id", "status", "createdDateTime", "completedDateTime", "approvalId", "customData", "action", "principalId",
            "roleDefinitionId", "directoryScopeId", "appScopeId", "isValidationOnly", "targetScheduleId", "justification",
            "scheduleInfo", "createdBy", "ticketInfo")
# Per kind: (schedules, instances, requests) collection names and their shapes.
PIM = {
    "eligible": (("roleEligibilitySchedules", "roleEligibilityScheduleInstances", "roleEligibilityScheduleRequests"),
                 (Shape("unifiedRoleEligibilitySchedule", _SCHEDULE),
                  Shape("unifiedRoleEligibilityScheduleInstance", _INSTANCE + ("roleEligibilityScheduleId",)),
                  Shape("unifiedRoleEligibilityScheduleRequest", _REQUEST))),
    "active": (("roleAssignmentSchedules", "roleAssignmentScheduleInstances", "roleAssignmentScheduleRequests"),
               (Shape("unifiedRoleAssignmentSchedule", _SCHEDULE + ("assignmentType",)),
                Shape("unifiedRoleAssignmentScheduleInstance", _INSTANCE + ("assignmentType", "roleAssignmentOriginId",
                                                                            "roleAssignmentScheduleId")),
                Shape("unifiedRoleAssignmentScheduleRequest", _REQUEST))),
}


def assignment_schedule_id(assignment_id: str) -> str:
    return stable_id("roleAssignmentSchedule", assignment_id)


class DirectoryRoles(Resource):
    def routes(self) -> list:
        routes = [
            ("GET", PREFIX + ("roleDefinitions",), self.list_definitions, None),
            ("GET", PREFIX + ("roleDefinitions", "{id}"), self.get_definition, None),
            ("DELETE", PREFIX + ("roleDefinitions", "{id}"), self.delete_definition, None),
            ("GET", PREFIX + ("roleAssignments",), self.list_assignments, None),
            ("POST", PREFIX + ("roleAssignments",), self.create_assignment, None),
            ("GET", PREFIX + ("roleAssignments", "{id}"), self.get_assignment, None),
            ("DELETE", PREFIX + ("roleAssignments", "{id}"), self.delete_assignment, None),
        ]
        for kind, ((schedules, instances, requests), _shapes) in PIM.items():
            routes += [
                ("GET", PREFIX + (schedules,), self.list_schedules, kind),
                ("GET", PREFIX + (schedules, "{id}"), self.get_schedule, kind),
                ("GET", PREFIX + (instances,), self.list_instances, kind),
                ("GET", PREFIX + (requests,), self.list_requests, kind),
                ("POST", PREFIX + (requests,), self.create_request, kind),
                ("GET", PREFIX + (requests, "{id}"), self.get_request, kind),
            ]
        return routes

    # ------------------------------------------------------------------ representations
    def _relations(self, ctx: Context) -> dict:
        return {
            "principal": lambda record, select: self.render_principal(ctx, record["principalId"], select),
            "roleDefinition": lambda record, select: self._definition_view(ctx, self.state.role_definitions.get(record["roleDefinitionId"])),
            "directoryScope": lambda record, select: self._scope_view(ctx, record["directoryScopeId"]),
        }

    @staticmethod
    def _definition_shape(ctx: Context) -> Shape:
        """isPrivileged is beta only (unifiedroledefinition.md lists it for beta, not for v1.0)."""
        return ROLE_DEFINITION_BETA if ctx.version == "beta" else ROLE_DEFINITION

    def _definition_view(self, ctx: Context, definition: dict | None):
        return None if definition is None else self._definition_shape(ctx).of(definition)

    def _scope_view(self, ctx: Context, scope: str):
        match = AU_SCOPE.match(scope)
        unit = self.state.aus.get(match["id"]) if match else None
        return self.graph._render(ctx, "administrativeUnit", unit, typed=True) if unit else None

    @staticmethod
    def _assignment_view(record: dict) -> dict:
        return {"id": record["id"], "principalId": record["principalId"], "resourceScope": record["directoryScopeId"],
                "directoryScopeId": record["directoryScopeId"], "appScopeId": None, "roleDefinitionId": record["roleDefinitionId"],
                "condition": None}

    @staticmethod
    def _schedule_view(kind: str, record: dict) -> dict:
        view = {"id": record["id"] if kind == "eligible" else assignment_schedule_id(record["id"]),
                "principalId": record["principalId"], "roleDefinitionId": record["roleDefinitionId"],
                "directoryScopeId": record["directoryScopeId"], "appScopeId": None, "createdUsing": record["createdUsing"],
                "createdDateTime": record["createdDateTime"], "modifiedDateTime": record["modifiedDateTime"],
                "status": record["status"], "memberType": record["memberType"], "scheduleInfo": record["scheduleInfo"]}
        if kind == "active":
            view["assignmentType"] = record["assignmentType"]
        return view

    @staticmethod
    def _instance_view(kind: str, record: dict) -> dict:
        view = {"principalId": record["principalId"], "roleDefinitionId": record["roleDefinitionId"],
                "directoryScopeId": record["directoryScopeId"], "appScopeId": None,
                "startDateTime": record["scheduleInfo"]["startDateTime"], "endDateTime": schedule_end(record["scheduleInfo"]),
                "memberType": record["memberType"]}
        if kind == "eligible":
            return {"id": composite_id(record["roleDefinitionId"], record["principalId"], record["directoryScopeId"]) + "-1-e",
                    **view, "roleEligibilityScheduleId": record["id"]}
        return {"id": record["id"], **view, "assignmentType": record["assignmentType"], "roleAssignmentOriginId": record["id"],
                "roleAssignmentScheduleId": assignment_schedule_id(record["id"])}

    def _records(self, kind: str) -> list:
        with self.state.lock:
            return sorted(self.state.role_schedules(kind).values(), key=lambda r: (r["createdDateTime"], r["id"]))

    # ------------------------------------------------------------------ role definitions
    def _definition(self, ref: str) -> dict:
        """A role definition by id or by template id."""
        definitions = self.state.role_definitions
        found = definitions.get(ref) or next((d for d in definitions.values() if d["templateId"] == ref), None)
        if found is None:
            raise _not_found(ref)
        return found

    def list_definitions(self, ctx: Context) -> Reply:
        ctx.require(READ_ROLES)
        with self.state.lock:
            definitions = sorted(self.state.role_definitions.values(), key=lambda d: (d["displayName"].lower(), d["id"]))
        return self.collection(ctx, definitions, self._definition_shape(ctx), "roleManagement/directory/roleDefinitions")

    def get_definition(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_ROLES)
        return self.entity(ctx, self._definition(id), self._definition_shape(ctx), "roleManagement/directory/roleDefinitions/$entity")

    def delete_definition(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """unifiedroledefinition-delete.md: custom roles only; deleting one is a destructive event."""
        ctx.require(WRITE_ROLES)
        definition = self._definition(id)
        if definition["isBuiltIn"]:
            raise bad_request("Built-in role definitions cannot be deleted.")
        self.destroy(ctx, "roleDefinition", definition["id"])
        return Reply(204)

    # ------------------------------------------------------------------ what a write names: role, principal, scope
    def _target(self, body: dict) -> tuple:
        """(role definition id, principal id, directoryScopeId) of a request body, validated as Graph does."""
        role_ref = self.required_text(body, "roleDefinitionId")
        principal_id = self.required_text(body, "principalId")
        if body.get("appScopeId") is not None:
            raise bad_request("App-scoped role assignments (appScopeId) are not modelled by graphsim.")
        scope = body.get("directoryScopeId")
        if not isinstance(scope, str) or not scope:
            raise bad_request("Invalid request: 'directoryScopeId' or 'appScopeId' is required.")
        definition = self._definition(role_ref)  # rbacapplication-post-roleassignments.md: 404 for a missing role or principal
        kind, principal = self.state.principal(principal_id)
        if kind is None:
            raise _not_found(principal_id)
        if kind == "group" and not principal.get("isAssignableToRole"):
            raise bad_request("Only groups with isAssignableToRole set to true can be assigned a directory role.")
        match = AU_SCOPE.match(scope)
        if match:
            if match["id"] not in self.state.aus:
                raise _not_found(match["id"])
        elif scope != TENANT_SCOPE:
            raise bad_request(f"Invalid directoryScopeId '{scope}': graphsim models '/' and '/administrativeUnits/{{id}}'.")
        return definition["id"], principal_id, scope

    def _schedule(self, info, now: str) -> dict:
        """A requestSchedule from a request body, with Graph's defaults: starts now, no end."""
        if info is None:
            return permanent_schedule(now)
        if not isinstance(info, dict):
            raise bad_request("Invalid scheduleInfo: it must be a requestSchedule object.", "BadRequest")
        expiration = info.get("expiration") or {"type": "noExpiration"}
        schedule = permanent_schedule(info.get("startDateTime") or now)
        schedule["expiration"] = {"type": expiration.get("type") or "noExpiration", "endDateTime": expiration.get("endDateTime"),
                                  "duration": expiration.get("duration")}
        if schedule["expiration"]["type"] not in EXPIRATION_TYPES:
            raise bad_request(f"Invalid scheduleInfo: unknown expiration type '{schedule['expiration']['type']}'.", "BadRequest")
        if schedule["expiration"]["type"] == "notSpecified":
            schedule["expiration"]["type"] = "noExpiration"
        try:
            parse_time(schedule["startDateTime"])
            end = schedule_end(schedule)
        except (ValueError, TypeError, KeyError) as exc:
            raise bad_request(f"Invalid scheduleInfo: {exc}.", "BadRequest") from None
        if end is not None and parse_time(end) <= parse_time(schedule["startDateTime"]):
            raise bad_request("Invalid scheduleInfo: the schedule ends before it starts.", "BadRequest")
        return schedule

    # ------------------------------------------------------------------ role assignments (active)
    def list_assignments(self, ctx: Context) -> Reply:
        ctx.require(READ_ROLES)
        views = [self._assignment_view(r) for r in self._records("active")]
        return self.collection(ctx, views, ROLE_ASSIGNMENT, "roleManagement/directory/roleAssignments", self._relations(ctx))

    def _assignment(self, id: str) -> dict:  # noqa: A002
        record = self.state.active_roles.get(id)
        if record is None:
            raise _not_found(id)
        return record

    def get_assignment(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_ROLES)
        return self.entity(ctx, self._assignment_view(self._assignment(id)), ROLE_ASSIGNMENT,
                           "roleManagement/directory/roleAssignments/$entity", self._relations(ctx))

    def create_assignment(self, ctx: Context) -> Reply:
        ctx.require(WRITE_ROLES)
        role, principal, scope = self._target(self.json_object(ctx))
        with self.state.lock:
            if self.state.find_role_schedule("active", principal, role, scope):
                raise bad_request(CONFLICT)
            now = self.now()
            record = self.state.add_role_schedule("active", principal, role, scope, permanent_schedule(now), now)
        return self.entity(ctx, self._assignment_view(record), ROLE_ASSIGNMENT,
                           "roleManagement/directory/roleAssignments/$entity", status=201)

    def delete_assignment(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(WRITE_ROLES)
        self._assignment(id)
        self.state.remove_role_schedule("active", id)
        return Reply(204)

    # ------------------------------------------------------------------ PIM schedules, instances, requests
    def list_schedules(self, ctx: Context, kind: str) -> Reply:
        ctx.require(READ_SCHEDULES[kind])
        (schedules, _instances, _requests), (shape, _instance, _request) = PIM[kind]
        views = [self._schedule_view(kind, r) for r in self._records(kind)]
        return self.collection(ctx, views, shape, f"roleManagement/directory/{schedules}", self._relations(ctx))

    def get_schedule(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(READ_SCHEDULES[kind])
        (schedules, _instances, _requests), (shape, _instance, _request) = PIM[kind]
        view = next((v for v in (self._schedule_view(kind, r) for r in self._records(kind)) if v["id"] == id), None)
        if view is None:
            raise _not_found(id)
        return self.entity(ctx, view, shape, f"roleManagement/directory/{schedules}/$entity", self._relations(ctx))

    def list_instances(self, ctx: Context, kind: str) -> Reply:
        ctx.require(READ_SCHEDULES[kind])
        (_schedules, instances, _requests), (_schedule, shape, _request) = PIM[kind]
        views = [self._instance_view(kind, r) for r in self._records(kind)]
        return self.collection(ctx, views, shape, f"roleManagement/directory/{instances}", self._relations(ctx))

    def list_requests(self, ctx: Context, kind: str) -> Reply:
        ctx.require(READ_SCHEDULES[kind])
        (_schedules, _instances, requests), (_schedule, _instance, shape) = PIM[kind]
        with self.state.lock:
            views = [request for request_kind, request in self.state.role_requests if request_kind == kind]
        return self.collection(ctx, views, shape, f"roleManagement/directory/{requests}", self._relations(ctx))

    def get_request(self, ctx: Context, id: str, kind: str) -> Reply:  # noqa: A002
        ctx.require(READ_SCHEDULES[kind])
        (_schedules, _instances, requests), (_schedule, _instance, shape) = PIM[kind]
        with self.state.lock:
            found = next((r for k, r in self.state.role_requests if k == kind and r["id"] == id), None)
        if found is None:
            raise _not_found(id)
        return self.entity(ctx, found, shape, f"roleManagement/directory/{requests}/$entity", self._relations(ctx))

    def create_request(self, ctx: Context, kind: str) -> Reply:
        """adminAssign grants (201, status Provisioned); adminRemove revokes (201, status Revoked); nothing else is modelled."""
        ctx.require(WRITE_SCHEDULES[kind])
        body = self.json_object(ctx)
        action = body.get("action")
        if action not in PIM_ACTIONS:
            raise bad_request(f"Invalid value '{action}' for property 'action'.")
        if action not in ("adminAssign", "adminRemove"):
            raise bad_request(f"The action '{action}' is not modelled by graphsim (adminAssign and adminRemove are).")
        role, principal, scope = self._target(body)
        validation_only = body.get("isValidationOnly") is True
        now = self.now()
        with self.state.lock:
            existing = self.state.find_role_schedule(kind, principal, role, scope)
            if action == "adminAssign":
                if existing:
                    raise GraphError(400, *PIM_EXISTS)
                schedule = self._schedule(body.get("scheduleInfo"), now)
                target = None if validation_only else self.state.add_role_schedule(kind, principal, role, scope, schedule, now)
                status = "Provisioned"
            else:
                if not existing:
                    raise GraphError(400, *PIM_MISSING)
                schedule, target, status = None, None, "Revoked"
                if not validation_only:
                    self.state.remove_role_schedule(kind, existing["id"])
            request = self._request_record(ctx, kind, body, (role, principal, scope), schedule, target, status, now)
            self.state.role_requests.append((kind, request))
        (_schedules, _instances, requests), (_schedule, _instance, shape) = PIM[kind]
        return self.entity(ctx, request, shape, f"roleManagement/directory/{requests}/$entity", status=201)

    def _request_record(self, ctx: Context, kind: str, body: dict, target: tuple, schedule, made, status: str, now: str) -> dict:
        role, principal, scope = target
        app = self.state.apps.get(ctx.claims.get("appid")) or {}
        target_schedule = None
        if made is not None:
            target_schedule = made["id"] if kind == "eligible" else assignment_schedule_id(made["id"])
        return {
            "id": stable_id("roleScheduleRequest", f"{len(self.state.role_requests)}:{now}"),
            "status": status, "createdDateTime": now, "completedDateTime": now if status == "Provisioned" else None,
            "approvalId": None, "customData": None, "action": body["action"], "principalId": principal,
            "roleDefinitionId": role, "directoryScopeId": scope, "appScopeId": None,
            "isValidationOnly": body.get("isValidationOnly") is True, "targetScheduleId": target_schedule,
            "justification": body.get("justification"), "scheduleInfo": schedule,
            "createdBy": {"application": {"id": app.get("client_id"), "displayName": app.get("name")}, "device": None, "user": None},
            "ticketInfo": {"ticketNumber": (body.get("ticketInfo") or {}).get("ticketNumber"),
                           "ticketSystem": (body.get("ticketInfo") or {}).get("ticketSystem")},
        }
