"""The simulated tenant: users, groups, administrative units, directory roles, teams and apps.

One mutable object shared by every request thread (guarded by one lock). Teams are not a
separate store: a team IS its group (``resourceProvisioningOptions: ["Team"]``), its roster is
the group's members and its owners are the group's owners, so the group and team views of
Graph always agree.
"""
from __future__ import annotations

import base64
import copy
import datetime
import re
import threading
import time
import uuid

from .builtin_roles import BUILT_IN_ROLES

# Every id in a tenant file is derived from the object's kind and name, so tests can name
# objects and get the same GUID on every run (and in every tenant generated the same way).
ID_NAMESPACE = uuid.UUID("5d0c6a39-6d2b-4b8e-9a44-7c1f1f0e8a51")

GROUP_KINDS = {
    "security": {"groupTypes": [], "mailEnabled": False, "securityEnabled": True},
    "unified": {"groupTypes": ["Unified"], "mailEnabled": True, "securityEnabled": False},
    "dynamic": {"groupTypes": ["DynamicMembership"], "mailEnabled": False, "securityEnabled": True,
                "membershipRuleProcessingState": "On"},
    "synced": {"groupTypes": [], "mailEnabled": False, "securityEnabled": True, "onPremisesSyncEnabled": True},
    "mail_security": {"groupTypes": [], "mailEnabled": True, "securityEnabled": True},
    "distribution": {"groupTypes": [], "mailEnabled": True, "securityEnabled": False},
    "role_assignable": {"groupTypes": [], "mailEnabled": False, "securityEnabled": True, "isAssignableToRole": True},
    "team": {"groupTypes": ["Unified"], "mailEnabled": True, "securityEnabled": False,
             "resourceProvisioningOptions": ["Team"]},
    "restricted": {"groupTypes": [], "mailEnabled": False, "securityEnabled": True, "isManagementRestricted": True},
    "dynamic_team": {"groupTypes": ["Unified", "DynamicMembership"], "mailEnabled": True, "securityEnabled": False,
                     "membershipRuleProcessingState": "On", "resourceProvisioningOptions": ["Team"]},
}

GROUP_DEFAULTS = {
    "description": None,
    "groupTypes": [],
    "membershipRule": None,
    "membershipRuleProcessingState": None,
    "mailEnabled": False,
    "securityEnabled": True,
    "mail": None,
    "mailNickname": None,
    "onPremisesSyncEnabled": None,
    "isAssignableToRole": None,
    "resourceProvisioningOptions": [],
    "visibility": None,
    "isManagementRestricted": None,
    "assignedLicenses": [],
}

AU_DEFAULTS = {
    "description": None,
    "membershipType": None,
    "membershipRule": None,
    "membershipRuleProcessingState": None,
    "visibility": None,
    "isMemberManagementRestricted": False,
}

USER_DEFAULTS = {
    "businessPhones": [],
    "givenName": None,
    "surname": None,
    "jobTitle": None,
    "mobilePhone": None,
    "officeLocation": None,
    "preferredLanguage": None,
    "accountEnabled": True,
    "department": None,
    "usageLocation": None,
    "onPremisesSyncEnabled": None,
    "signInSessionsValidFromDateTime": "2024-01-15T09:00:00Z",
    "assignedLicenses": [],
    "licenseAssignmentStates": [],
}

OBJECT_TYPES = ("user", "group", "administrativeUnit", "directoryRole", "servicePrincipal")

