"""backup_recovery_point and backup_restore_efs against moto's in-process AWS Backup and EFS (with the project's
extensions: moto 5.2.5 has no backup or restore jobs)."""

from __future__ import annotations

import boto3
import pytest

from library import backup_recovery_point, backup_restore_efs
from tests.support.module_runner import mocked_aws, ok, run_module

KEY = "arn:aws:kms:us-east-1:123456789012:key/data"
ROLE = "arn:aws:iam::123456789012:role/pacs-a-backup"
BACKUP_ID = "20261206T031500Z"


@pytest.fixture
def aws():
    with mocked_aws():
        backup = boto3.client("backup", region_name="us-east-1")
        efs = boto3.client("efs", region_name="us-east-1")
        backup.create_backup_vault(BackupVaultName="pacs-a-pacs", EncryptionKeyArn=KEY)
        fs = efs.create_file_system(
            CreationToken="pacs-a-pacs", Encrypted=True, KmsKeyId=KEY, PerformanceMode="maxIO",
            Tags=[{"Key": "pacs:deployment", "Value": "pacs-a"}],
        )  # fmt: skip
        yield backup, efs, fs


def backup_args(fs, **extra):
    base = {
        "backup_vault_name": "pacs-a-pacs",
        "backup_id": BACKUP_ID,
        "resource_arn": fs["FileSystemArn"],
        "iam_role_arn": ROLE,
        "tags": {"pacs:deployment": "pacs-a"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def points(backup):
    return backup.list_recovery_points_by_backup_vault(BackupVaultName="pacs-a-pacs")["RecoveryPoints"]


def test_a_backup_is_taken_once_and_found_by_its_id(aws):
    backup, _efs, fs = aws
    assert not ok(backup_recovery_point.main, backup_args(fs, state="query"))["found"]
    assert ok(backup_recovery_point.main, backup_args(fs), check_mode=True).changed
    assert points(backup) == []

    first = ok(backup_recovery_point.main, backup_args(fs))
    assert first.changed and first["found"] and first["backup_job_id"]
    point = first["recovery_point"]
    assert (point["resource_arn"], point["resource_type"], point["status"]) == (fs["FileSystemArn"], "EFS", "COMPLETED")
    assert point["tags"] == {"pacs:backup-id": BACKUP_ID, "pacs:deployment": "pacs-a"}
    assert backup.describe_backup_job(BackupJobId=first["backup_job_id"])["State"] == "COMPLETED"

    again = ok(backup_recovery_point.main, backup_args(fs))
    assert not again.changed and again["recovery_point"]["recovery_point_arn"] == point["recovery_point_arn"]
    assert not ok(backup_recovery_point.main, backup_args(fs), check_mode=True).changed
    found = ok(
        backup_recovery_point.main, {"backup_vault_name": "pacs-a-pacs", "backup_id": BACKUP_ID, "state": "query"}
    )
    assert found["found"] and found["recovery_point"]["recovery_point_arn"] == point["recovery_point_arn"]
    # Another id is another backup.
    other = ok(backup_recovery_point.main, backup_args(fs, backup_id="20261207T031500Z"))
    assert other.changed and other["recovery_point"]["recovery_point_arn"] != point["recovery_point_arn"]
    assert len(points(backup)) == 2


def test_backup_inputs_are_refused(aws):
    _backup, _efs, fs = aws
    missing = run_module(backup_recovery_point.main, {"backup_vault_name": "pacs-a-pacs", "backup_id": BACKUP_ID})
    assert missing.failed and "resource_arn" in missing["msg"]
    assert "backup_id" in run_module(backup_recovery_point.main, backup_args(fs, backup_id=""))["msg"]
    no_vault = run_module(backup_recovery_point.main, backup_args(fs, backup_vault_name="gone"))
    assert no_vault.failed and "gone" in no_vault["msg"]


def restore_args(point_arn, **extra):
    base = {
        "backup_vault_name": "pacs-a-pacs",
        "recovery_point_arn": point_arn,
        "iam_role_arn": ROLE,
        "creation_token": f"pacs-a-pacs-r{BACKUP_ID}",
        "kms_key_arn": KEY,
        "tags": {"pacs:deployment": "pacs-a", "pacs:restored-from": BACKUP_ID},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def test_a_restore_makes_one_new_file_system_under_the_key(aws):
    backup, efs, fs = aws
    point_arn = ok(backup_recovery_point.main, backup_args(fs))["recovery_point"]["recovery_point_arn"]
    assert ok(backup_restore_efs.main, restore_args(point_arn), check_mode=True).changed
    assert len(efs.describe_file_systems()["FileSystems"]) == 1

    first = ok(backup_restore_efs.main, restore_args(point_arn))
    made = first["file_system"]
    assert first.changed and first["restore_job_id"]
    assert made["file_system_id"] != fs["FileSystemId"]
    assert (made["encrypted"], made["kms_key_id"], made["performance_mode"]) == (True, KEY, "maxIO")
    assert made["tags"] == {
        "Name": f"pacs-a-pacs-r{BACKUP_ID}", "pacs:deployment": "pacs-a", "pacs:restored-from": BACKUP_ID,
        "pacs:restore-job-id": first["restore_job_id"],
    }  # fmt: skip
    job = backup.describe_restore_job(RestoreJobId=first["restore_job_id"])
    assert job["CreatedResourceArn"] == made["file_system_arn"]

    again = ok(backup_restore_efs.main, restore_args(point_arn))
    assert not again.changed
    assert again["file_system"]["file_system_id"] == made["file_system_id"]
    assert again["restore_job_id"] == first["restore_job_id"]
    assert not ok(backup_restore_efs.main, restore_args(point_arn), check_mode=True).changed
    # A tag asked for later is added, none is taken away.
    tagged = ok(backup_restore_efs.main, restore_args(point_arn, tags={"owner": "radiology"}))
    assert tagged.changed and tagged["file_system"]["tags"]["pacs:restored-from"] == BACKUP_ID
    assert len(efs.describe_file_systems()["FileSystems"]) == 2
    # The source is untouched.
    (source,) = efs.describe_file_systems(FileSystemId=fs["FileSystemId"])["FileSystems"]
    assert source["CreationToken"] == "pacs-a-pacs"


def test_a_restore_under_another_performance_mode_and_of_a_missing_point(aws):
    _backup, efs, fs = aws
    point_arn = ok(backup_recovery_point.main, backup_args(fs))["recovery_point"]["recovery_point_arn"]
    made = ok(backup_restore_efs.main, restore_args(point_arn, performance_mode="generalPurpose"))["file_system"]
    assert made["performance_mode"] == "generalPurpose"
    missing = run_module(backup_restore_efs.main, restore_args(point_arn + "x", creation_token="pacs-a-pacs-rX"))  # noqa: S106 - a file system token
    assert missing.failed and "not found" in missing["msg"].lower()
    assert len(efs.describe_file_systems()["FileSystems"]) == 2
