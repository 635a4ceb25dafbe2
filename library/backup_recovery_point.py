#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_recovery_point
short_description: Take an on-demand AWS Backup of one resource, known by an id tag, and wait for it
description:
  - Looks in the vault for a recovery point tagged O(id_tag_key)=O(backup_id). When there is one, nothing
    changes and it is returned.
  - Otherwise starts an on-demand backup job (C(StartBackupJob)) of O(resource_arn) into the vault, as
    O(iam_role_arn), with the id tag and O(tags) on the recovery point and O(backup_id) as the idempotency
    token (a rerun after an interruption gets the same job), then waits up to O(wait_timeout) seconds for
    the job to complete. A job that fails, is aborted or expires fails the module with AWS's message.
  - With O(state=query) it only looks the recovery point up; RV(found) says whether there is one.
  - Supports check mode; a backup that would be taken is reported as changed, and no job is started.
version_added: "1.0.0"
options:
  backup_vault_name:
    description: Name of the backup vault.
    type: str
    required: true
  backup_id:
    description: The backup's id, the value of the O(id_tag_key) tag of its recovery point.
    type: str
    required: true
  id_tag_key:
    description: Key of the recovery point's tag that holds its id.
    type: str
    default: pacs:backup-id
  resource_arn:
    description: ARN of the resource backed up (e.g. an EFS file system). Required with O(state=present).
    type: str
  iam_role_arn:
    description: The role AWS Backup assumes for the job. Required with O(state=present).
    type: str
  tags:
    description: Further tags of the recovery point (set when the job starts).
    type: dict
  wait_timeout:
    description: Seconds to wait for the job to complete.
    type: int
    default: 3600
  state:
    description: V(present) takes the backup unless it exists; V(query) only looks it up.
    type: str
    choices: [present, query]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Back the file system up as backup 20261206T031500Z
  backup_recovery_point:
    backup_vault_name: pacs-a-pacs
    backup_id: 20261206T031500Z
    resource_arn: arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123456789abcdef0
    iam_role_arn: arn:aws:iam::123456789012:role/pacs-a-backup
    tags:
      pacs:deployment: pacs-a

- name: Find the recovery point of backup 20261206T031500Z
  backup_recovery_point:
    backup_vault_name: pacs-a-pacs
    backup_id: 20261206T031500Z
    state: query
"""

RETURN = r"""
found:
  description: Whether the vault has (or, after the run, had made) the backup's recovery point.
  returned: always
  type: bool
recovery_point:
  description: The recovery point; empty when there is none (or in check mode, where none is made).
  returned: always
  type: dict
  contains:
    recovery_point_arn:
      description: ARN of the recovery point.
      type: str
    resource_arn:
      description: ARN of the resource backed up.
      type: str
    resource_type:
      description: Type of that resource (C(EFS), ...).
      type: str
    status:
      description: The recovery point's status (C(COMPLETED), ...).
      type: str
    creation_date:
      description: When the backup started (ISO 8601).
      type: str
    tags:
      description: The recovery point's tags.
      type: dict
backup_job_id:
  description: Id of the backup job this run started; empty when none was started.
  returned: always
  type: str
seconds:
  description: Seconds from the job's start to its completion as this run saw them; 0 when none was started.
  returned: always
  type: float
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

FINISHED_BADLY = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")


def as_result(point, tags):
    if not point:
        return {}
    created = point.get("CreationDate")
    return {
        "recovery_point_arn": point["RecoveryPointArn"],
        "resource_arn": point.get("ResourceArn", ""),
        "resource_type": point.get("ResourceType", ""),
        "status": point.get("Status", ""),
        "creation_date": created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        "tags": tags,
    }


def wait_for_job(module, client, job_id):
    def probe():
        return client.describe_backup_job(BackupJobId=job_id, aws_retry=True)

    def done(job):
        return job.get("State") == "COMPLETED" or job.get("State") in FINISHED_BADLY

    job, finished = pacs_aws.poll(probe, done, module.params["wait_timeout"])
    if not finished:
        module.fail_json(
            msg=f"backup job {job_id} did not complete within {module.params['wait_timeout']} seconds "
            f"(state {job.get('State')}, {job.get('PercentDone', '?')}% done); it goes on in AWS Backup",
            backup_job_id=job_id,
        )
    if job.get("State") != "COMPLETED":
        module.fail_json(
            msg=f"backup job {job_id} ended {job['State']}: {job.get('StatusMessage', 'no message')}",
            backup_job_id=job_id,
        )
    return job


def run(module, client):
    params = module.params
    vault, backup_id = params["backup_vault_name"], params["backup_id"]
    point, tags = pacs_aws.backup_find_recovery_point(client, vault, params["id_tag_key"], backup_id)
    if point or params["state"] == "query":
        module.exit_json(
            changed=False, found=bool(point), recovery_point=as_result(point, tags), backup_job_id="", seconds=0.0
        )
    if module.check_mode:
        module.exit_json(changed=True, found=False, recovery_point={}, backup_job_id="", seconds=0.0)
    wanted_tags = {k: str(v) for k, v in (params["tags"] or {}).items()}
    wanted_tags[params["id_tag_key"]] = backup_id
    started = time.monotonic()
    job = client.start_backup_job(
        BackupVaultName=vault,
        ResourceArn=params["resource_arn"],
        IamRoleArn=params["iam_role_arn"],
        IdempotencyToken=f"{params['id_tag_key']}={backup_id}",
        RecoveryPointTags=wanted_tags,
        aws_retry=True,
    )
    wait_for_job(module, client, job["BackupJobId"])
    seconds = round(time.monotonic() - started, 1)
    point = client.describe_recovery_point(
        BackupVaultName=vault, RecoveryPointArn=job["RecoveryPointArn"], aws_retry=True
    )
    tags = client.list_tags(ResourceArn=job["RecoveryPointArn"], aws_retry=True).get("Tags") or {}
    module.exit_json(
        changed=True, found=True, recovery_point=as_result(point, tags), backup_job_id=job["BackupJobId"],
        seconds=seconds,
    )  # fmt: skip


def main():
    argument_spec = {
        "backup_vault_name": {"type": "str", "required": True},
        "backup_id": {"type": "str", "required": True},
        "id_tag_key": {"type": "str", "default": "pacs:backup-id"},
        "resource_arn": {"type": "str"},
        "iam_role_arn": {"type": "str"},
        "tags": {"type": "dict"},
        "wait_timeout": {"type": "int", "default": 3600},
        "state": {"type": "str", "choices": ["present", "query"], "default": "present"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["resource_arn", "iam_role_arn"])],
        supports_check_mode=True,
    )
    if not module.params["backup_id"]:
        module.fail_json(msg="backup_id must not be empty")
    client = pacs_aws.aws_client(module, "backup")
    try:
        run(module, client)
    except pacs_aws.AWS_ERRORS as err:
        module.fail_json_aws(
            err, msg=f"backup {module.params['backup_id']} in vault {module.params['backup_vault_name']}"
        )


if __name__ == "__main__":
    main()
