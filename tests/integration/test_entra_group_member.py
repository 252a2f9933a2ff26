"""entra_group_member against the Graph simulator over HTTPS, run in-process (tests/modrun.py)."""
import copy
import json
import math

import pytest

from graphsim.simulator import load_tenant
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_group_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
GUEST = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"
MISSING_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TWIN_IDS = ("0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002")


def run(sim, check_mode=False, diff=False, client_id=None, **args):
    return run_module(entra_group_member, dict(sim.module_auth(client_id=client_id), **args), check_mode=check_mode, diff=diff)


def pairs(result):
    return [(entry["target"]["display_name"], entry["member"], entry["status"]) for entry in result["results"]]


def assert_only_ref_writes(sim):
    """No DELETE without /$ref (it would delete the member: group-delete-members' Caution), none of a user, every write a $ref."""
    for entry in sim.log.writes():
        assert entry.path.endswith("/$ref"), entry.path
        assert not entry.path.startswith(("/v1.0/users", "/beta/users")), entry.path


def group(sim, name):
    return sim.state.id_of("group", name)


def user(sim, upn):
    return sim.state.user_id(upn)


def test_removal_from_several_groups_then_a_rerun_is_all_absent(graphsim_session):
    sim = graphsim_session
    groups = ["VPN Users", "Legacy App Access", "Marketing"]
    first = run(sim, groups=groups, members=[LEAVER])
    assert first["rc"] == 0 and first["changed"] is True and first["check_mode"] is False
    assert pairs(first) == [(name, LEAVER, "removed") for name in groups]
    assert first["msg"] == "entra_group_member: 3 removed across 3 groups"
    assert first["summary"] == {"removed": 3, "added": 0, "absent": 0, "present": 0, "failed": 0, "skipped": 0}
    assert not any(sim.state.is_member(group(sim, name), user(sim, LEAVER)) for name in groups)
    # A 204 inside $batch carries no request-id of its own: the $batch's is the one Graph gave.
    (write_batch,) = [entry for entry in sim.log.filter(method="POST", path_re=r"/\$batch$") if entry.request_id][-1:]
    assert {entry["request_id"] for entry in first["results"]} == {write_batch.request_id}
    entry = first["results"][0]
    assert entry["target"] == {"id": group(sim, "VPN Users"), "display_name": "VPN Users", "type": "group"}
    assert entry["member_id"] == user(sim, LEAVER) and entry["error"] is None

    again = run(sim, groups=groups, members=[LEAVER])
    assert again["rc"] == 0 and again["changed"] is False
    assert [entry["status"] for entry in again["results"]] == ["absent"] * 3
    # The membership read before writing showed nothing to remove: a re-run sends no write at all.
    assert len(sim.log.writes()) == 3 and [entry["request_id"] for entry in again["results"]] == [None] * 3
    assert again["msg"] == "entra_group_member: 3 already absent across 3 groups"
    assert_only_ref_writes(sim)


def test_mixed_batch_reports_each_pair_exactly(graphsim_session):
    sim = graphsim_session
    groups = ["VPN Users", "Finance Approvers", "No Such Group", "All Employees (dynamic)", MISSING_ID]
    result = run(sim, groups=groups, members=[LEAVER, LEAVER2])
    assert result["rc"] == 1 and result["failed"] is True and result["changed"] is True
    assert [entry["status"] for entry in result["results"]] == [
        "removed", "removed",      # VPN Users
        "absent", "absent",        # Finance Approvers: neither is a member
        "failed", "failed",        # no such name: failed, never absent
        "failed", "failed",        # dynamic
        "failed", "failed",        # no such id
    ]
    errors = [entry["error"] for entry in result["results"]]
    # The distinct reasons lead, in the order of the results; then the counts.
    assert result["msg"] == "entra_group_member: %s; %s; %s. 2 removed, 2 already absent, 6 failed across 5 groups" % (
        errors[4]["message"], errors[6]["message"], errors[8]["message"])
    assert errors[4]["code"] == "TargetNotFound" and "No Such Group" in errors[4]["message"]
    assert errors[6]["code"] == "DynamicMembership" and "change the membershipRule" in errors[6]["message"]
    assert errors[8]["status"] == 404 and MISSING_ID in errors[8]["message"] and "does not exist" in errors[8]["message"]
    assert result["results"][8]["target"] == {"id": MISSING_ID, "display_name": None, "type": "group"}
    dynamic = group(sim, "All Employees (dynamic)")
    assert not [entry for entry in sim.log.writes() if dynamic in entry.path or MISSING_ID in entry.path]
    assert sim.state.is_member(dynamic, user(sim, LEAVER))
    assert_only_ref_writes(sim)


