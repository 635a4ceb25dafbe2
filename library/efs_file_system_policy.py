#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: efs_file_system_policy
short_description: Manage the resource policy of an EFS file system
description:
  - Puts or deletes the file system policy of one EFS file system, the IAM resource policy NFS clients are
    authorized against (C(elasticfilesystem:ClientMount), C(ClientWrite), C(ClientRootAccess)).
  - The document is compared as JSON (key order and spacing do not matter); a second run with the same
    document changes nothing.
  - Without a policy EFS lets in every client that can reach a mount target. With one, a client must be
    allowed by it (or by its own IAM policy, in the same account) and must mount with IAM authorization.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  file_system_id:
    description: Id of the file system (C(fs-...)).
    type: str
    required: true
  policy:
    description: The policy document, as a dict or a JSON string. Required with O(state=present).
    type: json
  bypass_policy_lockout_safety_check:
    description:
      - Let EFS store a policy that would lock out the principal making the call. Leave it false unless
        the caller is not among the policy's principals on purpose.
    type: bool
    default: false
  state:
    description: Whether the file system has this policy (C(present)) or EFS's default one (C(absent)).
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
- name: TLS only
  efs_file_system_policy:
    file_system_id: "{{ pacs_efs.efs.file_system_id }}"
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: OnlyTls
          Effect: Deny
          Principal: {AWS: "*"}
          Action: "*"
          Resource: "{{ pacs_efs.efs.file_system_arn }}"
          Condition: {Bool: {"aws:SecureTransport": "false"}}
"""

RETURN = r"""
policy:
  description: The file system's policy after the run, parsed; empty when it has EFS's default.
  returned: always
  type: dict
differences:
  description: C([policy]) when an existing policy is replaced.
  returned: when an existing policy is replaced
  type: list
  elements: str
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def current_policy(client, file_system_id):
    """The file system's policy, parsed, or None when it has EFS's default."""
    try:
        answer = client.describe_file_system_policy(FileSystemId=file_system_id, aws_retry=True)
    except is_boto3_error_code("PolicyNotFound"):
        return None
    return pacs_aws.policy_document(answer.get("Policy") or "{}")


def ensure_present(module, client):
    params = module.params
    wanted = pacs_aws.policy_document(params["policy"])
    have = current_policy(client, params["file_system_id"])
    if have == wanted:
        module.exit_json(changed=False, policy=have)
    extra = {} if have is None else {"differences": ["policy"]}
    if not module.check_mode:
        client.put_file_system_policy(
            FileSystemId=params["file_system_id"],
            Policy=json.dumps(wanted, sort_keys=True),
            BypassPolicyLockoutSafetyCheck=params["bypass_policy_lockout_safety_check"],
            aws_retry=True,
        )
    module.exit_json(changed=True, policy=wanted, **extra)


def ensure_absent(module, client):
    file_system_id = module.params["file_system_id"]
    if current_policy(client, file_system_id) is None:
        module.exit_json(changed=False, policy={})
    if not module.check_mode:
        client.delete_file_system_policy(FileSystemId=file_system_id, aws_retry=True)
    module.exit_json(changed=True, policy={})


def main():
    argument_spec = {
        "file_system_id": {"type": "str", "required": True},
        "policy": {"type": "json"},
        "bypass_policy_lockout_safety_check": {"type": "bool", "default": False},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["policy"])],
        supports_check_mode=True,
    )
    client = pacs_aws.aws_client(module, "efs")
    pacs_aws.run_state(
        module, client, ensure_present, ensure_absent, f"policy of EFS file system {module.params['file_system_id']}"
    )


if __name__ == "__main__":
    main()
