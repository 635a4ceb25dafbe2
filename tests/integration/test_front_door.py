"""The README's first command on a broken input, and the main job on Ansible's stock strategies.

- Fail fast, say why: `./lab up` with an image that cannot build (the nginx image asked to create
  its group with gid 100, which Debian's base already gives the group `users`: `groupadd` fails in
  the build; every input check passes, the number is a valid gid). The
  run must stop there: no play of a later stage (the smoke checks) runs on any host, and the last
  lines of the output name the failed step, the host and the cause. The lab keeps running what it
  ran before (nothing is pushed or replaced).
- Both strategies: the main job with its smoke checks under PACS_MITOGEN=0 (Ansible's own linear
  and free strategies, no Mitogen), every role converged in full, changes nothing on a converged lab
  and passes every smoke check.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.support.ansible_run import ROOT, PlaybookRun, run_playbook
from tests.support.lab_docker import docker

BROKEN_GID = 100  # the gid of Debian's group "users"


def _lab_up(*extra: str) -> PlaybookRun:
    """The README's first command, as a user runs it (its output together, no colour)."""
    started = time.monotonic()
    completed = subprocess.run(
        [str(ROOT / "lab"), "up", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=3600,
        check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"),
    )
    return PlaybookRun(["./lab", "up", *extra], completed.returncode, completed.stdout, time.monotonic() - started)


def test_a_broken_image_stops_the_run_and_the_last_lines_name_the_step_host_and_cause(site_first_run):
    assert site_first_run.returncode == 0, site_first_run.report()
    running_before = json.loads(docker("inspect", "pacs-lab-nginx").stdout)[0]["Config"]["Image"]

    run = _lab_up("-e", f"container_images_nginx_gid={BROKEN_GID}")

    assert run.returncode != 0, run.report()
    last = "\n".join(run.output.splitlines()[-14:])
    assert "FAILED STEP: Deploy the images, the task and the hosts / container_images : Build and push nginx" in last
    assert "HOST: localhost" in last, last
    # The cause, in the build's own words, among the last lines.
    assert "returned a non-zero code" in last and f"GID '{BROKEN_GID}' already exists" in last, last
    # No play of a later stage ran: the run stopped before the play after the deploy (the DICOM
    # peers' finish), and the smoke checks were never started, on any host.
    assert "STOPPED before play 'Finish the DICOM peers' change'" in run.output, run.report()
    assert "TASK [SMOKE" not in run.output and "PLAY [Smoke" not in run.output, run.report()
    # Nothing the lab runs was replaced.
    assert json.loads(docker("inspect", "pacs-lab-nginx").stdout)[0]["Config"]["Image"] == running_before


def test_the_main_job_passes_its_smoke_checks_on_the_stock_strategies(site_first_run):
    assert site_first_run.returncode == 0, site_first_run.report()
    run = run_playbook("playbooks/site.yml", "-e", "pacs_full_converge=true", env={"PACS_MITOGEN": "0"}, timeout=3600)
    assert run.returncode == 0, run.report()
    assert "ansible_mitogen" not in run.output, "Mitogen ran although PACS_MITOGEN=0"
    assert run.changed == 0, run.report()
    smoke = [line for line in run.output.splitlines() if line.startswith("TASK [SMOKE")]
    assert len(smoke) >= 10, smoke
