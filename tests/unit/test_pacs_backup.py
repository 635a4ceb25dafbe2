"""pacs_backup_store and pacs_backup_fetch against moto's in-process S3 and KMS; lab_frozen_copy with a
docker stand-in; the role's filters. The lab's whole backup and restore: tests/integration/test_backup_restore.py."""

from __future__ import annotations

import json
import os
import stat
import time

import boto3
import pytest

from library.lab_frozen_copy import main as frozen_copy
from library.pacs_backup_fetch import main as fetch
from library.pacs_backup_info import main as info
from library.pacs_backup_store import main as store
from tests.support.module_runner import mocked_aws, ok, run_module
from tests.support.plugins import load_role_filter
from tests.support.synthetic_dicom import generate

BUCKET = "pacs-test-backups"
POINTS = ["confs", "images", "index", "users"]


@pytest.fixture
def s3():
    with mocked_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
        yield client


@pytest.fixture
def volumes(tmp_path):
    """A staging folder as lab_frozen_copy leaves it: a folder per access point, 6 instances in 2 studies."""
    root = tmp_path / "stage"
    for point in POINTS:
        (root / point).mkdir(parents=True)
    made = generate(root / "images" / "store", 6, size=4096, studies=2, series_per_study=1, seed="unit")
    (root / "confs" / "server.xml").write_text("<server/>")
    (root / "index" / "segments_1").write_bytes(b"\x00" * 100)
    (root / "users" / "users.xml").write_text("<users/>")
    os.chmod(root / "users" / "users.xml", 0o600)
    (root / "images" / "notes.txt").write_text("not DICOM")
    return root, made


def store_args(s3, root, backup_id, **extra):
    return {
        "bucket": BUCKET,
        "backup_id": backup_id,
        "kms_key_id": s3.key,
        "source": str(root),
        "metadata": {"engine": "dicoogle", "deployment": "pacs-test", "time": backup_id},
        "region": "us-east-1",
        **extra,
    }


def fetch_args(backup_id, dest=None, **extra):
    return {
        "bucket": BUCKET,
        "backup_id": backup_id,
        "region": "us-east-1",
        **({"dest": str(dest)} if dest else {}),
        **extra,
    }


def test_a_backup_puts_every_file_encrypted_and_a_manifest_last_once(s3, volumes):
    root, made = volumes
    assert ok(store, store_args(s3, root, "20261206T010000Z"), check_mode=True).changed
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    result = ok(store, store_args(s3, root, "20261206T010000Z"))
    assert result.changed
    assert result["summary"]["instance_count"] == 6 and result["summary"]["study_count"] == 2
    assert result["summary"]["file_count"] == 10
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=result["manifest_key"])["Body"].read())
    assert set(manifest["instances"]) == {item.sop_instance_uid for item in made}
    assert manifest["engine"] == "dicoogle" and manifest["access_points"] == POINTS
    users = next(f for f in manifest["files"] if f["path"] == "users.xml")
    assert users["mode"] == "0600" and len(users["sha256"]) == 64
    head = s3.head_object(Bucket=BUCKET, Key="backups/20261206T010000Z/users/users.xml")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == s3.key
    again = ok(store, store_args(s3, root, "20261206T010000Z"))
    assert not again.changed and again["summary"] == result["summary"]


