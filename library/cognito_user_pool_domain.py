#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_user_pool_domain
short_description: Manage the sign-in domain of a Cognito user pool
description:
  - Creates or deletes the domain of a Cognito user pool's hosted sign-in pages, either a prefix
    (C(<prefix>.auth.<region>.amazoncognito.com)) or a custom domain with an ACM certificate.
  - Domains are global per region; the module fails when the domain belongs to another pool, and when the
    pool already has another domain of the same kind (a pool has at most one prefix domain).
  - The certificate of a custom domain is updated in place.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  user_pool_id:
    description: Id of the user pool.
    type: str
    required: true
  domain:
    description: The domain prefix (letters, digits, hyphens), or a full domain name with O(certificate_arn).
    type: str
    required: true
  state:
    description: Whether the domain should exist.
    type: str
    choices: [present, absent]
    default: present
  certificate_arn:
    description: ACM certificate (in us-east-1) of a custom domain; omit for a prefix domain.
    type: str
  wait_timeout:
    description: Seconds to wait for a new domain to become C(ACTIVE); 0 returns at once.
    type: int
    default: 0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Hosted sign-in pages of the admin pool
  cognito_user_pool_domain:
    user_pool_id: "{{ admins_pool.user_pool.id }}"
    domain: pacs-admin-login
  register: login_domain
"""

RETURN = r"""
domain:
  description: The domain as Cognito describes it; empty when it is absent.
  returned: always
  type: dict
  contains:
    domain:
      description: The domain prefix or name.
      type: str
    user_pool_id:
      description: Its user pool.
      type: str
    status:
      description: C(CREATING), C(ACTIVE), and so on.
      type: str
    cloud_front_distribution:
      description: The CloudFront host name that serves the pages.
      type: str
    fqdn:
      description: Full host name of the sign-in pages.
      type: str
    custom_domain_config:
      description: Certificate of a custom domain.
      type: dict
"""

import contextlib

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def describe(client, domain):
    description = client.describe_user_pool_domain(Domain=domain, aws_retry=True).get("DomainDescription") or {}
    return description if description.get("Domain") else None


def result_of(module, description):
    if not description:
        return {"domain": {}}
    shown = {k: v for k, v in description.items() if k != "AWSAccountId"}
    result = camel_dict_to_snake_dict(shown)
    if module.params["certificate_arn"]:
        result["fqdn"] = description["Domain"]
    else:
        result["fqdn"] = f"{description['Domain']}.auth.{module.region}.amazoncognito.com"
    return {"domain": result}


def ensure_present(module, client):
    params = module.params
    current = describe(client, params["domain"])
    if current is not None:
        if current.get("UserPoolId") != params["user_pool_id"]:
            module.fail_json(msg=f"domain {params['domain']} belongs to user pool {current.get('UserPoolId')}")
        have_cert = (current.get("CustomDomainConfig") or {}).get("CertificateArn")
        if params["certificate_arn"] and have_cert != params["certificate_arn"]:
            if not module.check_mode:
                client.update_user_pool_domain(
                    Domain=params["domain"],
                    UserPoolId=params["user_pool_id"],
                    CustomDomainConfig={"CertificateArn": params["certificate_arn"]},
                    aws_retry=True,
                )
                current = describe(client, params["domain"]) or current
            module.exit_json(changed=True, **result_of(module, current))
        module.exit_json(changed=False, **result_of(module, current))

    pool = client.describe_user_pool(UserPoolId=params["user_pool_id"], aws_retry=True)["UserPool"]
    other = pool.get("CustomDomain") if params["certificate_arn"] else pool.get("Domain")
    if other and other != params["domain"]:
        module.fail_json(
            msg=f"user pool {params['user_pool_id']} already has the domain {other}; remove it first (state=absent)"
        )
    if module.check_mode:
        module.exit_json(changed=True, **result_of(module, None))
    kwargs = {"Domain": params["domain"], "UserPoolId": params["user_pool_id"]}
    if params["certificate_arn"]:
        kwargs["CustomDomainConfig"] = {"CertificateArn": params["certificate_arn"]}
    client.create_user_pool_domain(aws_retry=True, **kwargs)
    current, _ready = pacs_aws.poll(
        lambda: describe(client, params["domain"]),
        lambda found: found is not None and found.get("Status") in (None, "ACTIVE", "FAILED"),
        params["wait_timeout"],
    )
    if current and current.get("Status") == "FAILED":
        module.fail_json(msg=f"domain {params['domain']} failed to become active", **result_of(module, current))
    module.exit_json(changed=True, **result_of(module, current or {"Domain": params["domain"]}))


def ensure_absent(module, client):
    params = module.params
    current = describe(client, params["domain"])
    if current is None:
        module.exit_json(changed=False, **result_of(module, None))
    if current.get("UserPoolId") != params["user_pool_id"]:
        module.fail_json(
            msg=f"domain {params['domain']} belongs to user pool {current.get('UserPoolId')}, not deleting it"
        )
    if not module.check_mode:
        client.delete_user_pool_domain(Domain=params["domain"], UserPoolId=params["user_pool_id"], aws_retry=True)
    module.exit_json(changed=True, **result_of(module, None))


def main():
    argument_spec = {
        "user_pool_id": {"type": "str", "required": True},
        "domain": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "certificate_arn": {"type": "str"},
        "wait_timeout": {"type": "int", "default": 0},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    domain = module.params["domain"]
    if not module.params["certificate_arn"] and not all(c.isalnum() or c == "-" for c in domain):
        module.fail_json(msg=f"a domain prefix may hold only letters, digits and hyphens, not {domain!r}")
    client = pacs_aws.aws_client(module, "cognito-idp")
    try:
        if module.params["state"] == "present":
            ensure_present(module, client)
        else:
            ensure_absent(module, client)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"domain {domain} of user pool {module.params['user_pool_id']}")


if __name__ == "__main__":
    main()
