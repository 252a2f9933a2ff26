"""Bad input, fuzzed (issue 10): the modules' argument handling against the Graph simulator, and the role's argument spec.

Every case ends in a clear error (naming the option and the value, before any request) or in a
correct result for each (target, member) pair; never in a traceback. Whatever happens, the request
log shows only the paths the modules may use, ids and UPNs URL-encoded in them, display names as
OData string literals with their quotes doubled, and no write once validation failed.
"""
from __future__ import annotations

import os
import re
from urllib.parse import unquote

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modrun import run_module

from ansible_collections.entra.membership.plugins.module_utils._references import MAX_MEMBERS, MAX_TARGETS, shown
from ansible_collections.entra.membership.plugins.modules import entra_au_member, entra_group_member, entra_member_of_info, teams_member

# module name -> (module, its target option, simulator kind, changeable targets the fuzz may hit)
MODULES = {
    "entra_group_member": (entra_group_member, "groups", "group", ("VPN Users", "Marketing")),
    "entra_au_member": (entra_au_member, "administrative_units", "au", ("Germany", "EMEA Sales")),
    "teams_member": (teams_member, "teams", "team", ("Support Rotation", "Sales EMEA")),
}
# None of them is the only owner of a team above, so every pair's outcome follows from membership alone.
REAL_MEMBERS = ("leaver@contoso.com", "leaver2@contoso.com", "vera_fabrikam.com#EXT#@contoso.onmicrosoft.com")
STATUSES = {"removed", "added", "absent", "present", "failed", "skipped"}
ERROR_KEYS = {"status", "code", "message", "request_id"}

INJECTIONS = (
    "' or 1 eq 1", "/../users/x", "%2F..%2F", "$ref", "?$filter=", "#", "\u0000", "..", "/", "\\", "%00", "'", "''",
    "&$expand=members", "members/$ref", "\r\n", "\t", "\u202e", "\u200b", "\ud800", "\x85", "$batch", "(", ")", " ", "%",
    "?", "*", "\"", "<script>", "\u00e9", "\U0001f389", "#EXT#", "@", ";", ",", ":", "+", "=", "~",
)

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
COLLECTION = r"(?:groups|directory/administrativeUnits|administrativeUnits)"
# Every path (decoded, after /v1.0 or /beta) the member modules may ask for, by method.
ALLOWED_PATHS = {
    "GET": [re.compile(pattern + r"\Z") for pattern in (
        "/" + COLLECTION,                                     # a target by its exact display name ($filter)
        "/%s/%s" % (COLLECTION, GUID),                        # a target by id
        "/%s/%s/members" % (COLLECTION, GUID),                # check/diff mode: who is in it
        "/users",                                             # members' UPNs, 15 to a userPrincipalName in (...) $filter
        "/users/%s" % GUID,
        r"/users/[^/]+@[^/]+",                                # a UPN: one segment, whatever it holds
        r"/users\('(?:[^']|'')+'\)",                          # a UPN that starts with $ or holds a quote
        "/directoryObjects/%s" % GUID,                        # a member id that is no user
        "/teams/%s/members" % GUID,
        r"/users/%s/(?:memberOf|transitiveMemberOf)" % GUID,                                           # discovery, check mode
        r"/servicePrincipals/%s/memberOf" % GUID,                                                      # check mode: a service principal
        "/groups/%s/owners" % GUID,                                                                      # discovery: team owners
    )],
    "DELETE": [re.compile(r"/%s/%s/members/%s/\$ref\Z" % (COLLECTION, GUID, GUID))],
    "POST": [re.compile(pattern + r"\Z") for pattern in (
        r"/\$batch", r"/%s/%s/members/\$ref" % (COLLECTION, GUID), "/teams/%s/members/(?:add|remove)" % GUID)],
}
QUERY_OPTIONS = {"$filter", "$select", "$top", "$skiptoken"}  # $skiptoken: in the nextLink of a long list
IDENTITY_PATH = re.compile(r"/[0-9a-f-]{36}/(?:v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)\Z")
# What may stand in a request line: unreserved and sub-delimiter characters, '@', ':', '/' and percent escapes.
RAW_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:%[0-9A-F]{2}[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)*\Z")


def run(sim, name, targets, members, check_mode=False, **extra):
    module, option = MODULES[name][:2]
    return run_module(module, dict(sim.module_auth(), **{option: targets, "members": members}, **extra), check_mode=check_mode)


# -- what every run must show ----------------------------------------------------------------------

