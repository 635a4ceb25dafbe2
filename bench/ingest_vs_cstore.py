#!/usr/bin/env python3
"""Benchmark: the bulk path (S3, DataSync, index) against C-STORE through the TLS edge, in one run.

Two sets of the same number of synthetic CT instances of the same size (different UIDs, so neither
path finds the other's instances already stored) go into the running lab:
- bulk: `playbooks/ingest.yml` (upload to the emulated bucket, the DataSync task with the lab's stand-in
  moving the bytes, the PACS indexing the landed folder, C-FIND of every study); timed as a whole
  (the playbook's wall time) and as the ingest itself (the report's seconds, without Ansible's start);
- C-STORE: `pacs-dicom store DIR` on the client host, one association through the client's ghostunnel,
  mutual TLS, the PACS's ghostunnel, into the PACS; timed around the command (the files are copied
  into the client container before the clock starts).
Prints files/s and MB/s of each and the ratio bulk / C-STORE.

    ./lab up
    .venv/bin/python bench/ingest_vs_cstore.py                 # 1,000 instances of 0.5 MB
    .venv/bin/python bench/ingest_vs_cstore.py --count 200     # a quicker look

Needs about 2 x count x size of free disk under --work (default: the temporary folder) plus the same in the PACS's
volumes, which keep what was stored (./lab down -e lab_down_purge=true removes it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import run  # noqa: E402 - after the path is set
from tests.support.ansible_run import run_playbook  # noqa: E402
from tests.support.synthetic_dicom import generate  # noqa: E402

CLIENT_HOST = "pacs-lab-client"


def rate(files: int, size: int, seconds: float) -> str:
    return f"{seconds:8.1f} s {files / seconds:8.1f} files/s {size / seconds / 1e6:8.2f} MB/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="instances per path (default 1000)")
    parser.add_argument("--size", type=int, default=512 * 1024, help="bytes per instance, about (default 0.5 MiB)")
    parser.add_argument("--studies", type=int, default=10, help="studies per set (default 10)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()), help="where the sets are written")
    options = parser.parse_args()

    stamp = int(time.time())
    work = options.work / f"pacs-bench-ingest-{stamp}"
    bulk_dir, store_dir = work / "bulk", work / "cstore"
    try:
        made = {}
        for name, folder in (("bulk", bulk_dir), ("cstore", store_dir)):
            made[name] = generate(folder, options.count, options.size, options.studies, 2, seed=f"bench-{name}-{stamp}")
        sizes = {name: sum(item.size for item in items) for name, items in made.items()}

        report_file = work / "ingest.json"
        started = time.monotonic()
        ingest = run_playbook(
            "playbooks/ingest.yml", "-e", json.dumps({"source": str(bulk_dir), "ingest_report_file": str(report_file)}),
            timeout=7200,
        )  # fmt: skip
        bulk_wall = time.monotonic() - started
        if ingest.returncode != 0:
            sys.exit("ingest failed:\n" + ingest.report())
        report = json.loads(report_file.read_text())
        if report["uploaded"] != options.count or report["indexed"] != options.count:
            sys.exit(f"ingest did not take every file: {report}")

        target = run("docker", "exec", CLIENT_HOST, "mktemp", "-d", "-p", "/root").stdout.strip() + "/cstore"
        run("docker", "cp", str(store_dir), f"{CLIENT_HOST}:{target}")
        started = time.monotonic()
        run("docker", "exec", CLIENT_HOST, "pacs-dicom", "store", target)
        store_wall = time.monotonic() - started
        run("docker", "exec", CLIENT_HOST, "rm", "-rf", str(Path(target).parent))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    bulk_inner = float(report["seconds"])
    print(f"{options.count} instances of about {options.size} bytes per path; {options.studies} studies each")
    print(f"bulk, playbook wall:  {rate(options.count, sizes['bulk'], bulk_wall)}")
    print(f"bulk, ingest itself:  {rate(options.count, sizes['bulk'], bulk_inner)}")
    steps = {name: report.get(f"{name}_seconds") for name in ("upload", "standin", "index")}
    print(
        "bulk, its steps:      "
        + ", ".join(f"{name} {float(value):.1f} s" for name, value in steps.items() if value is not None)
        + f", the rest (DataSync, C-FIND, Ansible) {bulk_wall - sum(float(v) for v in steps.values() if v):.1f} s"
    )
    print(f"C-STORE through TLS:  {rate(options.count, sizes['cstore'], store_wall)}")
    print(
        f"bulk / C-STORE (files per second): {store_wall / bulk_wall:.2f}x by playbook wall, "
        f"{store_wall / bulk_inner:.2f}x by the ingest itself"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
