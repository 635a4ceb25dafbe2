#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatchlogs_resource_policy
short_description: Manage a CloudWatch Logs resource policy, found by its name
description:
  - Creates, updates and deletes one CloudWatch Logs resource policy of the account and region: the policy
    that lets an AWS service (DataSync, Route 53 query logging, EventBridge, ...) deliver to log groups.
  - The policy document is compared as JSON (key order and spacing do not matter); a second run with the
    same document changes nothing.
  - CloudWatch Logs allows at most 10 resource policies per account and region.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  name:
    description: Name of the resource policy (its key; up to 255 characters).
    type: str
    required: true
  policy:
    description:
      - The policy document, as a dict or a JSON string. Required with O(state=present).
    type: json
  state:
    description: Whether the policy should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: DataSync may write its task logs
  cloudwatchlogs_resource_policy:
    name: pacs-datasync-logs
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: DataSyncLogs
          Effect: Allow
          Principal: {Service: datasync.amazonaws.com}
          Action: [logs:CreateLogStream, logs:PutLogEvents]
          Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:/pacs/datasync:*"
"""

RETURN = r"""
resource_policy:
  description: The policy as it is after the run; empty when it is absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the policy.
      type: str
    policy:
      description: The policy document, parsed.
      type: dict
    last_updated_time:
      description: When CloudWatch Logs last stored the policy (milliseconds since the epoch).
      type: int
differences:
  description: What differs from the options (C(policy)) when the policy exists and is changed.
  returned: when the policy is updated
  type: list
  elements: str
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def find(client, name):
    """The stored policy named `name`, or None."""
    for policy in pacs_aws.paginate(
        client, "describe_resource_policies", "resourcePolicies", "nextToken", "nextToken", limit=50
    ):
        if policy.get("policyName") == name:
            return policy
    return None


def result_of(policy):
    if policy is None:
        return {"resource_policy": {}}
    return {
        "resource_policy": {
            "name": policy["policyName"],
            "policy": pacs_aws.policy_document(policy.get("policyDocument") or "{}"),
            "last_updated_time": policy.get("lastUpdatedTime"),
        }
    }


def ensure_present(module, client):
    name = module.params["name"]
    wanted = pacs_aws.policy_document(module.params["policy"])
    current = find(client, name)
    if current is not None and pacs_aws.policy_document(current.get("policyDocument") or "{}") == wanted:
        module.exit_json(changed=False, **result_of(current))
    extra = {} if current is None else {"differences": ["policy"]}
    if module.check_mode:
        shown = {"policyName": name, "policyDocument": json.dumps(wanted)}
        module.exit_json(changed=True, **extra, **result_of(shown))
    stored = client.put_resource_policy(
        policyName=name, policyDocument=json.dumps(wanted, sort_keys=True), aws_retry=True
    )["resourcePolicy"]
    module.exit_json(changed=True, **extra, **result_of(stored))


def ensure_absent(module, client):
    name = module.params["name"]
    if find(client, name) is None:
        module.exit_json(changed=False, **result_of(None))
    if not module.check_mode:
        client.delete_resource_policy(policyName=name, aws_retry=True)
    module.exit_json(changed=True, **result_of(None))


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "policy": {"type": "json"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["policy"])],
        supports_check_mode=True,
    )
    client = pacs_aws.aws_client(module, "logs")
    pacs_aws.run_state(
        module, client, ensure_present, ensure_absent, f"CloudWatch Logs resource policy {module.params['name']}"
    )


if __name__ == "__main__":
    main()