def assert_requests_are_intended(sim, targets, members, api_version="v1.0"):
    """Only the allowed paths, URL-encoded; UPNs and display names exactly as given; writes only with /$ref or to Teams."""
    given_members = {str(value).lower() for value in members}
    names = {str(value) for value in targets}
    for entry in sim.log:
        if "/oauth2/" in entry.path or "/.well-known/" in entry.path:
            assert IDENTITY_PATH.match(entry.path), entry.path
            continue
        assert RAW_PATH.match(entry.raw_path), "not URL-encoded: %r" % entry.raw_path
        assert unquote(entry.raw_path) == entry.path
        version, rest = entry.path[1:].split("/", 1)
        assert version == api_version, entry.path
        rest = "/" + rest
        assert any(pattern.match(rest) for pattern in ALLOWED_PATHS.get(entry.method, ())), "%s %s" % (entry.method, entry.path)
        assert ".." not in rest.split("/"), entry.path
        user_key = re.match(r"/users(?:/([^/]+)|\('(.+)'\))\Z", rest)
        if user_key:
            key = user_key.group(1) if user_key.group(1) is not None else user_key.group(2).replace("''", "'")
            assert key.lower() in given_members, "a user read that no member asked for: %r" % key
        assert set(entry.query) <= QUERY_OPTIONS, "a query option no module sends: %s" % entry.query  # e.g. a name's '&$top=1'
        if rest == "/users":
            # members' UPNs; unknown ones again as mail addresses, to hint at a guest's #EXT# name
            upns = re.fullmatch(r"(?:userPrincipalName|mail) in \(('(?:[^']|'')*'(?:,'(?:[^']|'')*')*)\)", entry.query.get("$filter", ""))
            assert upns, entry.query["$filter"]
            values = [value.replace("''", "'") for value in re.findall(r"'((?:[^']|'')*)'", upns.group(1))]
            assert len(values) <= 15 and all(value.lower() in given_members for value in values), entry.query["$filter"]
        elif "$filter" in entry.query:
            literal = re.fullmatch(r"displayName eq '((?:[^']|'')*)'", entry.query["$filter"])
            # a name that matched nothing: the names starting as it does, for near-miss suggestions (or a long name's prefix)
            prefix = re.fullmatch(r"startswith\(displayName,'((?:[^']|'')*)'\)", entry.query["$filter"])
            assert literal or prefix, entry.query["$filter"]
            if literal:
                assert literal.group(1).replace("''", "'") in names, entry.query["$filter"]
            else:
                assert any(name.startswith(prefix.group(1).replace("''", "'")) for name in names), entry.query["$filter"]
        if entry.method == "DELETE":
            assert entry.path.endswith("/$ref")
    assert not sim.destructive_events


def assert_clear_refusal(result, option, values, sim):
    """A refusal before any request: it names the option and (one of) the values."""
    message = result["msg"]
    assert result["rc"] == 1 and result["failed"] is True and "results" not in result, result
    assert "Traceback" not in message and "exception" not in result
    # ansible-core < 2.19 words its own element check "Elements value for option 'members' is of type ...".
    assert re.match(r"(%s\b|argument '%s'|value of %s\b|Elements value for option '%s')" % ((option,) * 4), message), message
    # Ansible converts list elements to strings before the module sees them: 0 is '0', ['x'] is "['x']".
    listed = [str(value) for value in values if value is not None]
    assert (message.startswith("argument '%s' is of type" % option)  # ansible-core's own type check names the type
            or "an empty value" in message or "items; at most" in message or not listed
            or any(shown(value)[:40] in message or value[:40] in message for value in listed)), message
    assert len(sim.log) == 0, "a request was sent after validation failed: %s" % [entry.path for entry in sim.log]


def expected_status(sim, kind, target_id, member_ref, state):
    member_id = real_member_id(sim, member_ref)
    if member_id is None:
        return "absent" if state == "absent" else "failed"
    before = sim.state.is_member(target_id, member_id)
    if state == "absent":
        return "removed" if before else "absent"
    return "present" if before else "added"


def real_member_id(sim, ref):
    if not isinstance(ref, str):
        return None
    for upn in REAL_MEMBERS:
        user_id = sim.state.user_id(upn)
        if ref.lower() in (upn.lower(), user_id.lower()):
            return user_id
    return None


