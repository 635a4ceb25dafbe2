#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_user_pool
short_description: Manage an Amazon Cognito user pool, found by its name
description:
  - Creates, updates and deletes a Cognito user pool. AWS lets several pools share a name, so the module
    looks the pool up by name first and only creates one when none exists; it fails when the name is
    ambiguous rather than guess.
  - Compared and updated in place are the password policy, MFA, whether only administrators may create
    users, the attributes verified automatically, deletion protection and the tags.
  - Cognito's UpdateUserPool resets every setting it is not given. The module therefore sends the pool's
    current values of the settings it does not manage together with the ones it changes.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  name:
    description: Name of the user pool.
    type: str
    required: true
  state:
    description: Whether the pool should exist.
    type: str
    choices: [present, absent]
    default: present
  mfa:
    description:
      - Multi-factor authentication. C(ON) and C(OPTIONAL) enable time-based one-time passwords (software
        tokens) through SetUserPoolMfaConfig.
    type: str
    choices: ["OFF", "ON", "OPTIONAL"]
    default: "OFF"
  password_policy:
    description: Password rules of the pool's users.
    type: dict
    default: {}
    suboptions:
      minimum_length:
        description: Shortest password allowed.
        type: int
        default: 12
      require_uppercase:
        description: Require an upper-case letter.
        type: bool
        default: true
      require_lowercase:
        description: Require a lower-case letter.
        type: bool
        default: true
      require_numbers:
        description: Require a digit.
        type: bool
        default: true
      require_symbols:
        description: Require a symbol.
        type: bool
        default: true
      temporary_password_validity_days:
        description: Days an administrator-set temporary password stays valid.
        type: int
        default: 7
  password_minimum_length:
    description: Shortcut for O(password_policy.minimum_length); when given it wins.
    type: int
  admin_create_user_only:
    description: Only administrators create users (no self sign-up).
    type: bool
    default: true
  auto_verified_attributes:
    description: Attributes Cognito verifies by sending a code; omitted leaves them as they are.
    type: list
    elements: str
    choices: [email, phone_number]
  username_attributes:
    description:
      - Attributes users may sign in with instead of a user name. Fixed at creation; a difference later
        is reported as a warning and not applied.
    type: list
    elements: str
    choices: [email, phone_number]
  deletion_protection:
    description:
      - With C(ACTIVE), AWS refuses to delete the pool until it is set back to C(INACTIVE).
      - With O(state=absent), C(INACTIVE) lifts a protected pool's protection and then deletes it; C(ACTIVE)
        makes the module fail on a protected pool instead.
    type: str
    choices: [ACTIVE, INACTIVE]
    default: INACTIVE
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: User pool of the PACS administrators
  cognito_user_pool:
    name: pacs-admins
    password_policy:
      minimum_length: 14
    auto_verified_attributes: [email]
    username_attributes: [email]
    tags:
      Project: pacs
  register: admins_pool

- name: Remove it
  cognito_user_pool:
    name: pacs-admins
    state: absent
"""

RETURN = r"""
user_pool:
  description: The pool's id, ARN and name, and the settings the module manages; empty when it is absent.
  returned: always
  type: dict
  contains:
    id:
      description: Pool id, for example C(us-east-1_AbCdEf123).
      type: str
    arn:
      description: Pool ARN.
      type: str
    name:
      description: Pool name.
      type: str
    mfa:
      description: MFA setting.
      type: str
    password_policy:
      description: Password policy, in snake_case.
      type: dict
    admin_create_user_only:
      description: Whether only administrators create users.
      type: bool
    tags:
      description: Tags.
      type: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def find_pool_id(client, name):
    pools = [
        pool
        for pool in pacs_aws.paginate(client, "list_user_pools", "UserPools", MaxResults=60)
        if pool.get("Name") == name
    ]
    if len(pools) > 1:
        raise ValueError(f"{len(pools)} user pools are named {name!r}: " + ", ".join(p["Id"] for p in pools))
    return pools[0]["Id"] if pools else None