def test_the_newest_backups_are_kept_and_incomplete_older_ones_removed(s3, volumes):
    root, _ = volumes
    for backup_id in ("20261201T000000Z", "20261202T000000Z", "20261203T000000Z"):
        ok(store, store_args(s3, root, backup_id, keep=0))
    s3.put_object(Bucket=BUCKET, Key="backups/20261202T120000Z/images/half", Body=b"x")  # no manifest
    result = ok(store, store_args(s3, root, "20261204T000000Z", keep=2))
    assert result["kept"] == ["20261204T000000Z", "20261203T000000Z"]
    assert result["deleted"] == ["20261201T000000Z", "20261202T000000Z", "20261202T120000Z"]
    left = {o["Key"].split("/")[1] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert left == {"20261203T000000Z", "20261204T000000Z"}


def test_a_fetch_restores_owners_modes_and_bytes_and_names_what_the_catalog_adds(s3, volumes, tmp_path):
    root, made = volumes
    ok(store, store_args(s3, root, "20261206T010000Z"))
    late = generate(tmp_path / "live" / "later", 2, size=4096, studies=1, series_per_study=1, seed="late")
    for item in made:
        target = tmp_path / "live" / "store" / item.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.path.read_bytes())
    ok(store, store_args(s3, tmp_path / "live", "20261206T020000Z", state="catalog"))
    dest = tmp_path / "restore"
    result = ok(fetch, fetch_args("20261206T010000Z", dest, before_path=str(tmp_path / "gone")))
    assert not result.changed and result["checked_files"] == 10
    assert result["lost_instances"] == sorted(item.sop_instance_uid for item in late)
    assert result["lost_source"] == "catalog 20261206T020000Z"
    assert (dest / "users" / "users.xml").read_text() == "<users/>"
    assert stat.S_IMODE((dest / "users" / "users.xml").stat().st_mode) == 0o600
    for item in made:
        relative = item.path.relative_to(root / "images")
        assert (dest / "images" / relative).read_bytes() == item.path.read_bytes()
    # The storage it replaces, when it is still there, says what is lost: here nothing.
    still = ok(fetch, fetch_args("20261206T010000Z", verify_only=True, before_path=str(root / "images")))
    assert still["lost_instances"] == [] and still["lost_source"] == f"storage {root / 'images'}"


def test_a_changed_byte_is_refused_naming_the_file_and_nothing_is_written_but_the_staging(s3, volumes, tmp_path):
    root, _ = volumes
    ok(store, store_args(s3, root, "20261206T010000Z"))
    key = "backups/20261206T010000Z/index/segments_1"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\x00" * 99 + b"\x01")
    result = run_module(fetch, fetch_args("20261206T010000Z", tmp_path / "restore"))
    assert result.failed
    assert "index/segments_1 differs from its manifest" in result["msg"] and "nothing was restored" in result["msg"]
    missing = run_module(fetch, fetch_args("20261206T000000Z", verify_only=True))
    assert missing.failed and "no backup 20261206T000000Z" in missing["msg"] and "20261206T010000Z" in missing["msg"]


def test_a_removed_object_is_named(s3, volumes):
    root, _ = volumes
    ok(store, store_args(s3, root, "20261206T010000Z"))
    s3.delete_object(Bucket=BUCKET, Key="backups/20261206T010000Z/confs/server.xml")
    result = run_module(fetch, fetch_args("20261206T010000Z", verify_only=True))
    assert result.failed and "confs/server.xml is missing" in result["msg"]


@pytest.fixture
def fake_docker(tmp_path):
    """A docker stand-in that records its calls and fails `pause` of a container named `stuck`."""
    log = tmp_path / "docker.log"
    script = tmp_path / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n[ "$2" = stuck ] && [ "$1" = pause ] && exit 1\nexit 0\n')
    script.chmod(0o755)
    return script, log


def test_the_copy_runs_between_pause_and_unpause_and_keeps_modes(tmp_path, fake_docker):
    script, log = fake_docker
    source = tmp_path / "vol"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a").write_text("a")
    os.chmod(source / "sub" / "a", 0o640)
    args = {
        "containers": ["pacs", "indexer"],
        "sources": {"images": str(source)},
        "dest": str(tmp_path / "copy"),
        "docker": str(script),
    }
    assert ok(frozen_copy, args, check_mode=True)["paused"] == []
    result = ok(frozen_copy, args)
    assert result["paused"] == ["pacs", "indexer"] and result["copied_bytes"] == 1
    assert log.read_text().split("\n")[:4] == ["pause pacs", "pause indexer", "unpause indexer", "unpause pacs"]
    assert stat.S_IMODE((tmp_path / "copy" / "images" / "sub" / "a").stat().st_mode) == 0o640
    again = run_module(frozen_copy, args)
    assert again.failed and "not empty" in again["msg"]


