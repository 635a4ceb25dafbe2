#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_restore_efs
short_description: Restore an AWS Backup recovery point of an EFS file system into a new file system
description:
  - Finds the file system known by O(creation_token) (its creation token, or else its C(Name) tag, since AWS
    Backup may give a restored file system a creation token of its own). When there is one, nothing is
    restored; missing O(tags) are added to it.
  - Otherwise starts a restore job (C(StartRestoreJob)) of O(recovery_point_arn) into a B(new) file system
    (C(newFileSystem) true; a file system is never restored over in place), encrypted with O(kms_key_arn),
    with O(performance_mode) and O(creation_token), as O(iam_role_arn), with O(creation_token) as the
    idempotency token (a rerun after an interruption gets the same job); waits up to O(wait_timeout)
    seconds for it, tags the new file system with O(tags) and its C(Name) (O(creation_token)) and the
    restore job's id (O(restore_job_tag_key)), and waits until it is available.
  - Fails when the job fails, or when the new file system is not encrypted with O(kms_key_arn).
  - Supports check mode; a restore that would be made is reported as changed, and no job is started.
version_added: "1.0.0"
options:
  backup_vault_name:
    description: Name of the vault that holds the recovery point.
    type: str
    required: true
  recovery_point_arn:
    description: ARN of the EFS recovery point to restore.
    type: str
    required: true
  iam_role_arn:
    description: The role AWS Backup assumes for the restore.
    type: str
    required: true
  creation_token:
    description: Creation token and C(Name) tag of the new file system; what a rerun finds it by.
    type: str
    required: true
  kms_key_arn:
    description: ARN of the KMS key that encrypts the new file system.
    type: str
    required: true
  performance_mode:
    description: Performance mode of the new file system; by default the backed-up file system's (from the
      recovery point's restore metadata).
    type: str
    choices: [generalPurpose, maxIO]
  tags:
    description: Tags of the new file system (added, never purged).
    type: dict
  restore_job_tag_key:
    description: Key of the tag that records the restore job's id on the new file system.
    type: str
    default: pacs:restore-job-id
  wait_timeout:
    description: Seconds to wait for the restore job, and then for the file system to be available.
    type: int
    default: 3600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Restore backup 20261206T031500Z into a new file system
  backup_restore_efs:
    backup_vault_name: pacs-a-pacs
    recovery_point_arn: arn:aws:backup:eu-west-1:123456789012:recovery-point:0f1e2d3c-...
    iam_role_arn: arn:aws:iam::123456789012:role/pacs-a-backup
    creation_token: pacs-a-pacs-r20261206T031500Z
    kms_key_arn: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-...
    tags:
      pacs:deployment: pacs-a
      pacs:restored-from: 20261206T031500Z
"""

RETURN = r"""
file_system:
  description: The restored file system; empty in check mode when it would be made.
  returned: always
  type: dict
  contains:
    file_system_id:
      description: Its id.
      type: str
    file_system_arn:
      description: Its ARN.
      type: str
    creation_token:
      description: Its creation token.
      type: str
    encrypted:
      description: Whether it is encrypted.
      type: bool
    kms_key_id:
      description: ARN of the key that encrypts it.
      type: str
    performance_mode:
      description: Its performance mode.
      type: str
    tags:
      description: Its tags.
      type: dict
