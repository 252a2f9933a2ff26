"""The MemberEngine contract: what every engine declares, what it gets by default, what it must implement."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._engine_base import MemberEngine, Pair
from ansible_collections.entra.membership.plugins.module_utils._engine_directory import ADMINISTRATIVE_UNITS, GROUPS, DirectoryMembers
from ansible_collections.entra.membership.plugins.module_utils._engine_teams import TeamMembers
from ansible_collections.entra.membership.plugins.module_utils._resolve import Member

USER = "18a80140-b0fb-4489-b360-2f6efaf225a0"


def test_every_engine_is_a_member_engine_naming_its_option_target_type_and_noun():
    engines = {"groups": DirectoryMembers(GROUPS), "administrative_units": DirectoryMembers(ADMINISTRATIVE_UNITS), "teams": TeamMembers()}
    for option, engine in engines.items():
        assert isinstance(engine, MemberEngine)
        assert (engine.option, engine.target_type) == (option, option.rstrip("s"))
        assert engine.noun == engine.target_type.replace("_", " ")
    assert [engine.with_role for engine in engines.values()] == [False, False, True]


def test_an_engine_refuses_nothing_and_warns_of_nothing_unless_it_says_so():
    engine = MemberEngine()
    pair = Pair("Sales", None, "ada@contoso.com", Member("ada@contoso.com", USER, found=True))
    assert engine.option_warnings({"state": "absent"}) == []
    assert engine.target_refusal(None) is None and engine.member_refusal(pair.member, "absent") is None
    assert engine.diff_label(pair) == "ada@contoso.com" and engine.diff_label(pair, after=True) == "ada@contoso.com"


def test_an_engine_that_cannot_decide_pairs_is_told_so_by_name():
    class Incomplete(MemberEngine):
        option = "things"

    with pytest.raises(NotImplementedError, match="^Incomplete must implement decide_open_pairs$"):
        Incomplete().decide_open_pairs(None, [], "absent", False, False)


def test_a_pair_has_a_member_id_only_once_its_member_is_found():
    assert Pair("Sales", None, "ada@contoso.com", Member("ada@contoso.com", USER, found=True)).member_id == USER
    assert Pair("Sales", None, "gone@contoso.com", Member("gone@contoso.com")).member_id is None
    assert Pair("Sales", None, "x", None).member_id is None
