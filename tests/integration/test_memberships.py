"""The member modules' ``memberships`` option (one task, many users, each with their own targets) against the simulator."""
import copy
import math

import pytest

from graphsim.simulator import load_tenant
from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, teams_member

LEAVER = "leaver@contoso.com"
LEAVER2 = "leaver2@contoso.com"
FALCON = "e4183b04-c9a2-417c-bde4-70e3ee46a6dc"
BATCH = r"/\$batch$"


def run(sim, module=entra_group_member, check_mode=False, diff=False, **args):
    return run_module(module, dict(sim.module_auth(), **args), check_mode=check_mode, diff=diff)


def statuses(result):
    return [(entry["target"]["display_name"], entry["member"], entry["status"]) for entry in result["results"]]


def test_each_user_leaves_their_own_groups_in_one_task_with_results_in_input_order(graphsim_session):
    sim = graphsim_session
    memberships = [
        {"target": "VPN Users", "member": LEAVER},
        {"target": "Sales", "member": LEAVER2},
        {"target": "Legacy App Access", "member": LEAVER},
        {"target": "VPN Users", "member": LEAVER2},
        {"target": "Sales", "member": LEAVER},   # the leaver is not in Sales
    ]
    result = run(sim, memberships=memberships)
    assert result["rc"] == 0 and result["changed"] is True
    assert statuses(result) == [("VPN Users", LEAVER, "removed"), ("Sales", LEAVER2, "removed"), ("Legacy App Access", LEAVER, "removed"),
                                ("VPN Users", LEAVER2, "removed"), ("Sales", LEAVER, "absent")]
    assert result["msg"] == "entra_group_member: 4 removed, 1 already absent across 3 groups"
    for entry in memberships[:4]:
        assert not sim.state.is_member(sim.state.id_of("group", entry["target"]), sim.state.user_id(entry["member"]))
    assert sim.state.is_member(sim.state.id_of("group", "All Staff"), sim.state.user_id(LEAVER))  # not asked for, kept
    # One write per entry that is a membership (the read before showed the leaver is not in Sales), none for a pair no
    # entry names (every target with every member).
    expected = {"/v1.0/groups/%s/members/%s/$ref" % (sim.state.id_of("group", entry["target"]), sim.state.user_id(entry["member"]))
                for entry in memberships[:4]}
    assert sorted(entry.path for entry in sim.log.writes()) == sorted(expected)
    # Each distinct group and user resolved once: three display names, one UPN filter for both users.
    assert sim.log.count(method="GET", path_re=r"^/v1\.0/groups$") == 3
    assert sim.log.count(method="GET", path_re=r"^/v1\.0/users$") == 1


def test_the_same_pair_given_twice_in_other_forms_is_sent_once_and_the_repeat_is_skipped_with_a_warning(graphsim_session):
    sim = graphsim_session
    vpn, leaver = sim.state.id_of("group", "VPN Users"), sim.state.user_id(LEAVER)
    result = run(sim, memberships=[{"target": "VPN Users", "member": LEAVER}, {"target": "All Staff", "member": LEAVER},
                                   {"target": vpn, "member": leaver.upper()}])
    assert [entry["status"] for entry in result["results"]] == ["removed", "removed", "skipped"]
    repeat = result["results"][2]
    assert repeat["target"]["id"] == vpn and repeat["member_id"] == leaver and repeat["request_id"] is None
    assert repeat["error"]["code"] == "RepeatedMembership" and "memberships[0]" in repeat["error"]["message"]
    assert result["warnings"] == ["memberships: 1 entry repeats the target and member of an earlier one (memberships[2] repeats memberships[0]); "
                                  "each is handled once, the repeats are reported skipped"]
    assert result["msg"] == "entra_group_member: 2 removed, 1 skipped across 2 groups"
    assert len(sim.log.writes()) == 2


@pytest.mark.parametrize("module", [entra_group_member, entra_au_member, teams_member])
@pytest.mark.parametrize("entry, message", [
    ({"target": "VPN Users"}, "memberships[1] ({'target': 'VPN Users'}) has no member"),
    ({"target": "VPN Users", "member": "Ada Lovelace"},
     "memberships[1].member: 'Ada Lovelace' is neither an object id (GUID) nor a user principal name (which contains @)"),
    ({"target": " VPN Users", "member": LEAVER}, "memberships[1].target: ' VPN Users' has leading or trailing spaces"),
    ({"target": 42, "member": LEAVER}, "memberships[1].target is 42 (int), not a string"),
    ({"group": "VPN Users", "member": LEAVER}, "memberships[1] has the key 'group'; an entry takes target, member"),
    ({"target": "VPN Users", "member": "ada@contoso.com, grace@contoso.com"},
     "memberships[1].member: 'ada@contoso.com, grace@contoso.com' is not a user principal name"),
])
def test_a_bad_entry_fails_the_task_naming_the_option_its_index_and_value_before_any_request(graphsim_session, module, entry, message):
    sim = graphsim_session
    result = run(sim, module=module, memberships=[{"target": "VPN Users", "member": LEAVER}, entry])
    assert result["rc"] == 1 and result["changed"] is False
    assert message in result["msg"], result["msg"]
    assert len(sim.log) == 0  # not even a token was asked for


