"""The live-tenant check (`make live-check`): fixtures, the skip without its environment, and the report.

Without ENTRA_LIVE_TENANT_ID, ENTRA_LIVE_CLIENT_ID, a credential and ENTRA_LIVE_USER every test
here is skipped, the reason naming each missing variable. A variable set to a value the check cannot
use stops the run before any request (pytest's usage error, naming the variable and the value).
At the end the compatibility report (live_report.py) is printed and written to ENTRA_LIVE_REPORT.
"""
from __future__ import annotations

import os

import pytest
from live_modules import discovery_args, include_kinds, run_live_module
from live_report import REPORT, now_utc
from live_settings import CONNECTION_PASSTHROUGH, TARGET_VARIABLES, LiveSettingsError, missing_variables, read_settings, validated_connection

from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError, scrub
from ansible_collections.entra.membership.plugins.module_utils._module import build_client
from ansible_collections.entra.membership.plugins.module_utils._resolve import resolve_targets, user_path

LIVE_DIR = os.path.dirname(os.path.abspath(__file__))
_SETTINGS = pytest.StashKey()
_MISSING = pytest.StashKey()
GUIDE = "docs/development.md, 'The live-tenant check'"


def _live_items(items):
    return [item for item in items if str(item.path).startswith(LIVE_DIR + os.sep)]


def pytest_collection_modifyitems(config, items):
    live_items = _live_items(items)
    if not live_items:
        return
    for item in live_items:
        item.add_marker(pytest.mark.live)
    missing = missing_variables()
    if missing:
        config.stash[_MISSING] = missing
        skip = pytest.mark.skip(reason="live check: not set: %s (%s)" % (", ".join(name for name, _meaning in missing), GUIDE))
        for item in live_items:
            item.add_marker(skip)
        return
    try:
        config.stash[_SETTINGS] = read_settings()
    except LiveSettingsError as exc:
        raise pytest.UsageError("live check: %s" % exc) from None


@pytest.fixture(scope="session")
def live_settings(pytestconfig):
    return pytestconfig.stash[_SETTINGS]


@pytest.fixture(scope="session", autouse=True)
def _only_the_live_connection(pytestconfig):
    """The modules run in this process: of the variables they read, only the endpoint ones stay (see live_settings)."""
    if _SETTINGS not in pytestconfig.stash:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("AZURE_", "ENTRA_")) and not name.startswith("ENTRA_LIVE_") and name not in CONNECTION_PASSTHROUGH:
                patch.delenv(name)
        yield


@pytest.fixture(scope="session")
def report():
    return REPORT


@pytest.fixture(scope="session")
def graph(live_settings):
    """The collection's own Graph client, signed in as the live app: the probes' way to Graph."""
    client = build_client(validated_connection(live_settings), "v1.0")
    try:
        client.authenticate()
    except EntraAuthError as exc:
        pytest.fail("live check: no token for ENTRA_LIVE_CLIENT_ID in ENTRA_LIVE_TENANT_ID: %s" % scrub(exc, client.secrets), pytrace=False)
    return client


@pytest.fixture(scope="session")
def test_user(graph, live_settings):
    """ENTRA_LIVE_USER as Graph has it: ``{id, userPrincipalName, displayName}``, plus ``answer`` (the GraphResponse)."""
    answer = graph.request("GET", user_path(live_settings.user), params={"$select": "id,userPrincipalName,displayName"})
    if answer.status == 404:
        pytest.fail("live check: ENTRA_LIVE_USER '%s' is no user of the tenant (request id %s)" % (live_settings.user, answer.request_id),
                    pytrace=False)
    if not answer.ok:
        pytest.fail("live check: reading ENTRA_LIVE_USER '%s' failed: %s" % (live_settings.user, answer.error), pytrace=False)
    return dict(answer.body, answer=answer)