# When the tenant file's objects were made (the start of its schedules, the date of its license states).
TENANT_EPOCH = "2024-01-15T09:00:00Z"
DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"  # appRoleAssignment: an app with no app roles
TENANT_SCOPE = "/"
AU_SCOPE = re.compile(r"^/administrativeUnits/(?P<id>[^/]+)$")
_DURATION = re.compile(r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$")


def stable_id(kind: str, name: str) -> str:
    """The GUID a tenant file gives an object of ``kind`` named ``name`` when it states no id."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{name.lower()}"))


def mail_nickname(name: str) -> str:
    return "".join(ch for ch in name if ch.isalnum()) or "group"


def iso_now(seconds: float | None = None) -> str:
    """An ISO 8601 UTC timestamp as Graph writes them (``seconds`` since the epoch; now when None)."""
    moment = datetime.datetime.fromtimestamp(time.time() if seconds is None else seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 date-time (``Z`` or an offset, fractions allowed); ``ValueError`` when it is none."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(datetime.timezone.utc)


def schedule_end(schedule: dict | None) -> str | None:
    """When a requestSchedule ends (``None``: never): ``endDateTime``, or ``startDateTime`` + ``duration``."""
    expiration = (schedule or {}).get("expiration") or {}
    kind = expiration.get("type") or "noExpiration"
    if kind == "afterDateTime":
        return iso_now(parse_time(expiration["endDateTime"]).timestamp())
    if kind == "afterDuration":
        match = _DURATION.match(expiration.get("duration") or "")
        if not match or not any(match.groupdict().values()):
            raise ValueError(f"invalid duration {expiration.get('duration')!r}")
        delta = datetime.timedelta(**{unit: int(value) for unit, value in match.groupdict().items() if value})
        return iso_now((parse_time(schedule["startDateTime"]) + delta).timestamp())
    return None


def _guid_text(guid: str) -> str:
    """A GUID's bytes in base64url without padding: how Entra spells the parts of its composite ids."""
    return base64.urlsafe_b64encode(uuid.UUID(guid).bytes_le).decode().rstrip("=")


def composite_id(role_id: str, principal_id: str, scope: str) -> str:
    """The stem of a role assignment's id: the role's GUID and one for the principal at that scope, base64url
    (rbacapplication-list-roleassignments.md: ids like ``lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1``)."""
    return _guid_text(role_id) + _guid_text(stable_id("roleAssignment", f"{principal_id}:{scope}"))


class TenantState:
    """Directory objects plus memberships; every method is thread-safe.

    ``consistency_lag``: when > 0, a membership change becomes visible to *reads* (member lists,
    memberOf, team rosters) only after that many further Graph reads; writes and the test helpers
    (``is_member``, ``members``, ``snapshot``) always see the truth.
    """

    def __init__(self, spec: dict):
        self.lock = threading.RLock()
        self.consistency_lag = 0
        self._pending = {}  # (container_id, member_id) -> [reads left, visible-before-change]
        self._recently_removed = set()
        self._load(copy.deepcopy(spec))

    # ------------------------------------------------------------------ loading
    def _load(self, spec: dict) -> None:
        tenant = spec.get("tenant") or {}
        self.domain = tenant.get("domain", "contoso.com")
        self.display_name = tenant.get("display_name", self.domain.split(".")[0].title())
        self.tenant_id = tenant.get("id") or stable_id("tenant", self.domain)
        self.initial_domain = tenant.get("initial_domain", f"{self.domain.split('.')[0]}.onmicrosoft.com")
        self.users, self.groups, self.aus, self.roles = {}, {}, {}, {}
        self.memberships = {}   # container id -> set of member ids (groups, AUs, directory roles)
        self.owners = {}    # group id -> set of user ids
        self.apps = {}      # client id -> app dict
        self._names = {}    # (kind, lower name) -> id

        for user in spec.get("users") or []:
            self._add_user(user)
        for group in spec.get("groups") or []:
            self._add_container("group", group)
        for unit in spec.get("administrative_units") or []:
            self._add_container("administrativeUnit", unit)
        for role in spec.get("directory_roles") or []:
            self._add_container("directoryRole", role)
        self.service_principals = {}  # id -> servicePrincipal: one per app of the tenant, plus the spec's service_principals
        for app in spec.get("apps") or []:
            self._add_service_principal({"displayName": app["name"], "appId": app.get("client_id") or stable_id("app", app["name"]),
                                         "id": stable_id("servicePrincipal", app["name"])})
        for principal in spec.get("service_principals") or []:
            self._add_service_principal(principal)
        for kind, section in (("group", "groups"), ("administrativeUnit", "administrative_units"),
                              ("directoryRole", "directory_roles")):
            for container in spec.get(section) or []:
                cid = self._names[(kind, container["displayName"].lower())]
                self.memberships[cid] = {self._ref(r) for r in container.get("members") or []}
                if kind == "group":
                    self.owners[cid] = {self._ref(r) for r in container.get("owners") or []}
        for app in spec.get("apps") or []:
            self._add_app(app)
        self._load_access(spec)

    def _add_user(self, user: dict) -> None:
        upn = user["userPrincipalName"]
        uid = user.get("id") or stable_id("user", upn)
        guest = "#EXT#" in upn or user.get("userType") == "Guest"
        record = dict(USER_DEFAULTS)
        record.update({
            "id": uid,
            "userPrincipalName": upn,
            "displayName": user.get("displayName", upn.split("@")[0]),
            "mail": user.get("mail", None if guest else upn),
            "userType": "Guest" if guest else "Member",
        })
        record.update({k: v for k, v in user.items() if k not in ("id", "userPrincipalName")})
        record["userType"] = "Guest" if guest else record.get("userType", "Member")
        self.users[uid] = record
        self._names[("user", upn.lower())] = uid

    def _add_container(self, kind: str, spec: dict) -> None:
        name = spec["displayName"]
        oid = spec.get("id") or stable_id(kind, name)
        if kind == "group":
            record = dict(GROUP_DEFAULTS)
            record.update(GROUP_KINDS[spec.get("kind", "security")])
            if record["mailEnabled"]:
                record["mailNickname"] = mail_nickname(name)
                record["mail"] = f"{record['mailNickname'].lower()}@{self.domain}"
            else:
                record["mailNickname"] = mail_nickname(name)
            if record["groupTypes"] and "Unified" in record["groupTypes"]:
                record["visibility"] = "Private"
            target = self.groups
        elif kind == "administrativeUnit":
            record = dict(AU_DEFAULTS)
            target = self.aus
        else:
            record = {"description": None, "roleTemplateId": stable_id("roleTemplate", name)}
            target = self.roles
        record.update({k: v for k, v in spec.items() if k not in ("members", "owners", "kind", "id")})
        record["id"] = oid
        if kind == "administrativeUnit" and record.get("membershipType") == "Dynamic":
            record.setdefault("membershipRuleProcessingState", "On")
        target[oid] = record
        self.memberships[oid] = set()
        self._names[(kind, name.lower())] = oid

    def _add_app(self, app: dict) -> None:
        client_id = app.get("client_id") or stable_id("app", app["name"])
        record = {
            "name": app["name"],
            "client_id": client_id,
            "service_principal_id": stable_id("servicePrincipal", app["name"]),
            "secrets": list(app.get("secrets") or ([app["secret"]] if app.get("secret") else [])),
            "certificate": app.get("certificate", False),
            "certificate_thumbprints": list(app.get("certificate_thumbprints") or []),
            "federated_credentials": list(app.get("federated_credentials") or []),
            "roles": list(app.get("roles") or []),
            "default": bool(app.get("default")),
            # admin-units-restricted-management.md, "Programmability": administrative units on which the app holds
            # a Microsoft Entra role (names or ids in the tenant file); only they let it change restricted objects.
            "scoped_administrative_units": [self._names.get(("administrativeUnit", ref.lower()), ref)
                                            for ref in app.get("scoped_role_administrative_units") or []],
        }
        self.apps[client_id] = record
        self._names[("app", app["name"].lower())] = client_id

    def _ref(self, ref: str) -> str:
        """A member reference in a tenant file: a UPN, a group name (``group:Name``), a service principal's name
        (``app:Name``; every app of the tenant has one, named like the app) or an id."""
        if ref.startswith("app:"):
            return self._names[("servicePrincipal", ref[4:].lower())]
        if ref.startswith("group:"):
            return self._names[("group", ref[6:].lower())]
        if "@" in ref:
            return self._names[("user", ref.lower())]
        return ref

    # ------------------------------------------------------------------ naming helpers for tests
    def id_of(self, kind: str, name: str) -> str:
        """``id_of("group", "Sales")``; kinds: user (by UPN), group, administrativeUnit (or "au"), team, directoryRole, app,
        servicePrincipal (or "sp")."""
        kind = {"au": "administrativeUnit", "administrative_unit": "administrativeUnit", "team": "group",
                "sp": "servicePrincipal"}.get(kind, kind)
        try:
            return self._names[(kind, name.lower())]
        except KeyError:
            raise KeyError(f"no {kind} named {name!r} in the tenant") from None

    def user_id(self, upn: str) -> str:
        return self.id_of("user", upn)

    def default_app(self) -> dict:
        for app in self.apps.values():
            if app["default"]:
                return app
        return next(iter(self.apps.values()))

    # ------------------------------------------------------------------ lookups
    def object(self, oid: str):
        """(type, record) of any directory object id, or (None, None)."""
        for kind, store in (("user", self.users), ("group", self.groups),
                            ("administrativeUnit", self.aus), ("directoryRole", self.roles),
                            ("servicePrincipal", self.service_principals)):
            if oid in store:
                return kind, store[oid]
        return None, None

    def find_user(self, id_or_upn: str):
        with self.lock:
            if id_or_upn in self.users:
                return self.users[id_or_upn]
            uid = self._names.get(("user", id_or_upn.lower()))
            return self.users.get(uid) if uid else None

    def is_team(self, group_id: str) -> bool:
        group = self.groups.get(group_id)
        return bool(group and "Team" in (group.get("resourceProvisioningOptions") or []))

    # ------------------------------------------------------------------ the truth (tests)
    def is_member(self, target_id: str, member_id: str) -> bool:
        with self.lock:
            return member_id in self.memberships.get(target_id, ())

    def members(self, target_id: str) -> set:
        with self.lock:
            return set(self.memberships.get(target_id, ()))

    def owners_of(self, group_id: str) -> set:
        with self.lock:
            return set(self.owners.get(group_id, ()))

    def team_role(self, team_id: str, user_id: str):
        with self.lock:
            if user_id not in self.memberships.get(team_id, ()):
                return None
            return "owner" if user_id in self.owners.get(team_id, ()) else "member"

    def snapshot(self) -> dict:
        """Every membership and team role, owner, manager, directory role, app role assignment, license and
        account state, as plain sorted data that compares with ``==`` (sign-in session times aside: revoking
        is irreversible, see ``sessions_valid_from``)."""
        with self.lock:
            return {
                "groups": {gid: sorted(self.memberships[gid]) for gid in sorted(self.groups)},
                "group_owners": {gid: sorted(self.owners.get(gid, ())) for gid in sorted(self.groups)},
                "administrative_units": {aid: sorted(self.memberships[aid]) for aid in sorted(self.aus)},
                "directory_roles": {rid: sorted(self.memberships[rid]) for rid in sorted(self.roles)},
                "teams": {gid: {uid: self.team_role(gid, uid) for uid in sorted(self.memberships[gid])}
                          for gid in sorted(self.groups) if self.is_team(gid)},
                "users": sorted(self.users),
                **self._access_snapshot(),
            }

    # ------------------------------------------------------------------ changes
    def add_member(self, target_id: str, member_id: str) -> None:
        with self.lock:
            self._note_change(target_id, member_id)
            self.memberships[target_id].add(member_id)
            self._recently_removed.discard((target_id, member_id))
            self._membership_changed(target_id, member_id)

    def remove_member(self, target_id: str, member_id: str) -> None:
        with self.lock:
            self._note_change(target_id, member_id)
            self.memberships[target_id].discard(member_id)
            if self.is_team(target_id):  # leaving a team ends its ownership; a group's owners are not its members
                self.owners.get(target_id, set()).discard(member_id)
            self._recently_removed.add((target_id, member_id))
            self._membership_changed(target_id, member_id)

    def add_owner(self, group_id: str, user_id: str) -> None:
        with self.lock:
            self.owners.setdefault(group_id, set()).add(user_id)

    def remove_owner(self, group_id: str, owner_id: str) -> None:
        """Ownership only: an owner who is also a member stays one (in a team: a member, no longer an owner)."""
        with self.lock:
            self.owners.get(group_id, set()).discard(owner_id)

    def was_recently_removed(self, target_id: str, member_id: str) -> bool:
        with self.lock:
            return (target_id, member_id) in self._recently_removed

    def delete_object(self, oid: str) -> str | None:
        """Delete a directory object and every membership it had; returns its type."""
        with self.lock:
            kind = self.object(oid)[0]
            if kind is None:
                return None
            {"user": self.users, "group": self.groups, "administrativeUnit": self.aus, "directoryRole": self.roles,
             "servicePrincipal": self.service_principals}[kind].pop(oid)
            for store in (self.memberships, self.owners):
                store.pop(oid, None)
                for ids in store.values():
                    ids.discard(oid)
            self._names = {key: value for key, value in self._names.items() if value != oid}
            self._forget_access(oid)
            return kind

    # ------------------------------------------------------------------ eventual consistency
    def _note_change(self, target_id: str, member_id: str) -> None:
        if self.consistency_lag > 0:
            key = (target_id, member_id)
            before = self._pending[key][1] if key in self._pending else member_id in self.memberships[target_id]
            self._pending[key] = [self.consistency_lag, before]

    def visible(self, target_id: str, member_id: str) -> bool:
        """Whether a read sees ``member_id`` in ``target_id`` (the truth once replicated)."""
        with self.lock:
            pending = self._pending.get((target_id, member_id))
            if pending:
                return pending[1]
            return member_id in self.memberships.get(target_id, ())

    def visible_members(self, target_id: str) -> list:
        with self.lock:
            ids = set(self.memberships.get(target_id, ()))
            for (tid, mid), (_reads_left, before) in self._pending.items():
                if tid == target_id:
                    (ids.add if before else ids.discard)(mid)
            return sorted(ids, key=self._sort_key)

    def visible_containers_of(self, member_id: str) -> list:
        """Ids of the groups, AUs and roles a read sees ``member_id`` directly in."""
        with self.lock:
            return [cid for cid in self.memberships if self.visible(cid, member_id)]

    def count_read(self) -> None:
        with self.lock:
            for key in list(self._pending):
                self._pending[key][0] -= 1
                if self._pending[key][0] <= 0:
                    del self._pending[key]

    def _sort_key(self, oid: str):
        kind, record = self.object(oid)
        return (kind or "", (record or {}).get("displayName") or "", oid)

    # ------------------------------------------------------------------ access beyond memberships (issues 19, 20)
    # Managers, service principals and their app role assignments, directory roles (active and PIM-eligible) and
    # licenses. Tenant file sections: managers, service_principals, role_definitions, role_assignments,
    # app_role_assignments, skus, licenses (docs/simulator.md, "Owners, roles, apps, accounts, licenses").
    def _load_access(self, spec: dict) -> None:
        self.managers = {}              # user id -> the manager's user id
        self.role_definitions = {}      # id (a built-in's is its templateId) -> unifiedRoleDefinition
        self.active_roles = {}          # id -> active role assignment, permanent or time-bound
        self.eligible_roles = {}        # id -> PIM eligibility
        self.role_requests = []         # every PIM schedule request, oldest first
        self.app_assignments = {}       # id -> appRoleAssignment
        self.skus = {}                  # skuId -> subscribedSku
        self.plan_dependencies = {}     # service plan id -> the plan ids it needs (from the skus' dependsOn)
        self.direct_licenses = {}       # user id -> {skuId: [disabled plan ids]}
        self.group_licenses = {}        # group id -> {skuId: [disabled plan ids]}
        self._license_since = {}        # (user id, group id or None, skuId) -> lastUpdatedDateTime
        self._directory_role_of = {}    # role templateId -> the directoryRole object that shows it in memberOf
        for name, template, privileged, description in BUILT_IN_ROLES:
            self._add_role_definition({"displayName": name, "id": template, "isPrivileged": privileged,
                                       "description": description}, built_in=True)
        for definition in spec.get("role_definitions") or []:
            self._add_role_definition(definition, built_in=False)
        self._activate_directory_roles()
        for entry in spec.get("role_assignments") or []:
            self._load_role_assignment(entry)
        for user, manager in (spec.get("managers") or {}).items():
            self.managers[self._ref(user)] = self._ref(manager)
        for entry in spec.get("app_role_assignments") or []:
            resource = self.id_of("servicePrincipal", entry["app"])
            role = entry.get("role")
            app_role = DEFAULT_ACCESS_ROLE if role is None else next(
                r["id"] for r in self.service_principals[resource]["appRoles"] if r["value"] == role)
            self.assign_app_role(self._principal_ref(entry["principal"]), resource, app_role, created=TENANT_EPOCH)
        for sku in spec.get("skus") or []:
            self._add_sku(sku)
        for sku in spec.get("skus") or []:
            for plan in sku.get("servicePlans") or []:
                if plan.get("dependsOn"):
                    self.plan_dependencies[self.id_of("servicePlan", plan["servicePlanName"])] = [
                        self.id_of("servicePlan", name) for name in plan["dependsOn"]]
        for entry in spec.get("licenses") or []:
            sku = self.sku_id(entry["sku"])
            disabled = [self.id_of("servicePlan", plan) if not _is_guid(plan) else plan for plan in entry.get("disabledPlans") or []]
            store, owner = ((self.direct_licenses, self._ref(entry["user"])) if "user" in entry
                            else (self.group_licenses, self.id_of("group", entry["group"])))
            store.setdefault(owner, {})[sku] = disabled
        for gid, licenses in self.group_licenses.items():
            self.groups[gid]["assignedLicenses"] = [{"disabledPlans": list(plans), "skuId": sku} for sku, plans in licenses.items()]
        for uid in self.users:
            self._refresh_licenses(uid, TENANT_EPOCH)

    def _principal_ref(self, ref: str) -> str:
        """A principal in a tenant file: a UPN, ``group:Name``, ``app:Name`` (a service principal) or an id."""
        if ref.startswith("app:"):
            return self.id_of("servicePrincipal", ref[4:])
        return self._ref(ref)

    def _add_service_principal(self, spec: dict) -> None:
        name = spec["displayName"]
        spid = spec.get("id") or stable_id("servicePrincipal", name)
        app_roles = [{
            "allowedMemberTypes": list(role.get("allowedMemberTypes") or ["User"]),
            "description": role.get("description") or role["displayName"],
            "displayName": role["displayName"],
            "id": role.get("id") or stable_id("appRole", f"{name}:{role['value']}"),
            "isEnabled": True,
            "origin": "Application",
            "value": role["value"],
        } for role in spec.get("appRoles") or []]
        self.service_principals[spid] = {
            "id": spid,
            "appId": spec.get("appId") or stable_id("appId", name),
            "displayName": name,
            "appDisplayName": spec.get("appDisplayName", name),
            "description": spec.get("description"),
            "accountEnabled": spec.get("accountEnabled", True),
            "appRoleAssignmentRequired": bool(spec.get("appRoleAssignmentRequired", bool(app_roles))),
            "appRoles": app_roles,
            "appOwnerOrganizationId": self.tenant_id,
            "servicePrincipalType": spec.get("servicePrincipalType", "Application"),
            "tags": list(spec.get("tags") or ["WindowsAzureActiveDirectoryIntegratedApp"]),
        }
        self._names[("servicePrincipal", name.lower())] = spid

    def _add_role_definition(self, spec: dict, built_in: bool) -> dict:
        name = spec["displayName"]
        rid = spec.get("id") or stable_id("roleDefinition", name)
        record = {
            "id": rid,
            "description": spec.get("description"),
            "displayName": name,
            "isBuiltIn": built_in,
            "isEnabled": True,
            "isPrivileged": bool(spec.get("isPrivileged", False)),
            "resourceScopes": ["/"],
            "rolePermissions": [{"allowedResourceActions": list(spec.get("allowedResourceActions") or []), "condition": None}],
            "templateId": spec.get("templateId") or rid,
            "version": "1",
        }
        self.role_definitions[rid] = record
        self._names[("roleDefinition", name.lower())] = rid
        return record

    def _activate_directory_roles(self) -> None:
        """Every built-in role has its directoryRole object; the tenant file's directory_roles members hold it at "/"."""
        for rid, role in self.roles.items():
            definition = self.role_definitions.get(self._names.get(("roleDefinition", role["displayName"].lower())))
            if definition is None:  # a role the catalogue lacks becomes a built-in definition of its own
                definition = self._add_role_definition({"displayName": role["displayName"], "id": role["roleTemplateId"],
                                                        "description": role.get("description")}, built_in=True)
            role["roleTemplateId"] = definition["templateId"]
            self._directory_role_of[definition["templateId"]] = rid
        for definition in list(self.role_definitions.values()):
            if definition["isBuiltIn"] and definition["templateId"] not in self._directory_role_of:
                self._add_container("directoryRole", {"displayName": definition["displayName"], "description": definition["description"],
                                                      "roleTemplateId": definition["templateId"]})
                self._directory_role_of[definition["templateId"]] = self._names[("directoryRole", definition["displayName"].lower())]
        for template, rid in self._directory_role_of.items():
            for member in sorted(self.memberships[rid]):
                self.add_role_schedule("active", member, template, TENANT_SCOPE, permanent_schedule(TENANT_EPOCH), TENANT_EPOCH)

    def _load_role_assignment(self, entry: dict) -> None:
        scope = entry.get("scope", TENANT_SCOPE)
        if scope.startswith("au:"):
            scope = f"/administrativeUnits/{self.id_of('administrativeUnit', scope[3:])}"
        schedule = permanent_schedule(entry.get("starts", TENANT_EPOCH))
        if entry.get("ends"):
            schedule["expiration"] = {"type": "afterDateTime", "endDateTime": entry["ends"], "duration": None}
        role = entry["role"]
        self.add_role_schedule(entry.get("type", "active"), self._principal_ref(entry["principal"]),
                               role if _is_guid(role) else self.id_of("roleDefinition", role), scope, schedule, TENANT_EPOCH)

    def _add_sku(self, spec: dict) -> None:
        part = spec["skuPartNumber"]
        sku_id = spec.get("skuId") or stable_id("sku", part)
        plans = []
        for plan in spec.get("servicePlans") or []:
            plan_id = plan.get("servicePlanId") or stable_id("servicePlan", plan["servicePlanName"])
            plans.append({"appliesTo": "User", "provisioningStatus": "Success", "servicePlanId": plan_id,
                          "servicePlanName": plan["servicePlanName"]})
            self._names[("servicePlan", plan["servicePlanName"].lower())] = plan_id
        self.skus[sku_id] = {
            "id": f"{self.tenant_id}_{sku_id}",
            "accountId": self.tenant_id,
            "accountName": self.display_name,
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "prepaidUnits": {"enabled": int(spec.get("enabled", 25)), "lockedOut": 0, "suspended": 0, "warning": 0},
            "servicePlans": plans,
            "skuId": sku_id,
            "skuPartNumber": part,
            "subscriptionIds": [stable_id("subscription", part)],
        }
        self._names[("sku", part.lower())] = sku_id

    # ------------------------------------------------------------------ principals
    def principal(self, oid: str):
        """(type, record) of a user, group or service principal id, or (None, None)."""
        for kind, store in (("user", self.users), ("group", self.groups), ("servicePrincipal", self.service_principals)):
            if oid in store:
                return kind, store[oid]
        return None, None

    def service_principal_of_app(self, client_id: str) -> str | None:
        app = self.apps.get(client_id)
        return app["service_principal_id"] if app else None

    # ------------------------------------------------------------------ directory roles
    def role_schedules(self, kind: str) -> dict:
        """The store of ``kind``: "active" (role assignments, permanent or time-bound) or "eligible" (PIM)."""
        return self.active_roles if kind == "active" else self.eligible_roles

    def find_role_schedule(self, kind: str, principal_id: str, role_id: str, scope: str):
        with self.lock:
            return next((record for record in self.role_schedules(kind).values()
                         if (record["principalId"], record["roleDefinitionId"], record["directoryScopeId"]) == (principal_id, role_id, scope)), None)

    def add_role_schedule(self, kind: str, principal_id: str, role_id: str, scope: str, schedule: dict, created: str) -> dict:
        """Grant ``role_id`` at ``scope`` to a principal, active or eligible, on ``schedule`` (a requestSchedule)."""
        with self.lock:
            if kind == "active":
                rid = composite_id(role_id, principal_id, scope) + "-1"
            else:
                rid = stable_id("roleEligibility", f"{role_id}:{principal_id}:{scope}")
            record = {
                "id": rid, "principalId": principal_id, "roleDefinitionId": role_id, "directoryScopeId": scope, "appScopeId": None,
                "scheduleInfo": copy.deepcopy(schedule), "createdDateTime": created, "modifiedDateTime": created,
                "createdUsing": rid, "memberType": "Direct", "status": "Provisioned",
            }
            if kind == "active":
                record["assignmentType"] = "Assigned"
            self.role_schedules(kind)[rid] = record
            self._sync_directory_role(role_id, principal_id)
            return record

    def remove_role_schedule(self, kind: str, record_id: str) -> dict | None:
        with self.lock:
            record = self.role_schedules(kind).pop(record_id, None)
            if record is not None:
                self._sync_directory_role(record["roleDefinitionId"], record["principalId"])
            return record

    def _sync_directory_role(self, role_id: str, principal_id: str) -> None:
        """A built-in role held at "/" shows in the holder's memberOf as its directoryRole; nothing else does."""
        definition = self.role_definitions.get(role_id)
        rid = self._directory_role_of.get(definition["templateId"]) if definition else None
        if rid is None:
            return
        holds = any((record["principalId"], record["roleDefinitionId"], record["directoryScopeId"]) == (principal_id, role_id, TENANT_SCOPE)
                    for record in self.active_roles.values())
        if holds != (principal_id in self.memberships[rid]):
            self._note_change(rid, principal_id)
            (self.memberships[rid].add if holds else self.memberships[rid].discard)(principal_id)

    def role_holders(self, role_id: str, scope: str | None = TENANT_SCOPE) -> set:
        """Principals with an active assignment of ``role_id`` (at ``scope``; any scope when None)."""
        with self.lock:
            return {record["principalId"] for record in self.active_roles.values()
                    if record["roleDefinitionId"] == role_id and scope in (None, record["directoryScopeId"])}

    def holds_privileged_role(self, user_id: str) -> bool:
        """Whether a user holds an active privileged role at "/", directly or through a role-assignable group."""
        with self.lock:
            principals = {user_id} | {gid for gid in self.groups if user_id in self.memberships[gid]}
            return any(record["principalId"] in principals and record["directoryScopeId"] == TENANT_SCOPE
                       and self.role_definitions.get(record["roleDefinitionId"], {}).get("isPrivileged")
                       for record in self.active_roles.values())

    # ------------------------------------------------------------------ app role assignments
    def assign_app_role(self, principal_id: str, resource_id: str, app_role_id: str, created: str | None = None) -> dict:
        with self.lock:
            kind, principal = self.principal(principal_id)
            # appRoleAssignment ids are base64url of 32 bytes; the principal's GUID comes first, as in Entra's.
            raw = uuid.UUID(principal_id).bytes_le + uuid.UUID(stable_id("appRoleAssignment", f"{resource_id}:{app_role_id}")).bytes_le
            aid = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            record = {
                "id": aid, "deletedDateTime": None, "appRoleId": app_role_id, "createdDateTime": created or iso_now(),
                "principalDisplayName": principal["displayName"], "principalId": principal_id,
                "principalType": {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}[kind],
                "resourceDisplayName": self.service_principals[resource_id]["displayName"], "resourceId": resource_id,
            }
            self.app_assignments[aid] = record
            return record

    def remove_app_role(self, assignment_id: str) -> dict | None:
        with self.lock:
            return self.app_assignments.pop(assignment_id, None)

    # ------------------------------------------------------------------ accounts
    def update_user(self, user_id: str, changes: dict) -> None:
        """PATCH /users/{id}: accountEnabled, profile properties, signInSessionsValidFromDateTime (revokeSignInSessions)."""
        with self.lock:
            self.users[user_id].update(copy.deepcopy(changes))

    # ------------------------------------------------------------------ licenses
    def sku_id(self, ref: str) -> str:
        """A sku by id or by part number (``ENTERPRISEPACK``)."""
        return ref if _is_guid(ref) else self.id_of("sku", ref)

    def consumed_units(self, sku_id: str) -> int:
        with self.lock:
            return sum(1 for user in self.users.values() if any(lic["skuId"] == sku_id for lic in user["assignedLicenses"]))

    def change_direct_licenses(self, user_id: str, add: dict, remove: list, when: str) -> None:
        """Direct assignments: ``add`` {skuId: [disabled plan ids]} (replaces the disabled plans), ``remove`` [skuId]."""
        with self.lock:
            licenses = self.direct_licenses.setdefault(user_id, {})
            for sku in remove:
                licenses.pop(sku, None)
            licenses.update({sku: list(disabled) for sku, disabled in add.items()})
            if not licenses:
                del self.direct_licenses[user_id]
            self._refresh_licenses(user_id, when)

    def _membership_changed(self, target_id: str, member_id: str) -> None:
        if target_id in self.group_licenses and member_id in self.users:
            self._refresh_licenses(member_id, iso_now())

    def _refresh_licenses(self, user_id: str, when: str) -> None:
        """The user's assignedLicenses and licenseAssignmentStates from its direct and group-based assignments.

        Group-based licensing reaches direct members only; a plan is enabled when any assignment of its sku enables it.
        """
        sources = [(None, sku, disabled) for sku, disabled in self.direct_licenses.get(user_id, {}).items()]
        sources += [(gid, sku, disabled) for gid, licenses in self.group_licenses.items() if user_id in self.memberships.get(gid, ())
                    for sku, disabled in licenses.items()]
        effective = {}
        for _group, sku, disabled in sources:
            effective[sku] = set(disabled) & effective[sku] if sku in effective else set(disabled)
        keys = set()
        states = []
        for group, sku, disabled in sources:
            key = (user_id, group, sku)
            keys.add(key)
            states.append({"assignedByGroup": group, "disabledPlans": list(disabled), "error": "None",
                           "lastUpdatedDateTime": self._license_since.setdefault(key, when), "skuId": sku, "state": "Active"})
        for key in [k for k in self._license_since if k[0] == user_id and k not in keys]:
            del self._license_since[key]
        user = self.users[user_id]
        user["assignedLicenses"] = [{"disabledPlans": sorted(disabled), "skuId": sku} for sku, disabled in effective.items()]
        user["licenseAssignmentStates"] = states

    # ------------------------------------------------------------------ deletion and snapshot
    def _forget_access(self, oid: str) -> None:
        """What a deleted object leaves behind goes with it: its roles, app role assignments, manager links, licenses."""
        for kind in ("active", "eligible"):
            for record in [r for r in self.role_schedules(kind).values() if r["principalId"] == oid]:
                self.remove_role_schedule(kind, record["id"])
        for aid in [a for a, r in self.app_assignments.items() if oid in (r["principalId"], r["resourceId"])]:
            del self.app_assignments[aid]
        self.managers = {user: manager for user, manager in self.managers.items() if oid not in (user, manager)}
        self.direct_licenses.pop(oid, None)
        if self.group_licenses.pop(oid, None):
            for uid, user in self.users.items():
                if any(state["assignedByGroup"] == oid for state in user["licenseAssignmentStates"]):
                    self._refresh_licenses(uid, iso_now())

    def delete_service_principal(self, spid: str) -> None:
        with self.lock:
            del self.service_principals[spid]
            for store in self.owners.values():
                store.discard(spid)
            self._names = {key: value for key, value in self._names.items() if value != spid}
            self._forget_access(spid)

    def delete_role_definition(self, role_id: str) -> None:
        with self.lock:
            for kind in ("active", "eligible"):
                for record in [r for r in self.role_schedules(kind).values() if r["roleDefinitionId"] == role_id]:
                    self.remove_role_schedule(kind, record["id"])
            del self.role_definitions[role_id]
            self._names = {key: value for key, value in self._names.items() if value != role_id}

    def _access_snapshot(self) -> dict:
        roles = [{"type": kind, "principalId": r["principalId"], "roleDefinitionId": r["roleDefinitionId"],
                  "directoryScopeId": r["directoryScopeId"], "ends": schedule_end(r["scheduleInfo"])}
                 for kind in ("active", "eligible") for r in self.role_schedules(kind).values()]
        return {
            "managers": dict(sorted(self.managers.items())),
            "accounts": {uid: self.users[uid]["accountEnabled"] for uid in sorted(self.users)},
            "role_definitions": sorted(self.role_definitions),
            "role_assignments": sorted(roles, key=lambda r: tuple(str(v) for v in r.values())),
            "service_principals": sorted(self.service_principals),
            "app_role_assignments": sorted([r["principalId"], r["resourceId"], r["appRoleId"]] for r in self.app_assignments.values()),
            "direct_licenses": {uid: {sku: sorted(plans) for sku, plans in sorted(licenses.items())}
                                for uid, licenses in sorted(self.direct_licenses.items())},
            "group_licenses": {gid: {sku: sorted(plans) for sku, plans in sorted(licenses.items())}
                               for gid, licenses in sorted(self.group_licenses.items())},
        }

    # ------------------------------------------------------------------ the truth about access (tests)
    def owned_groups(self, user_id: str) -> set:
        with self.lock:
            return {gid for gid, owners in self.owners.items() if user_id in owners}

    def manager_of(self, user_id: str) -> str | None:
        with self.lock:
            return self.managers.get(user_id)

    def role_assignments(self, principal_id: str) -> list:
        """The principal's own directory roles (not those of its groups): type, role id and name, scope, end."""
        with self.lock:
            found = [{"type": kind, "roleDefinitionId": r["roleDefinitionId"], "role": self.role_definitions[r["roleDefinitionId"]]["displayName"],
                      "directoryScopeId": r["directoryScopeId"], "ends": schedule_end(r["scheduleInfo"]), "id": r["id"]}
                     for kind in ("active", "eligible") for r in self.role_schedules(kind).values() if r["principalId"] == principal_id]
            return sorted(found, key=lambda r: (r["type"], r["role"], r["directoryScopeId"]))

    def app_role_assignments(self, principal_id: str) -> list:
        """The principal's own app role assignments (not those of its groups)."""
        with self.lock:
            return sorted((dict(r) for r in self.app_assignments.values() if r["principalId"] == principal_id),
                          key=lambda r: (r["resourceDisplayName"], r["appRoleId"]))

    def account_enabled(self, user_id: str) -> bool:
        with self.lock:
            return self.users[user_id]["accountEnabled"]

    def sessions_valid_from(self, user_id: str) -> str:
        """signInSessionsValidFromDateTime: moves forward with each revokeSignInSessions (left out of snapshot())."""
        with self.lock:
            return self.users[user_id]["signInSessionsValidFromDateTime"]

    def licenses(self, user_id: str) -> dict:
        """The user's licenses as Graph shows them: {skuId: {"disabledPlans": [...], "assignedBy": [None (direct) | group id]}}."""
        with self.lock:
            user = self.users[user_id]
            found = {lic["skuId"]: {"disabledPlans": lic["disabledPlans"], "assignedBy": []} for lic in user["assignedLicenses"]}
            for state in user["licenseAssignmentStates"]:
                found[state["skuId"]]["assignedBy"].append(state["assignedByGroup"])
            return found


def permanent_schedule(start: str) -> dict:
    """A requestSchedule without an end (what a role assignment made with POST roleAssignments has)."""
    return {"startDateTime": start, "recurrence": None, "expiration": {"type": "noExpiration", "endDateTime": None, "duration": None}}


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return len(text) == 36
