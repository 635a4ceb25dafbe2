#!/usr/bin/env python3
"""Benchmark: the AWS side (playbooks/stages/aws.yml) against moto, converge then no-op rerun, in one run.

Starts its own moto server (the project's extension, lab_emulator) on 127.0.0.1:PORT (default
5410, away from the lab's 5000/5001 and molecule's 5400), converges one deployment with the aws
inventory and the moto rehearsal's few deviations (molecule/aws/host_vars/localhost/), reruns it,
tears it down, stops the server by its pid and prints:
  - converge and rerun wall times and their ratio, the changed counts (the rerun must be 0);
  - the slowest ten tasks of each run (ansible.posix.profile_tasks).

    .venv/bin/python bench/aws_provisioning.py             # about 8 min on 2 cores
    .venv/bin/python bench/aws_provisioning.py --port 5411 --keep   # keep moto and the deployment up

moto answers at once where AWS takes minutes (NAT gateways, load balancers, endpoints), so these
figures show Ansible's and the modules' own cost: the modules' fixed sleeps for AWS's eventual
consistency are most of it (docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import changed, timed  # noqa: E402 - after the path is set

HOST_VARS = ROOT / "molecule" / "aws" / "host_vars" / "localhost"
# profile_tasks' summary lines: "role : task name ------ 45.04s". The name is padded with dashes to the
# width less 9, and the time to 9 characters, so a name longer than that keeps two dashes before a time of
# 10 s or more ("... (rules come next) -- 10.52s").
PROFILE = re.compile(r"^(.+?)\s-{2,}\s+(\d+\.\d+)s$", re.MULTILINE)


def start_moto(port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - the venv's python, fixed arguments
            [sys.executable, "-m", "lab_emulator.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/config", timeout=2):  # noqa: S310
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit(f"moto did not answer on 127.0.0.1:{port} within 60 s (log: {log})")


def playbook(name: str, port: int, deployment: str, *extra: str) -> tuple[float, str]:
    env = dict(
        os.environ,
        PACS_AWS_MOTO_PORT=str(port),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.timer,ansible.posix.profile_tasks",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="10",
        ANSIBLE_NOCOLOR="1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy credentials
    )
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", "inventories/aws",
        "-e", f"@{HOST_VARS / 'deployment.yml'}",
        "-e", f"@{HOST_VARS / 'moto.yml'}",
        "-e", f"pacs_deployment={deployment}",
        "-e", "aws_teardown_secret_recovery_days=0",
        *extra,
        f"playbooks/{name}",
    ]  # fmt: skip
    return timed(argv, name, env=env, timeout=3600)


def slowest(output: str) -> list[tuple[str, float]]:
    summary = output[output.rfind("TASKS RECAP") :] if "TASKS RECAP" in output else output
    return [(" ".join(name.split()), float(seconds)) for name, seconds in PROFILE.findall(summary)][:10]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5410, help="moto's port (5400 or above)")
    parser.add_argument("--deployment", default="bench-pacs")
    parser.add_argument("--keep", action="store_true", help="leave moto and the deployment up")
    options = parser.parse_args()
    if options.port < 5400:
        sys.exit("--port must be 5400 or above (the lab owns 5000 and 5001)")

    log = ROOT / ".lab" / "bench-aws-moto.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = start_moto(options.port, log)
    try:
        converge, converge_out = playbook("aws.yml", options.port, options.deployment)
        rerun, rerun_out = playbook("aws.yml", options.port, options.deployment)
        teardown = None
        if not options.keep:
            teardown, _ = playbook(
                "teardown.yml",
                options.port,
                options.deployment,
                "-e", f"confirm={options.deployment}",
                "-e", "teardown_delete_data=true",
            )  # fmt: skip
    finally:
        if not options.keep:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    for title, output in (("converge", converge_out), ("rerun", rerun_out)):
        print(f"slowest tasks of the {title}:")
        for name, seconds in slowest(output):
            print(f"  {seconds:7.2f} s  {name}")
    print(f"converge (empty account):   {converge:6.0f} s   changed={changed(converge_out)}")
    print(f"rerun (nothing to do):      {rerun:6.0f} s   changed={changed(rerun_out)}")
    if teardown is not None:
        print(f"teardown:                   {teardown:6.0f} s")
    print(f"rerun / converge: {rerun / converge:.2f}")
    return 0 if changed(rerun_out) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
