"""National cloud table, AZURE_CLOUD_ENVIRONMENT aliases and endpoint overrides."""
import pytest

from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.entra.membership.plugins.module_utils._clouds import (
    CLOUDS,
    cloud_from_environment,
    normalize_https_url,
    resolve_endpoints,
)
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError


@pytest.mark.parametrize("cloud, graph, login", [
    ("global", "https://graph.microsoft.com", "https://login.microsoftonline.com"),
    ("usgov", "https://graph.microsoft.us", "https://login.microsoftonline.us"),
    ("usgov_dod", "https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
    ("china", "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
])
def test_each_cloud_has_microsofts_hosts_and_its_own_scope(cloud, graph, login):
    endpoints = resolve_endpoints(cloud)
    assert (endpoints.graph_url, endpoints.authority_host) == (graph, login)
    assert endpoints.scope == graph + "/.default"
    assert endpoints.bind_url == graph
    assert not endpoints.graph_overridden and not endpoints.authority_overridden


def test_no_cloud_means_global():
    assert resolve_endpoints(None).graph_url == "https://graph.microsoft.com"
    assert set(CLOUDS) == {"global", "usgov", "usgov_dod", "china"}


def test_overrides_move_requests_but_keep_the_clouds_scope_and_bind_host():
    endpoints = resolve_endpoints("usgov", graph_endpoint="https://127.0.0.1:8443/", authority_host="https://login.example.test:9443")
    assert endpoints.graph_url == "https://127.0.0.1:8443"
    assert endpoints.authority_host == "https://login.example.test:9443"
    assert endpoints.scope == "https://graph.microsoft.us/.default"
    assert endpoints.bind_url == "https://graph.microsoft.us"
    assert endpoints.graph_overridden and endpoints.authority_overridden


@pytest.mark.parametrize("value", [
    "http://127.0.0.1:8443", "127.0.0.1:8443", "ftp://x", "https://", "https://user:pw@host", "https://host/?a=1",
    "https://host:99999", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/beta/",
    "https://host/../x", "https://host/gateway/./graph", "https://host/a b", "https://host/a\tb",
])
def test_override_urls_must_be_plain_https_base_urls(value):
    with pytest.raises(EntraConfigError) as caught:
        normalize_https_url("graph_endpoint", value)
    assert "graph_endpoint" in str(caught.value) and (value in str(caught.value) or repr(value) in str(caught.value))


def test_an_unknown_cloud_name_is_an_error_naming_it():
    with pytest.raises(EntraConfigError, match="cloud must be one of global, usgov, usgov_dod, china, got 'germany'"):
        resolve_endpoints("germany")


@pytest.mark.parametrize("environ, expected", [
    ({"AZURE_CLOUD_ENVIRONMENT": "AzureCloud"}, "global"),
    ({"AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment"}, "usgov"),
    ({"AZURE_CLOUD_ENVIRONMENT": "AzureChinaCloud"}, "china"),
    ({"AZURE_CLOUD_ENVIRONMENT": "azurechinacloud"}, "china"),
    ({"AZURE_CLOUD_ENVIRONMENT": "usgov_dod"}, "usgov_dod"),
    ({"ENTRA_CLOUD": "china"}, "china"),
    ({"ENTRA_CLOUD": "usgov_dod", "AZURE_CLOUD_ENVIRONMENT": "AzureCloud"}, "usgov_dod"),
    ({"ENTRA_CLOUD": "", "AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment"}, "usgov"),
])
def test_cloud_comes_from_entra_cloud_then_azure_cloud_environment_by_its_azure_name(environ, expected):
    assert cloud_from_environment(environ) == expected


def test_unknown_environment_values_surface_with_the_variable_name():
    # The option's choices check then says "... got: AZURE_CLOUD_ENVIRONMENT=AzureGermanCloud".
    assert cloud_from_environment({"AZURE_CLOUD_ENVIRONMENT": "AzureGermanCloud"}) == (
        "AZURE_CLOUD_ENVIRONMENT=AzureGermanCloud (that variable takes AzureCloud, AzureUSGovernment, AzureChinaCloud, or a cloud name)")
    assert cloud_from_environment({"ENTRA_CLOUD": "Mars"}) == "ENTRA_CLOUD=Mars"


def test_no_environment_means_the_default_applies():
    with pytest.raises(AnsibleFallbackNotFound):
        cloud_from_environment({})
