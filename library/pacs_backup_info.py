#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pacs_backup_info
short_description: The PACS's backups, the newest one and its age
description:
  - With O(bucket) (the lab), the complete backups under O(prefix) (those with a C(manifest.json), made by
    C(pacs_backup_store)); their ids are their UTC times. With O(vault) (AWS), the completed recovery points
    of the AWS Backup vault, by creation time.
  - Reports the newest backup, its age in hours, and whether it is older than O(max_age_hours) (or missing);
    O(max_age_hours=0) does not judge the age. A bucket or vault that does not exist counts as no backup.
  - Reads only; runs in check mode.
version_added: "1.0.0"
options:
  bucket:
    description: The lab's backups bucket.
    type: str
  prefix:
    description: Key prefix of the backups in O(bucket), ending in C(/).
    type: str
    default: backups/
  vault:
    description: The AWS Backup vault.
    type: str
  max_age_hours:
    description: Age beyond which the newest backup is stale; 0 judges nothing.
    type: float
    default: 0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: How old is the newest backup
  pacs_backup_info:
    bucket: pacs-lab-backups-123456789012-us-east-1
    max_age_hours: 26
  register: backups
"""

RETURN = r"""
count:
  description: Complete backups found.
  returned: always
  type: int
newest:
  description: Id (lab) or recovery point ARN (AWS) of the newest backup; empty when there is none.
  returned: always
  type: str
newest_time:
  description: When the newest backup was taken (ISO 8601, UTC); empty when there is none.
  returned: always
  type: str
age_hours:
  description: Hours since the newest backup; null when there is none.
  returned: always
  type: float
stale:
  description: No backup, or the newest is older than O(max_age_hours) (never with O(max_age_hours=0)).
  returned: always
  type: bool
"""

import contextlib
import datetime

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws, pacs_backup
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws, pacs_backup

ID_FORMAT = "%Y%m%dT%H%M%SZ"
MISSING = ("NoSuchBucket", "ResourceNotFoundException", "AccessDeniedException")


def lab_backups(client, bucket, prefix):
    found = []
    for backup_id, complete in pacs_backup.backups(client, bucket, prefix).items():
        with contextlib.suppress(ValueError):
            if complete:
                taken = datetime.datetime.strptime(backup_id, ID_FORMAT).replace(tzinfo=datetime.UTC)
                found.append((taken, backup_id))
    return found


def vault_backups(client, vault):
    points = pacs_aws.paginate(client, "list_recovery_points_by_backup_vault", "RecoveryPoints", BackupVaultName=vault)
    return [(p["CreationDate"], p["RecoveryPointArn"]) for p in points if p.get("Status") == "COMPLETED"]


def run(module):
    params = module.params
    try:
        if params["bucket"]:
            found = lab_backups(pacs_aws.aws_client(module, "s3"), params["bucket"], params["prefix"])
        else:
            found = vault_backups(pacs_aws.aws_client(module, "backup"), params["vault"])
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] not in MISSING:
            raise
        found = []
    if not found:
        stale = params["max_age_hours"] > 0
        module.exit_json(changed=False, count=0, newest="", newest_time="", age_hours=None, stale=stale)
    taken, newest = max(found)
    if taken.tzinfo is None:
        taken = taken.replace(tzinfo=datetime.UTC)
    age = (datetime.datetime.now(datetime.UTC) - taken).total_seconds() / 3600
    stale = params["max_age_hours"] > 0 and age > params["max_age_hours"]
    module.exit_json(
        changed=False,
        count=len(found),
        newest=newest,
        newest_time=taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
        age_hours=round(age, 3),
        stale=stale,
    )


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "bucket": {"type": "str"},
            "prefix": {"type": "str", "default": "backups/"},
            "vault": {"type": "str"},
            "max_age_hours": {"type": "float", "default": 0},
        },
        required_one_of=[("bucket", "vault")],
        mutually_exclusive=[("bucket", "vault")],
        supports_check_mode=True,
    )
    if module.params["max_age_hours"] < 0:
        module.fail_json(msg="max_age_hours must be 0 (judge nothing) or more")
    try:
        run(module)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg="reading the PACS's backups")


if __name__ == "__main__":
    main()
