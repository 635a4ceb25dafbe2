#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pacs_backup_fetch
short_description: Fetch a PACS backup from S3 into a staging folder and check every file against its manifest
description:
  - Reads the manifest C(<prefix><backup_id>/manifest.json) (made by C(pacs_backup_store)), fetches every file
    of it into O(dest) (a folder per access point), O(workers) at a time, and checks each one's size and SHA-256
    against the manifest. A file that is missing or differs fails the run, naming it; O(dest) is the only
    thing written, so nothing else has been touched. Directories and files get the owner and mode the
    manifest records.
  - The instances the restore would lose (held before it, not in the backup), by SOP Instance UID - from
    O(before_path) (the images folder of the storage the restore replaces) when it holds any DICOM file,
    else from the newest catalog (C(<prefix>catalogs/)) taken after the backup; C(lost_source) says which.
  - With O(verify_only), files are checked as they stream and nothing is written.
  - Never changes anything but O(dest) (reported as no change). Runs in check mode too.
version_added: "1.0.0"
options:
  bucket:
    description: The backups' bucket.
    type: str
    required: true
  prefix:
    description: Key prefix of the backups, ending in C(/).
    type: str
    default: backups/
  backup_id:
    description: The backup to fetch.
    type: str
    required: true
  dest:
    description: Staging folder (made; must be empty when it exists).
    type: path
  verify_only:
    description: Check every object against the manifest without writing it.
    type: bool
    default: false
  before_path:
    description: The images folder of the storage the restore replaces (may be missing or empty).
    type: path
  workers:
    description: Objects fetched at once.
    type: int
    default: 8
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Fetch and check backup 20261206T031500Z
  pacs_backup_fetch:
    bucket: pacs-lab-backups-123456789012-us-east-1
    backup_id: 20261206T031500Z
    dest: /var/tmp/pacs-backup/restore-20261206T031500Z
    before_path: /var/lib/docker/volumes/pacs-lab-images/_data
"""

RETURN = r"""
manifest:
  description: The manifest without its file, directory and instance lists (id, time, engine, summary, ...).
  returned: always
  type: dict
instances:
  description: SOP Instance UIDs of the backup, sorted.
  returned: always
  type: list
  elements: str
studies:
  description: Study Instance UIDs of the backup, sorted.
  returned: always
  type: list
  elements: str
checked_files:
  description: Files fetched and checked.
  returned: always
  type: int
fetch_seconds:
  description: Seconds the fetch and check took.
  returned: always
  type: float
lost_instances:
  description: SOP Instance UIDs held before the restore that the backup lacks, sorted.
  returned: always
  type: list
  elements: str
lost_source:
  description: Where the instances held before came from (C(storage <path>), C(catalog <id>), or C(none)).
  returned: always
  type: str
