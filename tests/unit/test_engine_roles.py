"""entra_directory_role_assignment's engine: its options, schedules and diff labels (pure functions, no network)."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_roles import DirectoryRoleAssignments, parse_end, schedule_end

BASE = dict(state="absent", roles=["all"], scopes=["all"], assignment_types=["active", "eligible"], end_date_time=None)


@pytest.mark.parametrize("value", ["2030-06-30T00:00:00Z", "2030-06-30T00:00:00+02:00", "2030-06-30T00:00:00.000Z"])
def test_an_end_with_a_zone_is_kept_as_given(value):
    assert parse_end(value) == value


@pytest.mark.parametrize("value", ["2030-06-30", "2030-06-30T00:00:00", "next year"])
def test_an_end_without_a_zone_or_not_a_date_is_refused(value):
    with pytest.raises(ValueError):
        parse_end(value)


def test_a_schedule_ends_only_after_a_date_time():
    assert schedule_end({"expiration": {"type": "afterDateTime", "endDateTime": "2030-06-30T00:00:00Z"}}) == "2030-06-30T00:00:00Z"
    assert schedule_end({"expiration": {"type": "noExpiration", "endDateTime": None}}) is None
    assert schedule_end(None) is None


@pytest.mark.parametrize("changes, message", [
    (dict(roles=[]), "roles: give at least one value, or all"),
    (dict(scopes=["all", "/"]), "scopes: 'all' stands alone"),
    (dict(roles=["all"], state="present"), "roles: 'all' is only for state=absent"),
    (dict(assignment_types=[]), "assignment_types: give active, eligible or both"),
    (dict(end_date_time="2030-06-30T00:00:00Z"), "end_date_time: only for state=present"),
    (dict(roles=["  "]), "roles: '  ' is not valid"),
])
def test_options_are_checked_before_any_request(changes, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        DirectoryRoleAssignments().checked_options(dict(BASE, **changes))


def test_a_unit_scope_given_as_results_return_it_is_accepted():
    DirectoryRoleAssignments().checked_options(dict(BASE, scopes=["/administrativeUnits/8fbbe50c-72d1-5ea3-b7ad-6d3b6bc8a35b", "/"]))
