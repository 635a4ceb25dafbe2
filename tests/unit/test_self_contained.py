"""No path of the project reaches outside its checkout.

A clone of this repository alone must work: the main job's data, the tests' fixtures and the docs are
in it. A tracked file that names a path above the checkout (the reference folder some development
machines keep beside it, or a parent of the repository root built in Python) fails here. The one
exception is .ci/run, which may hand the test command an optional input from beside the checkout
(a Dicoogle build), and only by an absolute path it builds itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {".ci/run"}

# The sibling folder "shared" named through "..", a Python path built from the root's parent, or
# climbing past the repository root from a file in tests/<folder>/ (parents[3] is the checkout's
# parent there). The examples below are assembled so that this file itself names no such path.
OUTSIDE = [
    re.compile(r"\.\.[/\\]shared\b"),
    re.compile(r"\bROOT\.parent\b"),
    re.compile(r"parents\[(?:[3-9]|\d{2,})\]\s*/"),
    re.compile(r"dirname \| dirname \| dirname \}\}/shared"),
]


def problems(name: str, text: str) -> list[str]:
    """The lines of one file that reach outside the checkout, as 'name:line: text'."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if any(pattern.search(line) for pattern in OUTSIDE):
            found.append(f"{name}:{number}: {line.strip()}")
    return found


def tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and not name.endswith((".dcm", ".svg", ".png"))]


UP = ".."
SIBLING = UP + "/shared"


@pytest.mark.parametrize(
    "line",
    [
        'pacs_smoke_data_dir: "{{ inventory_dir | dirname | dirname | dirname' + ' }}/shared/data/dicom"',
        "CT_DIR = Path(__file__).resolve().parents" + '[3] / "shared" / "data" / "dicom"',
        "REFERENCE = ROOT" + '.parent / "shared" / "reference"',
        f"The architecture is in `{SIBLING}/DESIGN.md`.",
        f"src: {SIBLING}/Dockerfile.j2",
    ],
)
def test_the_check_finds_a_path_outside(line):
    assert problems("example", line) == [f"example:1: {line}"]


@pytest.mark.parametrize(
    "line",
    [
        'CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"',
        'pacs_smoke_data_dir: "{{ inventory_dir | dirname | dirname }}/data/dicom"',
        "dockerfile: ../common/Dockerfile.j2",
        "# shared by verify.yml and the side effect",
    ],
)
def test_the_check_lets_paths_inside_pass(line):
    assert problems("example", line) == []


def test_no_tracked_file_reaches_outside_the_checkout():
    found = []
    for name in tracked_text_files():
        if name in ALLOWED:
            continue
        path = ROOT / name
        if not path.is_file():
            continue
        found += problems(name, path.read_text(errors="replace"))
    assert not found, "paths outside the checkout:\n" + "\n".join(found)


def test_the_ci_exception_names_only_its_optional_dicoogle_input():
    text = (ROOT / ".ci" / "run").read_text()
    assert "./lab test" in text
    assert re.findall(r"shared/[\w./-]+", text) and all(
        item.startswith("shared/dicoogle") for item in re.findall(r"shared/[\w./-]+", text)
    )
