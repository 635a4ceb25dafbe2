#!/usr/bin/env python3
"""Benchmark: a backup and a restore of the lab's PACS (playbooks/backup.yml, restore.yml), in one run.

A set of synthetic CT instances (fresh UIDs) is stored through the TLS edge (`pacs-dicom store` on the
client host, timed: the reference rate of the same bytes over DICOM), then:
- backup: `playbooks/backup.yml` with a fresh id, timed as a whole (the playbook's wall time); its report
  gives how long the PACS was paused (the frozen copy of its volumes) and how long the upload to the
  emulated S3 took (SHA-256 of every file, SSE-KMS put);
- restore: `playbooks/restore.yml` of that backup, timed as a whole; its report gives the fetch and check
  of every object against the manifest. The whole run includes moving the task onto the fresh volumes
  (the containers recreated) and the restored PACS's search of every study.
Prints each one's MB/s over the bytes the backup holds (the PACS's whole state, not only the new set), the
pause, and the ratios restore / backup and backup / C-STORE.

    ./lab up
    .venv/bin/python bench/backup_restore.py                   # 1,000 instances of 0.5 MB
    .venv/bin/python bench/backup_restore.py --count 200       # a quicker look

The lab's task runs on the restored volumes afterwards (a later restore or `./lab down -e lab_down_purge=true`
changes that); the old volumes are kept. Needs about count x size of free disk under --work, and three
times the PACS's state in Docker's volumes and moto's memory.
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

from bench.benchlib import run, timed  # noqa: E402 - after the path is set
from tests.support.synthetic_dicom import generate  # noqa: E402

CLIENT_HOST = "pacs-lab-client"
REPORTS = ROOT / "reports"


def rate(size: int, seconds: float) -> str:
    return f"{seconds:8.1f} s {size / seconds / 1e6:8.2f} MB/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="instances stored first (default 1000)")
    parser.add_argument("--size", type=int, default=512 * 1024, help="bytes per instance, about (default 0.5 MiB)")
    parser.add_argument("--studies", type=int, default=10, help="studies of the set (default 10)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()), help="where the set is written")
    options = parser.parse_args()

    stamp = int(time.time())
    work = options.work / f"pacs-bench-backup-{stamp}"
    try:
        made = generate(work / "set", options.count, options.size, options.studies, 2, seed=f"bench-bk-{stamp}")
        stored_bytes = sum(item.size for item in made)
        target = run("docker", "exec", CLIENT_HOST, "mktemp", "-d", "-p", "/root").stdout.strip()
        run("docker", "cp", str(work / "set"), f"{CLIENT_HOST}:{target}/set")
        started = time.monotonic()
        run("docker", "exec", CLIENT_HOST, "pacs-dicom", "store", f"{target}/set")
        store_wall = time.monotonic() - started
        run("docker", "exec", CLIENT_HOST, "rm", "-rf", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ident = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    ansible = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", "inventories/lab"]
    backup_wall, _ = timed([*ansible, "playbooks/backup.yml", "-e", f"pacs_backup_id={ident}"], "backup.yml")
    backup = json.loads((REPORTS / f"backup-pacs-lab-{ident}.json").read_text())
    restore_wall, _ = timed([*ansible, "playbooks/restore.yml", "-e", f"backup={ident}"], "restore.yml")
    restore = json.loads((REPORTS / f"restore-pacs-lab-{ident}.json").read_text())
    total = int(backup["summary"]["bytes"])

    print(
        f"stored {options.count} instances of about {options.size} bytes ({stored_bytes / 1e6:.1f} MB); the backup "
        f"holds {backup['summary']['instance_count']} instances, {backup['summary']['file_count']} files, "
        f"{total / 1e6:.1f} MB"
    )
    print(f"C-STORE through TLS (the set):     {rate(stored_bytes, store_wall)}")
    print(f"backup, playbook wall:             {rate(total, backup_wall)}")
    print(f"backup, PACS paused (frozen copy): {float(backup['pause_seconds']):8.2f} s")
    print(f"backup, hash and upload:           {rate(total, float(backup['upload_seconds']))}")
    print(f"restore, playbook wall:            {rate(total, restore_wall)}")
    print(f"restore, fetch and check:          {rate(total, float(restore['fetch_seconds']))}")
    print(
        f"restore / backup (wall): {restore_wall / backup_wall:.2f}x; "
        f"backup / C-STORE (MB/s): {(total / backup_wall) / (stored_bytes / store_wall):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