def test_every_bad_entry_is_named_at_once_up_to_ten_then_counted(graphsim_session):
    sim = graphsim_session
    result = run(sim, memberships=[{"target": "VPN Users", "member": "nobody %d" % index} for index in range(12)])
    assert result["rc"] == 1
    assert result["msg"].startswith("memberships[0].member: 'nobody 0' is neither")
    assert "memberships[9].member" in result["msg"] and "memberships[10]" not in result["msg"]
    assert result["msg"].endswith("; and 2 more")
    assert len(sim.log) == 0


def test_a_role_is_refused_in_the_entries_of_the_directory_modules_and_checked_in_teams(graphsim_session):
    sim = graphsim_session
    group = run(sim, memberships=[{"target": "VPN Users", "member": LEAVER, "role": "owner"}])
    assert group["rc"] == 1 and "memberships[0] has the key 'role'; an entry takes target, member" in group["msg"]
    team = run(sim, module=teams_member, memberships=[{"target": FALCON, "member": LEAVER, "role": "admin"}], state="present")
    assert team["rc"] == 1 and "memberships[0].role is 'admin'; it must be one of owner, member" in team["msg"]
    assert len(sim.log) == 0


@pytest.mark.parametrize("args, message", [
    ({"groups": ["VPN Users"], "members": [LEAVER]}, "parameters are mutually exclusive: memberships|groups, memberships|members"),
    ({"members": [LEAVER]}, "parameters are mutually exclusive: memberships|members"),
])
def test_memberships_and_the_targets_or_members_option_exclude_each_other(graphsim_session, args, message):
    sim = graphsim_session
    result = run(sim, memberships=[{"target": "VPN Users", "member": LEAVER}], **args)
    assert result["rc"] == 1 and result["msg"] == message
    assert len(sim.log) == 0


def test_without_memberships_the_targets_and_members_are_both_needed(graphsim_session):
    sim = graphsim_session
    assert run(sim)["msg"] == "one of the following is required: memberships, groups"
    assert run(sim, groups=["VPN Users"])["msg"] == "parameters are required together: groups, members"
    assert len(sim.log) == 0


def test_an_empty_list_of_memberships_does_nothing_without_a_request(graphsim_session):
    sim = graphsim_session
    result = run(sim, memberships=[])
    assert result["rc"] == 0 and result["changed"] is False and result["results"] == []
    assert result["msg"] == "entra_group_member: nothing to do (no memberships given)"
    assert len(sim.log) == 0


def test_check_and_diff_mode_with_memberships_read_and_never_write(graphsim_session):
    sim = graphsim_session
    memberships = [{"target": "VPN Users", "member": LEAVER}, {"target": "Sales", "member": LEAVER}, {"target": "Sales", "member": LEAVER2}]
    result = run(sim, check_mode=True, diff=True, memberships=memberships)
    assert statuses(result) == [("VPN Users", LEAVER, "removed"), ("Sales", LEAVER, "absent"), ("Sales", LEAVER2, "removed")]
    assert result["check_mode"] is True and sim.log.writes() == []
    diffs = {entry["before_header"].split("'")[1]: (entry["before"]["members"], entry["after"]["members"]) for entry in result["diff"]}
    assert diffs == {"VPN Users": ([LEAVER], []), "Sales": ([LEAVER2], [])}


def test_teams_entries_ask_each_for_their_own_role_in_one_request(graphsim_session):
    sim = graphsim_session
    result = run(sim, module=teams_member, state="present", role="member",
                 memberships=[{"target": FALCON, "member": LEAVER, "role": "owner"}, {"target": "Project Falcon", "member": LEAVER2}])
    assert statuses(result) == [("Project Falcon", LEAVER, "added"), ("Project Falcon", LEAVER2, "added")]
    (add,) = sim.log.filter(method="POST", path_re=r"/members/add$")
    assert [value["roles"] for value in add.body["values"]] == [["owner"], []]
    assert sim.state.team_role(FALCON, sim.state.user_id(LEAVER)) == "owner"
    assert sim.state.team_role(FALCON, sim.state.user_id(LEAVER2)) == "member"


