"""The diagrams of docs/architecture.md are the rendering of their Graphviz sources (docs/diagrams/*.dot).

render.sh --check renders every source to a scratch folder and compares with the committed SVG; set-up
(role controller_packages) installs Graphviz and the fonts the sources name.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = ROOT / "docs" / "diagrams"


def test_every_svg_is_its_source_rendered():
    run = subprocess.run(
        [str(DIAGRAMS / "render.sh"), "--check"], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_diagram_has_a_source_and_is_shown_in_the_architecture_document():
    sources = {path.stem for path in DIAGRAMS.glob("*.dot")}
    rendered = {path.stem for path in DIAGRAMS.glob("*.svg")}
    assert sources and sources == rendered
    shown = set(re.findall(r"diagrams/([a-z0-9-]+)\.svg", (ROOT / "docs" / "architecture.md").read_text()))
    assert shown == sources