def check_run(sim, name, targets, members, state="absent", check_mode=False, api_version="v1.0"):
    """Run ``name`` and hold the result and the request log to the contract; returns the result."""
    module, option, kind, real_names = MODULES[name]
    real_ids = {sim.state.id_of(kind, real).lower() for real in real_names}
    before = {(target_id, member_ref): expected_status(sim, kind, target_id, member_ref, state)
              for target_id in real_ids for member_ref in members if isinstance(member_ref, str)}
    result = run(sim, name, targets, members, check_mode=check_mode, state=state, api_version=api_version)
    assert_requests_are_intended(sim, targets, members, api_version)
    assert "exception" not in result and "Traceback" not in str(result.get("msg")), result
    if "results" not in result:
        if "name the same" in result["msg"]:
            assert sim.log.writes() == [] and result["rc"] == 1
            return result
        if result["rc"] == 0:
            assert result["changed"] is False and sim.log.writes() == []
            return result
        bad_option = "members" if result["msg"].startswith(("members", "argument 'members'")) else option
        assert_clear_refusal(result, bad_option, members if bad_option == "members" else targets, sim)
        return result

    assert result["rc"] == (1 if result.get("failed") else 0)
    decided = set()
    for entry in result["results"]:
        assert entry["status"] in STATUSES
        assert entry["error"] is None or set(entry["error"]) == ERROR_KEYS
        target_id = (entry["target"]["id"] or "").lower()
        if target_id not in real_ids:
            assert entry["status"] == "failed" and entry["error"] and entry["error"]["message"], entry
            continue
        expected = before[(target_id, entry["member"])]
        assert entry["status"] == expected, (entry, expected)
        if expected != "failed":
            decided.add((target_id, (entry["member_id"] or "").lower()))
    writes = sim.log.writes()
    if check_mode:
        assert writes == []
    for write in writes:
        target_id = re.search(GUID, write.path).group(0)
        assert target_id in real_ids, write.path
        if write.method == "DELETE":
            assert (target_id, write.path.split("/")[-2]) in decided, write.path
    if not check_mode:
        for entry in result["results"]:
            member_id, target_id = entry["member_id"], (entry["target"]["id"] or "")
            if entry["status"] in ("removed", "added"):
                assert sim.state.is_member(target_id, member_id) is (entry["status"] == "added"), entry
    return result


# -- the cases the issue names, one by one ----------------------------------------------------------

NAMED_INJECTIONS = ("' or 1 eq 1", "/../users/x", "%2F..%2F", "$ref", "?$filter=", "#", "\u0000")


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("injection", NAMED_INJECTIONS, ids=repr)
def test_injections_in_names_upns_and_ids_never_remove_anyone_else(graphsim_session, name, injection):
    sim = graphsim_session
    module, option, kind, real_names = MODULES[name]
    real_id = sim.state.id_of(kind, real_names[0])
    leaver_id = sim.state.user_id(REAL_MEMBERS[0])
    cases = [
        ([real_names[0] + injection], [REAL_MEMBERS[0]]),                  # in a display name
        ([injection], [REAL_MEMBERS[0]]),
        ([real_id + injection], [REAL_MEMBERS[0]]),                         # after a target id
        ([real_names[0]], ["lee" + injection + "@contoso.com"]),            # in a UPN
        ([real_names[0]], [leaver_id + injection]),                         # after a member id
        ([real_names[0]], [REAL_MEMBERS[0], injection + REAL_MEMBERS[1]]),  # next to a good member: still nothing written
    ]
    for targets, members in cases:
        sim.reset()
        result = check_run(sim, name, targets, members)
        assert not any(entry["status"] == "removed" and entry["member"] != REAL_MEMBERS[0] for entry in result.get("results", []))


def test_a_quote_in_a_name_is_doubled_in_the_filter_and_a_hash_in_a_upn_encoded(graphsim_session):
    sim = graphsim_session
    result = check_run(sim, "entra_group_member", ["Sales' or 1 eq 1 or displayName eq 'VPN Users"], ["a#b@contoso.com"])
    assert result["results"][0]["error"]["code"] == "TargetNotFound"
    # the name, then its first three characters for near-miss suggestions, each a quoted literal
    query, near = [entry.query["$filter"] for entry in sim.log if "$filter" in entry.query and entry.path.endswith("/groups")]
    assert query == "displayName eq 'Sales'' or 1 eq 1 or displayName eq ''VPN Users'" and near == "startswith(displayName,'Sal')"
    # UPNs are read in a filter (its encoding: tests/unit/test_resolve.py); an unknown one again as a guest's mail address
    read, as_mail = sim.log.filter(method="GET", path_re=r"/users$")
    assert read.query["$filter"] == "userPrincipalName in ('a#b@contoso.com')" and as_mail.query["$filter"] == "mail in ('a#b@contoso.com')"
    assert sim.state.is_member(sim.state.id_of("group", "VPN Users"), sim.state.user_id(REAL_MEMBERS[0]))


