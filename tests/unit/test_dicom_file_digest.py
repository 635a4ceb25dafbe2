"""dicom_file_digest on the real CT files of data/dicom and on broken input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pydicom
import pytest

from library.dicom_file_digest import digest_paths

CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"


@pytest.fixture
def ct_files():
    files = sorted(CT_DIR.glob("*.dcm"))
    assert len(files) == 2, f"expected the two CT files in {CT_DIR}"
    return files


def test_reads_uids_and_pixel_digest_of_real_ct(ct_files):
    files, rejected = digest_paths([str(CT_DIR)])
    assert rejected == [] or all(not r["path"].endswith(".dcm") for r in rejected)
    by_path = {Path(entry["path"]).name: entry for entry in files}
    for path in ct_files:
        entry = by_path[path.name]
        dataset = pydicom.dcmread(path)
        assert entry["sop_instance_uid"] == dataset.SOPInstanceUID
        assert entry["study_instance_uid"] == dataset.StudyInstanceUID
        assert entry["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
        assert entry["pixel_sha256"] == hashlib.sha256(dataset.PixelData).hexdigest()


def test_header_change_keeps_pixel_digest(tmp_path, ct_files):
    dataset = pydicom.dcmread(ct_files[0])
    dataset.InstitutionName = "Changed by a PACS"
    copy = tmp_path / "changed.dcm"
    dataset.save_as(copy)
    (original,), _ = digest_paths([str(ct_files[0])])
    (changed,), _ = digest_paths([str(copy)])
    assert changed["pixel_sha256"] == original["pixel_sha256"]
    assert changed["sop_instance_uid"] == original["sop_instance_uid"]


def test_pixel_change_changes_digest(tmp_path, ct_files):
    dataset = pydicom.dcmread(ct_files[0])
    pixels = bytearray(dataset.PixelData)
    pixels[0] ^= 0xFF
    dataset.PixelData = bytes(pixels)
    copy = tmp_path / "pixels.dcm"
    dataset.save_as(copy)
    (original,), _ = digest_paths([str(ct_files[0])])
    (changed,), _ = digest_paths([str(copy)])
    assert changed["pixel_sha256"] != original["pixel_sha256"]


def test_non_dicom_and_truncated_files_are_rejected_with_reason(tmp_path, ct_files):
    (tmp_path / "notes.txt").write_text("not an image")
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(ct_files[0].read_bytes()[:400])
    shutil.copy(ct_files[1], tmp_path / "good.dcm")
    files, rejected = digest_paths([str(tmp_path)])
    assert [Path(entry["path"]).name for entry in files] == ["good.dcm"]
    reasons = {Path(entry["path"]).name: entry["reason"] for entry in rejected}
    assert set(reasons) == {"notes.txt", "truncated.dcm"}
    assert all(reasons.values())


def test_file_cut_inside_pixel_data_is_rejected(tmp_path, ct_files):
    data = ct_files[0].read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 1000])
    files, rejected = digest_paths([str(cut)])
    assert files == []
    assert "truncated" in rejected[0]["reason"] or "EOF" in rejected[0]["reason"] or "Error" in rejected[0]["reason"]
