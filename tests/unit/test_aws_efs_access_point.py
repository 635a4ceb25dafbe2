"""efs_access_point against moto's in-process EFS."""

from __future__ import annotations

import boto3
import pytest

from library.efs_access_point import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def efs():
    with mocked_aws():
        client = boto3.client("efs", region_name="us-east-1")
        client.fs_id = client.create_file_system(CreationToken="pacs-test")["FileSystemId"]
        yield client


def args(efs, **extra):
    base = {
        "file_system_id": efs.fs_id,
        "name": "pacs-images",
        "path": "/images",
        "posix_user": {"uid": 1000, "gid": 1000},
        "creation_info": {"owner_uid": 1000, "owner_gid": 1000, "permissions": "0750"},
        "tags": {"Project": "pacs"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def points(efs):
    return efs.describe_access_points(FileSystemId=efs.fs_id)["AccessPoints"]


def test_check_mode_creates_nothing(efs):
    result = ok(main, args(efs), check_mode=True)
    assert result.changed
    assert points(efs) == []


def test_create_then_rerun_is_unchanged(efs):
    first = ok(main, args(efs))
    assert first.changed
    assert first["access_point_id"].startswith("fsap-")
    (point,) = points(efs)
    assert point["AccessPointId"] == first["access_point_id"]
    assert point["RootDirectory"]["Path"] == "/images"
    assert point["PosixUser"]["Uid"] == 1000
    assert first["access_point"]["tags"] == {"Name": "pacs-images", "Project": "pacs"}

    again = ok(main, args(efs))
    assert not again.changed
    assert again["access_point_id"] == first["access_point_id"]
    assert len(points(efs)) == 1
    assert not ok(main, args(efs), check_mode=True).changed


def test_tags_are_updated_and_purged(efs):
    first = ok(main, args(efs))
    in_check = ok(main, args(efs, tags={"Owner": "ops"}), check_mode=True)
    assert in_check.changed
    ap_id = first["access_point_id"]
    assert {t["Key"] for t in efs.list_tags_for_resource(ResourceId=ap_id)["Tags"]} == {"Name", "Project"}

    updated = ok(main, args(efs, tags={"Owner": "ops"}))
    assert updated.changed
    tags = {t["Key"]: t["Value"] for t in efs.list_tags_for_resource(ResourceId=ap_id)["Tags"]}
    assert tags == {"Name": "pacs-images", "Owner": "ops"}
    kept = ok(main, args(efs, tags={"Extra": "1"}, purge_tags=False))
    assert kept.changed
    assert kept["access_point"]["tags"] == {"Name": "pacs-images", "Owner": "ops", "Extra": "1"}


def test_fixed_property_change_fails_unless_replace(efs):
    first = ok(main, args(efs))
    failed = run_module(main, args(efs, path="/other"))
    assert failed.failed
    assert "path" in failed["msg"] and "replace=true" in failed["msg"]
    replaced = ok(main, args(efs, path="/other", replace=True))
    assert replaced.changed
    assert replaced["access_point_id"] != first["access_point_id"]
    (point,) = points(efs)
    assert point["RootDirectory"]["Path"] == "/other"


def test_absent_deletes_and_is_then_unchanged(efs):
    ok(main, args(efs))
    assert ok(main, args(efs, state="absent"), check_mode=True).changed
    assert len(points(efs)) == 1
    gone = ok(main, args(efs, state="absent"))
    assert gone.changed
    assert points(efs) == []
    assert not ok(main, args(efs, state="absent")).changed


def test_bad_options_fail_with_a_clear_message(efs):
    relative = run_module(main, args(efs, path="images"))
    assert relative.failed and "absolute" in relative["msg"]
    bad_mode = run_module(main, args(efs, creation_info={"owner_uid": 1, "owner_gid": 1, "permissions": "rwx"}))
    assert bad_mode.failed and "octal" in bad_mode["msg"]
    missing = run_module(main, {"name": "x", "region": "us-east-1"})
    assert missing.failed and "file_system_id" in missing["msg"]
