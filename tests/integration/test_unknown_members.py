"""unknown_members (issue 17, item 1): a member no object matches is never a silent success.

warn (default): its pairs are absent, one Ansible warning names each such member, msg counts them; fail: its pairs
fail with MemberNotFound; ignore: absent and silent, as 1.0. With state=present it always fails. A guest given by
its e-mail address is found by ``mail`` and the message names the #EXT# user principal name to give instead.
"""
import pytest

from modrun import run_module

from ansible_collections.entra.membership.plugins.modules import (
    entra_app_role_assignment,
    entra_au_member,
    entra_group_member,
    entra_user_account,
    teams_member,
)

LEAVER = "leaver@contoso.com"
TYPO = "leavr@contoso.com"
VERA_MAIL = "vera@fabrikam.com"
VERA_UPN = "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com"
CASES = [
    (entra_group_member, "groups", "VPN Users"),
    (entra_au_member, "administrative_units", "Germany"),
    (teams_member, "teams", "Support Rotation"),
]


def run(sim, module, check_mode=False, **args):
    return run_module(module, dict(sim.module_auth(), **args), check_mode=check_mode)


@pytest.mark.parametrize("module, option, target", CASES)
def test_a_misspelled_member_is_absent_with_a_warning_naming_it_and_counted_in_msg(graphsim_session, module, option, target):
    sim = graphsim_session
    result = run(sim, module, **{option: [target], "members": [TYPO, LEAVER]})
    assert [entry["status"] for entry in result["results"]] == ["absent", "removed"] and result["rc"] == 0
    (warning,) = [text for text in result["warnings"] if TYPO in text]
    assert warning.startswith("members: no user or other object in the tenant matches 'leavr@contoso.com' (1 member)")
    assert "unknown_members: fail" in warning
    assert result["msg"].endswith("; 1 member matches no object: 'leavr@contoso.com'")
    assert len(sim.log.writes()) == 1  # only the leaver's removal


def test_many_unknown_members_are_counted_and_the_warning_lists_the_first_ten(graphsim_session):
    sim = graphsim_session
    typos = ["nobody%02d@contoso.com" % number for number in range(12)]
    result = run(sim, entra_group_member, groups=["Sales"], members=typos)
    (warning,) = result["warnings"]
    assert "'nobody09@contoso.com' and 2 more (12 members)" in warning and "nobody10" not in warning
    assert "12 members match no object: 'nobody00@contoso.com', 'nobody01@contoso.com', 'nobody02@contoso.com' and 9 more" in result["msg"]
    assert sim.log.writes() == []


@pytest.mark.parametrize("module, option, target", CASES)
def test_unknown_members_fail_fails_the_pair_with_member_not_found_and_writes_nothing_for_it(graphsim_session, module, option, target):
    sim = graphsim_session
    result = run(sim, module, **{option: [target], "members": [TYPO], "unknown_members": "fail"})
    (entry,) = result["results"]
    assert result["failed"] is True and entry["status"] == "failed" and entry["error"]["code"] == "MemberNotFound"
    assert entry["error"]["message"] == "no user or other object has the id or user principal name 'leavr@contoso.com' in this tenant"
    assert result["msg"].startswith("%s: %s. " % (module.__name__.rsplit(".", 1)[-1], entry["error"]["message"]))
    assert not [text for text in result.get("warnings", []) if TYPO in text] and sim.log.writes() == []


def test_unknown_members_ignore_is_silent_and_absent(graphsim_session):
    sim = graphsim_session
    result = run(sim, entra_group_member, groups=["VPN Users"], members=[TYPO], unknown_members="ignore")
    assert [entry["status"] for entry in result["results"]] == ["absent"] and result["rc"] == 0
    assert not result.get("warnings") and "matches no object" not in result["msg"]
    # ignore does not even look for a guest with that address
    assert sim.log.count(method="GET", path_re=r"/users$") == 1


def test_an_unknown_member_to_add_fails_whatever_unknown_members_says(graphsim_session):
    sim = graphsim_session
    result = run(sim, entra_group_member, groups=["Sales"], members=[TYPO], state="present", unknown_members="ignore")
    assert [entry["error"]["code"] for entry in result["results"]] == ["MemberNotFound"] and result["failed"] is True
    assert sim.log.writes() == []