@pytest.mark.parametrize("member, shown_as", [
    ("0f8fad5b-d9cb-469f-a165-70867728950e\n", "0f8fad5b-d9cb-469f-a165-70867728950e\\n"),  # '$' of a regex matches before '\n'
    ("x\ud800@contoso.com", "x\\ud800@contoso.com"),                                        # a lone surrogate cannot be UTF-8
    ("x\u0000@contoso.com", "x\\x00@contoso.com"),
])
def test_members_that_are_almost_ids_or_not_text_are_refused_and_shown_escaped(graphsim_session, member, shown_as):
    result = run(graphsim_session, "entra_group_member", ["VPN Users"], [member])
    assert_clear_refusal(result, "members", [member], graphsim_session)
    assert "'%s'" % shown_as in result["msg"]


@pytest.mark.parametrize("target, shown_as", [
    ("0f8fad5b-d9cb-469f-a165-70867728950e\n", "0f8fad5b-d9cb-469f-a165-70867728950e\\n"),
    ("Sales\ud800", "Sales\\ud800"),
])
def test_targets_that_are_almost_ids_or_not_text_are_refused(graphsim_session, target, shown_as):
    result = run(graphsim_session, "teams_member", [target], [REAL_MEMBERS[0]])
    assert_clear_refusal(result, "teams", [target], graphsim_session)
    assert "'%s'" % shown_as in result["msg"]


def test_a_bidi_mark_in_a_name_is_text_looked_up_exactly(graphsim_session):
    result = check_run(graphsim_session, "teams_member", ["Sales EMEA\u202e"], [REAL_MEMBERS[0]])
    assert result["results"][0]["error"]["code"] == "TargetNotFound"
    assert "Sales EMEA\\u202e" in result["results"][0]["error"]["message"]


@pytest.mark.parametrize("option, value", [
    ("tenant_id", "0f8fad5b-d9cb-469f-a165-70867728950e\n"),
    ("client_id", "0f8fad5b-d9cb-469f-a165-70867728950e\n"),
    ("tenant_id", "contoso.onmicrosoft.com/../x"),
    ("timeout", "30s"),
    ("max_retries", 10 ** 20),
    ("validate_certs", "maybe"),
    ("cloud", "AzureCloud"),
])
def test_bad_connection_options_are_refused_before_any_request(graphsim_session, option, value):
    sim = graphsim_session
    result = run_module(entra_group_member, dict(sim.module_auth(), groups=["VPN Users"], members=[REAL_MEMBERS[0]], **{option: value}))
    assert_clear_refusal(result, option, [value], sim)


# -- wrong types and sizes ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("which, value", [
    ("targets", {"VPN Users": 1}),
    ("targets", None),
    ("members", None),
    ("members", {"upn": "leaver@contoso.com"}),
    ("members", [None]),
    ("members", [["leaver@contoso.com"]]),
    ("members", [{"id": "x"}]),
    ("members", [3.5]),
    ("targets", [""]),
    ("targets", ["  "]),
    ("state", "ABSENT"),
    ("api_version", "v2"),
])
def test_wrong_types_are_refused_naming_the_option(graphsim_session, name, which, value):
    sim = graphsim_session
    option = MODULES[name][1] if which == "targets" else which
    args = {MODULES[name][1]: ["VPN Users"], "members": [REAL_MEMBERS[0]]}
    args[option] = value
    result = run_module(MODULES[name][0], dict(sim.module_auth(), **args))
    assert_clear_refusal(result, option, value if isinstance(value, list) else [value], sim)


def test_a_list_templated_into_one_member_is_refused_not_reported_absent(graphsim_session):
    """``members: ["{{ leavers }}"]`` gives the module "['leaver@contoso.com']": no user, so it once came back 'absent'."""
    sim = graphsim_session
    result = run(sim, "entra_group_member", ["VPN Users"], [[REAL_MEMBERS[0]]])
    assert_clear_refusal(result, "members", ["['%s']" % REAL_MEMBERS[0]], sim)
    assert "it contains '['" in result["msg"]
    assert sim.state.is_member(sim.state.id_of("group", "VPN Users"), sim.state.user_id(REAL_MEMBERS[0]))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_lists_beyond_the_limit_are_refused_before_any_request(graphsim_session, name):
    sim = graphsim_session
    option = MODULES[name][1]
    members = ["user%05d@contoso.com" % number for number in range(MAX_MEMBERS + 1)]
    result = run(sim, name, ["VPN Users"], members)
    assert_clear_refusal(result, "members", members, sim)
    assert "members has %d items; at most %d" % (MAX_MEMBERS + 1, MAX_MEMBERS) in result["msg"]
    result = run(sim, name, ["Target %d" % number for number in range(MAX_TARGETS + 1)], [REAL_MEMBERS[0]])
    assert_clear_refusal(result, option, [], sim)
    assert "%s has %d items" % (option, MAX_TARGETS + 1) in result["msg"]


