"""datasync_location_efs against moto's in-process DataSync with the project's extension (CreateLocationEfs)."""

from __future__ import annotations

import boto3
import pytest

from library.datasync_location_efs import main
from tests.support.module_runner import mocked_aws, ok, run_module

PREFIX = "arn:aws:ec2:us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/pacs-datasync"


@pytest.fixture
def datasync():
    with mocked_aws():
        efs = boto3.client("efs", region_name="us-east-1")
        fs = efs.create_file_system(CreationToken="pacs")
        client = boto3.client("datasync", region_name="us-east-1")
        client.fs_arn = fs["FileSystemArn"]
        client.fs_id = fs["FileSystemId"]
        client.ap_arn = efs.create_access_point(FileSystemId=fs["FileSystemId"], ClientToken="t")["AccessPointArn"]
        yield client


def args(datasync, **extra):
    base = {
        "efs_filesystem_arn": datasync.fs_arn,
        "subdirectory": "/images/froms3",
        "subnet_arn": f"{PREFIX}:subnet/subnet-0a",
        "security_group_arns": [f"{PREFIX}:security-group/sg-0a"],
        "access_point_arn": datasync.ap_arn,
        "file_system_access_role_arn": ROLE,
        "tags": {"Name": "pacs-import-efs"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def locations(datasync):
    return datasync.list_locations()["Locations"]


def test_check_mode_creates_nothing(datasync):
    assert ok(main, args(datasync), check_mode=True).changed
    assert locations(datasync) == []


def test_create_then_rerun_is_unchanged(datasync):
    first = ok(main, args(datasync))
    assert first.changed
    arn = first["location_arn"]
    assert first["location_uri"] == f"efs://us-east-1.{datasync.fs_id}/images/froms3/"
    described = datasync.describe_location_efs(LocationArn=arn)
    assert described["AccessPointArn"] == datasync.ap_arn
    assert described["InTransitEncryption"] == "TLS1_2"
    assert described["Ec2Config"]["SubnetArn"].endswith("subnet-0a")
    again = ok(main, args(datasync))
    assert not again.changed and again["location_arn"] == arn
    assert not ok(main, args(datasync), check_mode=True).changed
    assert len(locations(datasync)) == 1


def test_tags_and_replacement(datasync):
    first = ok(main, args(datasync))
    retag = args(datasync, tags={"Name": "pacs-import-efs", "Owner": "ops"})
    assert ok(main, retag).changed
    tags = {t["Key"]: t["Value"] for t in datasync.list_tags_for_resource(ResourceArn=first["location_arn"])["Tags"]}
    assert tags == {"Name": "pacs-import-efs", "Owner": "ops"}

    moved = args(datasync, security_group_arns=[f"{PREFIX}:security-group/sg-0b"])
    refused = run_module(main, moved)
    assert refused.failed and "security_group_arns" in refused["msg"]
    replaced = ok(main, {**moved, "replace": True})
    assert replaced.changed and replaced["location_arn"] != first["location_arn"]
    assert len(locations(datasync)) == 1


def test_absent_deletes_and_is_then_unchanged(datasync):
    ok(main, args(datasync))
    absent = args(datasync, state="absent")
    assert ok(main, absent, check_mode=True).changed
    assert len(locations(datasync)) == 1
    assert ok(main, absent).changed
    assert locations(datasync) == []
    assert not ok(main, absent).changed


def test_options_are_validated(datasync):
    plain = run_module(main, args(datasync, in_transit_encryption="NONE"))
    assert plain.failed and "TLS1_2" in plain["msg"]
    bad_arn = run_module(main, args(datasync, efs_filesystem_arn="fs-123"))
    assert bad_arn.failed and "file system ARN" in bad_arn["msg"]
    no_network = run_module(main, args(datasync, subnet_arn=None))
    assert no_network.failed and "subnet_arn" in no_network["msg"]