def test_teams_entries_keep_their_role_out_of_a_removal(graphsim_session):
    sim = graphsim_session
    result = run(sim, module=teams_member, memberships=[{"target": "Support Rotation", "member": LEAVER, "role": "owner"},
                                                        {"target": "Sales EMEA", "member": LEAVER2}])
    assert statuses(result) == [("Support Rotation", LEAVER, "removed"), ("Sales EMEA", LEAVER2, "removed")]
    assert [entry["role"] for entry in result["results"]] == ["member", "member"]  # the role before the change
    assert all("roles" not in value for entry in sim.log.filter(method="POST", path_re=r"/members/remove$") for value in entry.body["values"])
    assert "warnings" not in result


def test_administrative_units_take_memberships_too(graphsim_session):
    sim = graphsim_session
    result = run(sim, module=entra_au_member, memberships=[{"target": "Germany", "member": LEAVER}, {"target": "EMEA Sales", "member": LEAVER2}])
    assert statuses(result) == [("Germany", LEAVER, "removed"), ("EMEA Sales", LEAVER2, "removed")]
    assert not sim.state.is_member(sim.state.id_of("au", "EMEA Sales"), sim.state.user_id(LEAVER2))


def reorganisation_tenant(users, groups):
    """``users`` users, each in all of ``groups`` groups: a reorganisation removes every one of them."""
    spec = copy.deepcopy(load_tenant(None))
    upns = ["mover%05d@contoso.com" % number for number in range(users)]
    spec["users"] += [{"userPrincipalName": upn} for upn in upns]
    names = ["Reorg Group %02d" % number for number in range(groups)]
    spec["groups"] += [{"displayName": name, "kind": "security", "members": list(upns)} for name in names]
    return spec, upns, names


def assert_reorganisation_costs_one_write_per_pair(sim, users, groups):
    upns = ["mover%05d@contoso.com" % number for number in range(users)]
    names = ["Reorg Group %02d" % number for number in range(groups)]
    memberships = [{"target": name, "member": upn} for upn in upns for name in names]
    result = run(sim, memberships=memberships)
    assert result["rc"] == 0 and result["summary"]["removed"] == users * groups
    assert [(entry["target"]["display_name"], entry["member"]) for entry in result["results"]] == [(e["target"], e["member"]) for e in memberships]
    # Resolution: each group name once, the users 15 to a filter; the memberships, by group (fewer groups than users:
    # each group's members, every page); then one DELETE per pair, 20 to a $batch.
    assert sim.log.count(method="GET", path_re=r"^/v1\.0/groups$") == groups
    assert sim.log.count(method="GET", path_re=r"^/v1\.0/users$") == math.ceil(users / 15)
    pages = math.ceil(users / sim.page_size)
    assert sim.log.count(method="GET", path_re=r"^/v1\.0/groups/[^/]+/members$") == groups * pages
    assert sim.log.count(method="GET", path_re=r"/memberOf$") == 0
    assert sim.log.count(method="DELETE", path_re=r"/\$ref$") == users * groups
    resolution_batches = math.ceil((groups + math.ceil(users / 15)) / 20)
    first_pages = math.ceil(groups / 20)
    assert sim.log.count(method="POST", path_re=BATCH) == resolution_batches + first_pages + math.ceil(users * groups / 20)
    assert all(not sim.state.members(sim.state.id_of("group", name)) for name in names)


def test_two_thousand_pairs_resolve_each_target_and_member_once_and_send_one_write_each(graphsim_factory):
    spec, _upns, _names = reorganisation_tenant(100, 20)
    assert_reorganisation_costs_one_write_per_pair(graphsim_factory(tenant=spec), 100, 20)


@pytest.mark.slow
def test_twenty_thousand_pairs_resolve_each_target_and_member_once_and_send_one_write_each(graphsim_factory):
    spec, _upns, _names = reorganisation_tenant(1000, 20)
    assert_reorganisation_costs_one_write_per_pair(graphsim_factory(tenant=spec), 1000, 20)


def test_more_than_fifty_thousand_entries_are_refused_before_any_request(graphsim_session):
    """groups-and-administrative-units.md: "At most 50,000 entries in one task"."""
    sim = graphsim_session
    entry = {"target": "VPN Users", "member": LEAVER}
    result = run(sim, memberships=[entry] * 50001)
    assert result["rc"] == 1 and result["msg"].startswith("memberships has 50001 items; at most 50000 are accepted in one task")
    assert len(sim.log) == 0