# -- hypothesis ------------------------------------------------------------------------------------------

def _pieces():
    return st.one_of(st.sampled_from(INJECTIONS), st.text(st.characters(exclude_categories=()), max_size=8))


# Odd but valid: they pass validation and test the encoding of what reaches Graph.
ODD_MEMBERS = ("o'brien@contoso.com", "$svc@contoso.com", "a#b@contoso.com", "\u00fcn\u00ef@contoso.com", "x\u202e@contoso.com",
               "a&b=c@contoso.com", "a+b@contoso.com", "$ref@contoso.com", "0f8fad5b-d9cb-469f-a165-70867728950e")
ODD_NAMES = ("Sales' or 1 eq 1", "/../users/x", "%2F..%2F", "$ref", "?$filter=", "#", "S\u00e4les \U0001f389", "a'b''c", "x&$top=1")


def plausible_lists(sim, kind=None, real_names=()):
    """Lists that mostly pass validation, so that the fuzz also reaches Graph and changes things."""
    if kind is None:
        good = list(REAL_MEMBERS) + [sim.state.user_id(upn) for upn in REAL_MEMBERS] + list(ODD_MEMBERS)
    else:
        good = list(real_names) + [sim.state.id_of(kind, name) for name in real_names] + list(ODD_NAMES)
    return st.lists(st.sampled_from(good), min_size=1, max_size=3)


@st.composite
def member_values(draw, sim):
    """A member as a user might (mis)type it: real or not, UPN or id, injected anywhere, or not a string at all."""
    real_upn = draw(st.sampled_from(REAL_MEMBERS))
    real_id = sim.state.user_id(real_upn)
    piece = draw(_pieces())
    if draw(st.booleans()):  # half of them good, so that runs get past validation and change things
        return draw(st.sampled_from([real_upn, real_upn.upper(), real_id, real_id.upper()]))
    return draw(st.sampled_from([
        piece + real_upn, real_upn + piece, real_upn.replace("@", piece + "@", 1), real_upn.replace("@", "@" + piece, 1),
        real_id + piece, piece + real_id, piece, "%s@%s" % (piece, draw(_pieces())),
        "0f8fad5b-d9cb-469f-a165-70867728950e", draw(st.integers()), draw(st.booleans()),
    ]))


@st.composite
def target_values(draw, sim, kind, real_names):
    real_name = draw(st.sampled_from(real_names))
    real_id = sim.state.id_of(kind, real_name)
    piece = draw(_pieces())
    if draw(st.booleans()):
        return draw(st.sampled_from([real_name, real_id, real_id.upper()]))
    return draw(st.sampled_from([
        real_name.lower(), real_name + piece, piece + real_name, piece,
        real_id + piece, "No Such %s" % piece, draw(st.integers(min_value=-10, max_value=10 ** 6)),
    ]))


FUZZ = settings(derandomize=True, max_examples=50, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_fuzzed_targets_and_members_are_refused_or_answered_pair_by_pair(graphsim_session, name):
    sim = graphsim_session
    kind, real_names = MODULES[name][2:]

    @FUZZ
    @given(targets=st.one_of(plausible_lists(sim, kind, real_names), st.lists(target_values(sim, kind, real_names), max_size=3)),
           members=st.one_of(plausible_lists(sim), st.lists(member_values(sim), max_size=4)),
           state=st.sampled_from(["absent", "absent", "present"]),
           api_version=st.sampled_from(["v1.0", "beta"]),
           check_mode=st.booleans())
    def case(targets, members, state, api_version, check_mode):
        sim.reset()
        result = check_run(sim, name, targets, members, state=state, check_mode=check_mode, api_version=api_version)
        seen.add("refused" if "results" not in result else "answered")
        seen.update(entry["status"] for entry in result.get("results", []))

    seen = set()
    case()
    # The fuzz reached both sides: refusals, and runs that resolved, changed and failed pairs.
    assert {"refused", "answered", "removed", "absent", "failed"} <= seen, seen


# -- the role's argument spec ------------------------------------------------------------------------------

ROLE_SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles", "offboard", "meta", "argument_specs.yml")


def _role_value():
    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), _pieces(),
                       st.sampled_from(["leaver@contoso.com", "a@x.com\nb@y.com", "a@x.com, b@y.com", "groups,teams", "yes", "maybe", ""]))
    return st.one_of(scalar, st.lists(st.one_of(scalar, st.lists(scalar, max_size=2), st.dictionaries(_pieces(), scalar, max_size=2)), max_size=4),
                     st.dictionaries(_pieces(), scalar, max_size=2))


