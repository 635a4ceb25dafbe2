"""Delete every recovery point of the named AWS Backup vault.

No module of amazon.aws or community.aws deletes recovery points, and AWS refuses to delete a vault that
holds any. The vault's access policy denies DeleteRecoveryPoint to everyone (role aws_backup): the
teardown removes it first, and this script fails (AccessDeniedException) if it is still there. Prints a
JSON object: "deleted", the ARNs of the recovery points it deleted (or, with --check, would delete);
"absent", true when the vault does not exist.

Environment: TEARDOWN_REGION (required), TEARDOWN_ENDPOINT_URL (optional, for moto), and the usual AWS
credentials. Argument: the vault's name.
"""

from __future__ import annotations

import json
import os
import sys

import boto3


def delete_all(backup, vault, check):
    # AWS answers AccessDeniedException (not "not found") for a vault that does not exist: look it up first.
    vaults = backup.get_paginator("list_backup_vaults").paginate()
    if vault not in {v["BackupVaultName"] for page in vaults for v in page.get("BackupVaultList", [])}:
        return {"deleted": [], "absent": True}
    pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault)
    points = [point["RecoveryPointArn"] for page in pages for point in page.get("RecoveryPoints", [])]
    if not check:
        for arn in points:
            backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    return {"deleted": points, "absent": False}


def main(argv):
    check = "--check" in argv
    (vault,) = [arg for arg in argv if arg != "--check"]
    backup = boto3.client(
        "backup",
        endpoint_url=os.environ.get("TEARDOWN_ENDPOINT_URL") or None,
        region_name=os.environ["TEARDOWN_REGION"],
    )
    print(json.dumps(delete_all(backup, vault, check)))


if __name__ == "__main__":
    main(sys.argv[1:])
