"""Microsoft Entra built-in roles the simulator knows: display name, template id, whether Entra marks it privileged.

A built-in role definition's ``id`` is its ``templateId`` (rbacapplication-post-roleassignments.md: "roleDefinitionId
can be either the service-wide template Id or the directory-specific roleDefinitionId"). The ids are Microsoft's
(permissions-reference in Microsoft Entra's documentation); ``privileged`` follows its ``isPrivileged`` flag.
"""
from __future__ import annotations

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"

# (displayName, templateId, privileged, description)
BUILT_IN_ROLES = (
    ("Global Administrator", GLOBAL_ADMINISTRATOR, True,
     "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451", True,
     "Can read everything that a Global Administrator can, but not update anything."),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1", True,
     "Can manage all aspects of users and groups, including resetting passwords for limited admins."),
    ("Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8", True,
     "Can reset passwords for non-administrators and Helpdesk Administrators."),
    ("Password Administrator", "966707d0-3269-4727-9be2-8c3a10f19b9d", True,
     "Can reset passwords for non-administrators and Password Administrators."),
    ("Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c", False,
     "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies."),
    ("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814", True,
     "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."),
    ("Privileged Authentication Administrator", PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, True,
     "Can access to view, set and reset authentication method information for any user (admin or non-admin)."),
    ("Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f", True,
     "Can access to view, set and reset authentication method information for any non-admin user."),
    ("Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d", True,
     "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365."),
    ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", True,
     "Can create and manage all aspects of app registrations and enterprise apps."),
    ("Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7", True,
     "Can create and manage all aspects of app registrations and enterprise apps except App Proxy."),
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de", False,
     "Can manage all aspects of the Exchange product."),
    ("SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", False,
     "Can manage all aspects of the SharePoint service."),
    ("Teams Administrator", "69091246-20e8-4a56-aa4d-066075b2a7a8", False,
     "Can manage the Microsoft Teams service."),
    ("License Administrator", "4d6ac14f-3453-41d0-bef9-a3e0c569773a", False,
     "Can manage product licenses on users and groups."),
    ("Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", False,
     "Can read basic directory information. Commonly used to grant directory read access to applications and guests."),
)

# Who can perform sensitive actions (users.md): an app may disable, re-enable or sign out a user who holds a
# privileged role only when it holds one of these roles itself.
SENSITIVE_ACTION_ROLES = frozenset({GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR})
