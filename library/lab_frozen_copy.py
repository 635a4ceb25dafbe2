#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lab_frozen_copy
short_description: Copy Docker volumes while the containers that write to them are paused
description:
  - Pauses O(containers) (C(docker pause): the cgroup freezer stops every process of each, so no file changes
    while it is copied), copies each folder of O(sources) into C(<dest>/<name>) with owners, modes and times kept
    (C(cp -a)), and unpauses the containers, whatever happened (a failed or timed-out copy too).
  - The copy is what a sudden power cut would leave on disk - what Lucene (Dicoogle's index) and SQLite
    (Orthanc's) are built to open again - taken without stopping the PACS. Associations that arrive meanwhile
    wait in the kernel's listen queue and go on after the pause.
  - Reports how long the containers were paused. In check mode nothing is paused or copied.
version_added: "1.0.0"
options:
  containers:
    description: Containers to pause (running ones); none copies without pausing.
    type: list
    elements: str
    default: []
  sources:
    description: "{name: folder} to copy; each becomes C(<dest>/<name>)."
    type: dict
    required: true
  dest:
    description: Folder that receives the copies (made, mode 0700; must not exist or be empty).
    type: path
    required: true
  timeout:
    description: Seconds the copy may take; past them it is stopped, the containers are unpaused, and the run fails.
    type: int
    default: 120
  docker:
    description: The docker command.
    type: str
    default: docker
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Copy the PACS's volumes while it is paused
  lab_frozen_copy:
    containers: [pacs-lab-pacs, pacs-lab-indexer]
    sources:
      images: /var/lib/docker/volumes/pacs-lab-images/_data
      index: /var/lib/docker/volumes/pacs-lab-index/_data
    dest: /var/tmp/pacs-backup/20261206T031500Z
"""

RETURN = r"""
pause_seconds:
  description: Seconds from the first pause to the last unpause.
  returned: always
  type: float
copied_bytes:
  description: Bytes of the regular files copied.
  returned: always
  type: int
paused:
  description: The containers that were paused.
  returned: always
  type: list
  elements: str
"""

import os
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule


def docker(module, *args, timeout=60):
    return subprocess.run(
        [module.params["docker"], *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def bytes_under(root):
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def copy_all(module, deadline):
    params = module.params
    for name, source in sorted(params["sources"].items()):
        if not os.path.isdir(source):
            raise RuntimeError(f"source {name} ({source}) is not a folder")
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired("cp", params["timeout"])
        target = os.path.join(params["dest"], name)
        os.makedirs(target, exist_ok=True)
        done = subprocess.run(
            ["cp", "-a", "--", os.path.join(source, "."), target],
            capture_output=True,
            text=True,
            timeout=left,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"copying {name} ({source}) failed: {done.stderr.strip()}")


def run(module):
    params = module.params
    dest = params["dest"]
    if os.path.exists(dest) and os.listdir(dest):
        module.fail_json(msg=f"dest {dest} is not empty")
    if module.check_mode:
        module.exit_json(changed=True, pause_seconds=0.0, copied_bytes=0, paused=[])
    os.makedirs(dest, mode=0o700, exist_ok=True)
    paused, error = [], None
    started = time.monotonic()
    try:
        for name in params["containers"]:
            done = docker(module, "pause", name)
            if done.returncode != 0:
                raise RuntimeError(f"docker pause {name} failed: {done.stderr.strip()}")
            paused.append(name)
        copy_all(module, started + params["timeout"])
    except subprocess.TimeoutExpired:
        error = f"the copy took longer than {params['timeout']} s; the containers were unpaused"
    except RuntimeError as err:
        error = str(err)
    finally:
        stuck = [name for name in reversed(paused) if docker(module, "unpause", name).returncode != 0]
    seconds = round(time.monotonic() - started, 3)
    if stuck:
        module.fail_json(msg=f"docker unpause failed for {', '.join(stuck)}: unpause them by hand", paused=paused)
    if error:
        module.fail_json(msg=error, pause_seconds=seconds, paused=paused)
    module.exit_json(changed=True, pause_seconds=seconds, copied_bytes=bytes_under(dest), paused=paused)


def main():
    module = AnsibleModule(
        argument_spec={
            "containers": {"type": "list", "elements": "str", "default": []},
            "sources": {"type": "dict", "required": True},
            "dest": {"type": "path", "required": True},
            "timeout": {"type": "int", "default": 120},
            "docker": {"type": "str", "default": "docker"},
        },
        supports_check_mode=True,
    )
    if module.params["timeout"] <= 0:
        module.fail_json(msg="timeout must be more than 0 seconds")
    run(module)


if __name__ == "__main__":
    main()
