# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``EntraModule``: an AnsibleModule wrapped with the shared connection options and a ready Graph client.

It wraps AnsibleModule rather than extending it, as amazon.aws' ``AnsibleAWSModule`` and
kubernetes.core's ``AnsibleK8SModule`` do, so that nothing here depends on AnsibleModule's private parts.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import signal
import threading
import traceback
from contextlib import contextmanager

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.entra.membership.plugins.module_utils._authenticator import Authenticator, missing_library
from ansible_collections.entra.membership.plugins.module_utils._connection_options import (
    ARGSPEC,
    CREDENTIAL_INPUTS,
    SECRET_OPTIONS,
    connection_settings,
    with_environment_credentials,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError, EntraConfigError, GraphError, scrub
from ansible_collections.entra.membership.plugins.module_utils._graph_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    GraphClient,
    Interruption,
    build_session,
)

# ansible-playbook's Ctrl-C is SIGINT; AWX cancels with SIGINT or SIGTERM, then SIGKILL (nothing to catch) after a grace period.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def build_client(settings, api_version='v1.0', warn=None, on_token=None, interruption=None):
    """A GraphClient from validated ConnectionSettings: one session, one authenticator (not yet authenticated)."""
    session = build_session(settings, warn=warn)
    authenticator = Authenticator(settings, session, on_token=on_token)
    return GraphClient(settings, authenticator, session, api_version=api_version, interruption=interruption)


def library_versions():
    """The versions of the libraries a failure may come from, for its report; None for one that is not installed."""
    from importlib.metadata import PackageNotFoundError, version  # pylint: disable=import-outside-toplevel

    versions = {'ansible_core_version': ANSIBLE_CORE_VERSION}
    for library in ('msal', 'requests'):
        try:
            versions['%s_version' % library] = version(library)  # read from its metadata: msal stays unimported
        except PackageNotFoundError:
            versions['%s_version' % library] = None
    return versions


class EntraModule:
    """``EntraModule(argument_spec=..., supports_check_mode=True)``, then ``module.client``.

    The connection options (plugins/doc_fragments/graph.py) are merged into ``argument_spec`` and
    validated here, so a bad option fails before any work. ``client`` authenticates on first use;
    every token is registered as a no_log value and so masked in all output.
    """

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(ARGSPEC)
        spec.update(argument_spec or {})
        self._client = None
        self.connection_settings = None
        self.interruption = Interruption()
        self._signal_handlers = {}
        self._module = AnsibleModule(argument_spec=spec, **kwargs)
        self._stop_on_signals()
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        with self.fail_on_error():
            params, given = with_environment_credentials(self.params)
            for name in SECRET_OPTIONS:
                if name not in given and params.get(name):
                    self._module.no_log_values.add(params[name])  # AnsibleModule masks only what it found itself
            self.params.update((name, params[name]) for name in CREDENTIAL_INPUTS)
            self.connection_settings = connection_settings(params, explicit=given)
        missing = missing_library(self.connection_settings)
        if missing:
            self.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])

    @property
    def params(self):
        return self._module.params

    @property
    def check_mode(self):
        return self._module.check_mode

    @property
    def diff_mode(self):
        return self._module._diff  # pylint: disable=protected-access  # AnsibleModule has no public name for it

    def warn(self, warning):
        self._module.warn(warning)

    @property
    def client(self):
        """The GraphClient of this run, built and authenticated once; any failure is a clear fail_json."""
        if self._client is None:
            with self.fail_on_error():
                client = build_client(self.connection_settings, self.params.get('api_version') or 'v1.0',
                                      warn=self.warn, on_token=self._module.no_log_values.add, interruption=self.interruption)
                client.authenticate()
            self._client = client
        return self._client

    def _stop_on_signals(self):
        """SIGINT and SIGTERM stop the run instead of killing it: no new request, the answers in flight briefly waited
        for, then the results (docs/reliability.md, "Interrupted"). A second signal ends the wait."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers; run elsewhere (a test's thread), signals keep their default
        for signum in STOP_SIGNALS:
            self._signal_handlers[signum] = signal.signal(signum, self._on_stop_signal)

    def _on_stop_signal(self, signum, _frame):
        self.interruption.stop(signal.Signals(signum).name)

    def _restore_signal_handlers(self):
        # The task ends here; a process that goes on (a test running modules in-process) gets its own handlers back.
        while self._signal_handlers:
            signum, handler = self._signal_handlers.popitem()
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: a handler not set from Python

    @property
    def interrupted_by(self):
        """The signal that stopped the run (e.g. 'SIGTERM'), None while it runs."""
        return self.interruption.reason

    def exit_json(self, **result):
        self._add_graph_stats(result)
        self._restore_signal_handlers()
        self._module.exit_json(**result)

    def fail_json(self, msg, **result):
        self._add_graph_stats(result)
        self._restore_signal_handlers()
        self._module.fail_json(msg, **result)

    def _add_graph_stats(self, result):
        # What the run cost and how long Graph's throttling held it up: the numbers an administrator
        # needs to size forks and job slices against the per-app limits.
        if self._client is not None:
            stats = dict(self._client.stats)
            stats['waited_seconds'] = round(stats['waited_seconds'], 3)
            result.setdefault('graph_stats', stats)

    def scrub(self, text):
        """``text`` without any secret or token this run knows of."""
        secrets = set(self.connection_settings.secrets) if self.connection_settings is not None else set()
        if self._client is not None:
            secrets |= self._client.secrets
        return scrub(text, secrets | self._module.no_log_values)

    def run_task(self, task):
        """End the module with ``task()``'s result: exit_json, or fail_json when the result says ``failed`` (its key
        is taken out) or when anything goes wrong on the way (fail_on_error)."""
        with self.fail_on_error(changed=False):
            result = task()
        if result.pop('failed'):
            self.fail_json(**result)
        self.exit_json(**result)

    @contextmanager
    def fail_on_error(self, **result):
        """``with module.fail_on_error(changed=False):`` ends the task in fail_json(msg=..., **result) on any exception.

        An auth, config or Graph error says all in its message. Anything else is a defect: its traceback
        and the versions of the libraries involved go with it, as amazon.aws' ``fail_json_aws`` reports them.
        """
        try:
            yield
        except (EntraAuthError, EntraConfigError, GraphError) as exc:
            self.fail_json(msg=self.scrub(exc), **result)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            result.update(library_versions())
            self.fail_json(msg=self.scrub('unexpected %s: %s' % (type(exc).__name__, exc)), exception=self.scrub(traceback.format_exc()), **result)