@pytest.mark.parametrize("name, code, advice", [
    ("CORP-FileShare-RW", "OnPremisesSynced", "change its members in Active Directory"),
    ("Security Alerts", "MailEnabledGroup", "a mail-enabled security group, whose members are managed by Exchange Online: change it in Exchange Online"),
    ("All Hands DL", "MailEnabledGroup", "a distribution list, whose members are managed by Exchange Online"),
    ("Executive Board", "ManagementRestricted", "only administrators assigned a role scoped to that administrative unit"),
])
def test_groups_graph_will_not_change_fail_before_any_write(graphsim_session, name, code, advice):
    sim = graphsim_session
    for check_mode in (True, False):
        result = run(sim, check_mode=check_mode, groups=[name], members=[LEAVER])
        (entry,) = result["results"]
        assert entry["status"] == "failed" and entry["request_id"] is None
        assert entry["error"]["code"] == code and advice in entry["error"]["message"]
        assert result["rc"] == 1 and result["changed"] is False
    assert sim.log.writes() == []
    assert sim.state.is_member(group(sim, name), user(sim, LEAVER))


def test_a_guest_given_by_upn_id_and_other_case_is_removed_once_with_a_warning(graphsim_session):
    sim = graphsim_session
    guest_id = user(sim, GUEST)
    result = run(sim, groups=["Contractors"], members=[GUEST, guest_id, GUEST.upper()])
    assert pairs(result) == [("Contractors", GUEST, "removed")]  # one object, handled once, as first given
    assert any("same object" in warning for warning in result.get("warnings", []))
    assert not sim.state.is_member(group(sim, "Contractors"), guest_id)
    assert len(sim.log.writes()) == 1 and sim.log.filter(path_re=r"/users$")[0].query["$filter"] == "userPrincipalName in ('%s')" % GUEST


def test_an_ambiguous_name_fails_its_pairs_and_ids_and_unique_names_are_removed(graphsim_factory):
    spec = copy.deepcopy(load_tenant(None))
    spec["groups"] += [{"displayName": "Twins", "id": twin, "kind": "security", "members": [LEAVER]} for twin in TWIN_IDS]
    sim = graphsim_factory(tenant=spec)
    sales_id = group(sim, "Sales")
    result = run(sim, groups=["Twins", sales_id, "VPN Users"], members=[LEAVER2])
    assert pairs(result) == [("Twins", LEAVER2, "failed"), ("Sales", LEAVER2, "removed"), ("VPN Users", LEAVER2, "removed")]
    error = result["results"][0]["error"]
    assert error["code"] == "AmbiguousTargetName" and TWIN_IDS[0] in error["message"] and TWIN_IDS[1] in error["message"]
    assert not [entry for entry in sim.log.writes() if TWIN_IDS[0] in entry.path or TWIN_IDS[1] in entry.path]

    sim.log.clear()
    same = run(sim, groups=["Sales", sales_id.upper()], members=[LEAVER])
    assert same["rc"] == 1 and "groups" in same["msg"] and "'Sales'" in same["msg"] and sales_id.upper() in same["msg"]
    assert sim.log.writes() == []


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_api_version_picks_the_path(graphsim_session, version):
    sim = graphsim_session
    result = run(sim, groups=["Sales"], members=[LEAVER2], api_version=version)
    assert pairs(result) == [("Sales", LEAVER2, "removed")]
    (write,) = sim.log.writes()
    assert write.path == "/%s/groups/%s/members/%s/$ref" % (version, group(sim, "Sales"), user(sim, LEAVER2))
    assert {entry.path.split("/")[1] for entry in sim.log.graph_requests()} == {version}


MIXED = dict(groups=["VPN Users", "Sales", "Book Club", "All Employees (dynamic)", "Helpdesk Admins", "Nope"],
             members=[LEAVER, LEAVER2, "nobody@contoso.com"])


