"""The collection as it ships: tarball contents, runtime metadata, EE metadata, links in the docs.

`make test` also builds and installs the tarball and runs ansible-doc from it; these tests pin
down what must (and must not) be inside, so a build_ignore mistake fails here with a clear
message instead of in a user's execution environment.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

# The public module names (INTERFACE.md): the action group lists all of them.
INTERFACE_MODULES = {"entra_group_member", "entra_au_member", "teams_member", "entra_member_of_info"}


def _new_modules():
    """The modules of the interface's "New modules" table (1.1) built so far: each joins the action group as it lands."""
    with open(os.path.join(REPO_ROOT, "docs", "dev", "interface.md"), encoding="utf-8") as handle:
        text = handle.read().split("### New modules", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE)) & _source_modules()


def _read_yaml(path):
    with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _source_modules():
    directory = os.path.join(REPO_ROOT, "plugins", "modules")
    if not os.path.isdir(directory):
        return set()
    return {name[:-3] for name in os.listdir(directory) if name.endswith(".py") and name != "__init__.py"}


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory):
    """A clean copy of what git would commit, at .../ansible_collections/entra/membership, like `make tree`."""
    copy_root = tmp_path_factory.mktemp("src") / "ansible_collections" / "entra" / "membership"
    copy_root.mkdir(parents=True)
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO_ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for relative in filter(None, listing):
        source = os.path.join(REPO_ROOT, relative)
        if not os.path.lexists(source):
            continue  # deleted in the work tree, not yet committed
        target = copy_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
        else:
            with open(source, "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
    return copy_root


@pytest.fixture(scope="module")
def tarball(tmp_path_factory, source_copy):
    """Build the collection from the clean copy, like `make build`."""
    output = tmp_path_factory.mktemp("dist")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(output)],
                   cwd=source_copy, check=True, capture_output=True)
    galaxy = _read_yaml("galaxy.yml")
    path = output / ("%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"]))
    with tarfile.open(path) as archive:
        yield {member.name: member for member in archive.getmembers()}


