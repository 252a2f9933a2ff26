# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Authentication and endpoint options shared by every module (plugins/module_utils/_connection_options.py).
    DOCUMENTATION = r'''
options:
  tenant_id:
    description:
      - The directory (tenant) id, a GUID, or a verified domain of the tenant such as V(contoso.onmicrosoft.com).
      - If not set, the environment variable E(AZURE_TENANT_ID) is used, then E(AZURE_TENANT) (the name AWX's Azure credential injects).
      - Required unless O(access_token) is used.
    type: str
  client_id:
    description:
      - The application (client) id of the app registration, a GUID.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
      - Required unless O(access_token) is used.
    type: str
  client_secret:
    description:
      - A client secret of the application (its value, not its id).
      - If not set, the environment variable E(AZURE_CLIENT_SECRET) is used, then E(AZURE_SECRET) (the name AWX's Azure credential injects).
      - Exactly one of O(client_secret), O(client_certificate_path), O(federated_token_file) and O(access_token) authenticates.
        One given to the task (or through C(module_defaults)) is used even if another one is set in the environment;
        two given to the task, or two found in the environment when none is given, are an error.
    type: str
  client_certificate_path:
    description:
      - Path to a PEM file holding the private key and the certificate registered on the application.
        The file may also hold the CA chain; the certificate matching the key is used, identified by its thumbprint.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
    type: path
  client_certificate_password:
    description:
      - The password of an encrypted private key in O(client_certificate_path).
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
  federated_token_file:
    description:
      - Path to a file holding a token of an external identity provider that the application trusts through a federated
        identity credential (workload identity federation, for example a Kubernetes service account token).
      - The file is read again for every token request, so a file the platform rotates keeps working.
      - If not set, the environment variable E(AZURE_FEDERATED_TOKEN_FILE) is used (Azure workload identity sets it).
    type: path
  access_token:
    description:
      - An access token for Microsoft Graph obtained elsewhere, for example with C(az account get-access-token --resource-type ms-graph).
        No other credential is needed and MSAL is not used; the token cannot be refreshed, so it must outlive the task.
      - If not set, the environment variable E(ENTRA_ACCESS_TOKEN) is used.
    type: str
  cloud:
    description:
      - The Microsoft cloud of the tenant; it picks the Graph host, the login host and the token scope.
      - V(global) is Microsoft Graph global service, V(usgov) US Government L4 (GCC High), V(usgov_dod) US Government L5 (DOD),
        V(china) Microsoft Graph operated by 21Vianet.
      - If not set, the environment variable E(ENTRA_CLOUD) is used, then E(AZURE_CLOUD_ENVIRONMENT) with the Azure names
        V(AzureCloud), V(AzureUSGovernment) and V(AzureChinaCloud) (as AWX's Azure credential sets it). Any other value of these
        variables is an error that names the variable and its value.
    type: str
    choices: [global, usgov, usgov_dod, china]
    default: global
  graph_endpoint:
    description:
      - Send Graph requests to this base URL (C(https://) only, without the API version) instead of the cloud's Graph host,
        for example a gateway or a test server.
      - Tokens are still requested for the cloud's Graph resource and request bodies still name the cloud's Graph host.
      - If not set, the environment variable E(ENTRA_GRAPH_ENDPOINT) is used.
    type: str
  authority_host:
    description:
      - Request tokens from this login host (C(https://) only) instead of the cloud's, for example C(https://login.microsoftonline.us).
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used.
    type: str
  ca_path:
    description:
      - PEM bundle of the certificate authorities to trust for Graph and the login host, for example a TLS-inspecting proxy's CA.
      - It takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE); without it those, or the bundle of C(requests), apply.
      - If not set, the environment variable E(ENTRA_CA_PATH) is used.
    type: path
  validate_certs:
    description:
      - Verify the TLS certificates of Graph and the login host. Set to V(false) only for tests; the module warns when it is.
      - If not set, the environment variable E(ENTRA_VALIDATE_CERTS) is used.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP request.
    type: int
    default: 30
  max_retries:
    description:
      - How often a request answered with 429, 503 or 504, or lost to a connection error, is retried (0 to 20).
      - The wait honours Graph's C(Retry-After); without it the wait doubles from about one second, with jitter, up to a minute.
      - Requests inside a C($batch) are retried on their own in the same way.
    type: int
    default: 6
  max_concurrency:
    description:
      - How many C($batch) requests (of up to 20 Graph requests each) are in flight at the same time (1 to 16).
      - Lower it if Graph throttles the application a lot; raise it to go faster through thousands of memberships.
    type: int
    default: 4
requirements:
  - msal (not needed with O(access_token))
  - requests
notes:
  - Tokens are kept in memory only, for the duration of one task, and are never shown in results, messages or warnings.
  - Set these options once for a play with C(module_defaults) and the action group C(group/entra.membership.graph).
  - See the collection's C(docs/authentication.md) for each authentication method, AWX credentials and the Graph permissions each module needs.
seealso:
  - name: Microsoft Graph national cloud deployments
    description: The Graph and login hosts of each cloud.
    link: https://learn.microsoft.com/graph/deployments
'''
