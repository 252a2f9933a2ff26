"""With ENTRA_LIVE_WRITE=1 only: the test user out of each dedicated target and back in, every change read back.

For each of ENTRA_LIVE_GROUP, ENTRA_LIVE_ADMINISTRATIVE_UNIT and ENTRA_LIVE_TEAM that is set: the
test user must already be a direct member (the check never creates a membership); the member module
removes it, Graph is read until it no longer lists it, the module removes it again (already absent),
the membership is put back with ``state: present`` from the removal's result (a team's role too),
Graph is read until it lists it again, and the module adds it again (already present). A removal or
an addition of that one membership sent once more by hand shows Graph's own answer to a repeated
write. Nothing else is written: no other membership, no object, never the test user itself; and
the membership is put back whatever happened in between.
"""
from __future__ import annotations

import pytest
from live_graph import read_membership, settle
from live_modules import MEMBER_MODULES, run_live_module
from live_report import answered, graph_error_text
from live_settings import TARGET_VARIABLES

from ansible_collections.entra.membership.plugins.module_utils._engine_directory import ADMINISTRATIVE_UNITS, GROUPS, ref_path
from ansible_collections.entra.membership.plugins.module_utils._engine_teams import WRITE_PERMISSIONS as TEAM_WRITE_PERMISSIONS
from ansible_collections.entra.membership.plugins.module_utils._engine_teams import member_value

DIRECTORY_KINDS = {"group": GROUPS, "administrative_unit": ADMINISTRATIVE_UNITS}
WRITE_PERMISSIONS = {"group": GROUPS.write_permissions, "administrative_unit": ADMINISTRATIVE_UNITS.write_permissions, "team": TEAM_WRITE_PERMISSIONS}


@pytest.fixture
def dedicated(request, live_settings, dedicated_targets, graph):
    """The dedicated target of the test's module, once ENTRA_LIVE_WRITE=1, its variable and the app's write permission are there."""
    kind = MEMBER_MODULES[request.node.callspec.params["module_name"]][0]
    if not live_settings.write:
        pytest.skip("ENTRA_LIVE_WRITE is not 1: this run is read only")
    if kind not in dedicated_targets:
        pytest.skip("%s is not set: no %s to remove the test user from" % (TARGET_VARIABLES[kind], kind.replace("_", " ")))
    granted = graph.granted_permissions()
    if granted is not None and not granted & set(WRITE_PERMISSIONS[kind]):
        pytest.fail("ENTRA_LIVE_WRITE=1 with %s needs the application permission %s (admin consent); nothing was written"
                    % (TARGET_VARIABLES[kind], " or ".join(WRITE_PERMISSIONS[kind])), pytrace=False)
    return kind, dedicated_targets[kind]


def statuses(result):
    return [entry["status"] for entry in result["results"]]


def repeat_removal_by_hand(graph, kind, target_id, user_id, report):
    """The removal sent once more, outside the module, to see Graph's own answer to removing a non-member."""
    if kind == "team":
        answer = graph.request("POST", "/teams/%s/members/remove" % target_id, body={"values": [member_value(graph, user_id)]})
        results = answer.body.get("value") or [] if isinstance(answer.body, dict) else []
        codes = [(result.get("error") or {}).get("code") for result in results]
        report.observe("teams_bulk", "members/remove of a user no longer in team", answer.status in (204, 207),
                       "%s %s" % (answered(answer), codes), [answer])
        return
    answer = graph.request("DELETE", ref_path(DIRECTORY_KINDS[kind], "v1.0", target_id, user_id))
    message = answer.error.message if answer.error else ""
    if answer.status == 400 and "do not exist" in message:
        report.observe("replication_lag", "DELETE .../$ref of a removed member right after its removal", True, "", [answer])
        return
    report.observe("not_a_member", "DELETE .../$ref of a %s's removed member" % kind.replace("_", " "),
                   answer.status == 404 and graph_error_text(answer.error).endswith("Request_ResourceNotFound") and target_id in message,
                   "%s: %s" % (answered(answer), message[:160]), [answer])


def repeat_addition_by_hand(graph, kind, target_id, user_id, report):
    """The addition sent once more, outside the module (groups and units only: a repeated Teams add could change the role)."""
    answer = graph.request("POST", ref_path(DIRECTORY_KINDS[kind], "v1.0", target_id), body={"@odata.id": graph.directory_object_ref(user_id)})
    message = answer.error.message if answer.error else ""
    report.observe("ref_post", "POST .../members/$ref of a %s's member" % kind.replace("_", " "),
                   answer.status == 400 and "already exist" in message, "%s: %s" % (answered(answer), message[:160]), [answer])


