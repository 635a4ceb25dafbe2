"""Bulk ingest against the lab (playbooks/ingest.yml): S3 in moto, DataSync's task in moto with the lab's
stand-in moving the bytes, the PACS indexing the landed folder, C-FIND and C-MOVE through the TLS edge.

One folder of the two CT files and 300 synthetic instances (6 studies of 3 series, fresh UIDs each
session) is ingested twice: the first run must land, index and find everything, every instance must
then come back by C-MOVE at the storage node, and the second run must upload and index nothing. A
second folder mixes good files with a non-DICOM and a truncated DICOM file: both are reported with
the reason, the rest is ingested. A folder that does not exist is refused before anything changes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.lab_aws import lab_client
from tests.support.lab_docker import lab_pacs_engine
from tests.support.synthetic_dicom import Instance, generate

CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"
CLIENT_HOST = "pacs-lab-client"
STORAGE_HOST = "pacs-lab-storage"
STORAGE_DIR = "/var/lib/dicom-storage"
STORAGE_NODE_AET = "STORAGE-NODE"
SYNTHETIC = 300


@dataclass(frozen=True)
class Ingest:
    run: PlaybookRun
    report: dict


def ingest(source: Path, report_file: Path) -> Ingest:
    report_file.unlink(missing_ok=True)
    extra = json.dumps({"source": str(source), "ingest_report_file": str(report_file)})
    run = run_playbook("playbooks/ingest.yml", "-e", extra)
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Ingest(run, report)


@pytest.fixture(scope="module")
def lab(site_first_run):
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, list[Instance]]:
    root = tmp_path_factory.mktemp("ingest") / "outgoing"
    seed = f"it{int(time.time())}"
    made = generate(root / "synthetic", SYNTHETIC, size=64 * 1024, studies=6, series_per_study=3, seed=seed)
    for ct in sorted(CT_DIR.glob("*.dcm")):
        shutil.copy(ct, root / ct.name)
    return root, made


@pytest.fixture(scope="module")
def runs(lab, folder, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    first = ingest(folder[0], reports / "first.json")
    second = ingest(folder[0], reports / "second.json")
    return first, second


def s3_keys(bucket: str) -> int:
    return lab_client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0)


def in_container(host: str, *argv: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", host, *argv], capture_output=True, text=True, timeout=timeout, check=False)


def test_first_ingest_lands_indexes_and_finds_every_study(runs, folder):
    first, _ = runs
    assert first.run.returncode == 0, first.run.report()
    report = first.report
    expected_studies = {item.study_instance_uid for item in folder[1]}
    assert report["files"] == SYNTHETIC + 2 and report["rejected"] == []
    # The CT files may be in the bucket from an earlier ingest into this lab; the synthetic ones are new.
    assert report["uploaded"] >= SYNTHETIC and report["uploaded"] + report["already_in_bucket"] == SYNTHETIC + 2, report
    assert expected_studies <= set(report["studies"]) and len(report["studies"]) >= 7
    assert report["datasync_status"] == "SUCCESS"
    # The CT files were stored by the smoke checks already; every synthetic instance is new.
    assert report["indexed"] >= SYNTHETIC and report["index_errors"] == 0, report
    assert set(report["studies_found"]) == set(report["studies"]) and report["cfind_missing"] == []
    assert "the lab's stand-in copied" in first.run.output
    assert f"INGEST {SYNTHETIC + 2} files" in first.run.output and "files/s" in first.run.output


def test_every_ingested_instance_comes_back_by_cmove(runs, folder):
    first, _ = runs
    assert first.run.returncode == 0, first.run.report()
    instances = folder[1]
    for study in sorted({item.study_instance_uid for item in instances}):
        moved = in_container(CLIENT_HOST, "pacs-dicom", "move", study, STORAGE_NODE_AET)
        assert moved.returncode == 0, f"C-MOVE of {study}: {moved.stdout}{moved.stderr}"
    listing = in_container(STORAGE_HOST, "ls", STORAGE_DIR)
    received = {name.split(".", 1)[1] for name in listing.stdout.split() if "." in name}
    missing = [item.sop_instance_uid for item in instances if item.sop_instance_uid not in received]
    assert missing == [], f"{len(missing)} of {len(instances)} instances did not arrive, e.g. {missing[:3]}"


def test_a_rerun_uploads_nothing_and_indexes_nothing_new(runs):
    _, second = runs
    assert second.run.returncode == 0, second.run.report()
    report = second.report
    assert report["uploaded"] == 0 and report["already_in_bucket"] == SYNTHETIC + 2, report
    assert report["indexed"] == 0 and report["index_errors"] == 0, report
    if lab_pacs_engine() == "orthanc":
        # Orthanc counts each file it holds; Dicoogle's indexer skips them without a count.
        assert report["already_indexed"] >= SYNTHETIC + 2, report
    if lab_pacs_engine() == "orthanc":
        assert "the lab's stand-in copied 0 files" in second.run.output
        # The one change of a rerun is the DataSync execution it starts (an action, not a state).
        assert second.run.recap["localhost"]["changed"] == 1, second.run.report()
    else:
        # Dicoogle: the new request (its listing) is the one new file that lands, with the requests that
        # runs before this test left in the bucket (the indexer sets those aside: their records exist).
        bucket = report["bucket"]
        left = lab_client("s3").list_objects_v2(Bucket=bucket, Prefix=".pacs-ingest/").get("KeyCount", 0)
        assert f"the lab's stand-in copied {1 + left} files" in second.run.output, second.run.report()
        # The changes of a rerun are actions: the request put, the DataSync execution, the request landed.
        assert second.run.recap["localhost"]["changed"] == 3, second.run.report()


def test_each_request_is_answered_recorded_and_gone_from_the_bucket(runs):
    """Dicoogle: the PACS task's indexer container took each run's request (the same path as on AWS)."""
    if lab_pacs_engine() != "dicoogle":
        pytest.skip("NOT RUN: the indexer container is Dicoogle's (Orthanc's import posts each file)")
    bucket = runs[0].report["bucket"]
    for run in runs:
        key = run.report["request"]
        assert key and key.startswith(".pacs-ingest/") and key.endswith(".request"), run.report
        request_id = key.rsplit("/", 1)[1].removesuffix(".request")
        listed = lab_client("s3").list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0)
        assert listed == 0, f"{key} is still in the bucket"
        record = in_container("pacs-lab-indexer", "cat", f"/var/lib/dicoogle/ingest/{request_id}.json")
        assert record.returncode == 0, record.stderr
        answer = json.loads(record.stdout)
        assert answer["status"] == "indexed" and answer["files"] == run.report["files"], answer
        assert sum(task["nIndexed"] for task in answer["tasks"]) == run.report["indexed"], answer
    landed = in_container("pacs-lab-indexer", "ls", "-A", "/srv/pacs/images/froms3/.pacs-ingest")
    assert landed.stdout.split() == [], "a request was left in the landing folder"
    logs = subprocess.run(["docker", "logs", "pacs-lab-indexer"], capture_output=True, text=True, check=False)
    assert f"request {request_id}: indexed" in logs.stderr + logs.stdout


def test_bad_files_are_reported_with_the_reason_and_the_rest_ingested(lab, tmp_path):
    source = tmp_path / "mixed"
    made = generate(source / "good", 5, size=20000, studies=1, series_per_study=1, seed=f"mx{int(time.time())}")
    (source / "notes.txt").write_text("not a DICOM file\n")
    whole = made[0].path.read_bytes()
    (source / "truncated.dcm").write_bytes(whole[: len(whole) // 2])
    result = ingest(source, tmp_path / "mixed.json")
    assert result.run.returncode == 0, result.run.report()
    rejected = {Path(item["path"]).name: item["reason"] for item in result.report["rejected"]}
    assert set(rejected) == {"notes.txt", "truncated.dcm"}, rejected
    assert rejected["notes.txt"].startswith("not DICOM")
    assert rejected["truncated.dcm"].startswith("truncated")
    assert result.report["files"] == 5 and result.report["indexed"] == 5
    assert "REJECTED " + str(source / "notes.txt") in result.run.output
    assert "REJECTED " + str(source / "truncated.dcm") in result.run.output


def test_a_missing_folder_is_refused_before_anything_changes(lab, runs, tmp_path):
    bucket = runs[0].report["bucket"]
    before = s3_keys(bucket)
    result = ingest(tmp_path / "no-such-folder", tmp_path / "missing.json")
    assert result.run.returncode != 0
    assert f"bulk_ingest_source ('{tmp_path / 'no-such-folder'}') does not exist" in result.run.output
    assert result.run.recap["localhost"]["changed"] == 0, result.run.report()
    assert s3_keys(bucket) == before
