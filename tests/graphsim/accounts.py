"""The account itself: PATCH /users/{id} (accountEnabled and profile properties), POST /users/{id}/revokeSignInSessions.

user-update.md, user-revokesigninsessions.md, users.md ("Who can perform sensitive actions"). An update is never a
destructive event; DELETE /users/{id} is (graph.py).
"""
from __future__ import annotations

from .builtin_roles import SENSITIVE_ACTION_ROLES
from .graph import ON_PREMISES, Context
from .protocol import Reply
from .resources import Resource, bad_request, denied
from .state import TENANT_SCOPE

# user-update.md: User.ReadWrite.All or Directory.ReadWrite.All for the profile; for accountEnabled the least
# privileged pair is User.EnableDisableAccount.All with User.Read.All (or a stronger read).
WRITE_USER = {"User.ReadWrite.All", "Directory.ReadWrite.All"}
ENABLE_DISABLE = "User.EnableDisableAccount.All"
READ_FOR_ENABLE_DISABLE = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
# user-revokesigninsessions.md: User.RevokeSessions.All (least), User.ReadWrite.All, Directory.ReadWrite.All.
REVOKE_SESSIONS = {"User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
WRITABLE = {"accountEnabled": bool, "displayName": str, "givenName": str, "surname": str, "jobTitle": str, "department": str,
            "officeLocation": str, "mobilePhone": str, "preferredLanguage": str, "usageLocation": str, "businessPhones": list}
READ_ONLY = {"id", "userType", "assignedLicenses", "licenseAssignmentStates", "signInSessionsValidFromDateTime",
             "onPremisesSyncEnabled", "mail", "userPrincipalName"}


class Accounts(Resource):
    def routes(self) -> list:
        return [
            ("PATCH", ("users", "{id}"), self.update_user, None),
            ("POST", ("users", "{id}", "revokeSignInSessions"), self.revoke_sessions, None),
        ]

    def _require_sensitive_action_role(self, ctx: Context, user: dict) -> None:
        """users.md: User.ReadWrite.All "isn't enough privilege" to disable or sign out a privileged administrator;
        the app must hold a higher privileged role itself (here: Privileged Authentication or Global Administrator)."""
        if not self.state.holds_privileged_role(user["id"]):
            return
        app = self.state.service_principal_of_app(ctx.claims.get("appid"))
        if not any(self.state.find_role_schedule("active", app, role, TENANT_SCOPE) for role in SENSITIVE_ACTION_ROLES):
            raise denied()

    def update_user(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        changes = self.json_object(ctx)
        for name in changes:
            if name in READ_ONLY:
                raise bad_request(f"Property '{name}' is read-only and cannot be set.")
            if name not in WRITABLE:
                raise bad_request(f"Property '{name}' does not exist as a declared property or extension property.")
        profile = set(changes) - {"accountEnabled"}
        if profile and not ctx.roles & WRITE_USER:
            raise denied()
        if "accountEnabled" in changes and not (ctx.roles & WRITE_USER
                                                or ENABLE_DISABLE in ctx.roles and ctx.roles & READ_FOR_ENABLE_DISABLE):
            raise denied()
        user = self.graph._user(id)
        for name, value in changes.items():
            valid = isinstance(value, WRITABLE[name]) and (name != "businessPhones" or all(isinstance(p, str) for p in value))
            if not valid and not (value is None and WRITABLE[name] is str):
                raise bad_request(f"Invalid value specified for property '{name}' of resource 'User'.")
        if "accountEnabled" in changes:
            if user.get("onPremisesSyncEnabled"):
                raise bad_request(ON_PREMISES)
            self._require_sensitive_action_role(ctx, user)
        self.state.update_user(user["id"], changes)
        return Reply(204)

    def revoke_sessions(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """200 with ``value: true``; signInSessionsValidFromDateTime moves to now. Guests sign in at home: unchanged."""
        ctx.require(REVOKE_SESSIONS)
        user = self.graph._user(id)
        self._require_sensitive_action_role(ctx, user)
        if user.get("userType") != "Guest":
            self.state.update_user(user["id"], {"signInSessionsValidFromDateTime": self.now()})
        return Reply(200, {"@odata.context": self.graph._context_url(ctx, "Edm.Boolean"), "value": True})
