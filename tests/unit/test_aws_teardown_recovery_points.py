"""roles/aws_teardown/files/delete_recovery_points.py against moto's in-process AWS Backup (with the
project's extensions: recovery points and the vault access policy that denies their deletion)."""

from __future__ import annotations

import importlib.util
import json

import boto3
import pytest

from tests.support.ansible_run import ROOT
from tests.support.module_runner import mocked_aws

SCRIPT = ROOT / "roles" / "aws_teardown" / "files" / "delete_recovery_points.py"
EFS_ARN = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0a"
ROLE = "arn:aws:iam::123456789012:role/pacs-a-backup"
DENY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}
    ],
}


@pytest.fixture
def script():
    spec = importlib.util.spec_from_file_location("delete_recovery_points", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def backup():
    with mocked_aws():
        client = boto3.client("backup", region_name="us-east-1")
        client.create_backup_vault(BackupVaultName="pacs-a-pacs")
        for _ in range(2):
            client.start_backup_job(BackupVaultName="pacs-a-pacs", ResourceArn=EFS_ARN, IamRoleArn=ROLE)
        yield client


def points(backup):
    return backup.list_recovery_points_by_backup_vault(BackupVaultName="pacs-a-pacs")["RecoveryPoints"]


def test_check_reads_only_then_every_point_is_deleted(script, backup):
    listed = sorted(p["RecoveryPointArn"] for p in points(backup))
    checked = script.delete_all(backup, "pacs-a-pacs", check=True)
    assert sorted(checked["deleted"]) == listed and not checked["absent"]
    assert len(points(backup)) == 2
    assert sorted(script.delete_all(backup, "pacs-a-pacs", check=False)["deleted"]) == listed
    assert points(backup) == []
    assert script.delete_all(backup, "pacs-a-pacs", check=False) == {"deleted": [], "absent": False}


def test_a_missing_vault_is_absent(script, backup):
    assert script.delete_all(backup, "pacs-b-pacs", check=False) == {"deleted": [], "absent": True}


def test_the_vault_policy_must_be_lifted_first(script, backup, capsys, monkeypatch):
    backup.put_backup_vault_access_policy(BackupVaultName="pacs-a-pacs", Policy=json.dumps(DENY))
    with pytest.raises(backup.exceptions.ClientError, match="AccessDenied"):
        script.delete_all(backup, "pacs-a-pacs", check=False)
    backup.delete_backup_vault_access_policy(BackupVaultName="pacs-a-pacs")
    monkeypatch.setenv("TEARDOWN_REGION", "us-east-1")
    script.main(["pacs-a-pacs"])
    assert len(json.loads(capsys.readouterr().out)["deleted"]) == 2
    assert points(backup) == []
