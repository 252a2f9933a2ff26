"""A test-only module built on EntraModule, to test the base class end to end with tests/modrun.py.

It is not shipped (it lives under tests/, not plugins/modules/).
"""
from __future__ import annotations

from ansible_collections.entra.membership.plugins.module_utils._module import EntraModule
from ansible_collections.entra.membership.plugins.module_utils._resolve import resolve_members


def main():
    module = EntraModule(
        argument_spec=dict(
            action=dict(type='str', default='settings', choices=['settings', 'token', 'resolve_members', 'get', 'raise']),
            members=dict(type='list', elements='str', default=[]),
            path=dict(type='str', default='/organization'),
            api_version=dict(type='str', default='v1.0', choices=['v1.0', 'beta']),
        ),
        supports_check_mode=True,
    )
    settings = module.connection_settings
    result = dict(
        changed=False,
        credential=settings.credential,
        cloud=settings.endpoints.cloud,
        graph_url=settings.endpoints.graph_url,
        authority_host=settings.endpoints.authority_host,
        scope=settings.endpoints.scope,
        verify=settings.verify if isinstance(settings.verify, bool) else 'ca_path',
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
    )
    action = module.params['action']
    if action == 'settings':
        module.exit_json(**result)
    with module.fail_on_error(**result):
        if action == 'raise':
            # A defect whose message echoes a credential, as a library's exception may.
            raise RuntimeError('a library echoed %s' % settings.client_secret)
        client = module.client
        if action == 'resolve_members':
            members = resolve_members(client, module.params['members'])
            result['members'] = {ref: dict(id=member.id, upn=member.upn, found=member.found,
                                           error=member.error.to_dict() if member.error else None)
                                 for ref, member in members.items()}
        elif action == 'get':
            result['body'] = client.get(module.params['path'])
        result['stats'] = dict(client.stats)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
