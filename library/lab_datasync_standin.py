#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lab_datasync_standin
short_description: The lab's stand-in for DataSync's transfer - copy a bucket's objects into a folder
description:
  - B(Lab only.) moto's DataSync records tasks and executions and walks an execution through its statuses,
    but moves no bytes. This module does the copy that a real execution of the task (S3 location to the EFS
    access point of C(images/froms3)) would do, from the emulated bucket into the folder standing for that
    access point (the lab PACS's images volume), so that the rest of the bulk path runs as on AWS.
  - Every object under O(prefix) is written to O(dest) at its key's path relative to O(prefix), as
    O(owner)/O(group) with O(mode), the way the EFS access point's POSIX user owns what DataSync writes.
    A file is written to a temporary name first and renamed into place.
  - A file already there with the object's size and the SHA-256 the object's metadata O(checksum_key) holds
    (set by C(s3_bulk_upload)) is skipped, as DataSync's C(TransferMode=CHANGED) skips unchanged files.
  - A key that would land outside O(dest) (C(..) parts, an absolute path) is refused and reported.
version_added: "1.0.0"
options:
  bucket:
    description: Bucket to copy from (the images bucket).
    type: str
    required: true
  prefix:
    description: Key prefix copied (the S3 location's subdirectory); empty for the whole bucket.
    type: str
    default: ""
  dest:
    description: Folder the objects land in (created when missing).
    type: path
    required: true
  owner:
    description: Numeric uid the files and folders belong to; omit to keep the module's user.
    type: int
  group:
    description: Numeric gid the files and folders belong to; omit to keep the module's group.
    type: int
  mode:
    description: Mode of the files written (folders get the same with search rights).
    type: str
    default: "0640"
  workers:
    description: Objects copied at the same time.
    type: int
    default: 8
  checksum_key:
    description: Object metadata key holding the file's SHA-256 (hex).
    type: str
    default: sha256
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: "Lab: copy what the DataSync execution would have moved"
  lab_datasync_standin:
    bucket: pacs-lab-images-123456789012-us-east-1
    dest: /var/lib/docker/volumes/pacs-lab-images/_data/froms3
    owner: 10001
    group: 10001
    endpoint_url: http://127.0.0.1:5000
"""

RETURN = r"""
files:
  description: Files written by this run (would be written, in check mode).
  returned: always
  type: int
bytes:
  description: Bytes written by this run (would be, in check mode).
  returned: always
  type: int
already_there:
  description: Objects whose file was already there, same size and checksum.
  returned: always
  type: int
refused:
  description: Objects not copied, with the reason (a key outside O(dest), a failed read or write).
  returned: always
  type: list
  elements: dict
paths:
  description: Paths of the files written, in key order.
  returned: always
  type: list
  elements: str
seconds:
  description: Wall-clock time of the run.
  returned: always
  type: float
"""

import concurrent.futures
import contextlib
import os
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def target_path(dest, prefix, key):
    """Where `key` lands under `dest`, or None when it would land outside it."""
    listing = prefix.strip("/")
    relative = key[len(listing) :].lstrip("/") if listing else key
    if not relative or relative.endswith("/"):
        return None
    path = os.path.normpath(os.path.join(dest, relative))
    return path if path.startswith(os.path.join(os.path.normpath(dest), "")) else None


class Copier:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.mode = int(self.params["mode"], 8)
        self.dir_mode = self.mode | ((self.mode & 0o444) >> 2)

    def own(self, path):
        owner, group = self.params["owner"], self.params["group"]
        if owner is not None or group is not None:
            os.chown(path, -1 if owner is None else owner, -1 if group is None else group)

    def make_dirs(self, folder):
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, self.dir_mode)
                self.own(path)

    def unchanged(self, obj, path):
        if not os.path.isfile(path) or os.path.getsize(path) != obj["Size"]:
            return False
        head = self.client.head_object(Bucket=self.params["bucket"], Key=obj["Key"], aws_retry=True)
        wanted = head.get("Metadata", {}).get(self.params["checksum_key"])
        return wanted is not None and wanted == pacs_aws.file_sha256(path)

    def one(self, obj):
        """(outcome, entry) for one object: outcome is written, skipped or refused."""
        path = target_path(self.params["dest"], self.params["prefix"], obj["Key"])
        if path is None:
            return "refused", {"key": obj["Key"], "reason": "key lands outside dest"}
        entry = {"key": obj["Key"], "path": path, "size": obj["Size"]}
        try:
            if self.unchanged(obj, path):
                return "skipped", entry
            if self.module.check_mode:
                return "written", entry
            self.make_dirs(os.path.dirname(path))
            part = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.part")
            self.client.download_file(self.params["bucket"], obj["Key"], part)
            os.chmod(part, self.mode)
            self.own(part)
            os.replace(part, path)
        except Exception as err:  # noqa: BLE001 - botocore's, s3transfer's and the file system's errors alike
            return "refused", {"key": obj["Key"], "reason": f"{type(err).__name__}: {err}"}
        return "written", entry


def main():
    argument_spec = {
        "bucket": {"type": "str", "required": True},
        "prefix": {"type": "str", "default": ""},
        "dest": {"type": "path", "required": True},
        "owner": {"type": "int"},
        "group": {"type": "int"},
        "mode": {"type": "str", "default": "0640"},
        "workers": {"type": "int", "default": 8},
        "checksum_key": {"type": "str", "default": "sha256", "no_log": False},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["workers"] < 1:
        module.fail_json(msg="workers must be at least 1")
    try:
        mode = int(params["mode"], 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        module.fail_json(msg=f"mode {params['mode']} is not an octal file mode such as 0640")

    started = time.monotonic()
    client = pacs_aws.aws_client(module, "s3")
    try:
        objects = pacs_aws.s3_objects(client, params["bucket"], params["prefix"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"listing bucket {params['bucket']}")
    objects.sort(key=lambda obj: obj["Key"])

    copier = Copier(module, client)
    if not module.check_mode:
        copier.make_dirs(params["dest"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=params["workers"]) as pool:
        outcomes = list(pool.map(copier.one, objects))
    written = [entry for outcome, entry in outcomes if outcome == "written"]
    refused = [entry for outcome, entry in outcomes if outcome == "refused"]
    result = {
        "changed": bool(written),
        "files": len(written),
        "bytes": sum(entry["size"] for entry in written),
        # Not "skipped": Ansible would take a result with a true "skipped" for a skipped task.
        "already_there": sum(1 for outcome, _ in outcomes if outcome == "skipped"),
        "refused": refused,
        "paths": [entry["path"] for entry in written],
        "seconds": round(time.monotonic() - started, 3),
    }
    failed = [entry for entry in refused if entry["reason"] != "key lands outside dest"]
    if failed:
        module.fail_json(msg=f"{len(failed)} objects not copied; a rerun copies only what is missing", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
