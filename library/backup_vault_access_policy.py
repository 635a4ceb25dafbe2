#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_vault_access_policy
short_description: Manage the access policy of an AWS Backup vault
description:
  - Sets, replaces or removes the resource-based access policy of one AWS Backup vault, e.g. a policy that
    denies everyone the deletion of the vault's recovery points.
  - The policy document is compared as JSON (key order and spacing do not matter); a second run with the
    same document changes nothing.
  - The vault must exist (in check mode a vault that does not exist yet, made by an earlier task, is reported
    as changed); with O(state=absent) a missing vault or a vault without a policy changes nothing.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  backup_vault_name:
    description: Name of the backup vault.
    type: str
    required: true
  policy:
    description:
      - The policy document, as a dict or a JSON string. Required with O(state=present).
    type: json
  state:
    description: Whether the vault should have the policy (V(present)) or no policy at all (V(absent)).
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
- name: Nobody deletes the vault's recovery points
  backup_vault_access_policy:
    backup_vault_name: pacs-a
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: NobodyDeletesRecoveryPoints
          Effect: Deny
          Principal: {AWS: "*"}
          Action: [backup:DeleteRecoveryPoint, backup:UpdateRecoveryPointLifecycle]
          Resource: "*"

- name: Lift the policy (before the vault's recovery points are deleted)
  backup_vault_access_policy:
    backup_vault_name: pacs-a
    state: absent
"""

RETURN = r"""
access_policy:
  description: The vault's policy after the run; empty when it has none (or the vault does not exist).
  returned: always
  type: dict
  contains:
    backup_vault_name:
      description: Name of the vault.
      type: str
    backup_vault_arn:
      description: ARN of the vault.
      type: str
    policy:
      description: The policy document, parsed.
      type: dict
differences:
  description: What differs from the options (C(policy)) when the vault has a policy and it is replaced.
  returned: when the policy is replaced
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


def find(client, name):
    """(vault ARN, stored policy document or None); (None, None) when the vault does not exist."""
    try:
        vault = client.describe_backup_vault(BackupVaultName=name, aws_retry=True)
    # AWS answers AccessDeniedException for a vault that does not exist (as amazon.aws.backup_vault reads it).
    except is_boto3_error_code(["AccessDeniedException", "ResourceNotFoundException"]):
        return None, None
    try:
        stored = client.get_backup_vault_access_policy(BackupVaultName=name, aws_retry=True)
    except is_boto3_error_code("ResourceNotFoundException"):  # AWS's answer for a vault without a policy
        return vault["BackupVaultArn"], None
    return vault["BackupVaultArn"], pacs_aws.policy_document(stored.get("Policy") or "{}")


def result_of(name, arn, document):
    if document is None:
        return {"access_policy": {}}
    return {"access_policy": {"backup_vault_name": name, "backup_vault_arn": arn, "policy": document}}


def ensure_present(module, client):
    name = module.params["backup_vault_name"]
    wanted = pacs_aws.policy_document(module.params["policy"])
    arn, current = find(client, name)
    if arn is None and module.check_mode:  # an earlier task in check mode would have made the vault
        module.exit_json(changed=True, **result_of(name, "", wanted))
    if arn is None:
        module.fail_json(msg=f"backup vault {name} does not exist (or this caller may not describe it)")
    if current == wanted:
        module.exit_json(changed=False, **result_of(name, arn, current))
    extra = {} if current is None else {"differences": ["policy"]}
    if not module.check_mode:
        client.put_backup_vault_access_policy(
            BackupVaultName=name, Policy=json.dumps(wanted, sort_keys=True), aws_retry=True
        )
    module.exit_json(changed=True, **extra, **result_of(name, arn, wanted))


def ensure_absent(module, client):
    name = module.params["backup_vault_name"]
    arn, current = find(client, name)
    if current is None:
        module.exit_json(changed=False, **result_of(name, arn, None))
    if not module.check_mode:
        client.delete_backup_vault_access_policy(BackupVaultName=name, aws_retry=True)
    module.exit_json(changed=True, **result_of(name, arn, None))


def main():
    argument_spec = {
        "backup_vault_name": {"type": "str", "required": True},
        "policy": {"type": "json"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["policy"])],
        supports_check_mode=True,
    )
    client = pacs_aws.aws_client(module, "backup")
    pacs_aws.run_state(
        module,
        client,
        ensure_present,
        ensure_absent,
        f"access policy of backup vault {module.params['backup_vault_name']}",
    )


if __name__ == "__main__":
    main()
