"""The access engines' grant and its result, and the assignment answers' statuses (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._access_base import AccessEngine, Grant, grant_result
from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.entra.membership.plugins.module_utils._outcomes import (
    assignment_addition_outcome,
    assignment_removal_outcome,
    outcome,
)
from ansible_collections.entra.membership.plugins.module_utils._references import assignment_id_segment
from ansible_collections.entra.membership.plugins.module_utils._resolve import Member

LEAVER = Member("leaver@contoso.com", "bcb3c533-9541-5977-9784-223df42eb0e6", "leaver@contoso.com", "Lee", True, None, "user")
ERP = {"id": "761728ae-4f74-585f-8574-20d52f0f1843", "display_name": "Contoso ERP", "type": "application"}


def answer(status, code=None, message=None):
    body = {"error": {"code": code, "message": message}} if code else None
    response = GraphResponse(status, {"request-id": "req-1"}, body, "req-1")
    if not 200 <= status < 300:
        response.error = GraphError.from_response(status, body, {"request-id": "req-1"})
    return response


def test_a_grant_result_has_the_member_modules_shape_plus_through_reason_and_every_detail_field():
    grant = Grant("leaver@contoso.com", LEAVER, dict(ERP), ("erp", "role"), {"app_role": "ERP.Approver"})
    grant.outcome = outcome("removed", None, "req-9")
    entry = grant_result(grant, ("app_role_id", "app_role", "assignment_id"))
    assert entry == {"target": ERP, "member": "leaver@contoso.com", "member_id": LEAVER.id, "status": "removed", "error": None,
                     "request_id": "req-9", "through": None, "reason": None, "app_role_id": None, "app_role": "ERP.Approver",
                     "assignment_id": None}


def test_a_grant_of_a_principal_that_was_not_found_has_no_member_id():
    grant = Grant("nobody@contoso.com", Member("nobody@contoso.com"), dict(ERP), None)
    assert grant.principal_id is None


def test_the_through_reason_names_the_group_and_what_takes_the_access_away():
    grant = Grant("leaver@contoso.com", LEAVER, dict(ERP), None, through={"id": "g1", "display_name": "All Staff", "type": "group"})
    reason = AccessEngine().through_reason(grant)
    assert reason == ("held through group 'All Staff' (g1), not directly: removing 'leaver@contoso.com' from that group "
                      "(entra_group_member) takes it away")


@pytest.mark.parametrize("response, held, status", [
    (answer(204), True, "removed"),
    (answer(201), True, "removed"),                          # a PIM adminRemove request answers 201 with the request
    (answer(404, "Request_ResourceNotFound", "gone"), True, "absent"),
    (answer(400, "RoleAssignmentDoesNotExist", "The Role assignment does not exist."), True, "absent"),
    (answer(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), True, "failed"),
    (answer(400, "Request_BadRequest", "something else"), True, "failed"),
])
def test_assignment_removal_answers(response, held, status):
    assert assignment_removal_outcome(response, held=held).status == status


@pytest.mark.parametrize("response, status", [
    (answer(201), "added"),
    (answer(400, "Request_BadRequest", "Permission being assigned already exists on the object"), "present"),
    (answer(400, "Request_BadRequest", "A conflicting object with one or more of the specified property values is present in the directory."),
     "present"),
    (answer(400, "RoleAssignmentExists", "The Role assignment already exists."), "present"),
    (answer(400, "Request_BadRequest", "Permission being assigned was not found on application 'x'."), "failed"),
])
def test_assignment_addition_answers(response, status):
    assert assignment_addition_outcome(response, held=False).status == status


def test_a_403_on_an_assignment_write_carries_the_explanation_before_graphs_words():
    result = assignment_removal_outcome(answer(403, "Authorization_RequestDenied", "Insufficient privileges."), denial_explanation="it needs X")
    assert result.error["message"] == "it needs X (Graph: Insufficient privileges.)"


@pytest.mark.parametrize("value", ["M8WzvEGVd1mXhCI99C6w5mPDg95m6D5Ys1drAaZTjnk", "a-b_c-1"])
def test_assignment_ids_go_into_paths_as_they_are(value):
    assert assignment_id_segment(value) == value


@pytest.mark.parametrize("value", ["", "../users", "a/b", "x?y", None, "a b"])
def test_anything_else_is_refused_as_an_assignment_id(value):
    with pytest.raises(ValueError):
        assignment_id_segment(value)
