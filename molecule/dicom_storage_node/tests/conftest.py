"""Make molecule/shared/dicom_testlib.py importable for the scenario's tests."""

import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
if str(SHARED) not in sys.path:
    sys.path.insert(0, str(SHARED))
