#!/usr/bin/env python3
"""Benchmark: C-STORE through the whole mutual-TLS chain against plain DICOM straight to the PACS, in one run.

- chain: storescu on the lab's client host -> the client's ghostunnel -> mutual TLS over the on-prem
  network -> the task's edge ghostunnel -> the PACS (the path every on-prem C-STORE takes);
- plain: the same storescu command lines from the same host's files, run in the task's network
  namespace straight to the PACS's DIMSE port on loopback: no TLS, no tunnel, no network between.

Both sides run the client host's storescu (nsenter into its mount namespace, TCP_NODELAY=1), with one
association and with N at once (each sending its share of the files, as `pacs-dicom store` does), in
the order chain, plain, plain, chain for each N so that neither side always comes first. Every set has
fresh UIDs; after each set the PACS is asked (its REST API behind the admin web's TLS and login) how
many instances of the set it holds, which must be all of them, and the set is deleted again, so that
every set meets an index of the same size. A last set goes through `pacs-dicom store` itself (its
DICOM file check included), the command users run.

Prints files/s and MB/s of each side, chain / plain (issue 7's target: at least 0.90), and where the
CPU time went: storescu, the client's ghostunnel, the edge's ghostunnel, the PACS, the whole machine.

    ./lab up
    .venv/bin/python bench/tls_edge_overhead.py               # 500 instances of 0.5 MB a set, 9 sets
    .venv/bin/python bench/tls_edge_overhead.py --count 100   # a quicker look
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import run as bench_run  # noqa: E402 - after the path is set
from tests.support.lab_admin import admin_rest  # noqa: E402
from tests.support.synthetic_dicom import generate  # noqa: E402

CLIENT_HOST = "pacs-lab-client"
TASK_HOLDER = "pacs-lab-task"
EDGE_CONTAINER = "pacs-lab-ghostunnel-storage"
PACS_CONTAINER = "pacs-lab-pacs"
REMOTE = "/root/pacs-bench-tls"
NAMES = yaml.safe_load((ROOT / "group_vars" / "all" / "pacs.yml").read_text())
CALLING_AET, CALLED_AET = NAMES["pacs_client_aet"], NAMES["pacs_aet"]
PACS_PORT, TUNNEL_PORT = int(NAMES["pacs_port_storage"]), int(NAMES["pacs_port_storage_tls"])
TICK = os.sysconf("SC_CLK_TCK")


def run(*argv: str) -> subprocess.CompletedProcess:
    return bench_run(*argv, timeout=900)


def host_pid(container: str) -> int:
    return int(run("docker", "inspect", "--type=container", "--format={{.State.Pid}}", container).stdout)


def tunnel_pid() -> int:
    """Host pid of the client host's storage tunnel (the ghostunnel listening on the tunnel port)."""
    listen = f"--listen=127.0.0.1:{TUNNEL_PORT}"
    for line in run("docker", "top", CLIENT_HOST, "-eo", "pid,args").stdout.splitlines()[1:]:
        pid, _, args = line.strip().partition(" ")
        if "ghostunnel" in args and listen in args.split():
            return int(pid)
    sys.exit(f"no ghostunnel with {listen} on {CLIENT_HOST}: is the lab up (./lab up)?")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime of all the process's threads


def machine_busy() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / TICK  # all but idle and iowait


def store(files: list[str], side: str, associations: int) -> float:
    """storescu of `files` (paths on the client host) in `associations` shares at once; wall seconds."""
    client, task = host_pid(CLIENT_HOST), host_pid(TASK_HOLDER)
    network = ["-n"] if side == "chain" else [f"--net=/proc/{task}/ns/net"]
    port = TUNNEL_PORT if side == "chain" else PACS_PORT
    share = -(-len(files) // associations)
    env = dict(os.environ, TCP_NODELAY="1")
    command = ["nsenter", "-t", str(client), "-m", *network, "storescu", "-aet", CALLING_AET, "-aec", CALLED_AET]
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [*command, "127.0.0.1", str(port), *files[first : first + share]],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for first in range(0, len(files), share)
    ]
    outputs = [proc.communicate(timeout=900)[0] for proc in procs]
    took = time.monotonic() - started
    for proc, output in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            sys.exit(f"storescu ({side}) failed (exit {proc.returncode}):\n{output[-2000:]}")
    return took


def tool(folder: str) -> float:
    started = time.monotonic()
    run("docker", "exec", CLIENT_HOST, "pacs-dicom", "store", folder)
    return time.monotonic() - started


