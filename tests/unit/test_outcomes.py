"""The result model and the ONE mapping from Graph's answers to statuses (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    STATUSES,
    compose_msg,
    license_removal_outcome,
    module_result,
    membership_after,
    membership_before,
    outcome,
    pair_result,
    predicted_denial,
    ref_addition_outcome,
    ref_removal_outcome,
    refusal_outcome,
    summarize,
    target_view,
    team_write_outcomes,
)
from ansible_collections.entra.membership.plugins.module_utils._resolve import Target

GROUP = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
ADA = "18a80140-b0fb-4489-b360-2f6efaf225a0"
ALEX = "86503198-b81b-43fe-81ee-ad45b8848ac9"
CARL = "c04f28bf-ab68-40a2-974b-e6af31fa78fb"
ABSENT_400 = "One or more removed object references do not exist for the following modified properties: 'members'."
PRESENT_400 = "One or more added object references already exist for the following modified properties: 'members'."
NOT_FOUND_404 = "Resource '%s' does not exist or one of its queried reference-property objects are not present." % GROUP


def answer(status, body=None, request_id="req-1"):
    """A GraphResponse as the client builds it from an HTTP or $batch answer."""
    response = GraphResponse(status, {"request-id": request_id}, body, request_id)
    if not 200 <= status < 300:
        response.error = GraphError.from_response(status, body, {"request-id": request_id})
    return response


def graph_error(status, code, message):
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "inner-req"}}}


# -- $ref DELETE ---------------------------------------------------------------------------------

def test_removal_204_is_removed_with_the_request_id():
    assert ref_removal_outcome(answer(204)) == ("removed", None, "req-1")


@pytest.mark.parametrize("status, code, message", [
    (404, "Request_ResourceNotFound", NOT_FOUND_404),
    (400, "Request_BadRequest", ABSENT_400),
])
def test_removal_not_a_member_answers_are_absent(status, code, message):
    result = ref_removal_outcome(answer(status, graph_error(status, code, message)))
    assert result.status == "absent" and result.error is None and result.request_id == "req-1"


@pytest.mark.parametrize("status, code, message", [
    (400, "Request_BadRequest", "Cannot Update a mail-enabled security groups and or distribution list."),
    (400, "Request_BadRequest", PRESENT_400),  # the ADD text on a DELETE is not "absent"
    (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    (500, "InternalServerError", "boom"),
])
def test_removal_other_answers_fail_with_graphs_error(status, code, message):
    result = ref_removal_outcome(answer(status, graph_error(status, code, message)))
    assert result.status == "failed"
    assert result.error == {"status": status, "code": code, "message": message, "request_id": "inner-req"}


def test_removal_without_http_answer_fails():
    response = GraphResponse(None, error=GraphError(None, "ConnectionError", "connection to graph failed"))
    result = ref_removal_outcome(response)
    assert result.status == "failed" and result.error["status"] is None and result.error["code"] == "ConnectionError"


def test_a_denial_explanation_is_added_to_a_403_only():
    why = "group 'Helpdesk Admins' is role-assignable: the app needs RoleManagement.ReadWrite.Directory"
    denied = ref_removal_outcome(answer(403, graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")),
                                 denial_explanation=why)
    assert denied.error["message"] == why + " (Graph: Insufficient privileges to complete the operation.)"
    assert denied.error["code"] == "Authorization_RequestDenied" and denied.error["status"] == 403
    other = ref_removal_outcome(answer(400, graph_error(400, "Request_BadRequest", "bad")), denial_explanation=why)
    assert other.error["message"] == "bad"


# -- $ref POST -----------------------------------------------------------------------------------

def test_addition_answers_are_added_present_or_failed():
    assert ref_addition_outcome(answer(204)).status == "added"
    already = ref_addition_outcome(answer(400, graph_error(400, "Request_BadRequest", PRESENT_400)))
    assert already == ("present", None, "req-1")
    missing = ref_addition_outcome(answer(404, graph_error(404, "Request_ResourceNotFound", NOT_FOUND_404)))
    assert missing.status == "failed" and missing.error["status"] == 404
    quota = ref_addition_outcome(answer(403, graph_error(403, "Directory_QuotaExceeded", "quota")))
    assert quota.status == "failed" and quota.error["code"] == "Directory_QuotaExceeded"
    # the DELETE's "do not exist" text on a POST is a failure, not "present"
    assert ref_addition_outcome(answer(400, graph_error(400, "Request_BadRequest", ABSENT_400))).status == "failed"


# -- Teams members/remove and members/add --------------------------------------------------------

# Example 3 of "conversationMember: remove" (https://learn.microsoft.com/graph/api/conversationmember-remove)
DOCUMENTED_207 = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.aadUserConversationMemberResult)",
    "value": [
        {"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": CARL,
         "error": {"code": "NotFound", "message": "Could not find resource"}},
        {"@odata.type": "#microsoft.graph.aadUserConversationMemberResult", "userId": ALEX, "error": None},
    ],
}


def test_team_remove_204_removes_every_member_of_the_chunk():
    outcomes = team_write_outcomes(answer(204), [ADA, ALEX], "absent")
    assert outcomes == {ADA: ("removed", None, "req-1"), ALEX: ("removed", None, "req-1")}


def test_team_remove_207_as_documented_is_absent_for_not_found_and_removed_for_no_error():
    outcomes = team_write_outcomes(answer(207, DOCUMENTED_207, "req-207"), [CARL, ALEX], "absent")
    assert outcomes[CARL] == ("absent", None, "req-207")
    assert outcomes[ALEX] == ("removed", None, "req-207")


def test_team_remove_207_mixed_with_a_failure_and_case_insensitive_ids():
    body = {"value": [
        {"userId": ADA.upper(), "error": {"code": "BadRequest", "message": "The group must have at least one owner"}},
        {"userId": ALEX, "error": None},
        {"userId": CARL, "error": {"code": "NotFound", "message": "Could not find resource"}},
    ]}
    outcomes = team_write_outcomes(answer(207, body, "req-x"), [ADA, ALEX, CARL], "absent")
    assert [outcomes[u].status for u in (ADA, ALEX, CARL)] == ["failed", "removed", "absent"]
    assert outcomes[ADA].error == {"status": 207, "code": "BadRequest", "message": "The group must have at least one owner", "request_id": "req-x"}


def test_team_207_without_a_result_for_a_member_fails_that_member():
    outcomes = team_write_outcomes(answer(207, {"value": [{"userId": ALEX, "error": None}]}), [ADA, ALEX], "absent")
    assert outcomes[ADA].status == "failed" and outcomes[ADA].error["code"] == "MissingMemberResult"
    assert outcomes[ALEX].status == "removed"


def test_team_add_answers_are_added_present_or_failed():
    body = {"value": [
        {"userId": ADA, "error": None},
        {"userId": ALEX, "error": {"code": "BadRequest", "message": "User is already a member of the team."}},
        {"userId": CARL, "error": {"code": "BadRequest", "message": "Guest users cannot be owners of a team."}},
    ]}
    outcomes = team_write_outcomes(answer(207, body), [ADA, ALEX, CARL], "present")
    assert [outcomes[u].status for u in (ADA, ALEX, CARL)] == ["added", "present", "failed"]
    assert outcomes[CARL].error["message"] == "Guest users cannot be owners of a team."
    # NotFound on an addition is no "absent": the user could not be added
    gone = team_write_outcomes(answer(207, {"value": [{"userId": ADA, "error": {"code": "NotFound", "message": "x"}}]}), [ADA], "present")
    assert gone[ADA].status == "failed"
    assert team_write_outcomes(answer(200, {"value": [{"userId": ADA, "error": None}]}), [ADA], "present")[ADA].status == "added"


def test_team_request_refused_as_a_whole_fails_every_member():
    body = graph_error(403, "Forbidden", "Missing role permissions on the request.")
    outcomes = team_write_outcomes(answer(403, body), [ADA, ALEX], "absent", denial_explanation="the app needs TeamMember.ReadWrite.All")
    assert {o.status for o in outcomes.values()} == {"failed"}
    assert outcomes[ADA].error["message"].startswith("the app needs TeamMember.ReadWrite.All (Graph: ")


# -- results, summary, msg -----------------------------------------------------------------------

def test_outcome_rejects_unknown_status():
    with pytest.raises(ValueError):
        outcome("deleted")


def test_a_target_that_did_not_resolve_shows_what_was_given():
    resolved = Target("Sales", GROUP, "Sales", "group", {}, None)
    assert target_view("Sales", resolved, "group") == {"id": GROUP, "display_name": "Sales", "type": "group"}
    assert target_view(GROUP.upper(), Target(GROUP.upper(), type="group"), "group") == {"id": GROUP, "display_name": None, "type": "group"}
    assert target_view("Nope", None, "team") == {"id": None, "display_name": "Nope", "type": "team"}


def test_a_result_entry_has_the_interface_keys_and_a_role_only_for_teams():
    target = {"id": GROUP, "display_name": "Sales", "type": "group"}
    entry = pair_result(target, "ada@contoso.com", ADA, outcome("removed", None, "r"))
    assert entry == {"target": target, "member": "ada@contoso.com", "member_id": ADA, "status": "removed", "error": None, "request_id": "r"}
    assert "role" not in entry
    assert pair_result(target, "ada@contoso.com", ADA, outcome("absent"), role=None, with_role=True)["role"] is None


def test_summary_counts_every_status():
    results = [{"status": s} for s in ("removed", "removed", "absent", "failed")]
    assert summarize(results) == {"removed": 2, "added": 0, "absent": 1, "present": 0, "failed": 1, "skipped": 0}
    assert set(summarize([])) == set(STATUSES)


@pytest.mark.parametrize("counts, targets, kind, check, msg", [
    ({"removed": 2, "absent": 1, "failed": 1}, 2, "group", False, "entra_group_member: 2 removed, 1 already absent, 1 failed across 2 groups"),
    ({"added": 1, "present": 3}, 1, "administrative_unit", False, "entra_au_member: 1 added, 3 already present across 1 administrative unit"),
    ({"removed": 3}, 2, "team", True, "teams_member (check mode, nothing changed): 3 removed across 2 teams"),
    ({}, 2, "group", False, "entra_group_member: nothing to do (no members given)"),
    ({}, 0, "team", False, "teams_member: nothing to do (no teams given)"),
])
def test_msg_counts_each_status_across_the_targets(counts, targets, kind, check, msg):
    module = {"group": "entra_group_member", "administrative_unit": "entra_au_member", "team": "teams_member"}[kind]
    summary = dict.fromkeys(STATUSES, 0)
    summary.update(counts)
    assert compose_msg(module, kind, summary, targets, check) == msg


def test_changed_means_a_removal_or_addition_and_failed_means_a_failed_pair():
    def result(*statuses, check=False):
        entries = [{"status": s} for s in statuses]
        return module_result("entra_group_member", "group", entries, 1, check)

    assert result("absent", "present")["changed"] is False
    assert result("absent", "removed")["changed"] is True
    assert result("added")["changed"] is True
    mixed = result("removed", "failed")
    assert mixed["changed"] is True and mixed["failed"] is True and mixed["summary"]["failed"] == 1
    assert result("absent", "skipped")["failed"] is False
    assert result("removed", check=True)["check_mode"] is True
    empty = module_result("entra_group_member", "group", [], 0)
    assert empty["changed"] is False and empty["failed"] is False and empty["results"] == []


def test_a_refusal_carries_its_reason_and_no_request_id():
    result = refusal_outcome("DynamicMembership", "change the membershipRule")
    assert result == ("failed", {"status": None, "code": "DynamicMembership", "message": "change the membershipRule", "request_id": None}, None)


def test_a_predicted_denial_is_a_403_that_says_it_was_predicted_and_none_without_known_permissions():
    expected = {"status": 403, "code": "Authorization_RequestDenied", "message": "why (predicted from the permissions in the token)", "request_id": None}
    assert predicted_denial(set(), ("A",), "why").error == expected
    assert predicted_denial({"A"}, ("A", "B"), "why") is None
    assert predicted_denial(None, ("A",), "why") is None  # an opaque token: nothing to predict from


def test_a_status_tells_the_membership_before_and_after_and_a_read_tells_it_otherwise():
    told = {status: (membership_before(outcome(status)), membership_after(outcome(status), membership_before(outcome(status))))
            for status in ("removed", "present", "absent", "added")}
    assert told == {"removed": (True, False), "present": (True, True), "absent": (False, False), "added": (False, True)}
    assert membership_before(outcome("failed"), known=True) is True and membership_after(outcome("failed"), True) is True
    assert membership_before(None, known=False) is False and membership_after(None, False) is False
    assert membership_before(outcome("skipped")) is None


# -- assignLicense (user-assignlicense): the "not held directly" answers name no sku -------------------------------------

NOT_HELD = {"error": {"code": "Request_BadRequest", "message": "User does not have a corresponding license."}}
INHERITED = {"error": {"code": "Request_BadRequest",
                       "message": "User license is inherited from group membership and cannot be removed directly from the user."}}
DEPENDENCY = {"error": {"code": "Request_BadRequest", "message": "License assignment failed because service plans a depend on the service plan(s) b."}}


def replayed(response):
    response.replayed = True
    return response


@pytest.mark.parametrize("body", [NOT_HELD, INHERITED])
def test_a_license_not_held_directly_is_absent_when_removed_alone(body):
    assert license_removal_outcome(answer(400, body)).status == "absent"
    assert license_removal_outcome(answer(200, {})).status == "removed"


def test_a_license_not_held_after_a_replayed_removal_of_one_held_was_removed_by_the_first_request():
    assert license_removal_outcome(replayed(answer(400, NOT_HELD)), held=True, removed_together=3).status == "removed"


def test_a_license_not_held_among_several_removed_together_fails_since_graph_names_none():
    result = license_removal_outcome(answer(400, NOT_HELD), held=True, removed_together=2)
    assert result.status == "failed" and "Graph does not say which of the 2" in result.error["message"]
    assert "User does not have a corresponding license." in result.error["message"]


def test_a_license_removal_graph_refuses_fails_with_graphs_reason_and_a_denial_is_explained():
    refused = license_removal_outcome(answer(400, DEPENDENCY), denial_explanation="needs LicenseAssignment.ReadWrite.All")
    assert refused.status == "failed" and refused.error["message"] == DEPENDENCY["error"]["message"] and refused.request_id == "req-1"
    denied = license_removal_outcome(answer(403, {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}),
                                     denial_explanation="needs LicenseAssignment.ReadWrite.All")
    assert denied.error["message"].startswith("needs LicenseAssignment.ReadWrite.All (Graph: Insufficient privileges.")


def test_msg_leads_with_three_distinct_reasons_then_counts_the_rest_without_doubling_a_final_period():
    from ansible_collections.entra.membership.plugins.module_utils._outcomes import led_by_reasons

    assert led_by_reasons([], "1 removed across 1 group") == "1 removed across 1 group"
    assert led_by_reasons(["Guest users cannot be owners of a team."], "1 failed across 1 team") == (
        "Guest users cannot be owners of a team. 1 failed across 1 team")
    assert led_by_reasons(["a", "b", "c", "d", "e"], "5 failed across 5 groups") == "a; b; c; and 2 more. 5 failed across 5 groups"
