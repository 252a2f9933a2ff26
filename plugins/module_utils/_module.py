# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``EntraModule``: an AnsibleModule with the shared connection options and a ready Graph client.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.entra.membership.plugins.module_utils._authenticator import Authenticator, missing_library
from ansible_collections.entra.membership.plugins.module_utils._connection_options import ARGSPEC, connection_settings
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraAuthError, EntraConfigError, GraphError, scrub
from ansible_collections.entra.membership.plugins.module_utils._graph_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    GraphClient,
    build_session,
)


def build_client(settings, api_version='v1.0', warn=None, on_token=None):
    """A GraphClient from validated ConnectionSettings: one session, one authenticator (not yet authenticated)."""
    session = build_session(settings, warn=warn)
    authenticator = Authenticator(settings, session, on_token=on_token)
    return GraphClient(settings, authenticator, session, api_version=api_version)


class EntraModule(AnsibleModule):
    """``EntraModule(argument_spec=..., supports_check_mode=True)``, then ``module.client``.

    The connection options (plugins/doc_fragments/graph.py) are merged into ``argument_spec``;
    they are validated here, so a bad option fails before any work. ``client`` authenticates on
    first use; every token is registered in ``no_log_values`` and so masked in all output.
    """

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(ARGSPEC)
        spec.update(argument_spec or {})
        self._explicit_options = set()
        self._client = None
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        try:
            self.connection_settings = connection_settings(self.params, explicit=self._explicit_options)
        except EntraConfigError as exc:
            self.fail_json(msg=self.scrub(exc))
        missing = missing_library(self.connection_settings)
        if missing:
            self.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])

    def _load_params(self):
        super()._load_params()
        # What the task (or module_defaults) gave, before Ansible fills in environment fallbacks:
        # an explicit credential beats one that is only in the environment.
        self._explicit_options = {name for name, value in self.params.items() if value is not None}

    @property
    def client(self):
        """The GraphClient of this run, built and authenticated once; any failure is a clear fail_json."""
        if self._client is None:
            try:
                client = build_client(self.connection_settings, self.params.get('api_version') or 'v1.0',
                                      warn=self.warn, on_token=self.no_log_values.add)
                client.authenticate()
            except (EntraConfigError, EntraAuthError) as exc:
                self.fail_json(msg=self.scrub(exc))
            self._client = client
        return self._client

    def exit_json(self, **kwargs):
        self._add_graph_stats(kwargs)
        super().exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._add_graph_stats(kwargs)
        super().fail_json(msg, **kwargs)

    def _add_graph_stats(self, result):
        # What the run cost and how long Graph's throttling held it up: the numbers an administrator
        # needs to size forks and job slices against the per-app limits.
        if self._client is not None:
            stats = dict(self._client.stats)
            stats['waited_seconds'] = round(stats['waited_seconds'], 3)
            result.setdefault('graph_stats', stats)

    def scrub(self, text):
        """``text`` without any secret or token this run knows of."""
        secrets = set(self.connection_settings.secrets) if getattr(self, 'connection_settings', None) else set()
        if self._client is not None:
            secrets |= self._client.secrets
        return scrub(text, secrets | self.no_log_values)

    @contextmanager
    def graph_errors(self, **result):
        """``with module.graph_errors(changed=False):`` turns an auth, config or Graph error into fail_json(msg=..., **result)."""
        try:
            yield
        except (EntraAuthError, EntraConfigError, GraphError) as exc:
            self.fail_json(msg=self.scrub(exc), **result)
