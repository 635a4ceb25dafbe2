#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_endpoint_policy
short_description: Keep the policy of an existing VPC endpoint
description:
  - Sets the policy of one VPC endpoint (gateway or interface) with ModifyVpcEndpoint when it differs from
    O(policy). C(amazon.aws.ec2_vpc_endpoint) sends a policy only when it creates an endpoint; this module
    keeps it afterwards, so a changed policy reaches endpoints that already exist.
  - The document is compared as JSON (key order and spacing do not matter); a second run changes nothing.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  vpc_endpoint_id:
    description: Id of the endpoint (C(vpce-...)).
    type: str
    required: true
  policy:
    description: The policy document, as a dict or a JSON string.
    type: json
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: The provider's S3 endpoint reaches ECR's image layers only
  ec2_vpc_endpoint_policy:
    vpc_endpoint_id: "{{ s3_endpoint.result.vpc_endpoint_id }}"
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: EcrImageLayers
          Effect: Allow
          Principal: "*"
          Action: s3:GetObject
          Resource: arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*
"""

RETURN = r"""
policy:
  description: The endpoint's policy after the run, parsed.
  returned: always
  type: dict
"""

import contextlib
import json

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def current_policy(client, endpoint_id):
    endpoints = client.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id], aws_retry=True).get("VpcEndpoints") or []
    if not endpoints:
        raise ValueError(f"no VPC endpoint {endpoint_id}")
    return pacs_aws.policy_document(endpoints[0].get("PolicyDocument") or "{}")


def run(module, client):
    endpoint_id = module.params["vpc_endpoint_id"]
    wanted = pacs_aws.policy_document(module.params["policy"])
    if current_policy(client, endpoint_id) == wanted:
        module.exit_json(changed=False, policy=wanted)
    if not module.check_mode:
        client.modify_vpc_endpoint(
            VpcEndpointId=endpoint_id, PolicyDocument=json.dumps(wanted, sort_keys=True), aws_retry=True
        )
    module.exit_json(changed=True, policy=wanted)


def main():
    argument_spec = {
        "vpc_endpoint_id": {"type": "str", "required": True},
        "policy": {"type": "json", "required": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "ec2")
    try:
        run(module, client)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"policy of VPC endpoint {module.params['vpc_endpoint_id']}")


if __name__ == "__main__":
    main()
