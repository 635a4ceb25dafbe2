"""The plain-Python DICOM check against pydicom, on the real CT files, synthetic ones and broken ones."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

from module_utils.dicom_part10 import NotDicomError, inspect
from tests.support.synthetic_dicom import generate

CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"


def real_ct():
    files = sorted(CT_DIR.glob("*.dcm"))
    assert len(files) == 2, f"expected the two CT files in {CT_DIR}"
    return files


@pytest.mark.parametrize("path", real_ct(), ids=lambda p: p.name)
def test_real_ct_files_read_as_pydicom_reads_them(path):
    info = inspect(path)
    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    assert info["sop_instance_uid"] == dataset.SOPInstanceUID
    assert info["study_instance_uid"] == dataset.StudyInstanceUID
    assert info["series_instance_uid"] == dataset.SeriesInstanceUID
    assert info["sop_class_uid"] == dataset.SOPClassUID
    assert info["patient_id"] == dataset.PatientID
    assert info["size"] == path.stat().st_size


@pytest.mark.parametrize("cut", [131, 200, 1000, -1, -2000])
def test_a_real_file_cut_anywhere_is_truncated(tmp_path, cut):
    data = real_ct()[0].read_bytes()
    broken = tmp_path / "cut.dcm"
    broken.write_bytes(data[:cut])
    with pytest.raises(NotDicomError, match="truncated|not DICOM"):
        inspect(broken)


def test_every_cut_of_a_small_file_is_caught(tmp_path):
    (item,) = generate(tmp_path / "src", count=1, size=3000, studies=1, series_per_study=1, seed="cuts")
    data = item.path.read_bytes()
    inspect(item.path)
    broken = tmp_path / "cut.dcm"
    passed = []
    for cut in range(0, len(data), 7):
        broken.write_bytes(data[:cut])
        try:
            inspect(broken)
            passed.append(cut)
        except NotDicomError:
            pass
    assert passed == []


def test_not_dicom_files_are_refused_with_a_reason(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("x" * 500)
    with pytest.raises(NotDicomError, match="no 'DICM' marker"):
        inspect(text)
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"DICM")
    with pytest.raises(NotDicomError, match="shorter than"):
        inspect(tiny)


def _save(tmp_path, name, syntax, nested=False):
    dataset = pydicom.dcmread(real_ct()[1])
    if nested:
        inner = Dataset()
        inner.CodeValue = "T-D0050"
        inner.CodingSchemeDesignator = "SRT"
        deeper = Dataset()
        deeper.CodeMeaning = "deep"
        inner.ConceptNameCodeSequence = Sequence([deeper])
        dataset.AnatomicRegionSequence = Sequence([inner, inner])
    dataset.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / name
    if syntax == ExplicitVRBigEndian:  # pydicom converts byte order only through dcmwrite
        pydicom.dcmwrite(path, dataset, implicit_vr=False, little_endian=False, force_encoding=True)
    else:
        dataset.save_as(path, implicit_vr=syntax == ImplicitVRLittleEndian)
    return path, dataset


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian])
def test_other_transfer_syntaxes_and_sequences(tmp_path, syntax):
    path, dataset = _save(tmp_path, "other.dcm", syntax, nested=True)
    info = inspect(path)
    assert info["sop_instance_uid"] == dataset.SOPInstanceUID
    assert info["transfer_syntax_uid"] == syntax
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(NotDicomError, match="truncated"):
        inspect(path)


def test_undefined_length_sequences(tmp_path):
    path, dataset = _save(tmp_path, "undef.dcm", ImplicitVRLittleEndian, nested=True)
    # pydicom writes undefined lengths when the sequence says so
    dataset.AnatomicRegionSequence.is_undefined_length = True
    for item in dataset.AnatomicRegionSequence:
        item.is_undefined_length_sequence_item = True
    dataset.save_as(path, implicit_vr=True, little_endian=True)
    assert b"\xfe\xff\xdd\xe0" in path.read_bytes()  # a sequence delimiter is there
    assert inspect(path)["study_instance_uid"] == dataset.StudyInstanceUID


def test_an_image_without_pixel_data_is_truncated(tmp_path):
    dataset = pydicom.dcmread(real_ct()[0])
    del dataset.PixelData
    path = tmp_path / "nopixels.dcm"
    dataset.save_as(path)
    with pytest.raises(NotDicomError, match="without Pixel Data"):
        inspect(path)


def test_short_pixel_data_is_truncated(tmp_path):
    dataset = pydicom.dcmread(real_ct()[0])
    dataset.PixelData = dataset.PixelData[:1000]
    path = tmp_path / "short.dcm"
    dataset.save_as(path)
    with pytest.raises(NotDicomError, match="Pixel Data has 1000 bytes"):
        inspect(path)


def test_a_dataset_without_uids_is_not_an_instance(tmp_path):
    dataset = pydicom.dcmread(real_ct()[0])
    del dataset.SOPInstanceUID
    path = tmp_path / "nouid.dcm"
    dataset.save_as(path)
    with pytest.raises(NotDicomError, match="sop_instance_uid"):
        inspect(path)
