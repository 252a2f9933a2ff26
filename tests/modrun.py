"""Run a module's ``main()`` in this process with the given arguments and return its JSON result.

    from modrun import run_module
    result = run_module(entra_group_member.main, {"groups": [...], "members": [...], **sim.module_auth()}, check_mode=True)
    assert result["changed"] is False and not result.get("failed")

The module sees exactly what ansible-playbook would send it (``ANSIBLE_MODULE_ARGS`` plus the
``_ansible_check_mode``/``_ansible_diff`` flags); its ``exit_json``/``fail_json`` print JSON and
exit, which is captured here. Environment fallbacks read ``os.environ``: use ``monkeypatch.setenv``.
"""
from __future__ import annotations

import contextlib
import io
import json
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.common.parameters import PASS_VARS

try:  # ansible-core >= 2.19: importing any controller code (ansible.errors, a filter plugin) flips this
    from ansible.module_utils import _internal as module_internals
except ImportError:
    module_internals = None

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older cores read the JSON from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args=None):
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode("utf-8")
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield


# ansible-core >= 2.21 adds `invocation` (the options as the module saw them, no_log values masked)
# only when the controller asks for it (INJECT_INVOCATION, off by default); older cores always add it
# and would refuse the unknown flag. Asking, as a user with ANSIBLE_INJECT_INVOCATION=true does, lets
# the tests read on every core what such a user (and older cores' -v output) would see.
INVOCATION_ON_REQUEST = "inject_invocation" in PASS_VARS

# Callables given each module's raw output (tests/secretscan.py looks for secrets in it).
output_observers = []


class ModuleDidNotExit(AssertionError):
    pass


def run_module(main, args, check_mode=False, diff=False):
    """``main`` (a function, or a module object with ``main``) run with ``args``; returns the result dict.

    The dict also carries ``rc``: the exit code (0 after exit_json, 1 after fail_json).
    ``warnings`` and ``deprecations`` are plain message strings whatever the ansible-core
    version (2.19 sends structured summaries): what ansible-playbook would show.
    """
    entry = getattr(main, "main", main)
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check_mode
    module_args["_ansible_diff"] = diff
    if INVOCATION_ON_REQUEST:
        module_args["_ansible_inject_invocation"] = True
    stdout = io.StringIO()
    code = None
    # A module process starts with no warnings; in this one they would pile up from run to run.
    module_warnings._global_warnings.clear()  # pylint: disable=protected-access
    module_warnings._global_deprecations.clear()  # pylint: disable=protected-access
    with patch_module_args(module_args), module_side(), contextlib.redirect_stdout(stdout):
        try:
            entry()
        except SystemExit as exc:
            code = exc.code
        else:
            raise ModuleDidNotExit("%s returned without exit_json/fail_json; stdout: %r" % (entry, stdout.getvalue()))
    output = stdout.getvalue()
    for observe in output_observers:
        observe(output)
    try:
        result = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError("module printed no JSON result (exit code %r): %r" % (code, output)) from None
    result["rc"] = code if isinstance(code, int) else (0 if code is None else 1)
    for key in ("warnings", "deprecations"):
        if key in result:
            result[key] = [_message(item) for item in result[key]]
    return result


@contextlib.contextmanager
def module_side():
    """Run as a module runs on a target, even after this process imported controller code.

    ansible-core 2.19 switches JSON decoding and warnings to the controller's rules, for the
    whole process, once anything imports its controller side (ansible.errors, a filter plugin);
    ansible-playbook runs a module in a process that never did, so this one must not either
    while the module runs.
    """
    if module_internals is None or not getattr(module_internals, "is_controller", False):
        yield
        return
    controller_import = module_internals.import_controller_module
    module_internals.is_controller = False
    module_internals.import_controller_module = _no_controller_module
    try:
        yield
    finally:
        module_internals.is_controller = True
        module_internals.import_controller_module = controller_import


def _no_controller_module(_name):
    return None


def _message(item):
    if isinstance(item, dict):
        event = item.get("event") if isinstance(item.get("event"), dict) else item
        return event.get("msg", str(item))
    return item
