#!/usr/bin/env python3
"""Run playbooks/collect.yml and exit with a status that tells drift from a broken run.

    bin/pacs_collect.py [ANSIBLE-PLAYBOOK ARGUMENTS]

The arguments are ansible-playbook's, passed on unchanged (`-i inventories/aws playbooks/collect.yml
-e ...`); with none, the checkout's playbooks/collect.yml runs against the default inventory. The
scheduled `drift` job (role pacs_schedule) runs through it.

Exit status:

    0    collected, no drift
    20   collected, drift found: the report (reports/latest-<deployment>.md) names it
    any other: the run broke and says nothing about drift: ansible-playbook's own status (1 error,
         2 a task failed, 4 a host unreachable or a parse error, 5 bad options, 99 interrupted,
         250 unexpected), 1 when it ended without writing a verdict (e.g. --tags left the report
         out), 127 when ansible-playbook cannot be found, 128+N when signal N ended it

Why a wrapper: an Ansible play cannot choose ansible-playbook's exit status. collect.yml on its own
fails its last task on drift, so drift and a broken run would both exit 2. Here collect.yml runs
with collect_fail_on_drift=false and writes its verdict (the number of drifted items) into a file
this script names (collect_result_file); the status is read from that file and ansible-playbook's.
20 is outside every status ansible-core returns (its per-host results are the bit flags 1, 2, 4
and 8, so no value up to 15 is safe).

ansible-playbook is $PACS_ANSIBLE_PLAYBOOK when set, else the first on PATH, else the checkout's
.venv/bin/ansible-playbook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]

NO_DRIFT = 0
DRIFT = 20
NO_VERDICT = 1
NOT_FOUND = 127
# Statuses kept for this script's verdicts: ansible-playbook returning one of them is a broken run.
RESERVED = {NO_DRIFT, DRIFT}


def ansible_playbook() -> str | None:
    """The ansible-playbook to run, or None when there is none."""
    named = os.environ.get("PACS_ANSIBLE_PLAYBOOK")
    if named:
        return named
    found = shutil.which("ansible-playbook")
    if found:
        return found
    venv = CHECKOUT / ".venv" / "bin" / "ansible-playbook"
    return str(venv) if venv.exists() else None


def read_verdict(path: Path) -> dict | None:
    """collect.yml's verdict ({"drift": N, "report": ..., "summary": ...}), or None when unreadable."""
    try:
        verdict = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("drift"), int):
        return None
    return verdict


def exit_status(returncode: int, verdict: dict | None) -> tuple[int, str]:
    """The status to exit with and a line that says why."""
    if returncode < 0:
        return 128 - returncode, f"broken run: ansible-playbook ended by signal {-returncode}"
    if returncode != 0:
        status = NO_VERDICT if returncode in RESERVED else returncode
        return status, f"broken run: ansible-playbook exited {returncode}; no verdict on drift"
    if verdict is None:
        return NO_VERDICT, "broken run: ansible-playbook exited 0 without writing a verdict (was it collect.yml?)"
    if verdict["drift"] == 0:
        return NO_DRIFT, "no drift"
    where = f"; report {verdict['report']}" if verdict.get("report") else ""
    return DRIFT, f"drift: {verdict['drift']} drifted item(s){where}"


def main(argv: list[str]) -> int:
    program = ansible_playbook()
    if program is None:
        print("pacs_collect: ansible-playbook not found (set PACS_ANSIBLE_PLAYBOOK)", file=sys.stderr)
        return NOT_FOUND
    args = argv or [str(CHECKOUT / "playbooks" / "collect.yml")]
    with tempfile.TemporaryDirectory(prefix="pacs-collect-") as scratch:
        result = Path(scratch) / "verdict.json"
        # Last on the command line, so they win over the caller's -e.
        extra = json.dumps({"collect_fail_on_drift": False, "collect_result_file": str(result)})
        try:
            proc = subprocess.Popen([program, *args, "-e", extra])
        except FileNotFoundError:
            print(f"pacs_collect: {program} not found", file=sys.stderr)
            return NOT_FOUND
        while True:
            try:
                returncode = proc.wait()
                break
            except KeyboardInterrupt:
                continue  # the terminal interrupted ansible-playbook too: it stops and says so (99)
        status, why = exit_status(returncode, read_verdict(result))
    print(f"pacs_collect: exit {status}: {why}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
