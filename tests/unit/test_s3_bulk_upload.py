"""s3_bulk_upload against moto's in-process S3: parallel, multipart, checksums, resume, rejects."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from unittest import mock

import boto3
import pydicom
import pytest

from library.s3_bulk_upload import main
from tests.support.module_runner import mocked_aws, ok, run_module
from tests.support.synthetic_dicom import generate

CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"
BUCKET = "pacs-images-test"
MIB = 1024 * 1024


@pytest.fixture
def s3():
    with mocked_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def studies(tmp_path):
    folder = tmp_path / "outgoing"
    made = generate(folder / "synthetic", count=12, size=8000, studies=3, series_per_study=2, seed="s3-upload")
    for ct in sorted(CT_DIR.glob("*.dcm")):
        shutil.copy(ct, folder / ct.name)
    return folder, made


def args(src, **extra):
    base = {"src": str(src), "bucket": BUCKET, "prefix": "incoming", "workers": 4, "region": "us-east-1"}
    base.update(extra)
    return base


def keys(s3):
    return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_uploads_every_file_with_its_checksum_then_a_rerun_uploads_nothing(s3, studies):
    folder, made = studies
    check = ok(main, args(folder), check_mode=True)
    assert check.changed and check["files"] == 14 and keys(s3) == set()

    first = ok(main, args(folder))
    assert first.changed and first["files"] == 14 and first["already_there"] == 0 and first["rejected"] == []
    assert first["bytes"] == sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    ct_studies = {str(pydicom.dcmread(ct, stop_before_pixels=True).StudyInstanceUID) for ct in CT_DIR.glob("*.dcm")}
    assert set(first["studies"]) == {item.study_instance_uid for item in made} | ct_studies
    assert {item.study_instance_uid for item in made} <= set(first["studies"])
    assert keys(s3) == set(first["keys"])
    sample = made[0]
    key = "incoming/" + sample.path.relative_to(folder).as_posix()
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(sample.path.read_bytes()).hexdigest()
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == sample.path.read_bytes()

    again = ok(main, args(folder))
    assert not again.changed and again["files"] == 0 and again["already_there"] == 14
    assert "skipped" not in again, "a true skipped would make Ansible call the task skipped"
    assert again["already_there_bytes"] == first["bytes"]
    check_again = ok(main, args(folder), check_mode=True)
    assert not check_again.changed and check_again["files"] == 0


def test_a_changed_file_is_uploaded_again(s3, studies):
    folder, made = studies
    ok(main, args(folder))
    target = made[3].path
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, another pixel value
    target.write_bytes(bytes(data))
    again = ok(main, args(folder))
    assert again.changed and again["files"] == 1 and again["already_there"] == 13


def test_not_dicom_and_truncated_files_are_reported_and_the_rest_uploaded(s3, studies):
    folder, _ = studies
    (folder / "notes.txt").write_text("a file that is not DICOM\n" * 20)
    whole = next(CT_DIR.glob("*.dcm")).read_bytes()
    (folder / "truncated.dcm").write_bytes(whole[: len(whole) // 2])
    result = ok(main, args(folder))
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in result["rejected"]}
    assert set(reasons) == {"notes.txt", "truncated.dcm"}
    assert "no 'DICM' marker" in reasons["notes.txt"]
    assert reasons["truncated.dcm"].startswith("truncated")
    assert result["files"] == 14
    assert not any(key.endswith(("notes.txt", "truncated.dcm")) for key in keys(s3))


def test_dicom_only_false_uploads_anything(s3, tmp_path):
    (tmp_path / "a.txt").write_text("plain")
    result = ok(main, args(tmp_path, dicom_only=False, prefix=""))
    assert result["files"] == 1 and keys(s3) == {"a.txt"} and result["studies"] == []


def test_an_interrupted_run_is_resumed_by_a_rerun(s3, studies):
    folder, _ = studies
    real = boto3.s3.inject.upload_file
    calls = []

    def flaky(self, Filename, *a, **kw):  # noqa: N803 - boto3's own argument name
        calls.append(Filename)
        if len(calls) % 3 == 0:
            raise ConnectionResetError("connection lost mid-upload")
        return real(self, Filename, *a, **kw)

    with mock.patch("boto3.s3.inject.upload_file", flaky):
        broken = run_module(main, args(folder, workers=1))
    assert broken.failed and "uploads failed" in broken["msg"]
    failed = {entry["path"] for entry in broken["rejected"]}
    assert len(failed) == 4 and broken["files"] == 10
    assert all("connection lost" in entry["reason"] for entry in broken["rejected"])

    assert len(keys(s3)) == 10
    resumed = ok(main, args(folder))
    assert resumed["files"] == 4 and resumed["already_there"] == 10
    assert keys(s3) == set(resumed["keys"]) and len(resumed["keys"]) == 14


def test_large_files_go_up_in_parts(s3, tmp_path):
    (big,) = generate(tmp_path, count=1, size=11 * MIB, studies=1, series_per_study=1, seed="s3-multipart")
    result = ok(main, args(tmp_path, multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, prefix=""))
    assert result["files"] == 1
    head = s3.head_object(Bucket=BUCKET, Key=result["keys"][0])
    assert head["ETag"].strip('"').endswith("-3"), "expected a three-part upload"
    assert head["Metadata"]["sha256"] == hashlib.sha256(big.path.read_bytes()).hexdigest()
    again = ok(main, args(tmp_path, multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, prefix=""))
    assert not again.changed and again["already_there"] == 1


def test_leftover_multipart_uploads_are_aborted(s3, studies):
    folder, _ = studies
    s3.create_multipart_upload(Bucket=BUCKET, Key="incoming/half-done.dcm")
    s3.create_multipart_upload(Bucket=BUCKET, Key="elsewhere/not-ours.dcm")
    result = ok(main, args(folder))
    assert result["aborted_uploads"] == 1
    left = [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
    assert left == ["elsewhere/not-ours.dcm"]


def test_kms_encryption_is_asked_for(s3, tmp_path):
    generate(tmp_path, count=1, size=4000, studies=1, series_per_study=1, seed="s3-kms")
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    result = ok(main, args(tmp_path, encryption="aws:kms", kms_key_id=key_id))
    head = s3.head_object(Bucket=BUCKET, Key=result["keys"][0])
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]


def test_a_manifest_lists_every_accepted_file_after_the_uploads(s3, studies):
    folder, made = studies
    (folder / "notes.txt").write_text("not DICOM\n")
    manifest = "incoming/.pacs-ingest/run-1.request"
    check = ok(main, args(folder, manifest_key=manifest), check_mode=True)
    assert check["manifest"] is None and manifest not in keys(s3)
    first = ok(main, args(folder, manifest_key=manifest, manifest_strip_prefix="incoming/"))
    assert first.changed and first["manifest"] == manifest
    lines = s3.get_object(Bucket=BUCKET, Key=manifest)["Body"].read().decode().splitlines()
    assert lines[0] == "# s3_bulk_upload manifest 1"
    listed = dict(reversed(line.split(" ", 1)) for line in lines[1:])
    accepted = {p.relative_to(folder).as_posix(): str(p.stat().st_size) for p in folder.rglob("*.dcm")}
    assert listed == accepted and len(listed) == 14 and "notes.txt" not in listed
    # Nothing to upload, and still a listing: the request for an index of what is there.
    again = ok(main, args(folder, manifest_key="incoming/.pacs-ingest/run-2.request", manifest_strip_prefix="incoming"))
    assert again.changed and again["files"] == 0 and again["manifest"] == "incoming/.pacs-ingest/run-2.request"


def test_a_path_with_a_line_break_is_refused_when_a_manifest_is_asked_for(s3, tmp_path):
    made = generate(tmp_path / "in", count=1, size=4000, studies=1, series_per_study=1, seed="s3-newline")
    made[0].path.rename(tmp_path / "in" / "two\nlines.dcm")
    result = ok(main, args(tmp_path / "in", manifest_key="m.request"))
    assert [item["reason"] for item in result["rejected"]] == [
        "its path holds a line break (the manifest lists a path a line)"
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"multipart_threshold": MIB},
        {"workers": 0},
        {"kms_key_id": "alias/x"},
        {"manifest_key": "m.request", "manifest_strip_prefix": "elsewhere/"},
    ],
    ids=["small-parts", "no-workers", "kms-key-without-kms", "strip-prefix-not-the-prefix"],
)
def test_bad_arguments_fail(s3, tmp_path, extra):
    assert run_module(main, args(tmp_path, **extra)).failed


def test_a_missing_bucket_fails(s3, tmp_path):
    result = run_module(main, args(tmp_path, bucket="no-such-bucket"))
    assert result.failed
