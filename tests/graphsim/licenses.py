"""Licenses: GET /subscribedSkus, POST /users/{id}/assignLicense, group-based licensing (state.py).

subscribedsku-list.md, subscribedsku-get.md, user-assignlicense.md, licenseassignmentstate.md. A group's direct members
inherit its licenses (licenseAssignmentStates with assignedByGroup); those can be removed only by leaving the group.
"""
from __future__ import annotations

from .graph import Context, _not_found, is_guid
from .protocol import Reply
from .resources import Resource, Shape, bad_request

# subscribedsku-list.md: LicenseAssignment.Read.All (least) ... Organization.ReadWrite.All.
READ_SKUS = {"LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All", "Organization.Read.All", "Organization.ReadWrite.All",
             "Directory.Read.All", "Directory.ReadWrite.All"}
# user-assignlicense.md: User.ReadWrite.All, Directory.ReadWrite.All; LicenseAssignment.ReadWrite.All is the
# permissions reference's permission for exactly this ("Manage all license assignments").
WRITE_LICENSES = {"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
# Graph's answers as production clients match them (HelloID, CLI for Microsoft 365 and offboarding scripts; CIPP
# issue 4090 for the inherited one). The dependency text follows the same pattern; its exact words are unverified.
UNKNOWN_SKU = "License {sku} does not correspond to a valid company License."
NOT_ASSIGNED = "User does not have a corresponding license."
INHERITED = "User license is inherited from group membership and cannot be removed directly from the user."
NO_SEATS = "Subscription with SKU {sku} does not have any available licenses."
NO_USAGE_LOCATION = "License assignment cannot be done for user with invalid usage location."
DEPENDENCY = "License assignment failed because service plans {plans} depend on the service plan(s) {needed}."
SUBSCRIBED_SKU = Shape("subscribedSku", ("id", "accountId", "accountName", "appliesTo", "capabilityStatus", "consumedUnits",
                                         "prepaidUnits", "servicePlans", "skuId", "skuPartNumber", "subscriptionIds"))


class Licenses(Resource):
    def routes(self) -> list:
        return [
            ("GET", ("subscribedSkus",), self.list_skus, None),
            ("GET", ("subscribedSkus", "{id}"), self.get_sku, None),
            ("POST", ("users", "{id}", "assignLicense"), self.assign_license, None),
        ]

    def _sku_view(self, sku: dict) -> dict:
        return dict(sku, consumedUnits=self.state.consumed_units(sku["skuId"]))

    def list_skus(self, ctx: Context) -> Reply:
        ctx.require(READ_SKUS)
        if "$filter" in ctx.query:  # subscribedsku-list.md: "It does not support $filter."
            raise bad_request("The query option '$filter' is not supported for subscribedSkus.", "Request_UnsupportedQuery")
        with self.state.lock:
            skus = [self._sku_view(sku) for sku in self.state.skus.values()]
        return self.collection(ctx, skus, SUBSCRIBED_SKU, "subscribedSkus")

    def get_sku(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        ctx.require(READ_SKUS)
        sku = next((s for s in self.state.skus.values() if s["id"] == id), None)
        if sku is None:
            raise _not_found(id)
        return self.entity(ctx, self._sku_view(sku), SUBSCRIBED_SKU, "subscribedSkus/$entity")

    # ------------------------------------------------------------------ assignLicense
    def _parse(self, body: dict) -> tuple:
        """(add {skuId: [disabled plan ids]}, remove [skuId]); both parameters must be there, each may be empty."""
        add, remove = body.get("addLicenses"), body.get("removeLicenses")
        for name, value in (("addLicenses", add), ("removeLicenses", remove)):
            if not isinstance(value, list):
                raise bad_request(f"Invalid value specified for property '{name}' of resource 'User'.")
        parsed = {}
        for item in add:
            disabled = item.get("disabledPlans", []) if isinstance(item, dict) else None
            if not isinstance(item, dict) or not is_guid(str(item.get("skuId"))) or not isinstance(disabled, list) \
                    or not all(is_guid(str(plan)) for plan in disabled):
                raise bad_request("Invalid value specified for property 'addLicenses' of resource 'User'.")
            parsed[item["skuId"].lower()] = [plan.lower() for plan in disabled]
        if not all(is_guid(str(sku)) for sku in remove):
            raise bad_request("Invalid value specified for property 'removeLicenses' of resource 'User'.")
        return parsed, [sku.lower() for sku in remove]

    def _check(self, user: dict, add: dict, remove: list) -> None:
        """The refusals, in the order a user's request meets them; nothing is changed before all pass."""
        state = self.state
        for sku in list(add) + remove:
            if sku not in state.skus:
                raise bad_request(UNKNOWN_SKU.format(sku=sku))
        for sku, disabled in add.items():
            plans = {plan["servicePlanId"] for plan in state.skus[sku]["servicePlans"]}
            unknown = [plan for plan in disabled if plan not in plans]
            if unknown:
                raise bad_request(f"Service plan {unknown[0]} is not part of license {sku}.")
        direct = state.direct_licenses.get(user["id"], {})
        for sku in remove:
            if sku not in direct:
                inherited = any(s["skuId"] == sku for s in user["licenseAssignmentStates"])
                raise bad_request(INHERITED if inherited else NOT_ASSIGNED)
        if add and not user.get("usageLocation"):
            raise bad_request(NO_USAGE_LOCATION)
        held = {lic["skuId"] for lic in user["assignedLicenses"]}
        for sku in add:
            prepaid = state.skus[sku]["prepaidUnits"]["enabled"]
            if sku not in held and state.consumed_units(sku) >= prepaid:
                raise bad_request(NO_SEATS.format(sku=sku))
        self._check_dependencies(user, add, remove)

    def _check_dependencies(self, user: dict, add: dict, remove: list) -> None:
        """After the change, every enabled service plan must still have one of the plans it depends on enabled."""
        state = self.state
        direct = {sku: disabled for sku, disabled in state.direct_licenses.get(user["id"], {}).items() if sku not in remove}
        direct.update(add)
        sources = list(direct.items()) + [(s["skuId"], s["disabledPlans"]) for s in user["licenseAssignmentStates"] if s["assignedByGroup"]]
        enabled = {plan["servicePlanId"] for sku, disabled in sources for plan in state.skus[sku]["servicePlans"]
                   if plan["servicePlanId"] not in disabled}
        broken = sorted(plan for plan in enabled if plan in state.plan_dependencies and not enabled & set(state.plan_dependencies[plan]))
        if broken:
            needed = sorted({need for plan in broken for need in state.plan_dependencies[plan]})
            raise bad_request(DEPENDENCY.format(plans=", ".join(broken), needed=", ".join(needed)))

    def assign_license(self, ctx: Context, id: str) -> Reply:  # noqa: A002
        """200 with the user; addLicenses of a sku the user holds directly replaces its disabledPlans."""
        ctx.require(WRITE_LICENSES)
        user = self.graph._user(id)
        add, remove = self._parse(self.json_object(ctx))
        with self.state.lock:
            self._check(user, add, remove)
            self.state.change_direct_licenses(user["id"], add, remove, self.now())
        body = {"@odata.context": self.graph._context_url(ctx, "users/$entity")}
        body.update(self.graph._render(ctx, "user", user))
        body["assignedLicenses"] = user["assignedLicenses"]
        return Reply(200, body)