def _readme_commands(after):
    """The commands of the first console block after the text ``after`` in README.md, comments dropped."""
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    block = re.search(r"```console\n(.*?)```", readme[readme.index(after):], re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def test_readme_from_source_build_needs_ansible_galaxy_alone_and_names_the_tarball_it_makes(source_copy, tmp_path):
    """Issue 17: the README's from-source path is the fast one (no make, no development venv), and it works as written."""
    build, install, requirements = _readme_commands("From source (a clone of this repository)")
    words = build.split()
    assert words[:3] == ["ansible-galaxy", "collection", "build"] and "make" not in build
    output = words[words.index("--output-path") + 1]
    assert install.startswith("ansible-galaxy collection install %s/" % output)
    assert requirements == "python3 -m pip install -r requirements.txt"
    dist = tmp_path / "dist"
    subprocess.run([os.path.join(BIN, "ansible-galaxy")] + words[1:words.index("--output-path")] + ["--output-path", str(dist)]
                   + words[words.index("--output-path") + 2:], cwd=source_copy, check=True, capture_output=True)
    assert os.listdir(dist) == [os.path.basename(install.split()[-1])]


def test_galaxy_metadata_is_what_ansible_lint_production_and_galaxy_require():
    galaxy = _read_yaml("galaxy.yml")
    assert (galaxy["namespace"], galaxy["name"]) == ("entra", "membership")
    assert int(galaxy["version"].split(".")[0]) >= 1, "the production profile rejects versions below 1.0.0"
    assert galaxy["license"] == ["GPL-3.0-or-later"]
    assert galaxy["readme"] == "README.md" and galaxy["authors"]
    assert galaxy["dependencies"] == {}
    assert set(galaxy["tags"]) & {"cloud", "security", "tools"}, "ansible-lint needs one of its certification tags"
    with open(os.path.join(REPO_ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        assert handle.readline().rstrip("\n") == "---"


def test_runtime_metadata_puts_every_module_in_the_graph_action_group():
    runtime = _read_yaml("meta/runtime.yml")
    assert runtime["requires_ansible"] == ">=2.16.0"
    group = runtime["action_groups"]["graph"]
    assert set(group) == INTERFACE_MODULES | _new_modules() and len(group) == len(set(group))
    # The report's action plugins (offboard_report, offboard_restore) talk to no Graph: the group's connection options are not theirs.
    graph_modules = {name for name in _source_modules() if not os.path.isfile(os.path.join(REPO_ROOT, "plugins", "action", name + ".py"))}
    missing = graph_modules - set(group)
    assert not missing, "modules missing from action_groups.graph in meta/runtime.yml: %s" % sorted(missing)


def test_execution_environment_metadata_points_at_the_modules_requirements():
    metadata = _read_yaml("meta/execution-environment.yml")
    assert metadata["version"] == 1
    python_requirements = metadata["dependencies"]["python"]
    with open(os.path.join(REPO_ROOT, python_requirements), encoding="utf-8") as handle:
        names = {re.split(r"[<>=!~ ;\[]", line.strip(), maxsplit=1)[0].lower()
                 for line in handle if line.strip() and not line.startswith("#")}
    assert names == {"msal", "requests"}


def test_tarball_ships_the_collection_and_the_user_docs(tarball):
    expected = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "LICENSES/GPL-3.0-or-later.txt", "requirements.txt",
                "meta/runtime.yml", "meta/execution-environment.yml", "changelogs/changelog.yaml", "CHANGELOG.md",
                "docs/awx.md", "docs/awx/execution-environment.yml", "docs/awx/credential_type_entra_graph.yml",
                "tests/config.yml"}
    expected |= {"roles/%s/README.md" % role for role in _source_roles()}
    expected |= {"plugins/modules/%s.py" % name for name in _source_modules()}
    for directory in ("roles", "playbooks"):
        if os.path.isdir(os.path.join(REPO_ROOT, directory)):
            expected.add(directory)
    assert expected <= set(tarball), "missing from the tarball: %s" % sorted(expected - set(tarball))


def test_tarball_leaves_out_development_files(tarball):
    dev_only = re.compile(r"^(\.venv|\.build|\.ci|hacking|tests/(unit|integration|graphsim|benchmarks|output)|"
                          r"Makefile$|pytest\.ini$|requirements-[a-z]+\.txt$|constraints-.+\.txt$|REUSE\.toml$|\.pytest_cache)|"
                          r"__pycache__|\.pyc$|\.tar\.gz$")
    shipped = sorted(name for name in tarball if dev_only.search(name))
    assert not shipped, "development-only files in the tarball (fix build_ignore in galaxy.yml): %s" % shipped


# What ansible-test reads from tests/ when it runs on the tarball (Automation Hub's certification does).
_ANSIBLE_TEST_FILES = re.compile(r"^tests/(config\.yml|sanity/ignore-[0-9.]+\.txt)$")


def test_tarball_ships_no_test_helper_only_ansible_tests_configuration(tarball):
    """tests/modrun.py, probe_module.py and secretscan.py import pytest and the simulator, which do not ship."""
    under_tests = sorted(name for name, member in tarball.items() if name.startswith("tests/") and not member.isdir())
    helpers = [name for name in under_tests if not _ANSIBLE_TEST_FILES.match(name)]
    assert not helpers, "test code in the tarball (galaxy.yml build_ignore): %s" % helpers
    helpers_in_repo = {"tests/" + name for name in os.listdir(os.path.join(REPO_ROOT, "tests")) if name.endswith(".py")}
    assert helpers_in_repo and not helpers_in_repo & set(tarball)
    assert "tests/config.yml" in under_tests


def _source_roles():
    directory = os.path.join(REPO_ROOT, "roles")
    return sorted(name for name in os.listdir(directory) if os.path.isdir(os.path.join(directory, name))) if os.path.isdir(directory) else []


@pytest.mark.parametrize("role", _source_roles())
def test_role_readme_names_every_variable_of_the_roles_argument_spec(role):
    """Galaxy's importer refuses a role without README.md; the README's variable list keeps up with meta/argument_specs.yml."""
    options = _read_yaml("roles/%s/meta/argument_specs.yml" % role)["argument_specs"]["main"]["options"]
    with open(os.path.join(REPO_ROOT, "roles", role, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert readme.startswith("# Role `entra.membership.%s`" % role)
    missing = sorted(option for option in options if "`%s`" % option not in readme)
    assert not missing, "roles/%s/README.md does not name these variables of meta/argument_specs.yml: %s" % (role, missing)


def _third_party_imports(path):
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.module.split(".")[0]


def test_simulator_requirements_cover_every_import_of_the_simulator():
    """tests/graphsim/requirements.txt is all a plain venv needs to run `python -m graphsim` (docs/simulator.md)."""
    from importlib.metadata import packages_distributions

    package = os.path.join(REPO_ROOT, "tests", "graphsim")
    # The pytest plugin runs inside pytest; graphsim's own tests are not the simulator.
    runtime = [os.path.join(package, name) for name in sorted(os.listdir(package))
               if name.endswith(".py") and name != "pytest_plugin.py"]
    modules = {module for path in runtime for module in _third_party_imports(path)} - set(sys.stdlib_module_names) - {"graphsim"}
    distributions = {distribution.lower() for module in modules for distribution in packages_distributions().get(module, [module])}
    with open(os.path.join(package, "requirements.txt"), encoding="utf-8") as handle:
        listed = {re.split(r"[<>=!~ ;\[]", line.strip(), maxsplit=1)[0].lower() for line in handle if line.strip() and not line.startswith("#")}
    assert modules, "found no third-party import in %s" % runtime
    assert distributions <= listed, "tests/graphsim/requirements.txt lacks %s" % sorted(distributions - listed)


def test_tarball_ships_the_license_as_a_file_users_can_read(tarball):
    # LICENSE is a symlink in the repository; ansible-galaxy must keep it pointing inside.
    member = tarball["LICENSE"]
    assert member.isfile() or (member.issym() and member.linkname == "LICENSES/GPL-3.0-or-later.txt")


_MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _markdown_files():
    yield "README.md"
    for directory, _dirs, files in os.walk(os.path.join(REPO_ROOT, "docs")):
        for name in files:
            if name.endswith(".md"):
                yield os.path.relpath(os.path.join(directory, name), REPO_ROOT)


def _relative_links(text):
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links in code blocks are examples
    for target in _MARKDOWN_LINK.findall(text):
        if not (re.match(r"^[a-z]+:", target) or target.startswith("#")):
            yield target, target.split("#", 1)[0]


@pytest.mark.parametrize("document", sorted(_markdown_files()))
def test_relative_links_in_the_docs_resolve(document):
    with open(os.path.join(REPO_ROOT, document), encoding="utf-8") as handle:
        links = list(_relative_links(handle.read()))
    broken = [target for target, path in links if not os.path.exists(os.path.normpath(os.path.join(REPO_ROOT, os.path.dirname(document), path)))]
    assert not broken, "%s links to files that do not exist: %s" % (document, broken)


def test_relative_links_in_the_shipped_docs_resolve_in_the_tarball(tarball):
    """What a user reads from the installed collection links only to what was installed with it."""
    shipped = set(tarball)
    broken = []
    for document in sorted(name for name in shipped if name.endswith(".md")):
        with open(os.path.join(REPO_ROOT, document), encoding="utf-8") as handle:  # the tarball holds this very file
            links = list(_relative_links(handle.read()))
        for target, path in links:
            resolved = os.path.normpath(os.path.join(os.path.dirname(document), path))
            if resolved not in shipped and not any(name.startswith(resolved + "/") for name in shipped):
                broken.append("%s -> %s" % (document, target))
    assert not broken, "links to files the tarball leaves out (galaxy.yml build_ignore): %s" % broken
