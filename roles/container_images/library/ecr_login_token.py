#!/usr/bin/python
"""Ansible module: a docker login credential from Amazon ECR (read-only)."""
# Ansible modules keep their imports below the documentation strings.
# ruff: noqa: E402

DOCUMENTATION = r"""
---
module: ecr_login_token
short_description: Get the docker login credential of an Amazon ECR registry
description:
  - Calls ECR C(GetAuthorizationToken) and returns what C(docker login) needs
    (registry host, user name, password), ready for M(community.docker.docker_login).
  - Read-only; it never reports a change and runs in check mode.
  - The password is a live credential (valid for 12 hours). Use C(no_log) on the task.
  - No module in amazon.aws or community.aws returns this token; this one is kept small on purpose.
options:
  registry_id:
    description:
      - AWS account id of the registry. Default is the caller's own account.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Get the ECR login credential
  ecr_login_token:
    region: eu-west-1
  register: ecr_login
  no_log: true

- name: Log in to ECR
  community.docker.docker_login:
    registry_url: "{{ ecr_login.registry }}"
    username: "{{ ecr_login.username }}"
    password: "{{ ecr_login.password }}"
  no_log: true
"""

RETURN = r"""
registry:
  description: Registry host name, without scheme (from the token's proxy endpoint).
  returned: success
  type: str
  sample: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
registry_id:
  description: AWS account id of the registry (first label of I(registry)).
  returned: success
  type: str
  sample: "123456789012"
username:
  description: User name for docker login (always C(AWS) on ECR).
  returned: success
  type: str
  sample: AWS
password:
  description: Password for docker login. A secret; hide the task's output.
  returned: success
  type: str
expires_at:
  description: When the credential expires (ISO 8601).
  returned: success
  type: str
  sample: "2026-11-25T15:04:05+00:00"
"""

import base64

try:  # noqa: SIM105 (the usual AWS module pattern)
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def decode_authorization(data):
    """Turn one ECR AuthorizationData entry into docker login fields."""
    username, sep, password = base64.b64decode(data["authorizationToken"]).decode("utf-8").partition(":")
    if not sep or not password:
        raise ValueError("the ECR authorization token is not of the form user:password")
    registry = data["proxyEndpoint"].split("://", 1)[-1].rstrip("/")
    expires_at = data.get("expiresAt")
    return {
        "registry": registry,
        "registry_id": registry.split(".", 1)[0],
        "username": username,
        "password": password,
        "expires_at": expires_at.isoformat() if hasattr(expires_at, "isoformat") else str(expires_at or ""),
    }


def get_login(client, registry_id=None):
    params = {"registryIds": [registry_id]} if registry_id else {}
    response = client.get_authorization_token(aws_retry=True, **params)
    entries = response.get("authorizationData") or []
    if not entries:
        raise ValueError("ECR returned no authorization data")
    return decode_authorization(entries[0])


def main():
    module = AnsibleAWSModule(
        argument_spec={"registry_id": {"type": "str"}},
        supports_check_mode=True,
    )
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    try:
        login = get_login(client, module.params["registry_id"])
    except (BotoCoreError, ClientError) as e:
        module.fail_json_aws(e, msg="Failed to get an ECR authorization token")
    except ValueError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=False, **login)


if __name__ == "__main__":
    main()