def test_a_guest_given_by_its_e_mail_address_is_named_by_its_ext_user_principal_name(graphsim_session):
    sim = graphsim_session
    guest_id = sim.state.user_id(VERA_UPN)
    result = run(sim, entra_group_member, groups=["Contractors"], members=[VERA_MAIL])
    (warning,) = result["warnings"]
    assert "'vera@fabrikam.com' is the e-mail address of '%s' (%s): give its user principal name or its id" % (VERA_UPN, guest_id) in warning
    assert sim.state.is_member(sim.state.id_of("group", "Contractors"), guest_id) and sim.log.writes() == []
    failed = run(sim, entra_group_member, groups=["Contractors"], members=[VERA_MAIL], unknown_members="fail")
    assert VERA_UPN in failed["results"][0]["error"]["message"]


def test_an_unknown_address_that_is_nobodys_mail_gets_the_general_guest_hint(graphsim_session):
    sim = graphsim_session
    result = run(sim, entra_group_member, groups=["Contractors"], members=["someone@fabrikam.com"])
    (warning,) = result["warnings"]
    assert ("its pairs are reported already absent; a guest is given by its user principal name "
            "(<address with '@' as '_'>#EXT#@<tenant>.onmicrosoft.com) or its id. Set unknown_members") in warning


def test_check_mode_warns_about_the_same_unknown_members(graphsim_session):
    sim = graphsim_session
    result = run(sim, teams_member, check_mode=True, teams=["Support Rotation"], members=[TYPO])
    assert [entry["status"] for entry in result["results"]] == ["absent"]
    assert [text for text in result["warnings"] if TYPO in text] and sim.log.writes() == []


# -- the access and account modules share the rule (plugins/module_utils/_unknown_members.py) ----------------------------

def test_enabling_the_account_of_a_user_that_does_not_exist_fails_naming_it(graphsim_session):
    """A restore (account_enabled: true) of a user that is not there cannot be done: failed, never 'absent'."""
    sim = graphsim_session
    result = run(sim, entra_user_account, users=[TYPO], account_enabled=True)
    (entry,) = result["results"]
    assert result["failed"] is True and entry["status"] == "failed" and entry["error"]["code"] == "MemberNotFound"
    assert result["msg"].startswith("entra_user_account: no user or other object has the id or user principal name 'leavr@contoso.com'")
    assert sim.log.writes() == []


def test_disabling_the_account_of_a_user_that_does_not_exist_is_absent_with_the_warning(graphsim_session):
    sim = graphsim_session
    result = run(sim, entra_user_account, users=[TYPO], account_enabled=False)
    assert [entry["status"] for entry in result["results"]] == ["absent"] and result["rc"] == 0
    (warning,) = [text for text in result["warnings"] if TYPO in text]
    assert warning.startswith("users: no user or other object in the tenant matches 'leavr@contoso.com' (1 member)")
    assert sim.log.writes() == []


def test_an_unknown_principal_fails_an_app_role_removal_under_unknown_members_fail(graphsim_session):
    sim = graphsim_session
    result = run(sim, entra_app_role_assignment, principals=[TYPO], applications=["all"], unknown_members="fail")
    assert [entry["error"]["code"] for entry in result["results"]] == ["MemberNotFound"] and result["failed"] is True
    assert sim.log.writes() == []


# -- lists written as text (issue 17, item 9): the modules take YAML lists and say so ------------------------------------

@pytest.mark.parametrize("option, text", [
    ("members", "leaver@contoso.com, leaver2@contoso.com"),
    ("members", "leaver@contoso.com\nleaver2@contoso.com"),
    ("groups", "VPN Users, Sales"),
    ("groups", "VPN Users\nSales\n"),
])
def test_a_list_written_as_one_string_is_refused_saying_what_to_write_instead(graphsim_session, option, text):
    sim = graphsim_session
    args = {"groups": ["VPN Users"], "members": [LEAVER]}
    args[option] = text
    result = run(sim, entra_group_member, **args)
    assert result["failed"] is True and result["msg"].startswith(option + ": ")
    assert result["msg"].endswith("%s looks like several entries written as one string (one per line, or separated by \", \"): give a YAML "
                                  "list instead, one '- entry' per line or [first, second]; the modules do not split text (the offboarding "
                                  "role's list options do)" % option), result["msg"]
    assert len(sim.log) == 0


def test_a_comma_separated_string_without_spaces_is_split_by_ansible_and_works(graphsim_session):
    """Ansible's own list type splits a string at commas; without spaces the entries are clean."""
    sim = graphsim_session
    result = run(sim, entra_group_member, groups="VPN Users,Sales", members="leaver@contoso.com,leaver2@contoso.com")
    assert result["rc"] == 0 and len(result["results"]) == 4