class Pacs:
    """The lab PACS's REST API: counts a set's instances and deletes them (Orthanc only)."""

    def __init__(self, work: Path):
        self.rest = admin_rest(work)
        try:
            self.orthanc = self.rest.json("GET", "/system").get("Name") is not None
        except Exception:  # noqa: BLE001 - any other engine: no Orthanc REST API behind the admin web
            self.orthanc = False

    def check_and_delete(self, patient_prefix: str, expected: int) -> None:
        if not self.orthanc:
            return
        query = {"PatientID": f"{patient_prefix}*"}
        held = self.rest.json("POST", "/tools/find", payload={"Level": "Instance", "Query": query})
        if len(held) != expected:
            sys.exit(f"the PACS holds {len(held)} instances of {patient_prefix}*, {expected} were sent")
        for study in self.rest.json("POST", "/tools/find", payload={"Level": "Study", "Query": query}):
            self.rest.request("DELETE", f"/studies/{study}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500, help="instances per set (default 500)")
    parser.add_argument("--size", type=int, default=512 * 1024, help="bytes per instance, about (default 0.5 MiB)")
    parser.add_argument(
        "--associations", type=int, default=0, help="associations at once besides one (default: pacs-dicom's own)"
    )
    options = parser.parse_args()
    script = 'sed -n "s/^readonly STORE_ASSOCIATIONS=//p" "$(command -v pacs-dicom)"'
    installed = run("docker", "exec", CLIENT_HOST, "sh", "-c", script)
    tool_associations = int(installed.stdout.strip() or 1)
    many = options.associations or tool_associations
    if many < 2:
        sys.exit("--associations must be at least 2 (pacs-dicom here opens one): nothing to compare")

    pids = {"client tunnel": tunnel_pid(), "edge tunnel": host_pid(EDGE_CONTAINER), "PACS": host_pid(PACS_CONTAINER)}
    stamp = f"{int(time.time()) % 10**6:06d}"
    work = Path(tempfile.mkdtemp(prefix="pacs-bench-tls-"))
    pacs = Pacs(work)
    if not pacs.orthanc:
        print("NOTE: the PACS is not Orthanc: sets are neither counted nor deleted, the index grows each set")
    plan = [(n, side) for n in (1, many) for side in ("chain", "plain", "plain", "chain")]
    seconds: dict[tuple[int, str], float] = {}
    sizes: dict[tuple[int, str], int] = {}
    cpu: dict[tuple[int, str], dict[str, float]] = {}
    run("docker", "exec", CLIENT_HOST, "rm", "-rf", REMOTE)
    run("docker", "exec", CLIENT_HOST, "mkdir", "-m", "0700", REMOTE)
    try:
        for index, (n, side) in enumerate([*plan, (tool_associations, "tool")]):
            seed = f"t{stamp}{index}"  # its first 8 characters make the set's patient IDs: SYN-<seed[:8]>-NNN
            folder = work / f"set{index}"
            made = generate(folder, options.count, options.size, 5, 2, seed=seed)
            run("docker", "cp", str(folder), f"{CLIENT_HOST}:{REMOTE}/set{index}")
            files = [f"{REMOTE}/set{index}/{item.path.relative_to(folder)}" for item in made]
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            before["storescu"] = resource.getrusage(resource.RUSAGE_CHILDREN)
            before["machine"] = machine_busy()
            took = tool(f"{REMOTE}/set{index}") if side == "tool" else store(files, side, n)
            used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            used["storescu"] = (children.ru_utime + children.ru_stime) - (
                before["storescu"].ru_utime + before["storescu"].ru_stime
            )
            used["machine"] = machine_busy() - before["machine"]
            seconds[n, side] = seconds.get((n, side), 0.0) + took
            sizes[n, side] = sizes.get((n, side), 0) + sum(item.size for item in made)
            for name, value in used.items():
                cpu.setdefault((n, side), {}).setdefault(name, 0.0)
                cpu[n, side][name] += value
            print(f"set {index}: {side} with {n} association(s) {took:.2f} s", flush=True)
            pacs.check_and_delete(f"SYN-{seed[:8]}-", options.count)
            run("docker", "exec", CLIENT_HOST, "rm", "-rf", f"{REMOTE}/set{index}")
            shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["docker", "exec", CLIENT_HOST, "rm", "-rf", REMOTE], capture_output=True, check=False)

    print(f"\n{options.count} instances of about {options.size} bytes a set; two sets a side and association count")
    for n in (1, many):
        for side in ("plain", "chain"):
            total, files = seconds[n, side], 2 * options.count
            print(
                f"{n} association(s) {side:5} {total:6.1f} s {files / total:7.1f} files/s "
                f"{sizes[n, side] / total / 1e6:7.1f} MB/s"
            )
        print(f"{n} association(s) chain / plain (files per second): {seconds[n, 'plain'] / seconds[n, 'chain']:.2f}")
    print("target: chain / plain at least 0.90")
    print(f"chain with {many} associations / chain with 1 (files per second): "
          f"{seconds[1, 'chain'] / seconds[many, 'chain']:.2f}")  # fmt: skip
    print(f"chain with {many} associations / plain with 1: {seconds[1, 'plain'] / seconds[many, 'chain']:.2f}")
    tool_seconds = seconds[tool_associations, "tool"]
    print(
        f"pacs-dicom store ({tool_associations} association(s), its DICOM file check included): "
        f"{options.count} files in {tool_seconds:.1f} s, {options.count / tool_seconds:.1f} files/s"
    )
    print("\nCPU seconds per set of the round (sum of two sets / 2); machine = both cores' busy time")
    names = ("storescu", "client tunnel", "edge tunnel", "PACS", "machine")
    print(f"{'':26}" + "".join(f"{name:>15}" for name in names) + f"{'wall':>8}")
    for n in (1, many):
        for side in ("plain", "chain"):
            row = "".join(f"{cpu[n, side][name] / 2:15.2f}" for name in names)
            print(f"{n} association(s) {side:8}{row}{seconds[n, side] / 2:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
