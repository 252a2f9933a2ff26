"""The public contract (INTERFACE.md), read from INTERFACE.md itself, against what the collection declares.

INTERFACE.md is normative: these tests parse its tables and its return block instead of retyping
them, and hold the shared argument spec, the doc fragment, the modules' documentation (as
ansible-doc renders it, fragments merged) and meta/runtime.yml to it. Behaviour against the Graph
simulator is in tests/integration/test_contract.py, which reuses the parsing here.

The repository carries INTERFACE.md as docs/dev/interface.md, so CI holds the code to it on a
bare clone; where the design folder sits beside the repository (../shared/design/INTERFACE.md),
the copy must equal it. ENTRA_INTERFACE_MD points elsewhere.
"""
from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.entra.membership.plugins.doc_fragments.graph import ModuleDocFragment
from ansible_collections.entra.membership.plugins.module_utils._connection_options import ARGSPEC, with_environment_credentials

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTERFACE_PATH = os.environ.get("ENTRA_INTERFACE_MD") or os.path.join(REPO_ROOT, "docs", "dev", "interface.md")
DESIGN_INTERFACE_PATH = os.path.join(os.path.dirname(REPO_ROOT), "shared", "design", "INTERFACE.md")
FQCN = "entra.membership."
# What the Azure names in INTERFACE.md's cloud row stand for (the row lists the names, not the mapping).
AZURE_CLOUD_NAMES = {"AzureCloud": "global", "AzureUSGovernment": "usgov", "AzureChinaCloud": "china"}
_TICKED = re.compile(r"`([^`]+)`")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]+\Z")


# -- INTERFACE.md, parsed --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def interface_text():
    with open(INTERFACE_PATH, encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.skipif(not os.path.isfile(DESIGN_INTERFACE_PATH), reason="no design folder beside the repository (a bare clone)")
def test_the_repository_copy_of_interface_md_is_the_design_one():
    with open(DESIGN_INTERFACE_PATH, encoding="utf-8") as handle:
        assert interface_text() == handle.read(), "docs/dev/interface.md differs from %s: copy it again" % DESIGN_INTERFACE_PATH


def _section(heading):
    text = interface_text()
    start = text.index(heading + "\n")
    following = re.search(r"^#{1,%d} " % heading.index(" "), text[start + len(heading):], re.MULTILINE)
    return text[start:start + len(heading) + following.start()] if following else text[start:]


def table(heading):
    """The rows (lists of cell texts) of the first table under ``heading``, header and rule left out."""
    rows = []
    for line in _section(heading).splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


@functools.lru_cache(maxsize=None)
def interface_modules():
    """Module name -> target cell, in the table's order."""
    return {_TICKED.match(row[0]).group(1): row[1] for row in table("## Modules")}


def member_modules():
    """The modules with a target option (all but the discovery module), in the table's order."""
    return [name for name in interface_modules() if not name.endswith("_info")]


@functools.lru_cache(maxsize=None)
def auth_options():
    """Option -> {'env': [variables in order], 'values': [other ticked words of the env cell], 'notes': str}."""
    options = {}
    for option_cell, env_cell, notes in table("### Authentication and endpoint options (one doc fragment, one action group)"):
        ticked = _TICKED.findall(env_cell)
        options[_TICKED.match(option_cell).group(1)] = {
            "env": [word for word in ticked if _ENV_NAME.match(word)],
            "values": [word for word in ticked if not _ENV_NAME.match(word)],
            "notes": notes,
        }
    return options


def documented_default(option):
    """The default INTERFACE.md gives in the notes ("default 30", "`global` (default)"), or None."""
    notes = auth_options()[option]["notes"]
    match = re.search(r"\bdefault (\w+)", notes) or re.search(r"`(\w+)` \(default\)", notes)
    return yaml.safe_load(match.group(1)) if match else None


@functools.lru_cache(maxsize=None)
def member_options():
    """Option cell -> type cell of the shared member options table ("`state`" -> "`absent` (default) or `present`")."""
    return {row[0]: row[1] for row in table("### Options shared by the three member modules")}


@functools.lru_cache(maxsize=None)
def additions_table():
    """Option -> notes of the member modules' 1.1 additions."""
    return {_TICKED.match(row[0]).group(1): row[1] for row in table("### Member modules")}


def target_options():
    """Member module -> its target option: the first row names them in the modules' order."""
    cell = next(cell for cell in member_options() if " / " in cell)
    return dict(zip(member_modules(), _TICKED.findall(cell)))


def choices_of(notes):
    """``(choices, default)`` from "`absent` (default) or `present`"."""
    choices = _TICKED.findall(notes)
    default = re.search(r"`([^`]+)` \(default\)", notes)
    return choices, default.group(1) if default else None


@functools.lru_cache(maxsize=None)
def return_contract():
    """The return block: ``(example result, allowed values per commented key, error keys)``."""
    block = re.search(r"```yaml\n(.*?)```", _section("## What the member modules return"), re.DOTALL).group(1)
    example = yaml.safe_load(block)
    # "status: removed   # removed | added | ..." and "target: {...}   # type: group | administrative_unit | team"
    allowed = {key: [word.strip() for word in words.split("|")]
               for key, words in re.findall(r"^\s*(?:- )?([\w.]+): [^#\n]*#\s*((?:[a-z_]+ \| )+[a-z_]+)\s*$", block, re.MULTILINE)}
    target_comment = re.search(r"target: \{.*\}\s*#\s*type: ((?:[a-z_]+ \| )+[a-z_]+)", block).group(1)
    allowed["target.type"] = [word.strip() for word in target_comment.split("|")]
    error_keys = set(yaml.safe_load(re.search(r"error: null\s*#\s*or (\{.*\})", block).group(1)))
    return example, allowed, error_keys


# -- what the collection declares -----------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def fragment_options():
    return yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]


