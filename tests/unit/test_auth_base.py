"""The AuthMethodBase contract: every method gives tokens and names its secrets the same way."""
import pytest

from ansible_collections.entra.membership.plugins.module_utils._auth_base import AuthMethodBase, MsalAuthMethodBase


def test_a_method_that_implements_nothing_is_told_what_it_lacks():
    class Incomplete(AuthMethodBase):
        NAME = "incomplete"

    class NoCredential(MsalAuthMethodBase):
        NAME = "no credential"

    method = Incomplete(settings=None, http_client=None)
    with pytest.raises(NotImplementedError, match="^Incomplete must implement token$"):
        method.token()
    with pytest.raises(NotImplementedError, match="^Incomplete must implement secrets$"):
        method.secrets()
    with pytest.raises(NotImplementedError, match="^NoCredential must implement client_credential$"):
        NoCredential(settings=None, http_client=None).client_credential()
