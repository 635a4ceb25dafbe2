#!/usr/bin/env python3
"""Benchmark: C-STORE through the whole mutual-TLS chain against plain DICOM straight to the PACS, in one run.

- chain: `pacs-dicom store DIR` on the lab's client host: storescu -> the client's ghostunnel -> mutual
  TLS over the on-prem network -> the task's edge ghostunnel -> the PACS (the path every on-prem C-STORE
  takes);
- plain: the same storescu command line (same dcmtk, TCP_NODELAY=1, 500 files per association, as
  pacs-dicom runs it) from inside the task's network namespace (nsenter) straight to the PACS's DIMSE
  port on loopback: no TLS, no tunnel, no network between.

Four sets of the same size (different UIDs, so the PACS never sees an instance twice) run as chain, plain,
plain, chain, so that neither side always comes first; each side's figure is the sum of its two rounds.
Prints files/s and MB/s of each and chain / plain (issue 7's target: at least 0.90).

    ./lab up
    .venv/bin/python bench/tls_edge_overhead.py               # 4 x 500 instances of 0.5 MB
    .venv/bin/python bench/tls_edge_overhead.py --count 100   # a quicker look
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.synthetic_dicom import generate  # noqa: E402 - after the path is set

CLIENT_HOST = "pacs-lab-client"
TASK_HOLDER = "pacs-lab-task"
CALLING_AET, CALLED_AET, PACS_PORT = "DCMTK-CLIENT", "DICOOGLE-STORAGE", 6666
BATCH = 500  # files per association, as pacs-dicom's STORE_BATCH


def run(*argv: str, env: dict | None = None, timeout: int = 3600) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if proc.returncode != 0:
        sys.exit(
            f"{' '.join(argv[:6])} ... failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return proc


def chain(folder: Path) -> float:
    target = run("docker", "exec", CLIENT_HOST, "mktemp", "-d", "-p", "/root").stdout.strip()
    run("docker", "cp", str(folder), f"{CLIENT_HOST}:{target}/set")
    started = time.monotonic()
    run("docker", "exec", CLIENT_HOST, "pacs-dicom", "store", f"{target}/set")
    took = time.monotonic() - started
    run("docker", "exec", CLIENT_HOST, "rm", "-rf", target)
    return took


def plain(folder: Path) -> float:
    pid = run("docker", "inspect", "--format={{.State.Pid}}", TASK_HOLDER).stdout.strip()
    files = sorted(str(path) for path in folder.rglob("*.dcm"))
    env = dict(os.environ, TCP_NODELAY="1")
    started = time.monotonic()
    for first in range(0, len(files), BATCH):
        run(
            "nsenter", f"--net=/proc/{pid}/ns/net", "storescu", "-v", "-aet", CALLING_AET, "-aec", CALLED_AET,
            "127.0.0.1", str(PACS_PORT), *files[first : first + BATCH], env=env,
        )  # fmt: skip
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="instances per set (default 500)")
    parser.add_argument("--size", type=int, default=512 * 1024, help="bytes per instance, about (default 0.5 MiB)")
    options = parser.parse_args()

    stamp = int(time.time())
    work = Path(tempfile.mkdtemp(prefix="pacs-bench-tls-"))
    try:
        sets = []
        for index in range(4):
            folder = work / f"set{index}"
            made = generate(folder, options.count, options.size, 5, 2, seed=f"tls-{stamp}-{index}")
            sets.append((folder, sum(item.size for item in made)))
        order = (chain, plain, plain, chain)
        seconds = {"chain": 0.0, "plain": 0.0}
        size = {"chain": 0, "plain": 0}
        rounds = []
        for (folder, total), path in zip(sets, order, strict=True):
            took = path(folder)
            seconds[path.__name__] += took
            size[path.__name__] += total
            rounds.append(f"{path.__name__} {took:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    files = 2 * options.count
    print(f"{options.count} instances of about {options.size} bytes a set; rounds: {', '.join(rounds)}")
    for name in ("plain", "chain"):
        rate = files / seconds[name]
        print(f"{name:6} {seconds[name]:7.1f} s {rate:8.1f} files/s {size[name] / seconds[name] / 1e6:8.2f} MB/s")
    ratio = seconds["plain"] / seconds["chain"]
    print(f"chain / plain (files per second): {ratio:.2f} (target: at least 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