def test_check_mode_writes_nothing_and_predicts_the_real_run(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    check = run(sim, check_mode=True, **MIXED)
    assert sim.log.writes() == [] and sim.state.snapshot() == before
    assert check["check_mode"] is True and check["changed"] is True
    assert check["msg"].startswith("entra_group_member (check mode, nothing changed): ")
    assert all(entry["request_id"] is None for entry in check["results"])
    real = run(sim, **MIXED)
    assert [(e["target"], e["member"], e["member_id"], e["status"]) for e in check["results"]] == \
        [(e["target"], e["member"], e["member_id"], e["status"]) for e in real["results"]]
    assert check["summary"] == real["summary"] and check["changed"] == real["changed"] and check["rc"] == real["rc"] == 1
    assert real["summary"]["removed"] == 5  # VPN Users x2, Sales, Book Club, Helpdesk Admins


def test_check_mode_reads_the_groups_when_members_outnumber_them(graphsim_session):
    sim = graphsim_session
    members = [LEAVER, LEAVER2, "ada@contoso.com", "ken@contoso.com"]
    check = run(sim, check_mode=True, groups=["VPN Users"], members=members)
    assert sim.log.count(path_re=r"/groups/[^/]+/members$") == 1 and sim.log.count(path_re=r"memberOf") == 0
    real = run(sim, groups=["VPN Users"], members=members)
    assert [e["status"] for e in check["results"]] == [e["status"] for e in real["results"]] == ["removed", "removed", "removed", "removed"]


def test_diff_mode_shows_the_members_given_before_and_after(graphsim_session):
    sim = graphsim_session
    result = run(sim, diff=True, groups=["Sales", "All Employees (dynamic)"], members=[LEAVER, LEAVER2])
    sales, dynamic = result["diff"]
    assert sales["before"] == {"members": [LEAVER2]} and sales["after"] == {"members": []}
    assert sales["before_header"] == "group 'Sales' (%s)" % group(sim, "Sales")
    assert dynamic["before"] == dynamic["after"] == {"members": [LEAVER2, LEAVER]}
    check = run(sim, check_mode=True, diff=True, groups=["Sales"], members=[LEAVER2])
    assert check["diff"][0]["before"] == check["diff"][0]["after"] == {"members": []}


def restricted_app(sim):
    return sim.state.id_of("app", "Restricted Offboarding")


def test_a_role_assignable_group_needs_role_management_and_the_failure_names_it(graphsim_session):
    sim = graphsim_session
    args = dict(groups=["Helpdesk Admins"], members=[LEAVER])
    check = run(sim, check_mode=True, client_id=restricted_app(sim), **args)
    denied = run(sim, client_id=restricted_app(sim), **args)
    for result in (check, denied):
        (entry,) = result["results"]
        assert entry["status"] == "failed" and entry["error"]["status"] == 403
        assert "role-assignable" in entry["error"]["message"] and "RoleManagement.ReadWrite.Directory" in entry["error"]["message"]
    assert denied["results"][0]["request_id"] == sim.log.writes()[0].request_id
    assert sim.state.is_member(group(sim, "Helpdesk Admins"), user(sim, LEAVER))
    allowed = run(sim, **args)
    assert pairs(allowed) == [("Helpdesk Admins", LEAVER, "removed")]


def test_throttled_writes_inside_batch_are_retried_and_counted_once(graphsim_session):
    sim = graphsim_session
    members = ["ada@contoso.com", "alan@contoso.com", "grace@contoso.com", "edsger@contoso.com", "barbara@contoso.com",
               "donald@contoso.com", "ken@contoso.com", "dennis@contoso.com", "margaret@contoso.com", "radia@contoso.com"]
    sim.faults.add(429, rate=0.5, path_re=r"/members/.*/\$ref$", retry_after=0, seed=7, limit=6)
    result = run(sim, groups=["All Staff"], members=members)
    assert [entry["status"] for entry in result["results"]] == ["removed"] * 10
    assert result["summary"]["removed"] == 10 and sum(result["summary"].values()) == 10
    assert sim.log.count(method="DELETE", status=429) == 6
    assert sim.log.count(method="DELETE", status=204) == 10
    assert not any(sim.state.is_member(group(sim, "All Staff"), user(sim, upn)) for upn in members)


def test_present_round_trip_restores_what_was_removed(graphsim_session):
    sim = graphsim_session
    before = sim.state.snapshot()
    groups = ["VPN Users", "Sales", "Platform Engineers"]
    removal = run(sim, groups=groups, members=[LEAVER])
    removed = [entry for entry in removal["results"] if entry["status"] == "removed"]
    assert len(removed) == 2  # not in Sales
    restore = run(sim, groups=[entry["target"]["id"] for entry in removed], members=[LEAVER], state="present")
    assert [entry["status"] for entry in restore["results"]] == ["added", "added"] and restore["changed"] is True
    assert sim.state.snapshot() == before
    again = run(sim, groups=groups, members=[LEAVER], state="present")
    assert [entry["status"] for entry in again["results"]] == ["present", "added", "present"]
    posts = sim.log.filter(method="POST", path_re=r"/members/\$ref$")
    assert posts and all(entry.body == {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/%s" % user(sim, LEAVER)} for entry in posts)
    assert_only_ref_writes(sim)


def test_a_member_that_does_not_exist_is_absent_from_removal_and_fails_addition(graphsim_session):
    sim = graphsim_session
    absent = run(sim, groups=["Sales"], members=["nobody@contoso.com", MISSING_ID])
    assert [entry["status"] for entry in absent["results"]] == ["absent", "absent"] and absent["rc"] == 0
    present = run(sim, groups=["Sales"], members=["nobody@contoso.com"], state="present")
    (entry,) = present["results"]
    assert entry["status"] == "failed" and entry["member_id"] is None and entry["error"]["code"] == "MemberNotFound"
    assert entry["error"]["message"] == "no user or other object has the id or user principal name 'nobody@contoso.com' in this tenant"
    assert sim.log.writes() == []


def test_two_hundred_memberships_take_ten_write_batches(graphsim_factory):
    spec = copy.deepcopy(load_tenant(None))
    upns = ["temp%03d@contoso.com" % number for number in range(200)]
    spec["users"] += [{"userPrincipalName": upn} for upn in upns]
    spec["groups"].append({"displayName": "Seasonal Staff", "kind": "security", "members": upns})
    sim = graphsim_factory(tenant=spec)
    result = run(sim, groups=["Seasonal Staff"], members=upns)
    assert result["summary"]["removed"] == 200 and sim.state.members(group(sim, "Seasonal Staff")) == set()
    writes = sim.log.writes()
    assert len(writes) == 200 and all(entry.in_batch for entry in writes)
    write_envelopes = {entry.client_request_id for entry in writes}  # a $batch's items carry its client-request-id
    assert len(write_envelopes) <= math.ceil(200 / 20)
    resolution = math.ceil(200 / 20) + 1  # the members (10 $batch) and the one group (a lone GET)
    assert len(sim.log.graph_requests()) <= resolution + math.ceil(200 / 20)


def test_secrets_never_show(graphsim_session):
    sim = graphsim_session
    auth = sim.module_auth()
    result = run(sim, groups=["Sales", "Nope"], members=[LEAVER2])
    assert auth["client_secret"] not in json.dumps(result)


@pytest.mark.parametrize("args, expected", [
    (dict(members=["0f8fad5b-d9cb-469f-a165-70867728950"]), "members: '0f8fad5b-d9cb-469f-a165-70867728950' is not a valid object id"),
    (dict(members=[""]), "members: an empty value"),
    (dict(members=[42]), "members: '42' is neither an object id (GUID) nor a user principal name"),
    (dict(members=["ada@@contoso.com"]), "members: 'ada@@contoso.com' is not a user principal name"),
    (dict(members=["ada@contoso.com", "a/b@contoso.com"]), "'a/b@contoso.com'"),
    (dict(groups=["0f8fad5b-d9cb-469f-a165-7086772895"]), "groups: '0f8fad5b-d9cb-469f-a165-7086772895' is not a valid object id"),
    (dict(groups=[" Sales"]), "groups: ' Sales' has leading or trailing spaces"),
    (dict(groups=[""]), "groups: an empty value"),
    (dict(api_version="v2.0"), "api_version"),
    (dict(members=["user%d@contoso.com" % n for n in range(10001)]), "members has 10001 items; at most 10000"),
])
def test_bad_input_fails_before_any_request(graphsim_session, args, expected):
    sim = graphsim_session
    result = run(sim, **dict(dict(groups=["Sales"], members=[LEAVER]), **args))
    assert result["rc"] == 1 and expected in result["msg"]
    if "api_version" in args:
        assert "v2.0" in result["msg"]
    assert len(sim.log) == 0  # not even a token request


def test_empty_members_is_a_no_op(graphsim_session):
    sim = graphsim_session
    result = run(sim, groups=["Sales"], members=[])
    assert result["rc"] == 0 and result["changed"] is False and result["results"] == []
    assert result["msg"] == "entra_group_member: nothing to do (no members given)"
    assert len(sim.log) == 0


def test_replication_lag_answer_means_absent(graphsim_factory):
    sim = graphsim_factory(replication_lag=True)
    sim.state.consistency_lag = 5  # the re-run's read still shows the removed member, so its DELETE goes out
    run(sim, groups=["VPN Users"], members=[LEAVER])
    again = run(sim, groups=["VPN Users"], members=[LEAVER])
    assert [entry["status"] for entry in again["results"]] == ["absent"] and again["changed"] is False
    assert len(sim.log.writes()) == 2 and sim.log.writes()[-1].status == 400  # "One or more removed object references do not exist ..."
