"""The Docker CLI as the lab's integration tests call it: output captured, never raising on failure."""

from __future__ import annotations

import json
import subprocess


def docker(*argv: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run `docker ARGV...`; the caller checks the return code."""
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout, check=False)


def lab_pacs_engine() -> str:
    """The engine the lab's PACS container runs (its image's io.pacs.engine label)."""
    return json.loads(docker("inspect", "pacs-lab-pacs").stdout)[0]["Config"]["Labels"]["io.pacs.engine"]