@pytest.fixture(scope="session")
def dedicated_targets(graph, live_settings):
    """``{target type: Target}`` of the dedicated group, unit and team given (ENTRA_LIVE_GROUP, ...), each found exactly once."""
    found = {}
    for kind, ref in live_settings.targets.items():
        target = resolve_targets(graph, kind, [ref])[ref]
        if target.error is not None:
            pytest.fail("live check: %s '%s': %s" % (TARGET_VARIABLES[kind], ref, target.error), pytrace=False)
        found[kind] = target
    return found


@pytest.fixture(scope="session")
def discovery(live_settings, test_user):
    """entra_member_of_info of the test user, its memberships (what it returns by default) and nested groups: the module's result."""
    result = run_live_module(live_settings, "entra_member_of_info", discovery_args(test_user["id"]))
    if result["rc"] != 0:
        pytest.fail("live check: entra_member_of_info of the test user failed: %s %s" % (result["msg"], result.get("users")), pytrace=False)
    return result


@pytest.fixture(scope="session")
def full_discovery(live_settings, test_user):
    """entra_member_of_info of the test user with every ``include`` kind it offers (owned groups, roles, app roles, ...)."""
    result = run_live_module(live_settings, "entra_member_of_info", discovery_args(test_user["id"], include_kinds()),
                             label="entra_member_of_info (include: every kind)")
    if result["rc"] != 0:
        errors = [user.get("error") for user in result.get("users") or []]
        # The advice first: the module's own message (its reasons, then its counts) can be long, and reports cut it.
        pytest.fail("live check: entra_member_of_info with every include kind failed; each kind needs the read permissions of "
                    "the module that removes it (README, 'Graph permissions'): %s %s" % (result["msg"], errors), pytrace=False)
    return result


def _context(settings, terminalreporter):
    live_nodes = os.path.relpath(LIVE_DIR, str(terminalreporter.config.rootpath)).replace(os.sep, "/") + "/"
    counts = {outcome: sum(1 for entry in terminalreporter.stats.get(outcome, []) if getattr(entry, "nodeid", "").startswith(live_nodes))
              for outcome in ("passed", "failed", "skipped", "error")}
    endpoints = validated_connection(settings).endpoints
    return [
        ("When", now_utc()),
        ("Tenant", "%s (Graph %s, sign-in %s, cloud %s)" % (settings.tenant_id, endpoints.graph_url, endpoints.authority_host, endpoints.cloud)),
        ("App", "%s, signed in with %s" % (settings.client_id, " and ".join(sorted(settings.credential)))),
        ("Test user", settings.user),
        ("Permissions in the token", ", ".join(REPORT.permissions) if REPORT.permissions is not None else "not read"),
        ("Dedicated targets", ", ".join("%s %s" % (TARGET_VARIABLES[kind], ref) for kind, ref in settings.targets.items()) or "none given"),
        ("Mode", "write (ENTRA_LIVE_WRITE=1): the dedicated memberships were removed and put back" if settings.write
         else "read only (ENTRA_LIVE_WRITE unset): nothing was written"),
        ("Tests", ", ".join("%d %s" % (count, outcome) for outcome, count in counts.items())),
    ]


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pylint: disable=unused-argument
    if _MISSING in config.stash:
        terminalreporter.section("live check: skipped, not configured")
        for name, meaning in config.stash[_MISSING]:
            terminalreporter.write_line("%s is not set: %s" % (name, meaning))
        terminalreporter.write_line("See %s." % GUIDE)
    if _SETTINGS not in config.stash:
        return
    settings = config.stash[_SETTINGS]
    REPORT.note_throttling()
    text = REPORT.render(_context(settings, terminalreporter))
    os.makedirs(os.path.dirname(settings.report_path), exist_ok=True)
    with open(settings.report_path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    terminalreporter.section("live check: Graph compatibility report")
    terminalreporter.write_line(text)
    terminalreporter.write_line("written to %s" % settings.report_path)