restore_job_id:
  description: Id of the restore job that made the file system (this run's, or the one its tag records).
  returned: always
  type: str
seconds:
  description: Seconds the restore took as this run saw it; 0 when nothing was restored.
  returned: always
  type: float
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def find_file_system(efs, token):
    """The file system whose creation token, or else whose Name tag, is `token`; None when there is none."""
    file_systems = pacs_aws.paginate(
        efs, "describe_file_systems", "FileSystems", page_param="Marker", page_field="NextMarker"
    )
    by_token = [fs for fs in file_systems if fs.get("CreationToken") == token]
    by_name = [fs for fs in file_systems if pacs_aws.tags_to_dict(fs.get("Tags")).get("Name") == token]
    found = by_token or by_name
    return found[0] if found else None


def as_result(fs, tags):
    if not fs:
        return {}
    return {
        "file_system_id": fs["FileSystemId"],
        "file_system_arn": fs.get("FileSystemArn", ""),
        "creation_token": fs.get("CreationToken", ""),
        "encrypted": fs.get("Encrypted", False),
        "kms_key_id": fs.get("KmsKeyId", ""),
        "performance_mode": fs.get("PerformanceMode", ""),
        "tags": tags,
    }


def add_tags(module, efs, fs, wanted):
    """Add the tags of `wanted` that the file system lacks or has otherwise; returns (changed, its tags)."""
    have = pacs_aws.tags_to_dict(fs.get("Tags"))
    to_set, _unset = pacs_aws.tag_changes(have, wanted, purge_tags=False)
    if to_set and not module.check_mode:
        efs.tag_resource(ResourceId=fs["FileSystemId"], Tags=pacs_aws.tags_to_list(to_set), aws_retry=True)
    return bool(to_set), pacs_aws.merged_tags(have, to_set, [])


def wait_for(module, probe, done, what):
    result, finished = pacs_aws.poll(probe, done, module.params["wait_timeout"])
    if not finished:
        module.fail_json(msg=f"{what} did not finish within {module.params['wait_timeout']} seconds; it goes on in AWS")
    return result


def restore(module, backup, efs):
    """Start the restore job, wait for it; returns (job id, the new file system's id)."""
    params = module.params
    metadata = (
        backup.get_recovery_point_restore_metadata(
            BackupVaultName=params["backup_vault_name"], RecoveryPointArn=params["recovery_point_arn"], aws_retry=True
        ).get("RestoreMetadata")
        or {}
    )
    if not metadata.get("file-system-id"):
        module.fail_json(msg=f"recovery point {params['recovery_point_arn']} is not of an EFS file system")
    performance_mode = params["performance_mode"] or metadata.get("PerformanceMode") or "generalPurpose"
    job_id = backup.start_restore_job(
        RecoveryPointArn=params["recovery_point_arn"],
        IamRoleArn=params["iam_role_arn"],
        IdempotencyToken=params["creation_token"],
        ResourceType="EFS",
        Metadata={
            "file-system-id": metadata["file-system-id"],
            "newFileSystem": "true",
            "Encrypted": "true",
            "KmsKeyId": params["kms_key_arn"],
            "PerformanceMode": performance_mode,
            "CreationToken": params["creation_token"],
        },
        aws_retry=True,
    )["RestoreJobId"]
    job = wait_for(
        module,
        lambda: backup.describe_restore_job(RestoreJobId=job_id, aws_retry=True),
        lambda j: j.get("Status") in ("COMPLETED", "ABORTED", "FAILED"),
        f"restore job {job_id}",
    )
    if job.get("Status") != "COMPLETED" or not job.get("CreatedResourceArn"):
        module.fail_json(
            msg=f"restore job {job_id} ended {job.get('Status')}: {job.get('StatusMessage', 'no message')}"
        )
    return job_id, job["CreatedResourceArn"].rsplit("/", 1)[-1]


def run(module, backup, efs):
    params = module.params
    token = params["creation_token"]
    tags = {k: str(v) for k, v in (params["tags"] or {}).items()}
    tags["Name"] = token
    fs = find_file_system(efs, token)
    if fs is not None:
        changed, have = add_tags(module, efs, fs, tags)
        job_id = have.get(params["restore_job_tag_key"], "")
        module.exit_json(changed=changed, file_system=as_result(fs, have), restore_job_id=job_id, seconds=0.0)
    if module.check_mode:
        module.exit_json(changed=True, file_system={}, restore_job_id="", seconds=0.0)
    started = time.monotonic()
    job_id, file_system_id = restore(module, backup, efs)
    tags[params["restore_job_tag_key"]] = job_id
    efs.tag_resource(ResourceId=file_system_id, Tags=pacs_aws.tags_to_list(tags), aws_retry=True)
    fs = wait_for(
        module,
        lambda: efs.describe_file_systems(FileSystemId=file_system_id, aws_retry=True)["FileSystems"][0],
        lambda f: f.get("LifeCycleState") == "available",
        f"file system {file_system_id}",
    )
    if not fs.get("Encrypted") or fs.get("KmsKeyId") != params["kms_key_arn"]:
        module.fail_json(
            msg=f"the restored file system {file_system_id} is encrypted with {fs.get('KmsKeyId') or 'no key'}, "
            f"not {params['kms_key_arn']}",
        )
    seconds = round(time.monotonic() - started, 1)
    module.exit_json(
        changed=True, file_system=as_result(fs, pacs_aws.tags_to_dict(fs.get("Tags"))), restore_job_id=job_id,
        seconds=seconds,
    )  # fmt: skip


def main():
    argument_spec = {
        "backup_vault_name": {"type": "str", "required": True},
        "recovery_point_arn": {"type": "str", "required": True},
        "iam_role_arn": {"type": "str", "required": True},
        "creation_token": {"type": "str", "required": True},
        "kms_key_arn": {"type": "str", "required": True},
        "performance_mode": {"type": "str", "choices": ["generalPurpose", "maxIO"]},
        "tags": {"type": "dict"},
        "restore_job_tag_key": {"type": "str", "default": "pacs:restore-job-id"},
        "wait_timeout": {"type": "int", "default": 3600},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    backup = pacs_aws.aws_client(module, "backup")
    efs = pacs_aws.aws_client(module, "efs")
    try:
        run(module, backup, efs)
    except pacs_aws.AWS_ERRORS as err:
        module.fail_json_aws(err, msg=f"restore of {module.params['recovery_point_arn']}")


if __name__ == "__main__":
    main()
