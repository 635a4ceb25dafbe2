"""bin/pacs_collect.py: collect.yml's run with an exit status that tells drift (20) from a broken run.

The script runs against a stand-in for ansible-playbook (PACS_ANSIBLE_PLAYBOOK) that records its
arguments, writes the verdict collect.yml would write (or none) and exits as told; the contract is the
one README.md's "Exit codes" table documents. collect.yml's own part (the verdict written after the
report, in check mode too) is checked on the playbook's text; against the lab it is
tests/integration/test_day_two.py's and test_peers.py's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "pacs_collect.py"

STAND_IN = """#!/usr/bin/env python3
import json, os, signal, sys
args = sys.argv[1:]
with open(os.environ["STAND_IN_CALLS"], "a") as calls:
    calls.write(json.dumps(args) + "\\n")
extra = json.loads(args[-1])
drift = os.environ.get("STAND_IN_DRIFT")
if drift is not None:
    with open(extra["collect_result_file"], "w") as verdict:
        verdict.write(drift if not drift.isdigit() else json.dumps({"drift": int(drift), "report": "r/latest.md"}))
if os.environ.get("STAND_IN_SIGNAL"):
    os.kill(os.getpid(), int(os.environ["STAND_IN_SIGNAL"]))
sys.exit(int(os.environ.get("STAND_IN_RC", "0")))
"""


@pytest.fixture
def stand_in(tmp_path) -> Path:
    path = tmp_path / "ansible-playbook"
    path.write_text(STAND_IN)
    path.chmod(0o755)
    return path


def run(stand_in: Path, *args: str, rc: int = 0, drift: str | None = None, sig: int | None = None):
    calls = stand_in.parent / "calls"
    env = dict(os.environ, PACS_ANSIBLE_PLAYBOOK=str(stand_in), STAND_IN_CALLS=str(calls), STAND_IN_RC=str(rc))
    for name, value in (("STAND_IN_DRIFT", drift), ("STAND_IN_SIGNAL", sig)):
        env.pop(name, None)
        if value is not None:
            env[name] = str(value)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return proc, recorded


@pytest.mark.parametrize(
    ("rc", "drift", "status", "says"),
    [
        (0, "0", 0, "no drift"),
        (0, "3", 20, "drift: 3 drifted item(s); report r/latest.md"),
        # A failed task or an unreachable host: a broken run, whatever the verdict says so far.
        (2, "1", 2, "broken run: ansible-playbook exited 2"),
        (2, None, 2, "broken run: ansible-playbook exited 2"),
        (4, None, 4, "broken run: ansible-playbook exited 4"),
        (5, None, 5, "broken run: ansible-playbook exited 5"),
        (99, None, 99, "broken run"),
        (250, None, 250, "broken run"),
        # Success without a verdict (--tags left the report out, another playbook): no verdict.
        (0, None, 1, "without writing a verdict"),
        (0, "not json", 1, "without writing a verdict"),
        (0, '{"drift": "many"}', 1, "without writing a verdict"),
        # A status this script keeps for its verdicts never passes through from ansible-playbook.
        (20, "0", 1, "broken run: ansible-playbook exited 20"),
    ],
)
def test_the_exit_status_tells_drift_from_a_broken_run(stand_in, rc, drift, status, says):
    proc, _ = run(stand_in, "playbooks/collect.yml", rc=rc, drift=drift)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert f"pacs_collect: exit {status}: " in proc.stdout and says in proc.stdout, proc.stdout


def test_a_run_ended_by_a_signal_is_broken(stand_in):
    proc, _ = run(stand_in, "playbooks/collect.yml", drift="0", sig=15)
    assert proc.returncode == 128 + 15, proc.stdout
    assert "ended by signal 15" in proc.stdout


def test_the_arguments_pass_unchanged_and_the_scripts_extra_vars_come_last(stand_in):
    proc, calls = run(
        stand_in, "-i", "inventories/aws", "playbooks/collect.yml", "-e", "collect_fail_on_drift=true", drift="0"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (args,) = calls
    assert args[:5] == ["-i", "inventories/aws", "playbooks/collect.yml", "-e", "collect_fail_on_drift=true"]
    assert args[5] == "-e" and len(args) == 7
    extra = json.loads(args[6])
    assert extra["collect_fail_on_drift"] is False
    # The verdict goes to a scratch file that is gone afterwards.
    assert extra["collect_result_file"].endswith("verdict.json")
    assert not Path(extra["collect_result_file"]).exists()


def test_without_arguments_it_runs_the_checkouts_collect_playbook(stand_in):
    proc, calls = run(stand_in, drift="0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert calls[0][0] == str(ROOT / "playbooks" / "collect.yml")


def test_a_missing_ansible_playbook_is_127(tmp_path):
    env = dict(os.environ, PACS_ANSIBLE_PLAYBOOK=str(tmp_path / "nowhere"))
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 127, proc.stdout + proc.stderr


def test_collect_writes_its_verdict_after_the_report_and_in_check_mode():
    plays = yaml.safe_load((ROOT / "playbooks" / "collect.yml").read_text())
    report_play = plays[-1]
    assert report_play["vars"]["collect_fail_on_drift"] is True
    assert report_play["vars"]["collect_result_file"] == ""
    names = [task["name"] for task in report_play["tasks"]]
    verdict = next(task for task in report_play["tasks"] if task["name"].startswith("Write the verdict"))
    assert names.index(verdict["name"]) > names.index("Write the report as Markdown")
    assert names.index(verdict["name"]) < len(names) - 1  # before the task that fails on drift
    assert verdict["ansible.builtin.copy"]["dest"] == "{{ collect_result_file }}"
    assert verdict["check_mode"] is False
    assert verdict["vars"]["_collect_verdict"]["drift"] == "{{ collect_report.drift | length }}"


def test_the_readme_documents_the_exit_codes():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Exit codes") :]
    assert "| `0` |" in section and "| `20` |" in section, section[:1500]
