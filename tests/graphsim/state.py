"""The simulated tenant: users, groups, administrative units, directory roles, teams and apps.

One mutable object shared by every request thread (guarded by one lock). Teams are not a
separate store: a team IS its group (``resourceProvisioningOptions: ["Team"]``), its roster is
the group's members and its owners are the group's owners, so the group and team views of
Graph always agree.
"""
from __future__ import annotations

import copy
import threading
import uuid

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
}

OBJECT_TYPES = ("user", "group", "administrativeUnit", "directoryRole", "servicePrincipal")


def stable_id(kind: str, name: str) -> str:
    """The GUID a tenant file gives an object of ``kind`` named ``name`` when it states no id."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{name.lower()}"))


def mail_nickname(name: str) -> str:
    return "".join(ch for ch in name if ch.isalnum()) or "group"


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

    def _add_service_principal(self, spec: dict) -> None:
        name = spec["displayName"]
        oid = spec.get("id") or stable_id("servicePrincipal", name)
        self.service_principals[oid] = {"id": oid, "displayName": name, "appId": spec.get("appId") or stable_id("appId", name),
                                        "appDisplayName": spec.get("appDisplayName", name),
                                        "servicePrincipalType": spec.get("servicePrincipalType", "Application"),
                                        "accountEnabled": spec.get("accountEnabled", True)}
        self._names[("servicePrincipal", name.lower())] = oid

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
        """Every membership and team role, as plain sorted data that compares with ``==``."""
        with self.lock:
            return {
                "groups": {gid: sorted(self.memberships[gid]) for gid in sorted(self.groups)},
                "group_owners": {gid: sorted(self.owners.get(gid, ())) for gid in sorted(self.groups)},
                "administrative_units": {aid: sorted(self.memberships[aid]) for aid in sorted(self.aus)},
                "directory_roles": {rid: sorted(self.memberships[rid]) for rid in sorted(self.roles)},
                "teams": {gid: {uid: self.team_role(gid, uid) for uid in sorted(self.memberships[gid])}
                          for gid in sorted(self.groups) if self.is_team(gid)},
                "users": sorted(self.users),
            }

    # ------------------------------------------------------------------ changes
    def add_member(self, target_id: str, member_id: str) -> None:
        with self.lock:
            self._note_change(target_id, member_id)
            self.memberships[target_id].add(member_id)
            self._recently_removed.discard((target_id, member_id))

    def remove_member(self, target_id: str, member_id: str) -> None:
        with self.lock:
            self._note_change(target_id, member_id)
            self.memberships[target_id].discard(member_id)
            self.owners.get(target_id, set()).discard(member_id)
            self._recently_removed.add((target_id, member_id))

    def add_owner(self, group_id: str, user_id: str) -> None:
        with self.lock:
            self.owners.setdefault(group_id, set()).add(user_id)

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
