#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dicom_file_digest
short_description: Read the identifying UIDs and a digest of the pixel data of DICOM files
description:
  - For every DICOM file under the given paths, returns its SOP Instance, Series and Study Instance UIDs,
    Patient ID, SOP Class UID and the SHA-256 of its Pixel Data element, so that a copy that went through a
    PACS (C-STORE then C-MOVE) can be compared with the original, whatever the PACS changed in the header.
  - Files that are not DICOM are listed in C(rejected) with the reason; they are never silently dropped.
  - Read-only; supports check mode. Needs pydicom on the host it runs on.
version_added: "1.0.0"
options:
  paths:
    description: Files or folders (searched recursively) to read.
    type: list
    elements: path
    required: true
author:
  - PACS platform team
requirements:
  - pydicom >= 3.0
"""

EXAMPLES = r"""
- name: Digest the files a C-MOVE delivered
  dicom_file_digest:
    paths: [/tmp/received]
  register: received
"""

RETURN = r"""
files:
  description: One entry per DICOM file read.
  returned: always
  type: list
  elements: dict
  contains:
    path: {description: File path., type: str}
    sop_instance_uid: {description: SOP Instance UID (0008,0018)., type: str}
    sop_class_uid: {description: SOP Class UID (0008,0016)., type: str}
    series_instance_uid: {description: Series Instance UID (0020,000E)., type: str}
    study_instance_uid: {description: Study Instance UID (0020,000D)., type: str}
    patient_id: {description: Patient ID (0010,0020)., type: str}
    pixel_sha256: {description: SHA-256 of the Pixel Data value, or null when there is none., type: str}
    size: {description: File size in bytes., type: int}
rejected:
  description: Files that could not be read as DICOM, with the reason.
  returned: always
  type: list
  elements: dict
by_sop_instance_uid:
  description: The same files keyed by SOP Instance UID.
  returned: always
  type: dict
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import pydicom
    from pydicom.errors import InvalidDicomError

    HAS_PYDICOM = True
except ImportError:
    HAS_PYDICOM = False


def _walk(paths):
    for path in paths:
        if os.path.isdir(path):
            for folder, _dirs, names in os.walk(path):
                for name in sorted(names):
                    yield os.path.join(folder, name)
        else:
            yield path


REQUIRED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


def _expected_pixel_bytes(dataset):
    """Bytes of uncompressed pixel data the image attributes call for, or None when not computable."""
    if dataset.file_meta.get("TransferSyntaxUID") is None or dataset.file_meta.TransferSyntaxUID.is_compressed:
        return None
    try:
        frames = int(dataset.get("NumberOfFrames", 1) or 1)
        bits = int(dataset.BitsAllocated)
        count = int(dataset.Rows) * int(dataset.Columns) * int(dataset.SamplesPerPixel) * frames
    except (AttributeError, TypeError, ValueError):
        return None
    return (count * bits + 7) // 8


def digest_file(path):
    """Return the digest entry of one DICOM file; raises ValueError on a file that is not (whole) DICOM."""
    dataset = pydicom.dcmread(path, force=False)
    missing = [name for name in REQUIRED_UIDS if not dataset.get(name)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)} (not a composite instance, or truncated)")
    pixel = dataset.get((0x7FE0, 0x0010))
    if pixel is None and "Rows" in dataset:
        raise ValueError("image attributes but no Pixel Data (truncated?)")
    expected = _expected_pixel_bytes(dataset) if pixel is not None else None
    if expected is not None and len(pixel.value) < expected:
        raise ValueError(f"Pixel Data has {len(pixel.value)} bytes, the image needs {expected} (truncated)")
    return {
        "path": path,
        "sop_instance_uid": str(dataset.get("SOPInstanceUID", "")),
        "sop_class_uid": str(dataset.get("SOPClassUID", "")),
        "series_instance_uid": str(dataset.get("SeriesInstanceUID", "")),
        "study_instance_uid": str(dataset.get("StudyInstanceUID", "")),
        "patient_id": str(dataset.get("PatientID", "")),
        "pixel_sha256": hashlib.sha256(pixel.value).hexdigest() if pixel is not None else None,
        "size": os.path.getsize(path),
    }


def digest_paths(paths):
    """Return (files, rejected) for every file under paths."""
    files, rejected = [], []
    for path in _walk(paths):
        try:
            files.append(digest_file(path))
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as err:
            rejected.append({"path": path, "reason": f"{type(err).__name__}: {err}"})
    return files, rejected


def main():
    module = AnsibleModule(
        argument_spec={"paths": {"type": "list", "elements": "path", "required": True}},
        supports_check_mode=True,
    )
    if not HAS_PYDICOM:
        module.fail_json(msg=missing_required_lib("pydicom"))
    missing = [path for path in module.params["paths"] if not os.path.exists(path)]
    if missing:
        module.fail_json(msg=f"paths do not exist: {', '.join(missing)}")
    files, rejected = digest_paths(module.params["paths"])
    module.exit_json(
        changed=False,
        files=files,
        rejected=rejected,
        by_sop_instance_uid={entry["sop_instance_uid"]: entry for entry in files},
    )


if __name__ == "__main__":
    main()
