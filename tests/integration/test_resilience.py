"""Resilience against the lab: the PACS killed in the middle of a C-STORE loop.

A loop on the client host stores 90 synthetic instances (one study, fresh UIDs), one association per
file, through the TLS edge. After the 30th, the PACS container's main process is killed with SIGKILL from
the host, as a crash would (not `docker stop`/`docker kill`, which the restart policy treats as wanted).
Then:
- the container comes back by itself (its restart policy) and answers through the edge again;
- the only associations that failed are those in flight at the kill or started while the PACS was down
  (before its first successful association after the kill); none failed before or after that window;
- a rerun of the failed files completes, and the PACS then holds exactly the 90 instances sent: nothing
  acknowledged was lost, nothing is there twice;
- the next run of the main job converges the lab again (the task's stamp recorded the old process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.support.ansible_run import run_playbook
from tests.support.lab_admin import stored_instances
from tests.support.lab_docker import docker
from tests.support.synthetic_dicom import generate

CLIENT_HOST = "pacs-lab-client"
PACS_CONTAINER = "pacs-lab-pacs"
INSTANCES = 90
KILL_AFTER = 30
REMOTE = "/root/resilience"

# One association per file; one line per association: start, end, file, exit status.
STORE_LOOP = f"""
cd {REMOTE} && : > store.log
for file in $(cd in && find . -name '*.dcm' | sort); do
  started=$(date +%s.%N)
  pacs-dicom store "in/$file" > last.out 2>&1
  rc=$?
  echo "$started $(date +%s.%N) $file $rc" >> store.log
done
"""


def inspect(field: str) -> str:
    return docker("inspect", "--type=container", f"--format={{{{{field}}}}}", PACS_CONTAINER).stdout.strip()


def store_log() -> list[tuple[float, float, str, int]]:
    lines = docker("exec", CLIENT_HOST, "cat", f"{REMOTE}/store.log").stdout.split("\n")
    return [(float(a), float(b), name, int(rc)) for a, b, name, rc in (line.split() for line in lines if line.strip())]


@pytest.fixture(scope="module")
def lab(site_first_run):
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()


def test_pacs_killed_mid_store_loses_and_duplicates_nothing(lab, tmp_path):
    made = generate(
        tmp_path / "in", INSTANCES, size=32 * 1024, studies=1, series_per_study=1, seed=f"rs{int(time.time())}"
    )
    (study_uid,) = {item.study_instance_uid for item in made}
    docker("exec", CLIENT_HOST, "rm", "-rf", REMOTE)
    docker("exec", CLIENT_HOST, "mkdir", "-p", REMOTE)
    assert docker("cp", str(tmp_path / "in"), f"{CLIENT_HOST}:{REMOTE}/in").returncode == 0
    restarts_before = int(inspect(".RestartCount"))

    loop = subprocess.Popen(["docker", "exec", CLIENT_HOST, "bash", "-c", STORE_LOOP])
    try:
        deadline = time.monotonic() + 300
        while len(store_log()) < KILL_AFTER and loop.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(store_log()) >= KILL_AFTER, f"the loop stored only {len(store_log())} files"
        pid = int(inspect(".State.Pid"))
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)  # the container's own main process, by its pid
        loop.wait(timeout=600)
    finally:
        if loop.poll() is None:
            loop.kill()

    # Back by itself: running again, restarted once by the policy, and answering through the edge.
    deadline = time.monotonic() + 120
    while inspect(".State.Running") != "true" and time.monotonic() < deadline:
        time.sleep(1)
    assert inspect(".State.Running") == "true", "the PACS did not come back"
    assert int(inspect(".RestartCount")) == restarts_before + 1
    # Dicoogle's JVM takes seconds to open its ports after the container starts (Orthanc well under one):
    # C-ECHO is retried, bounded, until the engine answers through the edge.
    deadline = time.monotonic() + 180
    while True:
        echo = docker("exec", CLIENT_HOST, "pacs-dicom", "echo", timeout=120)
        if echo.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert echo.returncode == 0, echo.stdout + echo.stderr

    log = store_log()
    assert len(log) == INSTANCES, f"{len(log)} associations logged of {INSTANCES}"
    failed = [line for line in log if line[3] != 0]
    back_after_kill = [line for line in log if line[3] == 0 and line[0] > killed_at]
    back_at = back_after_kill[0][0] if back_after_kill else float("inf")
    outage = back_at - killed_at
    print(f"{len(failed)} of {INSTANCES} associations failed; the PACS answered again {outage:.1f} s after the kill")
    assert failed, "no association failed: the kill did not hit the loop"
    outside = [line for line in failed if line[1] < killed_at or line[0] > back_at]
    assert outside == [], f"associations failed outside the outage window: {outside}"
    succeeded_before = [line for line in log if line[3] == 0 and line[1] < killed_at]
    assert len(succeeded_before) >= KILL_AFTER - 1

    # The rerun: only the files that failed.
    for _start, _end, name, _rc in failed:
        again = docker("exec", CLIENT_HOST, "pacs-dicom", "store", f"{REMOTE}/in/{name}")
        assert again.returncode == 0, f"{name}: {again.stdout}{again.stderr}"
    held = stored_instances(study_uid, tmp_path)
    assert len(held) == len(set(held)) == INSTANCES, (
        f"the PACS holds {len(held)} instances of the study, sent {INSTANCES}"
    )
    docker("exec", CLIENT_HOST, "rm", "-rf", REMOTE)

    # The task's stamp recorded the old process: the next run of the main job converges the task again
    # (and records the new one), so the tests after this one find a converged lab.
    again = run_playbook("playbooks/site.yml")
    assert again.returncode == 0, again.report()
