"""datasync_task against moto's in-process DataSync (with the project's moto extensions for tags)."""

from __future__ import annotations

import boto3
import pytest

from library.datasync_task import main
from tests.support.module_runner import mocked_aws, ok, run_module

LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/pacs/datasync"


@pytest.fixture
def datasync():
    with mocked_aws():
        client = boto3.client("datasync", region_name="us-east-1")
        role = {"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/r"}
        client.locations = [
            client.create_location_s3(S3BucketArn=f"arn:aws:s3:::bucket-{i}", S3Config=role)["LocationArn"]
            for i in range(3)
        ]
        yield client


def args(datasync, **extra):
    base = {
        "name": "pacs-import",
        "source_location_arn": datasync.locations[0],
        "destination_location_arn": datasync.locations[1],
        "options": {"VerifyMode": "ONLY_FILES_TRANSFERRED", "OverwriteMode": "ALWAYS"},
        "tags": {"Project": "pacs"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def tasks(datasync):
    return datasync.list_tasks()["Tasks"]


def test_check_mode_creates_nothing(datasync):
    assert ok(main, args(datasync), check_mode=True).changed
    assert tasks(datasync) == []


def test_create_then_rerun_is_unchanged(datasync):
    first = ok(main, args(datasync))
    assert first.changed
    arn = first["task_arn"]
    described = datasync.describe_task(TaskArn=arn)
    assert described["Name"] == "pacs-import"
    assert described["Options"]["VerifyMode"] == "ONLY_FILES_TRANSFERRED"
    assert datasync.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "Project", "Value": "pacs"}]
    assert first["task"]["status"] == "AVAILABLE"
    again = ok(main, args(datasync))
    assert not again.changed and again["task_arn"] == arn
    assert not ok(main, args(datasync), check_mode=True).changed
    assert len(tasks(datasync)) == 1


def test_options_log_group_and_tags_are_updated(datasync):
    arn = ok(main, args(datasync))["task_arn"]
    wanted = args(
        datasync,
        options={"VerifyMode": "NONE", "TransferMode": "ALL"},
        cloudwatch_log_group_arn=LOG_GROUP,
        tags={"Owner": "ops"},
    )
    in_check = ok(main, wanted, check_mode=True)
    assert in_check.changed
    assert datasync.describe_task(TaskArn=arn)["Options"]["VerifyMode"] == "ONLY_FILES_TRANSFERRED"
    updated = ok(main, wanted)
    assert updated.changed and updated["differences"] == ["CloudWatchLogGroupArn", "Options"]
    described = datasync.describe_task(TaskArn=arn)
    assert described["Options"] == {"VerifyMode": "NONE", "OverwriteMode": "ALWAYS", "TransferMode": "ALL"}
    assert described["CloudWatchLogGroupArn"] == LOG_GROUP
    assert datasync.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "Owner", "Value": "ops"}]
    assert not ok(main, wanted).changed


def test_other_source_needs_replace(datasync):
    first = ok(main, args(datasync))
    moved = args(datasync, source_location_arn=datasync.locations[2])
    refused = run_module(main, moved)
    assert refused.failed and "source_location_arn" in refused["msg"]
    replaced = ok(main, {**moved, "replace": True})
    assert replaced.changed and replaced["task_arn"] != first["task_arn"]
    (task,) = tasks(datasync)
    assert datasync.describe_task(TaskArn=task["TaskArn"])["SourceLocationArn"] == datasync.locations[2]


def test_absent_deletes_and_is_then_unchanged(datasync):
    ok(main, args(datasync))
    absent = {"name": "pacs-import", "state": "absent", "region": "us-east-1"}
    assert ok(main, absent, check_mode=True).changed
    assert len(tasks(datasync)) == 1
    assert ok(main, absent).changed
    assert tasks(datasync) == []
    assert not ok(main, absent).changed


def test_locations_are_required_to_create(datasync):
    result = run_module(main, {"name": "pacs-import", "region": "us-east-1"})
    assert result.failed and "source_location_arn" in result["msg"]