@pytest.mark.skipif(not os.path.isfile(ROLE_SPEC), reason="roles/offboard/meta/argument_specs.yml has not landed yet")
def test_fuzzed_role_arguments_are_validated_or_refused_naming_the_option():
    """What Ansible does when the role starts (validate_argument_spec), then the role's own reading of its inputs."""
    from ansible.errors import AnsibleFilterError
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    from ansible_collections.entra.membership.plugins.filter.offboard import offboard_inputs

    with open(ROLE_SPEC, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    given_lists = [option for option, option_spec in spec.items() if option_spec["type"] == "list"]
    outcomes = set()

    @settings(FUZZ, max_examples=400)  # no simulator involved: cheap
    @given(st.fixed_dictionaries({}, optional={option: _role_value() for option in spec}))
    def case(given_vars):
        try:
            result = ArgumentSpecValidator(spec).validate(dict(given_vars), validate_role_argument_spec=True)
        except OverflowError:
            # ansible-core's own int check (offboard_chunk_size) cannot convert an infinite float: its limit, not the role's.
            assume(False)
        if result.error_messages:
            outcomes.add("refused by the spec")
            for message in result.error_messages:
                assert any(option in message for option in spec), message
            return
        for option, value in result.validated_parameters.items():
            kind = spec[option]["type"]
            assert value is None or isinstance(value, {"list": list, "bool": bool, "path": str, "str": str, "int": int}[kind]), (option, value)
            if kind == "list" and value is not None:
                assert all(isinstance(entry, str) for entry in value), (option, value)
        # The role reads the variables as given (validation does not rewrite them); defaults fill the rest.
        raw = {option: given_vars.get(option, spec[option].get("default")) for option in given_lists}
        try:
            inputs = offboard_inputs(raw)
        except AnsibleFilterError as exc:
            outcomes.add("refused by the role")
            assert any(option in str(exc) for option in spec), str(exc)
            return
        outcomes.add("accepted")
        assert set(inputs) == set(given_lists) and inputs["offboard_users"]
        for option, entries in inputs.items():
            assert all(isinstance(entry, str) and entry and entry == entry.strip() for entry in entries), (option, entries)
            assert len(entries) == len(set(entries)), (option, entries)
        assert set(inputs["offboard_scopes"]) <= {"groups", "administrative_units", "teams"}

    case()
    assert outcomes == {"refused by the spec", "refused by the role", "accepted"}, outcomes


@pytest.mark.parametrize("include_transitive", [False, True])
def test_fuzzed_users_are_refused_or_read_one_entry_each_without_a_write(graphsim_session, include_transitive):
    """entra_member_of_info reads only: any users list ends in a refusal or one correct entry per user, and no write."""
    sim = graphsim_session

    @settings(FUZZ, max_examples=25)
    @given(users=st.one_of(plausible_lists(sim), st.lists(member_values(sim), max_size=4)))
    def case(users):
        sim.reset()
        result = run_module(entra_member_of_info, dict(sim.module_auth(), users=users, include_transitive=include_transitive))
        assert_requests_are_intended(sim, [], users)
        assert sim.log.writes() == [] and "exception" not in result
        if result["rc"] == 1 and "users" not in result:
            assert_clear_refusal(result, "users", users, sim)
            outcomes.add("refused")
            return
        assert result["rc"] == 0 and result["changed"] is False, result
        for entry in result["users"]:
            assert entry["found"] is (real_member_id(sim, entry["user"]) is not None), entry
            assert entry["error"] is None
            if entry["found"]:
                assert entry["id"] == real_member_id(sim, entry["user"])
                outcomes.add("found")
            else:
                outcomes.add("not found")

    outcomes = set()
    case()
    assert outcomes == {"refused", "found", "not found"}, outcomes
