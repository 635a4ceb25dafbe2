#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_user_pool_client
short_description: Manage an app client of a Cognito user pool, found by its name
description:
  - Creates, updates and deletes an app client of a Cognito user pool, for example the one an Application
    Load Balancer's C(authenticate-cognito) action signs users in with (OAuth 2.0 authorization code flow).
  - The client is looked up by name in the pool; the module fails when the name is ambiguous.
  - Compared and updated in place are the callback and logout URLs, the OAuth flows, scopes and identity
    providers, and the token validity settings given. UpdateUserPoolClient resets every setting it is not
    given, so the module sends the client's current values of the others with its changes.
  - Whether the client has a secret is fixed at creation; a difference is reported as an error.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  user_pool_id:
    description: Id of the user pool.
    type: str
    required: true
  name:
    description: Name of the app client.
    type: str
    required: true
  state:
    description: Whether the app client should exist.
    type: str
    choices: [present, absent]
    default: present
  generate_secret:
    description: Give the client a secret (an ALB needs one). Fixed at creation.
    type: bool
    default: true
  callback_urls:
    description: URLs Cognito may redirect to after sign-in (for an ALB C(https://<name>/oauth2/idpresponse)).
    type: list
    elements: str
    default: []
  logout_urls:
    description: URLs Cognito may redirect to after sign-out.
    type: list
    elements: str
    default: []
  allowed_oauth_flows:
    description: OAuth 2.0 flows the client may use.
    type: list
    elements: str
    choices: [code, implicit, client_credentials]
    default: [code]
  allowed_oauth_scopes:
    description: OAuth scopes the client may ask for.
    type: list
    elements: str
    default: [openid, email]
  supported_identity_providers:
    description: Identity providers the client signs users in with.
    type: list
    elements: str
    default: [COGNITO]
  explicit_auth_flows:
    description: Authentication flows other than OAuth (C(ALLOW_REFRESH_TOKEN_AUTH), ...); omitted leaves them.
    type: list
    elements: str
  return_secret:
    description:
      - Return the client's secret as RV(client_secret).
      - Only allowed when the task has C(no_log) set to true, so that the secret never reaches a log or
        the console; the module fails otherwise.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - The secret is never returned unless O(return_secret=true); register the result of such a task only
    with C(no_log) set to true, which the module enforces.
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: App client of the admin ALB
  cognito_user_pool_client:
    user_pool_id: "{{ admins_pool.user_pool.id }}"
    name: pacs-admin-alb
    callback_urls: ["https://pacs-admin.example.org/oauth2/idpresponse"]
  register: alb_client

- name: The same client with its secret, for a secret store
  cognito_user_pool_client:
    user_pool_id: "{{ admins_pool.user_pool.id }}"
    name: pacs-admin-alb
    callback_urls: ["https://pacs-admin.example.org/oauth2/idpresponse"]
    return_secret: true
  register: alb_client_secret
  no_log: true
"""

RETURN = r"""
client:
  description: The app client; empty when it is absent. Never holds the secret.
  returned: always
  type: dict
  contains:
    client_id:
      description: Id of the app client.
      type: str
    name:
      description: Name of the app client.
      type: str
    user_pool_id:
      description: Id of the user pool.
      type: str
    has_secret:
      description: Whether the client has a secret.
      type: bool
    callback_urls:
      description: Callback URLs.
      type: list
    allowed_oauth_flows:
      description: OAuth flows.
      type: list
    allowed_oauth_scopes:
      description: OAuth scopes.
      type: list
client_secret:
  description: The client's secret. Sensitive; only with O(return_secret=true) on a task with C(no_log).
  returned: when return_secret is true and the client has a secret
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

# option -> API field, for the list settings compared regardless of order.
LIST_SETTINGS = {
    "callback_urls": "CallbackURLs",
    "logout_urls": "LogoutURLs",
    "allowed_oauth_flows": "AllowedOAuthFlows",
    "allowed_oauth_scopes": "AllowedOAuthScopes",
    "supported_identity_providers": "SupportedIdentityProviders",
    "explicit_auth_flows": "ExplicitAuthFlows",
}


def find_client_id(client, pool_id, name):
    found = [
        entry
        for entry in pacs_aws.paginate(
            client, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id, MaxResults=60
        )
        if entry.get("ClientName") == name
    ]
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} app clients of {pool_id} are named {name!r}: " + ", ".join(c["ClientId"] for c in found)
        )
    return found[0]["ClientId"] if found else None


def describe(client, pool_id, client_id):
    try:
        return client.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id, aws_retry=True)[
            "UserPoolClient"
        ]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def desired_settings(params):
    settings = {}
    for option, field in LIST_SETTINGS.items():
        if params[option] is not None:
            settings[field] = list(params[option])
    settings["AllowedOAuthFlowsUserPoolClient"] = bool(params["allowed_oauth_flows"])
    return settings


