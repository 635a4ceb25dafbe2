"""Synthetic CT instances for the ingest tests and the benchmark (pydicom).

    python -m tests.support.synthetic_dicom OUT_DIR --count 1000 --size 524288 --studies 10 --series 3

writes COUNT valid DICOM Part 10 files (CT Image Storage, Explicit VR Little Endian, 16-bit pixels) of about
SIZE bytes each, spread over STUDIES studies of SERIES series each, as OUT_DIR/<study>/<series>/<n>.dcm.
Every UID is unique and derived from --seed, so the same arguments write the same files (byte for byte):
a rerun of an ingest sees files it already has, and a different seed gives new instances.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

COLUMNS = 256
# Bytes a file has besides its pixel data (preamble, meta group and the attributes below), near enough to
# pick the number of rows for a target size.
HEADER_ALLOWANCE = 1400


@dataclass(frozen=True)
class Instance:
    path: Path
    patient_id: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    size: int


def _uid(seed: str, *parts: object) -> str:
    return generate_uid(entropy_srcs=[seed, *map(str, parts)])


def _pixels(rows: int, columns: int, salt: bytes) -> bytes:
    """Deterministic, instance-specific 16-bit pixel values (no numpy)."""
    block = hashlib.sha256(salt).digest() * 8  # 256 bytes
    total = rows * columns * 2
    return (block * (total // len(block) + 1))[:total]


def _dataset(seed, study, series, number, rows, patient_id):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = _uid(seed, "instance", study, series, number)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = _uid(seed, "study", study)
    ds.SeriesInstanceUID = _uid(seed, "series", study, series)
    ds.FrameOfReferenceUID = _uid(seed, "frame", study)
    ds.PatientName = f"SYNTHETIC^{patient_id}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20260101"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
    ds.AccessionNumber = f"SYN{study:05d}"
    ds.StudyID = str(study + 1)
    ds.StudyDescription = "Synthetic CT study"
    ds.SeriesDescription = f"Synthetic series {series + 1}"
    ds.Modality = "CT"
    ds.Manufacturer = "pacs-ingest-tests"
    ds.SeriesNumber = series + 1
    ds.InstanceNumber = number + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SliceThickness = "1.0"
    ds.ImagePositionPatient = [0, 0, number]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [1, 1]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = COLUMNS
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.PixelData = _pixels(rows, COLUMNS, ds.SOPInstanceUID.encode())
    return ds


def generate(
    out_dir: Path | str,
    count: int,
    size: int = 64 * 1024,
    studies: int = 4,
    series_per_study: int = 2,
    seed: str = "pacs-ingest",
) -> list[Instance]:
    """Write `count` instances of about `size` bytes over `studies` x `series_per_study` series."""
    if count < 1 or studies < 1 or series_per_study < 1:
        raise ValueError("count, studies and series_per_study must be at least 1")
    out = Path(out_dir)
    rows = max(1, (size - HEADER_ALLOWANCE) // (COLUMNS * 2))
    series_total = studies * series_per_study
    written = []
    for index in range(count):
        slot = index % series_total
        study, series = divmod(slot, series_per_study)
        number = index // series_total
        patient_id = f"SYN-{seed[:8]}-{study // 2:03d}"  # two studies a patient
        ds = _dataset(seed, study, series, number, rows, patient_id)
        path = out / f"study{study:04d}" / f"series{series:03d}" / f"{number:06d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        written.append(
            Instance(
                path, patient_id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, path.stat().st_size
            )
        )
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size", type=int, default=512 * 1024, help="bytes per file, about")
    parser.add_argument("--studies", type=int, default=4)
    parser.add_argument("--series", type=int, default=2, help="series per study")
    parser.add_argument("--seed", default="pacs-ingest")
    args = parser.parse_args(argv)
    made = generate(args.out_dir, args.count, args.size, args.studies, args.series, args.seed)
    total = sum(item.size for item in made)
    studies = len({item.study_instance_uid for item in made})
    series = len({item.series_instance_uid for item in made})
    print(f"{len(made)} files, {total} bytes, {studies} studies, {series} series in {args.out_dir}")


if __name__ == "__main__":
    main()