"""

import contextlib
import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws, pacs_backup
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws, pacs_backup


class BackupError(ValueError):
    pass


def read_json(client, bucket, key):
    return json.loads(client.get_object(Bucket=bucket, Key=key, aws_retry=True)["Body"].read())


def available(client, bucket, prefix):
    return sorted(i for i, complete in pacs_backup.backups(client, bucket, prefix).items() if complete)


def manifest_of(client, params):
    key = pacs_backup.manifest_key(params["prefix"], params["backup_id"])
    try:
        return read_json(client, params["bucket"], key)
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] not in ("NoSuchKey", "404"):
            raise
    ids = available(client, params["bucket"], params["prefix"])
    raise BackupError(
        f"no backup {params['backup_id']} in s3://{params['bucket']}/{params['prefix']} "
        f"(complete backups: {', '.join(ids) or 'none'})"
    )


def fetch_one(client, params, entry):
    name = f"{entry['access_point']}/{entry['path']}"
    key = pacs_backup.object_key(params["prefix"], params["backup_id"], entry["access_point"], entry["path"])
    try:
        body = client.get_object(Bucket=params["bucket"], Key=key, aws_retry=True)["Body"]
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] in ("NoSuchKey", "404"):
            raise BackupError(
                f"backup {params['backup_id']}: {name} is missing (s3://{params['bucket']}/{key})"
            ) from err
        raise
    digest, size = hashlib.sha256(), 0
    target = None if params["verify_only"] else os.path.join(params["dest"], entry["access_point"], entry["path"])
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(target, "wb")) if target else None
        for block in iter(lambda: body.read(pacs_backup.CHUNK), b""):
            digest.update(block)
            size += len(block)
            if out:
                out.write(block)
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        raise BackupError(
            f"backup {params['backup_id']}: {name} differs from its manifest "
            f"({size} bytes, SHA-256 {digest.hexdigest()}; the manifest has {entry['size']} bytes, "
            f"SHA-256 {entry['sha256']}): the backup is damaged, nothing was restored"
        )
    if target:
        os.chown(target, entry["uid"], entry["gid"])
        os.chmod(target, int(entry["mode"], 8))


def prepare_dest(params, manifest):
    dest = params["dest"]
    if os.path.exists(dest) and os.listdir(dest):
        raise BackupError(f"dest {dest} is not empty")
    os.makedirs(dest, mode=0o700, exist_ok=True)
    for point in manifest["access_points"]:
        os.makedirs(os.path.join(dest, point), exist_ok=True)
    for entry in manifest["directories"]:
        os.makedirs(os.path.join(dest, entry["access_point"], entry["path"]), exist_ok=True)


def own_directories(params, manifest):
    # Deepest first, so that a read-only parent does not stop its children.
    for entry in sorted(manifest["directories"], key=lambda e: e["path"].count(os.sep), reverse=True):
        path = os.path.join(params["dest"], entry["access_point"], entry["path"])
        os.chown(path, entry["uid"], entry["gid"])
        os.chmod(path, int(entry["mode"], 8))


def held_before(client, params, manifest):
    before = params["before_path"]
    if before and os.path.isdir(before):
        found = pacs_backup.dicom_instances(before)
        if found:
            return found, f"storage {before}"
    prefix = f"{params['prefix']}{pacs_backup.CATALOGS}"
    keys = pacs_backup.list_keys(client, params["bucket"], prefix)
    newer = sorted((k for k in keys if k[len(prefix) :].removesuffix(".json") > manifest["id"]), reverse=True)
    if newer:
        newest = read_json(client, params["bucket"], newer[0])
        return newest["instances"], f"catalog {newest['id']}"
    return {}, "none"


def run(module, client):
    params = module.params
    if not params["verify_only"] and not params["dest"]:
        raise BackupError("dest is required unless verify_only")
    manifest = manifest_of(client, params)
    started = time.monotonic()
    if not params["verify_only"]:
        prepare_dest(params, manifest)
    with ThreadPoolExecutor(max_workers=max(1, params["workers"])) as pool:
        futures = [pool.submit(fetch_one, client, params, entry) for entry in manifest["files"]]
        errors = []
        for future in futures:
            try:
                future.result()
            except BackupError as err:
                errors.append(str(err))
    if errors:
        raise BackupError("; ".join(sorted(errors)))
    if not params["verify_only"]:
        own_directories(params, manifest)
    seconds = round(time.monotonic() - started, 3)
    before, source = held_before(client, params, manifest)
    module.exit_json(
        changed=False,
        manifest={k: v for k, v in manifest.items() if k not in ("files", "directories", "instances")},
        instances=sorted(manifest["instances"]),
        studies=sorted({i["study"] for i in manifest["instances"].values()}),
        checked_files=len(manifest["files"]),
        fetch_seconds=seconds,
        lost_instances=pacs_backup.lost_instances(before, manifest["instances"]),
        lost_source=source,
    )


def main():
    argument_spec = {
        "bucket": {"type": "str", "required": True},
        "prefix": {"type": "str", "default": "backups/"},
        "backup_id": {"type": "str", "required": True},
        "dest": {"type": "path"},
        "verify_only": {"type": "bool", "default": False},
        "before_path": {"type": "path"},
        "workers": {"type": "int", "default": 8},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "s3")
    try:
        run(module, client)
    except (BackupError, OSError) as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"backup {module.params['backup_id']} in bucket {module.params['bucket']}")


if __name__ == "__main__":
    main()