def differences(app_client, params):
    diffs = []
    for option, field in LIST_SETTINGS.items():
        if params[option] is not None and sorted(app_client.get(field) or []) != sorted(params[option]):
            diffs.append(option)
    if bool(app_client.get("AllowedOAuthFlowsUserPoolClient")) != bool(params["allowed_oauth_flows"]):
        diffs.append("allowed_oauth_flows")
    return sorted(set(diffs))


def update_request(client, app_client, changes):
    members = client.meta.service_model.operation_model("UpdateUserPoolClient").input_shape.members
    request = {key: value for key, value in app_client.items() if key in members and value not in (None, [], {})}
    request.update(changes)
    request["UserPoolId"] = app_client["UserPoolId"]
    request["ClientId"] = app_client["ClientId"]
    return request


def result_of(module, app_client):
    if app_client is None:
        return {"client": {}}
    result = {
        "client": {
            "client_id": app_client["ClientId"],
            "name": app_client.get("ClientName"),
            "user_pool_id": app_client.get("UserPoolId"),
            "has_secret": bool(app_client.get("ClientSecret")),
            **{option: app_client.get(field) or [] for option, field in LIST_SETTINGS.items()},
        }
    }
    if module.params["return_secret"] and app_client.get("ClientSecret"):
        result["client_secret"] = app_client["ClientSecret"]
    return result


def ensure_present(module, client):
    params = module.params
    client_id = find_client_id(client, params["user_pool_id"], params["name"])
    app_client = describe(client, params["user_pool_id"], client_id) if client_id else None
    if app_client is None:
        if module.check_mode:
            module.exit_json(changed=True, **result_of(module, None))
        created = client.create_user_pool_client(
            UserPoolId=params["user_pool_id"],
            ClientName=params["name"],
            GenerateSecret=params["generate_secret"],
            aws_retry=True,
            **desired_settings(params),
        )["UserPoolClient"]
        module.exit_json(changed=True, **result_of(module, created))

    if bool(app_client.get("ClientSecret")) != params["generate_secret"]:
        module.fail_json(
            msg=(
                f"app client {params['name']} ({app_client['ClientId']}) "
                + ("has" if app_client.get("ClientSecret") else "has no")
                + " secret; that is fixed at creation, delete the client (state=absent) to change generate_secret"
            )
        )
    diffs = differences(app_client, params)
    if not diffs:
        module.exit_json(changed=False, **result_of(module, app_client))
    if module.check_mode:
        module.exit_json(changed=True, differences=diffs, **result_of(module, app_client))
    updated = client.update_user_pool_client(
        aws_retry=True, **update_request(client, app_client, desired_settings(params))
    )["UserPoolClient"]
    module.exit_json(changed=True, differences=diffs, **result_of(module, updated))


def ensure_absent(module, client):
    params = module.params
    client_id = find_client_id(client, params["user_pool_id"], params["name"])
    if client_id is None:
        module.exit_json(changed=False, **result_of(module, None))
    if not module.check_mode:
        client.delete_user_pool_client(UserPoolId=params["user_pool_id"], ClientId=client_id, aws_retry=True)
    module.exit_json(changed=True, **result_of(module, None))


def main():
    argument_spec = {
        "user_pool_id": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "generate_secret": {"type": "bool", "default": True},
        "callback_urls": {"type": "list", "elements": "str", "default": []},
        "logout_urls": {"type": "list", "elements": "str", "default": []},
        "allowed_oauth_flows": {
            "type": "list",
            "elements": "str",
            "choices": ["code", "implicit", "client_credentials"],
            "default": ["code"],
        },
        "allowed_oauth_scopes": {"type": "list", "elements": "str", "default": ["openid", "email"]},
        "supported_identity_providers": {"type": "list", "elements": "str", "default": ["COGNITO"]},
        "explicit_auth_flows": {"type": "list", "elements": "str"},
        "return_secret": {"type": "bool", "default": False},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["return_secret"] and not module.no_log:
        module.fail_json(msg="return_secret=true returns the client secret: set no_log: true on the task")
    needs_callback = module.params["state"] == "present" and "code" in module.params["allowed_oauth_flows"]
    if needs_callback and not module.params["callback_urls"]:
        module.fail_json(msg="the code flow needs at least one callback URL (callback_urls)")
    client = pacs_aws.aws_client(module, "cognito-idp")
    pacs_aws.run_state(
        module,
        client,
        ensure_present,
        ensure_absent,
        f"app client {module.params['name']} of {module.params['user_pool_id']}",
    )


if __name__ == "__main__":
    main()
