"""datasync_location_s3 against moto's in-process DataSync (with the project's moto extensions)."""

from __future__ import annotations

import boto3
import pytest

from library.datasync_location_s3 import main
from tests.support.module_runner import mocked_aws, ok, run_module

ROLE = "arn:aws:iam::123456789012:role/pacs-datasync"


@pytest.fixture
def datasync():
    with mocked_aws():
        yield boto3.client("datasync", region_name="us-east-1")


def args(**extra):
    base = {
        "s3_bucket_arn": "arn:aws:s3:::pacs-images",
        "subdirectory": "/import",
        "bucket_access_role_arn": ROLE,
        "tags": {"Name": "pacs-import-s3"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def locations(datasync):
    return datasync.list_locations()["Locations"]


def test_check_mode_creates_nothing(datasync):
    assert ok(main, args(), check_mode=True).changed
    assert locations(datasync) == []


def test_create_then_rerun_is_unchanged(datasync):
    first = ok(main, args())
    assert first.changed
    arn = first["location_arn"]
    assert first["location"]["s3_config"]["bucket_access_role_arn"] == ROLE
    tags = datasync.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "Name", "Value": "pacs-import-s3"}]
    again = ok(main, args(subdirectory="import/"))
    assert not again.changed
    assert again["location_arn"] == arn
    assert not ok(main, args(), check_mode=True).changed
    assert len(locations(datasync)) == 1


def test_same_uri_other_name_is_another_location(datasync):
    first = ok(main, args())
    other = ok(main, args(tags={"Name": "second"}))
    assert other.changed and other["location_arn"] != first["location_arn"]
    untagged = run_module(main, args(tags=None))
    assert untagged.failed and "2 DataSync locations" in untagged["msg"]


def test_tags_are_updated(datasync):
    arn = ok(main, args())["location_arn"]
    wanted = args(tags={"Name": "pacs-import-s3", "Owner": "ops"})
    assert ok(main, wanted, check_mode=True).changed
    assert len(datasync.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 1
    assert ok(main, wanted).changed
    tags = {t["Key"]: t["Value"] for t in datasync.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"Name": "pacs-import-s3", "Owner": "ops"}
    assert not ok(main, wanted).changed


def test_role_change_needs_replace(datasync):
    first = ok(main, args())
    other_role = args(bucket_access_role_arn=ROLE + "-2")
    refused = run_module(main, other_role)
    assert refused.failed and "bucket_access_role_arn" in refused["msg"]
    replaced = ok(main, {**other_role, "replace": True})
    assert replaced.changed and replaced["location_arn"] != first["location_arn"]
    assert len(locations(datasync)) == 1


def test_absent_deletes_and_is_then_unchanged(datasync):
    ok(main, args())
    absent = args(state="absent")
    assert ok(main, absent, check_mode=True).changed
    assert len(locations(datasync)) == 1
    assert ok(main, absent).changed
    assert locations(datasync) == []
    assert not ok(main, absent).changed


def test_bucket_arn_is_validated(datasync):
    result = run_module(main, args(s3_bucket_arn="pacs-images"))
    assert result.failed and "bucket ARN" in result["msg"]