def put_back(live_settings, module_name, kind, target, user_id, role, before, read):
    """``state: present`` of the one membership, then Graph read until it lists it as ``before`` did: ``(result, membership, waited, reads)``.

    Runs whatever happened before it; a membership that does not come back fails the test, saying what to add by hand.
    """
    restore = None
    try:
        restore = run_live_module(live_settings, module_name,
                                  {"memberships": [dict({"target": target.id, "member": user_id}, **({"role": role} if kind == "team" else {}))],
                                   "state": "present"}, label="%s: put the test user back" % module_name)
    finally:
        back, waited, reads = settle(read, lambda membership: membership.member and membership.role == before.role, live_settings.settle_seconds)
        if not back.member:
            pytest.fail("RESTORE FAILED: the test user is not back in %s '%s' (%s)%s: add it by hand%s"
                        % (TARGET_VARIABLES[kind], target.display_name, target.id, " as %s" % role if kind == "team" else "",
                           ": %s" % restore["msg"] if restore else ""), pytrace=False)
    return restore, back, waited, reads


def record_read_back(report, what, membership, waited, reads):
    report.observe("eventual_consistency", "%s: read %d times over %.0f s" % (what, reads, waited), True, "", membership.answers)


@pytest.mark.parametrize("module_name", list(MEMBER_MODULES))
def test_member_module_removes_the_test_user_from_the_dedicated_target_and_puts_it_back(module_name, dedicated, live_settings, graph,
                                                                                        test_user, report):
    kind, target = dedicated
    option = MEMBER_MODULES[module_name][1]
    user_id = test_user["id"]

    def read():
        return read_membership(graph, kind, target.id, user_id)

    before = read()
    assert before.readable, "reading the membership: %s" % [answered(answer) for answer in before.answers]
    assert before.member, ("the test user is not a direct member of %s '%s': add it once by hand; the live check only removes and puts back "
                           "a membership that exists, nothing was written" % (TARGET_VARIABLES[kind], target.display_name))
    removal = None
    try:
        removal = run_live_module(live_settings, module_name, {option: [target.id], "members": [user_id], "state": "absent"},
                                  label="%s: remove the test user" % module_name)
        assert statuses(removal) == ["removed"] and removal["changed"] is True, removal["results"]
        report.observe("teams_bulk" if kind == "team" else "ref_delete", "the module's removal from %s '%s'" % (kind.replace("_", " "), target.display_name),
                       bool(removal["results"][0]["request_id"]), "no request id", removal["results"])
        gone, waited, reads = settle(read, lambda membership: not membership.member, live_settings.settle_seconds)
        record_read_back(report, "removal", gone, waited, reads)
        assert not gone.member, "Graph still lists the test user in %s '%s' %.0f s after its removal" % (kind, target.display_name, waited)
        again = run_live_module(live_settings, module_name, {option: [target.id], "members": [user_id], "state": "absent"},
                                label="%s: remove again" % module_name)
        assert statuses(again) == ["absent"] and again["changed"] is False, again["results"]
        repeat_removal_by_hand(graph, kind, target.id, user_id, report)
    finally:
        role = (removal["results"][0].get("role") if removal and removal.get("results") else None) or before.role or "member"
        restore, back, waited, reads = put_back(live_settings, module_name, kind, target, user_id, role, before, read)
    record_read_back(report, "putting back", back, waited, reads)
    assert statuses(restore) == ["added"], restore["results"]
    assert back.role == before.role, ("the test user is back in team '%s' as %s, was %s: make it %s again by hand"
                                      % (target.display_name, back.role, before.role, before.role))
    if kind != "team":
        report.observe("ref_post", "the module's addition to %s '%s'" % (kind.replace("_", " "), target.display_name),
                       bool(restore["results"][0]["request_id"]), "no request id", restore["results"])
    again_present = dict({option: [target.id], "members": [user_id], "state": "present"}, **({"role": role} if kind == "team" else {}))
    present = run_live_module(live_settings, module_name, again_present, label="%s: put back again" % module_name)
    assert statuses(present) == ["present"] and present["changed"] is False, present["results"]
    if kind != "team":
        repeat_addition_by_hand(graph, kind, target.id, user_id, report)
