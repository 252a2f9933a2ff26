"""How the live check runs the collection's modules: in this process, as ansible-playbook runs them, signed in as the live app.

Every module of plugins/modules/ is in LIVE_CHECKED_MODULES (tests/integration/test_live_check.py
keeps it so): a module added to the collection needs its live check before that test passes.
"""
from __future__ import annotations

import importlib

import pytest
import yaml
from live_report import REPORT
from live_settings import TARGET_VARIABLES
from modrun import run_module

MODULE_PACKAGE = "ansible_collections.entra.membership.plugins.modules"
# The member modules: the target type each changes and its targets option.
MEMBER_MODULES = {
    "entra_group_member": ("group", "groups"),
    "entra_au_member": ("administrative_unit", "administrative_units"),
    "teams_member": ("team", "teams"),
}
# The modules of a user's other access: the include kind of entra_member_of_info that lists what each would remove.
ACCESS_MODULES = {
    "entra_group_owner": "owned_groups",
    "entra_directory_role_assignment": "directory_roles",
    "entra_app_role_assignment": "app_roles",
    "entra_user_license": "licenses",
    "entra_user_account": "account",
}
LIVE_CHECKED_MODULES = ("entra_member_of_info",) + tuple(MEMBER_MODULES) + tuple(ACCESS_MODULES)
# What a member module says in check mode when the token lacks the permission a write would need.
PREDICTED_DENIAL = "(predicted from the permissions in the token)"


def module_options(name):
    """The options a module documents (its DOCUMENTATION, the public contract)."""
    module = importlib.import_module("%s.%s" % (MODULE_PACKAGE, name))
    return yaml.safe_load(module.DOCUMENTATION)["options"]


def include_kinds(offered=True):
    """The kinds entra_member_of_info's ``include`` offers (``offered``), or those it returns when not asked."""
    include = module_options("entra_member_of_info")["include"]
    return list(include["choices"] if offered else include["default"])


def discovery_args(user_id, include=None):
    """entra_member_of_info's options for the test user: what it returns by default (or ``include``) and its nested groups."""
    return dict({"users": [user_id], "include_transitive": True}, **({"include": list(include)} if include else {}))


def run_live_module(settings, name, args, check_mode=False, label=None):
    """The module ``name`` with ``args``, signed in as the live app; its result, recorded in the report."""
    module = importlib.import_module("%s.%s" % (MODULE_PACKAGE, name))
    result = run_module(module.main, dict(args, **settings.module_auth()), check_mode=check_mode)
    REPORT.module_run(label or "%s%s" % (name, " (check mode)" if check_mode else ""), result)
    return result


def discovered(user_entry, kind):
    """What discovery found the user directly in, of ``kind``: teams under ``teams``, their groups not among the groups."""
    if kind == "team":
        return user_entry["teams"]
    if kind == "administrative_unit":
        return user_entry["administrative_units"]
    return [group for group in user_entry["groups"] if not group.get("is_team")]


def member_targets(kind, dedicated_targets, user_entry):
    """``{id: discovery entry or None}``: the dedicated target of ``kind``, else every removable one discovery found; skips when none."""
    if kind in dedicated_targets:
        target = dedicated_targets[kind]
        return {target.id: next((entry for entry in discovered(user_entry, kind) if entry["id"] == target.id), None)}
    found = {entry["id"]: entry for entry in discovered(user_entry, kind) if entry["removable"]}
    if not found:
        pytest.skip("the test user is in no removable %s and %s is not set" % (kind.replace("_", " "), TARGET_VARIABLES[kind]))
    return found


def unexpected_results(results, expected_status, targets, last_owner_allowed):
    """The results that are none of: ``expected_status``; a denial predicted from the token; access held through a group, which
    the module leaves to the group's removal; and (``last_owner_allowed``: what discovery found, never a dedicated target) the
    refusal to remove the last owner of a team or group discovery found the user an owner of."""
    unexpected = []
    for result in results:
        error = result.get("error") or {}
        entry = targets.get(result["target"]["id"]) or {}
        if result["status"] == expected_status:
            continue
        if result["status"] == "failed" and error.get("code") == "Authorization_RequestDenied" and PREDICTED_DENIAL in (error.get("message") or ""):
            continue
        if result["status"] == "skipped" and result.get("through"):
            continue
        if (last_owner_allowed and result["status"] == "failed" and error.get("code") == "LastOwner"
                and (entry.get("role") == "owner" or entry.get("sole_owner"))):
            continue
        unexpected.append(result)
    return unexpected


def access_check(module_name, user_id, held, dedicated_targets):
    """``(options, targets by id, expected status)`` of an access module in check mode for the test user, ``held`` being what
    discovery listed: each of it "removed"; the owners of groups, when the user owns none, on the dedicated group (where the
    user is no owner: "absent"); the account disabled, or refused for the reason discovery gave."""
    by_id = {entry["id"]: entry for entry in held} if isinstance(held, list) else {}
    if module_name == "entra_user_account":
        # Disabling only: signing the user out cannot be undone, so the live check never asks for it, check mode or not.
        return {"users": [user_id], "account_enabled": False}, by_id, "removed" if held["removable"] else "failed"
    if module_name == "entra_user_license":
        return {"users": [user_id], "state": "absent"}, by_id, "removed"
    if module_name != "entra_group_owner":
        return {"principals": [user_id], "state": "absent"}, by_id, "removed"
    if held:
        return {"owners": [user_id], "groups": list(by_id), "state": "absent"}, by_id, "removed"
    if "group" not in dedicated_targets:
        pytest.skip("the test user owns no group and ENTRA_LIVE_GROUP is not set")
    return {"owners": [user_id], "groups": [dedicated_targets["group"].id], "state": "absent"}, {}, "absent"


def access_key(item):
    """What tells one held access from another, alike in a discovery entry and in a module's result."""
    target_id = item["target"]["id"] if "target" in item else item["id"]
    return (target_id, item.get("scope"), item.get("assignment_type"), item.get("app_role_id"))