def test_a_failed_pause_or_copy_unpauses_what_was_paused(tmp_path, fake_docker):
    script, log = fake_docker
    source = tmp_path / "vol"
    source.mkdir()
    args = {
        "containers": ["pacs", "stuck"],
        "sources": {"images": str(source)},
        "dest": str(tmp_path / "c1"),
        "docker": str(script),
    }
    result = run_module(frozen_copy, args)
    assert result.failed and "docker pause stuck failed" in result["msg"]
    assert log.read_text().split() == ["pause", "pacs", "pause", "stuck", "unpause", "pacs"]
    log.unlink()
    gone = dict(args, containers=["pacs"], sources={"images": str(tmp_path / "missing")}, dest=str(tmp_path / "c2"))
    failed = run_module(frozen_copy, gone)
    assert failed.failed and "is not a folder" in failed["msg"]
    assert log.read_text().split() == ["pause", "pacs", "unpause", "pacs"]


def test_the_filters_find_the_access_points_volumes():
    filters = load_role_filter("pacs_backup", "pacs_backup")
    volume_of, restored = filters.pacs_backup_volume_of, filters.pacs_backup_restored_volumes
    mounts = [
        {"Type": "volume", "Name": "pacs-lab-images-r20261206T010000Z", "Destination": "/srv/pacs/images"},
        {"Type": "volume", "Name": "pacs-lab-index", "Destination": "/srv/pacs/index"},
        {"Type": "volume", "Name": "pacs-lab-images-old", "Destination": "/x"},
        {"Type": "bind", "Name": "", "Source": "/tmp"},  # noqa: S108
    ]
    assert volume_of("images", mounts, "pacs-lab") == "pacs-lab-images-r20261206T010000Z"
    assert volume_of("index", mounts, "pacs-lab") == "pacs-lab-index"
    assert volume_of("users", mounts, "pacs-lab") == ""
    assert restored(["confs", "images"], "pacs-lab", "20261206T010000Z") == {
        "confs": "pacs-lab-confs-r20261206T010000Z",
        "images": "pacs-lab-images-r20261206T010000Z",
    }
    with pytest.raises(Exception, match="not a backup id"):
        restored(["confs"], "pacs-lab", "latest")


def test_the_newest_backup_and_its_age_are_read_from_the_bucket_or_the_vault(s3, volumes):
    root, _ = volumes
    none = ok(info, {"bucket": BUCKET, "max_age_hours": 26, "region": "us-east-1"})
    assert none["count"] == 0 and none["stale"] and none["age_hours"] is None
    assert not ok(info, {"bucket": BUCKET, "region": "us-east-1"})["stale"]  # 0 judges nothing
    assert ok(info, {"bucket": "no-such-bucket", "max_age_hours": 1, "region": "us-east-1"})["stale"]
    recent = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    for backup_id in ("20200101T000000Z", recent):
        ok(store, store_args(s3, root, backup_id, keep=0))
    s3.put_object(Bucket=BUCKET, Key="backups/20991231T000000Z/images/half", Body=b"x")  # incomplete
    found = ok(info, {"bucket": BUCKET, "max_age_hours": 26, "region": "us-east-1"})
    assert found["count"] == 2 and found["newest"] == recent and not found["stale"]
    assert 0.9 < found["age_hours"] < 1.1
    assert ok(info, {"bucket": BUCKET, "max_age_hours": 0.5, "region": "us-east-1"})["stale"]
    vault = ok(info, {"vault": "no-such-vault", "max_age_hours": 26, "region": "us-east-1"})
    assert vault["count"] == 0 and vault["stale"]
    both = run_module(info, {"bucket": BUCKET, "vault": "v", "region": "us-east-1"})
    assert both.failed and "mutually exclusive" in both["msg"]


def test_a_backup_of_more_than_a_page_of_objects_is_seen_and_deleted_whole(s3, volumes):
    root, _ = volumes
    for n in range(1005):  # ListObjectsV2 answers 1,000 keys a page
        s3.put_object(Bucket=BUCKET, Key=f"backups/20261201T000000Z/images/{n:05d}", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="backups/20261201T000000Z/manifest.json", Body=b"{}")
    assert ok(info, {"bucket": BUCKET, "region": "us-east-1"})["count"] == 1
    result = ok(store, store_args(s3, root, "20261202T000000Z", keep=1))
    assert result["kept"] == ["20261202T000000Z"] and result["deleted"] == ["20261201T000000Z"]
    left = s3.list_objects_v2(Bucket=BUCKET, Prefix="backups/20261201T000000Z/")["KeyCount"]
    assert left == 0
