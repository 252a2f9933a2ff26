"""entra_app_role_assignment's engine: options and role names (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_apps import DEFAULT_ACCESS_ROLE, AppRoleAssignments, role_name

ERP = {"appRoles": [{"id": "04ed2678-12b1-5a29-aa00-17ebfdca9ba7", "value": "ERP.Approver", "displayName": "ERP approver"},
                    {"id": "11111111-12b1-5a29-aa00-17ebfdca9ba7", "value": None, "displayName": "Unnamed"}]}


def test_a_role_is_named_by_its_value_then_its_display_name_then_its_id():
    assert role_name(ERP, "04ed2678-12b1-5a29-aa00-17ebfdca9ba7") == "ERP.Approver"
    assert role_name(ERP, "11111111-12b1-5a29-aa00-17ebfdca9ba7") == "Unnamed"
    assert role_name(ERP, "22222222-12b1-5a29-aa00-17ebfdca9ba7") == "22222222-12b1-5a29-aa00-17ebfdca9ba7"
    assert role_name(None, DEFAULT_ACCESS_ROLE) == "default access"


@pytest.mark.parametrize("params, message", [
    (dict(applications=[], state="absent"), "applications: give at least one value, or all"),
    (dict(applications=["all"], state="present"), "applications: 'all' is only for state=absent"),
    (dict(applications=["", "Workday"], state="absent"), "applications: '' is not valid"),
    (dict(applications=["Workday"], app_roles=[" "], state="absent"), "app_roles: an empty value was given"),
])
def test_options_are_checked_before_any_request(params, message):
    with pytest.raises(ValueError, match="^" + message):
        AppRoleAssignments().checked_options(dict({"app_roles": []}, **params))
