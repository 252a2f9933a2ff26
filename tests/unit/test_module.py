"""EntraModule's pure helpers."""
import importlib.metadata

from ansible.module_utils import ansible_release

from ansible_collections.entra.membership.plugins.module_utils._module import library_versions


def test_library_versions_name_ansible_core_msal_and_requests_and_none_for_one_not_installed(monkeypatch):
    installed = importlib.metadata.version

    def version(name):
        if name == "msal":
            raise importlib.metadata.PackageNotFoundError(name)
        return installed(name)

    assert library_versions() == {"ansible_core_version": ansible_release.__version__, "msal_version": installed("msal"),
                                  "requests_version": installed("requests")}
    monkeypatch.setattr(importlib.metadata, "version", version)
    assert library_versions()["msal_version"] is None and library_versions()["requests_version"] == installed("requests")