def describe(client, pool_id):
    try:
        return client.describe_user_pool(UserPoolId=pool_id, aws_retry=True)["UserPool"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def desired_password_policy(params):
    policy = params["password_policy"]
    minimum = params["password_minimum_length"] or policy["minimum_length"]
    return {
        "MinimumLength": minimum,
        "RequireUppercase": policy["require_uppercase"],
        "RequireLowercase": policy["require_lowercase"],
        "RequireNumbers": policy["require_numbers"],
        "RequireSymbols": policy["require_symbols"],
        "TemporaryPasswordValidityDays": policy["temporary_password_validity_days"],
    }


def desired_settings(params, pool=None):
    """The managed settings as UpdateUserPool / CreateUserPool parameters."""
    settings = {
        "Policies": {"PasswordPolicy": desired_password_policy(params)},
        "AdminCreateUserConfig": {
            **((pool or {}).get("AdminCreateUserConfig") or {}),
            "AllowAdminCreateUserOnly": params["admin_create_user_only"],
        },
        "DeletionProtection": params["deletion_protection"],
    }
    if params["auto_verified_attributes"] is not None:
        settings["AutoVerifiedAttributes"] = sorted(params["auto_verified_attributes"])
    return settings


def settings_differ(pool, params):
    differences = []
    have_policy = ((pool.get("Policies") or {}).get("PasswordPolicy")) or {}
    for key, value in desired_password_policy(params).items():
        if have_policy.get(key) != value:
            differences.append("password_policy")
            break
    if (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly") != params["admin_create_user_only"]:
        differences.append("admin_create_user_only")
    if (pool.get("DeletionProtection") or "INACTIVE") != params["deletion_protection"]:
        differences.append("deletion_protection")
    if params["auto_verified_attributes"] is not None and sorted(pool.get("AutoVerifiedAttributes") or []) != sorted(
        params["auto_verified_attributes"]
    ):
        differences.append("auto_verified_attributes")
    return differences


def update_request(client, pool, changes):
    """UpdateUserPool parameters: the pool's current updatable settings, overlaid with `changes`."""
    members = client.meta.service_model.operation_model("UpdateUserPool").input_shape.members
    request = {key: value for key, value in pool.items() if key in members and value not in (None, {}, [])}
    # Settings Cognito reports but refuses back as they are.
    request.pop("SmsConfigurationFailure", None)
    email = request.get("EmailConfiguration")
    if email and email.get("EmailSendingAccount") == "COGNITO_DEFAULT" and not email.get("SourceArn"):
        request["EmailConfiguration"] = {"EmailSendingAccount": "COGNITO_DEFAULT"}
    request.update(changes)
    request["UserPoolId"] = pool["Id"]
    return request


def set_mfa(client, pool_id, mfa):
    kwargs = {"UserPoolId": pool_id, "MfaConfiguration": mfa}
    if mfa != "OFF":
        kwargs["SoftwareTokenMfaConfiguration"] = {"Enabled": True}
    client.set_user_pool_mfa_config(aws_retry=True, **kwargs)


def result_of(pool):
    if pool is None:
        return {"user_pool": {}}
    policy = ((pool.get("Policies") or {}).get("PasswordPolicy")) or {}
    return {
        "user_pool": {
            "id": pool["Id"],
            "arn": pool.get("Arn"),
            "name": pool.get("Name"),
            "mfa": pool.get("MfaConfiguration", "OFF"),
            "password_policy": camel_dict_to_snake_dict(policy),
            "admin_create_user_only": (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"),
            "auto_verified_attributes": pool.get("AutoVerifiedAttributes") or [],
            "username_attributes": pool.get("UsernameAttributes") or [],
            "deletion_protection": pool.get("DeletionProtection", "INACTIVE"),
            "tags": pool.get("UserPoolTags") or {},
        }
    }


def create(module, client):
    params = module.params
    kwargs = {"PoolName": params["name"], **desired_settings(params)}
    if params["tags"]:
        kwargs["UserPoolTags"] = {k: str(v) for k, v in params["tags"].items()}
    if params["username_attributes"]:
        kwargs["UsernameAttributes"] = params["username_attributes"]
    pool = client.create_user_pool(aws_retry=True, **kwargs)["UserPool"]
    if params["mfa"] != "OFF":
        set_mfa(client, pool["Id"], params["mfa"])
    return describe(client, pool["Id"]) or pool


def ensure_present(module, client):
    params = module.params
    pool_id = find_pool_id(client, params["name"])
    pool = describe(client, pool_id) if pool_id else None
    if pool is None:
        if module.check_mode:
            module.exit_json(changed=True, **result_of(None))
        module.exit_json(changed=True, **result_of(create(module, client)))

    if params["username_attributes"] is not None and sorted(pool.get("UsernameAttributes") or []) != sorted(
        params["username_attributes"]
    ):
        module.warn(
            f"user pool {params['name']} has username_attributes {pool.get('UsernameAttributes') or []}; "
            "they are fixed when the pool is created and were not changed"
        )
    differences = settings_differ(pool, params)
    have_tags = pool.get("UserPoolTags") or {}
    to_set, to_unset = pacs_aws.tag_changes(have_tags, params["tags"], params["purge_tags"])
    mfa_differs = (pool.get("MfaConfiguration") or "OFF") != params["mfa"]
    if to_set or to_unset:
        differences.append("tags")
    if mfa_differs:
        differences.append("mfa")
    if not differences:
        module.exit_json(changed=False, **result_of(pool))
    if module.check_mode:
        module.exit_json(changed=True, differences=differences, **result_of(pool))

    if mfa_differs:
        set_mfa(client, pool["Id"], params["mfa"])
    changes = desired_settings(params, pool)
    changes["MfaConfiguration"] = params["mfa"]
    changes["UserPoolTags"] = pacs_aws.merged_tags(have_tags, to_set, to_unset)
    client.update_user_pool(aws_retry=True, **update_request(client, pool, changes))
    module.exit_json(changed=True, differences=differences, **result_of(describe(client, pool["Id"])))


def ensure_absent(module, client):
    pool_id = find_pool_id(client, module.params["name"])
    if pool_id is None:
        module.exit_json(changed=False, **result_of(None))
    pool = describe(client, pool_id) or {}
    if (pool.get("DeletionProtection") or "INACTIVE") == "ACTIVE":
        if module.params["deletion_protection"] == "ACTIVE":
            module.fail_json(
                msg=f"user pool {module.params['name']} has deletion protection; "
                "give deletion_protection INACTIVE with state absent to lift it and delete the pool"
            )
        if not module.check_mode:
            changes = {"DeletionProtection": "INACTIVE"}
            client.update_user_pool(aws_retry=True, **update_request(client, pool, changes))
    if not module.check_mode:
        client.delete_user_pool(UserPoolId=pool_id, aws_retry=True)
    module.exit_json(changed=True, **result_of(None))


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "mfa": {"type": "str", "choices": ["OFF", "ON", "OPTIONAL"], "default": "OFF"},
        "password_policy": {
            "type": "dict",
            "default": {},
            "options": {
                "minimum_length": {"type": "int", "default": 12},
                "require_uppercase": {"type": "bool", "default": True},
                "require_lowercase": {"type": "bool", "default": True},
                "require_numbers": {"type": "bool", "default": True},
                "require_symbols": {"type": "bool", "default": True},
                "temporary_password_validity_days": {"type": "int", "default": 7},
            },
        },
        "password_minimum_length": {"type": "int"},
        "admin_create_user_only": {"type": "bool", "default": True},
        "auto_verified_attributes": {"type": "list", "elements": "str", "choices": ["email", "phone_number"]},
        "username_attributes": {"type": "list", "elements": "str", "choices": ["email", "phone_number"]},
        "deletion_protection": {"type": "str", "choices": ["ACTIVE", "INACTIVE"], "default": "INACTIVE"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    minimum = module.params["password_minimum_length"] or module.params["password_policy"]["minimum_length"]
    if not 6 <= minimum <= 99:
        module.fail_json(msg=f"the password minimum length must be between 6 and 99, not {minimum}")
    client = pacs_aws.aws_client(module, "cognito-idp")
    pacs_aws.run_state(module, client, ensure_present, ensure_absent, f"Cognito user pool {module.params['name']}")


if __name__ == "__main__":
    main()
