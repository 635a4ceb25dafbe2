#!/usr/bin/env python3
"""Benchmark: the same playbooks with Ansible's stock strategy and over Mitogen, in one run.

ansible.cfg runs every playbook with strategy_plugins/pacs_linear.py, which is Ansible's linear
strategy over Mitogen unless PACS_MITOGEN=0. This measures what Mitogen buys on this machine, with
two workloads run both ways:

- `module tasks`: a throwaway playbook of N small module tasks (stat, command, file, copy) on the
  controller, the shape of most of the project's tasks;
- `pacs_settings render`: the project's role pacs_settings rendering the lab inventory's settings
  into a scratch folder (tests/playbooks/render_pacs_settings.yml), first run and rerun.

Nothing here needs the lab to be up; everything it writes is under a temporary folder it removes.

    .venv/bin/python bench/ansible_strategy.py             # about 4 min on 2 cores
    .venv/bin/python bench/ansible_strategy.py --tasks 60  # a longer module-task playbook
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = {"stock": "0", "mitogen": "1"}  # PACS_MITOGEN for each


def module_playbook(folder: Path, tasks: int) -> Path:
    """A playbook of `tasks` module tasks on the controller, a quarter each of four modules."""
    each = max(1, tasks // 4)
    plays = [
        {
            "name": "Module tasks for the strategy benchmark",
            "hosts": "controller",
            "gather_facts": False,
            "tasks": [
                {"name": "Stat", "ansible.builtin.stat": {"path": str(folder)}, "loop": list(range(each))},
                {
                    "name": "Command",
                    "ansible.builtin.command": {"argv": ["true"]},
                    "changed_when": False,
                    "loop": list(range(each)),
                },
                {
                    "name": "File",
                    "ansible.builtin.file": {"path": f"{folder}/d{{{{ item }}}}", "state": "directory", "mode": "0755"},
                    "loop": list(range(each)),
                },
                {
                    "name": "Copy",
                    "ansible.builtin.copy": {"content": "x\n", "dest": f"{folder}/f{{{{ item }}}}", "mode": "0644"},
                    "loop": list(range(each)),
                },
            ],
        }
    ]
    path = folder / "module_tasks.yml"
    path.write_text(json.dumps(plays))
    return path


def timed(mode: str, *args: str) -> tuple[float, float]:
    """Run ansible-playbook stock or over Mitogen; return wall seconds and CPU seconds (its process tree)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PACS_MITOGEN=MODES[mode])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-3000:] + proc.stderr[-2000:])
        sys.exit(f"ansible-playbook {' '.join(args)} ({mode}) failed (exit {proc.returncode})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=40, help="module tasks in the throwaway playbook (default 40)")
    options = parser.parse_args()

    results: dict[tuple[str, str], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-strategy-") as scratch:
        base = Path(scratch)
        users = base / "users.json"
        users.write_text(json.dumps({"pacs_admin_users": [{"name": "bench", "password": "bench-password-0123"}]}))
        users.chmod(0o600)
        for mode in MODES:
            folder = base / mode
            folder.mkdir()
            playbook = module_playbook(folder, options.tasks)
            results[("module tasks", mode)] = timed(mode, str(playbook))
            dest = folder / "settings"
            dest.mkdir()
            render = ("tests/playbooks/render_pacs_settings.yml", "-e", f"pacs_settings_dest={dest}", "-e", f"@{users}")
            results[("pacs_settings render", mode)] = timed(mode, *render)
            results[("pacs_settings rerun", mode)] = timed(mode, *render)

    print(f"{'workload':24} {'mode':8} {'wall s':>8} {'CPU s':>8}")
    for (workload, mode), (wall, cpu) in results.items():
        print(f"{workload:24} {mode:8} {wall:8.1f} {cpu:8.1f}")
    print()
    for workload in ("module tasks", "pacs_settings render", "pacs_settings rerun"):
        stock, mitogen = results[(workload, "stock")], results[(workload, "mitogen")]
        print(f"{workload}: stock / Mitogen = {stock[0] / mitogen[0]:.1f}x wall, {stock[1] / mitogen[1]:.1f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
