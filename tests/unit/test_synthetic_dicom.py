"""The synthetic CT generator writes valid, unique, reproducible instances of the asked size and layout."""

from __future__ import annotations

import pydicom

from module_utils.dicom_part10 import inspect
from tests.support.synthetic_dicom import generate


def test_layout_uniqueness_size_and_validity(tmp_path):
    made = generate(tmp_path, count=13, size=40_000, studies=3, series_per_study=2, seed="gen-1")
    assert len(made) == 13
    assert len({item.sop_instance_uid for item in made}) == 13
    assert len({item.study_instance_uid for item in made}) == 3
    assert len({item.series_instance_uid for item in made}) == 6
    for item in made:
        assert abs(item.size - 40_000) < 1200
        dataset = pydicom.dcmread(item.path)
        assert dataset.SOPInstanceUID == item.sop_instance_uid and dataset.Modality == "CT"
        assert len(dataset.PixelData) == dataset.Rows * dataset.Columns * 2
        assert inspect(item.path)["series_instance_uid"] == item.series_instance_uid


def test_same_seed_same_bytes_other_seed_other_uids(tmp_path):
    first = generate(tmp_path / "a", count=2, size=5000, seed="gen-2")
    again = generate(tmp_path / "b", count=2, size=5000, seed="gen-2")
    other = generate(tmp_path / "c", count=2, size=5000, seed="gen-3")
    assert [p.path.read_bytes() for p in first] == [p.path.read_bytes() for p in again]
    assert not {p.sop_instance_uid for p in first} & {p.sop_instance_uid for p in other}
