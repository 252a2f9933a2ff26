"""The collection's modules against the tenant: discovery of the test user, and every other module in check mode.

Check mode reads and never writes: every result carries no request id of a write. The member
modules' targets are the dedicated ones (ENTRA_LIVE_GROUP, ...) when given, else every removable
one discovery found the test user in; the access modules (owners, directory roles, app roles) are
asked about what discovery listed, and must find the same. An app holding only read permissions
gets, for each removal, the denial the module predicts from the token; that counts as the module
working.
"""
from __future__ import annotations

import pytest
from live_modules import (
    ACCESS_MODULES,
    MEMBER_MODULES,
    access_check,
    access_key,
    discovered,
    discovery_args,
    include_kinds,
    member_targets,
    run_live_module,
    unexpected_results,
)
from live_settings import TARGET_VARIABLES


def shown(results):
    return [(result["target"].get("display_name"), result["status"], (result.get("error") or {}).get("message")) for result in results]


def test_discovery_reads_the_test_user_and_finds_it_in_the_dedicated_targets(discovery, test_user, dedicated_targets):
    entry = discovery["users"][0]
    assert entry["found"] and entry["id"] == test_user["id"], discovery["msg"]
    assert entry["error"] is None, entry["error"]
    assert [kind for kind in include_kinds(offered=False) + ["transitive_groups"] if kind not in entry] == []
    for kind, target in dedicated_targets.items():
        found = {item["id"] for item in discovered(entry, kind)}
        assert target.id in found, ("the test user is not a direct member of %s '%s': add it once by hand (the live check removes and "
                                    "restores that membership, it never creates it)" % (TARGET_VARIABLES[kind], target.display_name))


def test_discovery_with_every_include_kind_returns_each_and_the_same_memberships(full_discovery, discovery):
    entry = full_discovery["users"][0]
    assert [kind for kind in include_kinds() if kind not in entry] == [], "discovery returned no list for these include kinds"
    for kind in include_kinds(offered=False):
        assert entry[kind] == discovery["users"][0][kind], kind


def test_discovery_in_check_mode_returns_what_it_returns_without(discovery, live_settings, test_user):
    again = run_live_module(live_settings, "entra_member_of_info", discovery_args(test_user["id"]), check_mode=True)
    assert again["rc"] == 0 and again["changed"] is False, again["msg"]
    assert again["users"] == discovery["users"]


@pytest.mark.parametrize("module_name", list(MEMBER_MODULES))
def test_member_module_in_check_mode_would_remove_the_test_user_and_sends_no_write(module_name, live_settings, test_user, dedicated_targets,
                                                                                   discovery):
    kind, option = MEMBER_MODULES[module_name]
    targets = member_targets(kind, dedicated_targets, discovery["users"][0])
    result = run_live_module(live_settings, module_name, {option: list(targets), "members": [test_user["id"]], "state": "absent"},
                             check_mode=True)
    assert result["check_mode"] is True and len(result["results"]) == len(targets), result["msg"]
    assert [entry["request_id"] for entry in result["results"] if entry["request_id"]] == [], "check mode sent a write"
    unexpected = unexpected_results(result["results"], "removed", targets, last_owner_allowed=kind not in dedicated_targets)
    assert unexpected == [], shown(unexpected)
    assert result["changed"] is any(entry["status"] == "removed" for entry in result["results"])


@pytest.mark.parametrize("module_name", list(MEMBER_MODULES))
def test_member_module_in_check_mode_finds_the_test_user_present_with_its_role(module_name, live_settings, test_user, dedicated_targets,
                                                                               discovery):
    kind, _option = MEMBER_MODULES[module_name]
    targets = member_targets(kind, dedicated_targets, discovery["users"][0])
    memberships = [dict({"target": target_id, "member": test_user["id"]}, **({"role": (entry or {}).get("role") or "member"} if kind == "team" else {}))
                   for target_id, entry in targets.items()]
    result = run_live_module(live_settings, module_name, {"memberships": memberships, "state": "present"}, check_mode=True)
    assert result["check_mode"] is True and len(result["results"]) == len(targets), result["msg"]
    assert [entry["request_id"] for entry in result["results"] if entry["request_id"]] == [], "check mode sent a write"
    unexpected = unexpected_results(result["results"], "present", targets, last_owner_allowed=False)
    assert unexpected == [], shown(unexpected)


@pytest.mark.parametrize("module_name", list(ACCESS_MODULES))
def test_access_module_in_check_mode_finds_what_discovery_lists_and_sends_no_write(module_name, live_settings, test_user, dedicated_targets,
                                                                                   full_discovery):
    held = full_discovery["users"][0][ACCESS_MODULES[module_name]]
    options, targets, expected = access_check(module_name, test_user["id"], held, dedicated_targets)
    result = run_live_module(live_settings, module_name, options, check_mode=True)
    results = result["results"]
    assert result["check_mode"] is True, result["msg"]
    assert [entry["request_id"] for entry in results if entry["request_id"]] == [], "check mode sent a write"
    if isinstance(held, dict):  # the account: one result, the user's own, refused for the reason discovery gave
        assert [entry["target"]["id"] for entry in results] == [test_user["id"]], shown(results)
        assert held["removable"] or results[0]["error"]["code"] == held["reason_code"], shown(results)
    elif targets or module_name != "entra_group_owner":
        assert sorted(map(access_key, results), key=str) == sorted(map(access_key, held), key=str), shown(results)
    unexpected = unexpected_results(results, expected, targets, last_owner_allowed=True)
    assert unexpected == [], shown(unexpected)
