"""lab_datasync_standin against moto's in-process S3: copies, skips unchanged files, stays inside dest."""

from __future__ import annotations

import hashlib
import os

import boto3
import pytest

from library.lab_datasync_standin import main, target_path
from tests.support.module_runner import mocked_aws, ok, run_module

BUCKET = "pacs-images-standin"


def put(s3, key, body, checksum=True):
    metadata = {"sha256": hashlib.sha256(body).hexdigest()} if checksum else {}
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata)


@pytest.fixture
def s3():
    with mocked_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        put(client, "study1/series1/a.dcm", b"A" * 3000)
        put(client, "study1/series2/b.dcm", b"B" * 5000)
        put(client, "c.dcm", b"C" * 10)
        yield client


def args(dest, **extra):
    base = {"bucket": BUCKET, "dest": str(dest), "workers": 3, "region": "us-east-1"}
    base.update(extra)
    return base


def test_copies_every_object_then_a_rerun_copies_nothing(s3, tmp_path):
    dest = tmp_path / "froms3"
    first = ok(main, args(dest))
    assert first.changed and first["files"] == 3 and first["bytes"] == 8010 and first["already_there"] == 0
    assert (dest / "study1" / "series2" / "b.dcm").read_bytes() == b"B" * 5000
    assert oct(os.stat(dest / "c.dcm").st_mode & 0o777) == "0o640"
    assert oct(os.stat(dest / "study1").st_mode & 0o777) == "0o750"
    assert not list(dest.rglob(".*.part"))
    again = ok(main, args(dest))
    assert not again.changed and again["files"] == 0 and again["already_there"] == 3


def test_a_changed_or_damaged_file_is_copied_again(s3, tmp_path):
    dest = tmp_path / "froms3"
    ok(main, args(dest))
    (dest / "c.dcm").write_bytes(b"X" * 10)  # same size, other content
    put(s3, "study1/series1/a.dcm", b"a" * 3001)  # the object changed
    again = ok(main, args(dest))
    assert again.changed and again["files"] == 2
    assert (dest / "c.dcm").read_bytes() == b"C" * 10
    assert (dest / "study1" / "series1" / "a.dcm").read_bytes() == b"a" * 3001


def test_an_object_without_a_checksum_is_always_copied(s3, tmp_path):
    put(s3, "nosum.dcm", b"N" * 20, checksum=False)
    ok(main, args(tmp_path))
    assert ok(main, args(tmp_path))["paths"] == [str(tmp_path / "nosum.dcm")]


def test_check_mode_writes_nothing(s3, tmp_path):
    dest = tmp_path / "froms3"
    result = ok(main, args(dest), check_mode=True)
    assert result.changed and result["files"] == 3
    assert not dest.exists()


def test_prefix_is_the_source_subdirectory(s3, tmp_path):
    result = ok(main, args(tmp_path, prefix="/study1/"))
    assert result["files"] == 2
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.dcm")) == [
        "series1/a.dcm",
        "series2/b.dcm",
    ]


def test_owner_and_group_are_applied(s3, tmp_path):
    ok(main, args(tmp_path, owner=4242, group=4343, mode="0600"))
    stat = os.stat(tmp_path / "study1" / "series1" / "a.dcm")
    assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (4242, 4343, 0o600)
    assert os.stat(tmp_path / "study1").st_uid == 4242


def test_keys_outside_dest_are_refused_not_written(s3, tmp_path):
    put(s3, "../escape.dcm", b"E")
    dest = tmp_path / "in"
    result = ok(main, args(dest))
    assert result["refused"] == [{"key": "../escape.dcm", "reason": "key lands outside dest"}]
    assert not (tmp_path / "escape.dcm").exists()


@pytest.mark.parametrize(
    ("prefix", "key", "expected"),
    [
        ("", "a/b.dcm", "/d/a/b.dcm"),
        ("in", "in/a.dcm", "/d/a.dcm"),
        ("", "a/", None),
        ("", "../x", None),
        ("", "a/../../x", None),
    ],
)
def test_target_path(prefix, key, expected):
    assert target_path("/d", prefix, key) == expected


def test_bad_arguments_fail_before_anything_is_read(s3, tmp_path):
    assert "workers" in run_module(main, args(tmp_path, workers=0))["msg"]
    assert "octal file mode" in run_module(main, args(tmp_path, mode="rw-r-----"))["msg"]
    assert not list(tmp_path.iterdir())


def test_a_missing_bucket_fails_with_its_name(s3, tmp_path):
    result = run_module(main, args(tmp_path, bucket="no-such-bucket"))
    assert result.failed and "no-such-bucket" in result["msg"]
