"""What the benchmarks share: run a command and time it (stopping the benchmark when it fails), and count
the changes an Ansible run reports in its recap."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECAP = re.compile(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def run(*argv: str, env: dict | None = None, timeout: int = 7200, label: str = "") -> subprocess.CompletedProcess:
    """Run argv in the checkout, its output captured; stop the benchmark, with the output's end, when it fails."""
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=timeout)  # noqa: S603
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-2000:])
        label = label or " ".join(argv[:6]) + (" ..." if len(argv) > 6 else "")
        sys.exit(f"{label} failed (exit {proc.returncode}) after {time.monotonic() - started:.0f} s")
    return proc


def timed(argv: list[str], label: str, env: dict | None = None, timeout: int = 7200) -> tuple[float, str]:
    """Run argv in the checkout; return its wall time and output, or stop the benchmark on failure."""
    started = time.monotonic()
    proc = run(*argv, env=env, timeout=timeout, label=label)
    return time.monotonic() - started, proc.stdout


def changed(output: str) -> int:
    """The sum of changed= over every host of every recap in an ansible-playbook output."""
    return sum(int(match.group(2)) for match in RECAP.finditer(output))
