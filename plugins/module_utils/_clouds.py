# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Microsoft national clouds: Graph host, login authority and token scope of each.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError


@dataclass(frozen=True)
class Cloud:
    name: str
    description: str
    graph_url: str
    authority_host: str


# Hosts from Microsoft's "Microsoft Graph national cloud deployments" page
# (https://learn.microsoft.com/graph/deployments, source microsoftgraph/microsoft-graph-docs-contrib
# concepts/deployments.md): the "Microsoft Graph" and "Microsoft Entra ID endpoint" tables.
# Both US Government levels sign in at login.microsoftonline.us; only their Graph hosts differ.
CLOUDS = {
    'global': Cloud('global', 'Microsoft Graph global service', 'https://graph.microsoft.com', 'https://login.microsoftonline.com'),
    'usgov': Cloud('usgov', 'Microsoft Graph for US Government L4 (GCC High)', 'https://graph.microsoft.us', 'https://login.microsoftonline.us'),
    'usgov_dod': Cloud('usgov_dod', 'Microsoft Graph for US Government L5 (DOD)', 'https://dod-graph.microsoft.us', 'https://login.microsoftonline.us'),
    'china': Cloud('china', 'Microsoft Graph operated by 21Vianet', 'https://microsoftgraph.chinacloudapi.cn', 'https://login.chinacloudapi.cn'),
}
CLOUD_NAMES = list(CLOUDS)
DEFAULT_CLOUD = 'global'
API_VERSIONS = ('v1.0', 'beta')

# The values the Azure CLI, Azure SDKs and AWX's "Microsoft Azure Resource Manager" credential
# use. There is no name for DOD there: AzureUSGovernment is L4; DOD users set cloud: usgov_dod.
AZURE_CLOUD_ENVIRONMENT_ALIASES = {
    'azurecloud': 'global',
    'azureusgovernment': 'usgov',
    'azurechinacloud': 'china',
}
AZURE_CLOUD_ENVIRONMENT_NAMES = ('AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud')   # as the Azure tools spell them
CLOUD_ENV_VARS = ('ENTRA_CLOUD', 'AZURE_CLOUD_ENVIRONMENT')


def cloud_from_environment(environ=None):
    """Fallback for the ``cloud`` option: ENTRA_CLOUD, then AZURE_CLOUD_ENVIRONMENT (aliases mapped).

    A value that names no cloud is returned as ``VARIABLE=value`` on purpose: the option's
    ``choices`` check then fails with a message that names both the variable and its value (and,
    for AZURE_CLOUD_ENVIRONMENT, the Azure names it takes), instead of this fallback silently
    picking the global cloud for, say, ``AzureGermanCloud``.
    """
    environ = os.environ if environ is None else environ
    for variable in CLOUD_ENV_VARS:
        value = (environ.get(variable) or '').strip()
        if not value:
            continue
        name = value.lower()
        if variable == 'AZURE_CLOUD_ENVIRONMENT':
            name = AZURE_CLOUD_ENVIRONMENT_ALIASES.get(name, name)
        if name in CLOUDS:
            return name
        if variable == 'AZURE_CLOUD_ENVIRONMENT':
            return '%s=%s (that variable takes %s, or a cloud name)' % (variable, value, ', '.join(AZURE_CLOUD_ENVIRONMENT_NAMES))
        return '%s=%s' % (variable, value)
    raise AnsibleFallbackNotFound


@dataclass(frozen=True)
class Endpoints:
    cloud: str
    graph_url: str          # where requests go: the cloud's Graph host, or graph_endpoint
    authority_host: str     # where tokens come from: the cloud's login host, or authority_host
    scope: str              # the token scope: always the cloud's Graph resource
    bind_url: str           # the host written into user@odata.bind / @odata.id: the cloud's Graph host
    graph_overridden: bool
    authority_overridden: bool


def normalize_https_url(option, value):
    """``value`` as ``https://host[:port][/path]`` without a trailing slash, or EntraConfigError naming ``option``."""
    text = (value or '').strip()
    parts = urlsplit(text)
    if parts.scheme.lower() != 'https' or not parts.hostname:
        raise EntraConfigError("%s must be an https:// URL, got '%s'" % (option, value))
    if parts.query or parts.fragment or parts.username or parts.password:
        raise EntraConfigError("%s must be a plain https:// URL without credentials, query or fragment, got '%s'" % (option, value))
    try:
        parts.port  # pylint: disable=pointless-statement  # raises ValueError for a port out of range
    except ValueError:
        raise EntraConfigError("%s has an invalid port, got '%s'" % (option, value)) from None
    path = parts.path.rstrip('/')
    # Requests are built by appending to this path: a dot segment or a blank would send them elsewhere.
    if any(segment in ('.', '..') for segment in path.split('/')) or any(char.isspace() or ord(char) < 32 for char in text):
        raise EntraConfigError("%s must not contain '.' or '..' path segments, spaces or control characters, got %r" % (option, value))
    if path.rsplit('/', 1)[-1].lower() in API_VERSIONS:
        raise EntraConfigError("%s is the base URL without the API version (the module adds it), got '%s'" % (option, value))
    return 'https://%s%s' % (parts.netloc, path)


def resolve_endpoints(cloud=None, graph_endpoint=None, authority_host=None, labels=None):
    """Endpoints of ``cloud`` with the ``graph_endpoint``/``authority_host`` overrides applied.

    The overrides change only where requests are sent. The token scope and the URLs written into
    request bodies stay those of the cloud: a gateway in front of Graph forwards the token to the
    real Graph, which accepts only tokens for its own resource and binds only its own URLs.
    ``labels`` names an option in messages as its user gave it (``graph_endpoint (from ENTRA_GRAPH_ENDPOINT)``).
    """
    labels = labels or {}
    name = cloud or DEFAULT_CLOUD
    if name not in CLOUDS:
        raise EntraConfigError("cloud must be one of %s, got '%s'" % (', '.join(CLOUD_NAMES), name))
    selected = CLOUDS[name]
    graph_url = normalize_https_url(labels.get('graph_endpoint', 'graph_endpoint'), graph_endpoint) if graph_endpoint else selected.graph_url
    login_url = normalize_https_url(labels.get('authority_host', 'authority_host'), authority_host) if authority_host else selected.authority_host
    return Endpoints(
        cloud=name,
        graph_url=graph_url,
        authority_host=login_url,
        scope=selected.graph_url + '/.default',
        bind_url=selected.graph_url,
        graph_overridden=bool(graph_endpoint),
        authority_overridden=bool(authority_host),
    )
