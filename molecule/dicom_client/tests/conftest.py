"""Make molecule/common/dicom_testlib.py importable for the scenario's tests."""

import sys
from pathlib import Path

COMMON = Path(__file__).resolve().parents[2] / "common"
if str(COMMON) not in sys.path:
    sys.path.insert(0, str(COMMON))
