"""Baseline (a): a naive Graph client, what per-member SDK calls amount to.

One HTTPS session, a client-credentials token, then strictly one request after the other:
each member resolved with its own ``GET /users/{upn}``, each removal its own
``DELETE .../members/{id}/$ref``. No ``$batch``, no concurrency, no retries. It keeps a
connection open (as SDKs do), so it is the fairest per-member client, not a straw man.
"""
from __future__ import annotations

from urllib.parse import quote

import requests

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class NaiveClient:
    def __init__(self, environment: dict):
        self.graph = environment["ENTRA_GRAPH_ENDPOINT"] + "/v1.0"
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (docs/simulator.md)
        self.session.verify = environment["ENTRA_CA_PATH"]
        reply = self.session.post(
            "%s/%s/oauth2/v2.0/token" % (environment["AZURE_AUTHORITY_HOST"], environment["AZURE_TENANT_ID"]),
            data={"grant_type": "client_credentials", "client_id": environment["AZURE_CLIENT_ID"],
                  "client_secret": environment["AZURE_CLIENT_SECRET"], "scope": GRAPH_SCOPE})
        reply.raise_for_status()
        self.session.headers["Authorization"] = "Bearer " + reply.json()["access_token"]

    def _get(self, path: str, params: dict | None = None) -> dict | None:
        reply = self.session.get(self.graph + path, params=params)
        if reply.status_code == 404:
            return None
        reply.raise_for_status()
        return reply.json()

    def _remove(self, collection: str, target_id: str, member_id: str) -> int:
        return self.session.delete("%s/%s/%s/members/%s/$ref" % (self.graph, collection, target_id, member_id)).status_code

    def user_id(self, upn: str) -> str | None:
        user = self._get("/users/" + quote(upn, safe="@"), {"$select": "id"})
        return user["id"] if user else None

    def group_id(self, display_name: str) -> str:
        return self._get("/groups", {"$filter": "displayName eq '%s'" % display_name.replace("'", "''"), "$select": "id"})["value"][0]["id"]

    def remove_members(self, group: str, upns: list) -> dict:
        """Case 1: every UPN out of the group named ``group``; ``{status: count}`` of the removals."""
        group_id = self.group_id(group)
        statuses: dict = {}
        for upn in upns:
            member_id = self.user_id(upn)
            status = self._remove("groups", group_id, member_id) if member_id else 404
            statuses[status] = statuses.get(status, 0) + 1
        return statuses

    def offboard(self, upn: str) -> dict:
        """Case 2: the user out of each direct group (a team is a group) and administrative unit; ``{status: count}``."""
        user_id = self.user_id(upn)
        collections = {"#microsoft.graph.group": "groups", "#microsoft.graph.administrativeUnit": "directory/administrativeUnits"}
        statuses: dict = {}
        page = self._get("/users/%s/memberOf" % user_id, {"$select": "id"})
        memberships = list(page["value"])
        while page.get("@odata.nextLink"):
            page = self.session.get(page["@odata.nextLink"]).json()
            memberships.extend(page["value"])
        for item in memberships:
            collection = collections.get(item.get("@odata.type"))
            if collection:
                status = self._remove(collection, item["id"], user_id)
                statuses[status] = statuses.get(status, 0) + 1
        return statuses