@functools.lru_cache(maxsize=None)
def rendered_docs():
    """ansible-doc's JSON of every INTERFACE module that ships (fragments merged, as users read it)."""
    return ansible_doc([name for name in interface_modules() if os.path.isfile(module_path(name))])


@functools.lru_cache(maxsize=None)
def graph_module_docs():
    """ansible-doc's JSON of every module of the `graph` action group (meta/runtime.yml): the 1.0 modules and the new ones."""
    with open(os.path.join(REPO_ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        return ansible_doc(yaml.safe_load(handle)["action_groups"]["graph"])


def ansible_doc(names):
    output = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json"] + [FQCN + name for name in names],
                            check=True, capture_output=True, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1")).stdout
    return {name[len(FQCN):]: doc for name, doc in json.loads(output).items()}


def module_path(name):
    return os.path.join(REPO_ROOT, "plugins", "modules", name + ".py")


def lines_of(description):
    """A documentation description as its list of paragraphs (it may be one string)."""
    return [description] if isinstance(description, str) else list(description)


def env_sentence(description):
    """The variables of the "If not set, the environment variable ... is used" sentence, in order."""
    lines = lines_of(description)
    sentence = next((line for line in lines if line.startswith("If not set")), "")
    return re.findall(r"E\(([A-Z0-9_]+)\)", sentence)


# -- modules and the action group -------------------------------------------------------------------

def test_every_interface_module_ships_and_is_in_the_action_group():
    with open(os.path.join(REPO_ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        group = yaml.safe_load(handle)["action_groups"]["graph"]
    assert len(interface_modules()) == 4
    for name in interface_modules():
        assert os.path.isfile(module_path(name)), "INTERFACE.md names %s; plugins/modules/%s.py is missing" % (name, name)
        assert name in group, "%s is not in the action group entra.membership.graph (meta/runtime.yml)" % name


# -- authentication and endpoint options -------------------------------------------------------------

def test_auth_options_are_the_shared_argspec_and_the_fragment():
    options = auth_options()
    assert set(options) <= set(ARGSPEC), "missing from _connection_options.ARGSPEC: %s" % sorted(set(options) - set(ARGSPEC))
    assert set(ARGSPEC) == set(fragment_options()), "ARGSPEC and doc_fragments/graph.py differ"
    for option, row in options.items():
        documented = fragment_options()[option]
        assert env_sentence(documented["description"]) == row["env"], option
        for value in row["values"]:
            assert "V(%s)" % value in " ".join(lines_of(documented["description"])), "%s: the fragment does not name %s" % (option, value)


def test_exactly_the_secret_options_are_no_log():
    secret = {option for option, row in auth_options().items() if "no_log" in row["notes"]}
    assert secret == {"client_secret", "client_certificate_password", "access_token"}
    assert {option for option, spec in ARGSPEC.items() if spec.get("no_log")} == secret


def test_defaults_and_cloud_choices_are_the_interfaces():
    for option in auth_options():
        default = documented_default(option)
        assert ARGSPEC[option].get("default") == default, option
        assert fragment_options()[option].get("default") == default, option
    assert (documented_default("validate_certs"), documented_default("timeout"), documented_default("max_retries")) == (True, 30, 6)
    clouds = _TICKED.findall(auth_options()["cloud"]["notes"])
    assert clouds == ["global", "usgov", "usgov_dod", "china"]
    assert list(ARGSPEC["cloud"]["choices"]) == clouds and fragment_options()["cloud"]["choices"] == clouds
    assert auth_options()["cloud"]["values"] == list(AZURE_CLOUD_NAMES)


def _env_value(option, variable, index):
    """A value for ``variable`` that tells which variable an option came from."""
    if option == "cloud":
        return {"ENTRA_CLOUD": "china", "AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment"}[variable]
    if ARGSPEC[option]["type"] == "bool":
        return "false"
    return "/from/%s" % variable if ARGSPEC[option]["type"] == "path" else "value-%d-of-%s" % (index, variable)


def _expected(option, variable, index):
    value = _env_value(option, variable, index)
    if option == "cloud":
        return {"china": "china", "AzureUSGovernment": "usgov"}[value]
    return False if ARGSPEC[option]["type"] == "bool" else value


def _resolved(option):
    """``option`` as EntraModule resolves it: AnsibleModule's checks and fallbacks, then the credentials' own."""
    result = ArgumentSpecValidator(ARGSPEC).validate({})
    assert not result.error_messages, result.error_messages
    params, _given = with_environment_credentials(result.validated_parameters)
    return params[option]


def test_env_fallbacks_first_found_wins_and_empty_counts_as_unset(monkeypatch):
    for row in auth_options().values():
        for name in row["env"]:
            monkeypatch.delenv(name, raising=False)
    for option, row in auth_options().items():
        with monkeypatch.context() as env:
            assert _resolved(option) == ARGSPEC[option].get("default")
            for index, variable in enumerate(row["env"]):
                env.setenv(variable, _env_value(option, variable, index))
            for index, variable in enumerate(row["env"]):
                assert _resolved(option) == _expected(option, variable, index), "%s should come from %s" % (option, variable)
                env.setenv(variable, "")  # AWX injects every variable a credential declares, empty or not: the next one wins
            assert _resolved(option) == ARGSPEC[option].get("default"), option


@pytest.mark.parametrize("azure_name", sorted(AZURE_CLOUD_NAMES))
def test_azure_cloud_environment_names_map_to_clouds(monkeypatch, azure_name):
    monkeypatch.delenv("ENTRA_CLOUD", raising=False)
    monkeypatch.setenv("AZURE_CLOUD_ENVIRONMENT", azure_name)
    assert _resolved("cloud") == AZURE_CLOUD_NAMES[azure_name]


# -- the modules' documentation ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["entra_group_member", "entra_au_member", "teams_member", "entra_member_of_info"])
def test_every_module_documents_every_auth_option_as_the_fragment_does(name):
    if name not in interface_modules():
        pytest.fail("%s is not in INTERFACE.md's module table" % name)
    options = rendered_docs()[name]["doc"]["options"]
    for option in auth_options():
        assert options[option] == fragment_options()[option], "%s: %s" % (name, option)


@pytest.mark.parametrize("index", range(3))
def test_member_module_options_are_the_interfaces(index):
    name = member_modules()[index]
    options = rendered_docs()[name]["doc"]["options"]
    target = target_options()[name]
    target_cell = next(cell for cell in member_options() if " / " in cell)
    for option, cell in ((target, target_cell), ("members", "`members`")):
        assert member_options()[cell] == "list of str, required"
        # Required unless memberships (the 1.1 additions) is given: the module checks it (member_option_rules), the docs say it.
        assert (options[option]["type"], options[option].get("elements"), options[option].get("required", False)) == ("list", "str", False), option
        assert "unless O(memberships) is given instead" in " ".join(lines_of(options[option]["description"])), option
    assert "memberships" in additions_table()
    assert (options["memberships"]["type"], options["memberships"]["elements"]) == ("list", "dict")
    assert set(options["memberships"]["suboptions"]) == {"target", "member", "role"}
    for option in ("state", "api_version"):
        choices, default = choices_of(member_options()["`%s`" % option])
        assert (options[option]["choices"], options[option].get("default")) == (choices, default), option
    role_cell = next(cell for cell in member_options() if "`role`" in cell)
    if name in role_cell:
        choices, default = choices_of(member_options()[role_cell])
        assert sorted(options["role"]["choices"]) == sorted(choices)
        # No default in the spec (so that state=absent can warn when it is given), documented as the value used.
        assert options["role"].get("default") in (None, default)
        assert "V(%s) when not set" % default in " ".join(lines_of(options["role"]["description"])) or options["role"].get("default") == default
    else:
        assert "role" not in options


@pytest.mark.parametrize("index", range(3))
def test_member_module_return_docs_cover_the_interface(index):
    name = member_modules()[index]
    returned = rendered_docs()[name]["return"]
    example, allowed, error_keys = return_contract()
    assert set(example) - {"changed"} <= set(returned), "RETURN of %s lacks %s" % (name, set(example) - {"changed"} - set(returned))
    entry_keys = set(example["results"][0]) - ({"role"} if name != "teams_member" else set())
    assert set(returned["results"]["contains"]) == entry_keys
    assert set(returned["summary"]["sample"]) == set(example["summary"]) == set(allowed["status"])
    assert set(returned["results"]["contains"]["target"]["sample"]) == set(example["results"][0]["target"])
    error_sample = returned["results"]["contains"]["error"].get("sample")
    assert error_sample is None or set(error_sample) == error_keys
    statuses = " ".join(lines_of(returned["results"]["contains"]["status"]["description"]))
    assert all("V(%s)" % status in statuses for status in allowed["status"]), statuses


# What every member module returns alike, entry by entry. ansible-core merges doc fragments into RETURN only from 2.20
# (ansible/ansible#72635), so while 2.16-2.19 are supported each module repeats these: this keeps the copies one text.
SHARED_RETURN = ("summary", "check_mode", "graph_stats", "results.member", "results.member_id", "results.status", "results.error")


def return_entry(returned, dotted):
    entry = {"contains": returned}
    for key in dotted.split("."):
        entry = entry["contains"][key]
    return {key: value for key, value in entry.items() if key != "contains"}


@pytest.mark.parametrize("entry", SHARED_RETURN)
def test_the_return_entries_the_member_modules_share_are_the_same_text(entry):
    first, *others = member_modules()
    documented = return_entry(rendered_docs()[first]["return"], entry)
    assert documented.get("description"), entry
    for name in others:
        assert return_entry(rendered_docs()[name]["return"], entry) == documented, "%s: RETURN's %s differs from %s's" % (name, entry, first)
    if entry == "graph_stats":
        assert return_entry(rendered_docs()["entra_member_of_info"]["return"], entry) == documented


@pytest.mark.parametrize("entry", ["check_mode", "graph_stats"])
def test_the_return_entries_every_graph_module_shares_are_the_same_text(entry):
    """ansible-doc reads each module's own RETURN (doc fragments carry options only), so the text is repeated: kept the same here."""
    documented = {name: doc["return"][entry] for name, doc in graph_module_docs().items() if entry in doc["return"]}
    assert len(documented) >= len(graph_module_docs()) - 1, "only entra_member_of_info may leave %s out" % entry
    first = documented.pop("entra_group_member")
    assert {name: text for name, text in documented.items() if text != first} == {}
