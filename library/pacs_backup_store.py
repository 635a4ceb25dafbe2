#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pacs_backup_store
short_description: Put a frozen copy of the PACS's volumes into S3 with a manifest, or a catalog of its instances
description:
  - O(state=present) - reads O(source) (a folder per access point, the copy taken while the PACS was paused),
    puts every file into O(bucket) as C(<prefix><backup_id>/<access point>/<path>), encrypted with O(kms_key_id)
    (SSE-KMS), O(workers) at a time, then the manifest C(<prefix><backup_id>/manifest.json) - every directory and
    file with its owner and mode, every file's size and SHA-256, the DICOM instances of the images access point
    (SOP Instance UID, study, series) with their counts, and O(metadata). The manifest goes last, so a backup
    without one is incomplete. A backup id whose manifest exists is never written again (no change).
  - Then keeps the newest O(keep) backups (O(keep=0) keeps every one) and deletes the others, and any
    incomplete backup older than the newest complete one.
  - O(state=catalog) - puts a catalog of the DICOM instances under O(source) (the live images volume; nothing is
    paused) as C(<prefix>catalogs/<catalog_id>.json) and keeps the newest O(keep_catalogs). A restore names the
    instances it loses from the newest catalog when the storage it replaces is gone.
  - Supports check mode (nothing is put or deleted).
version_added: "1.0.0"
options:
  state:
    description: C(present) for a backup, C(catalog) for a catalog of instances.
    type: str
    choices: [present, catalog]
    default: present
  bucket:
    description: The backups' bucket (it must exist).
    type: str
    required: true
  prefix:
    description: Key prefix of the backups, ending in C(/).
    type: str
    default: backups/
  backup_id:
    description: Id of the backup, or with O(state=catalog) of the catalog (C(20261206T031500Z)).
    type: str
    required: true
  kms_key_id:
    description: KMS key (alias or ARN) every object is encrypted with.
    type: str
    required: true
  source:
    description:
      - O(state=present) - the staging folder with a folder per access point.
      - O(state=catalog) - the images folder of the live PACS.
    type: path
    required: true
  access_points:
    description: The access points under O(source) (O(state=present)).
    type: list
    elements: str
    default: [confs, images, index, users]
  images_access_point:
    description: The access point whose DICOM files are listed in the manifest.
    type: str
    default: images
  metadata:
    description: More fields of the manifest (engine, deployment, pause_seconds, ...).
    type: dict
    default: {}
  keep:
    description: Backups kept after a backup, the newest first; 0 keeps every one.
    type: int
    default: 7
  keep_catalogs:
    description: Catalogs kept after a catalog, the newest first.
    type: int
    default: 48
  workers:
    description: Objects put at once.
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
- name: Put the frozen copy into the backups bucket
  pacs_backup_store:
    bucket: pacs-lab-backups-123456789012-us-east-1
    backup_id: 20261206T031500Z
    kms_key_id: alias/pacs-lab
    source: /var/tmp/pacs-backup/20261206T031500Z
    metadata: {engine: dicoogle, deployment: pacs-lab, pause_seconds: 1.4}
    keep: 7
"""

RETURN = r"""
backup_id:
  description: The backup's (or catalog's) id.
  returned: always
  type: str
manifest_key:
  description: Key of the manifest (or of the catalog).
  returned: always
  type: str
summary:
  description: C(instance_count), C(study_count), C(series_count), C(file_count), C(bytes).
  returned: always
  type: dict
upload_seconds:
  description: Seconds the objects took to put (0 when nothing was put).
  returned: always
  type: float
deleted:
  description: Ids of the backups (or catalogs) deleted by the retention.
  returned: always
  type: list
  elements: str
kept:
  description: Ids of the backups (or catalogs) there after the run, the newest first.
  returned: always
  type: list
  elements: str
"""

import contextlib
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


def delete_prefix(client, bucket, prefix):
    keys = pacs_backup.list_keys(client, bucket, prefix)
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}, aws_retry=True)


def retention(module, client, newest_id):
    params = module.params
    found = pacs_backup.backups(client, params["bucket"], params["prefix"])
    complete = sorted((i for i, done in found.items() if done), reverse=True)
    doomed = complete[params["keep"] :] if params["keep"] > 0 else []
    newest_complete = complete[0] if complete else newest_id
    doomed += sorted(i for i, done in found.items() if not done and i < newest_complete)
    if not module.check_mode:
        for backup_id in doomed:
            delete_prefix(client, params["bucket"], f"{params['prefix']}{backup_id}/")
    return sorted(doomed), [i for i in complete if i not in doomed]


def put(client, bucket, key, body, kms_key_id):
    client.put_object(
        Bucket=bucket, Key=key, Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id, aws_retry=True
    )


def put_file(client, params, entry):
    key = pacs_backup.object_key(params["prefix"], params["backup_id"], entry["access_point"], entry["path"])
    with open(os.path.join(params["source"], entry["access_point"], entry["path"]), "rb") as body:
        put(client, params["bucket"], key, body, params["kms_key_id"])


def backup(module, client):
    params = module.params
    key = pacs_backup.manifest_key(params["prefix"], params["backup_id"])
    existing = pacs_backup.backups(client, params["bucket"], params["prefix"])
    if existing.get(params["backup_id"]):
        manifest = json.loads(client.get_object(Bucket=params["bucket"], Key=key, aws_retry=True)["Body"].read())
        deleted, kept = retention(module, client, params["backup_id"])
        module.exit_json(
            changed=bool(deleted),
            backup_id=params["backup_id"],
            manifest_key=key,
            summary=manifest["summary"],
            upload_seconds=0.0,
            deleted=deleted,
            kept=kept,
        )
    scanned = pacs_backup.scan(params["source"], params["access_points"], params["images_access_point"])
    summary = {
        **pacs_backup.summary(scanned["instances"]),
        "file_count": len(scanned["files"]),
        "bytes": sum(f["size"] for f in scanned["files"]),
    }
    manifest = {
        "format": 1,
        "id": params["backup_id"],
        **params["metadata"],
        "access_points": params["access_points"],
        "images_access_point": params["images_access_point"],
        "summary": summary,
        **scanned,
    }
    started = time.monotonic()
    if not module.check_mode:
        with ThreadPoolExecutor(max_workers=max(1, params["workers"])) as pool:
            for future in [pool.submit(put_file, client, params, entry) for entry in scanned["files"]]:
                future.result()
        put(client, params["bucket"], key, json.dumps(manifest, sort_keys=True).encode(), params["kms_key_id"])
    seconds = round(time.monotonic() - started, 3)
    deleted, kept = retention(module, client, params["backup_id"])
    module.exit_json(
        changed=True,
        backup_id=params["backup_id"],
        manifest_key=key,
        summary=summary,
        upload_seconds=seconds,
        deleted=deleted,
        kept=kept if not module.check_mode else [params["backup_id"], *kept],
    )


def catalog(module, client):
    params = module.params
    prefix = f"{params['prefix']}{pacs_backup.CATALOGS}"
    key = f"{prefix}{params['backup_id']}.json"
    instances = pacs_backup.dicom_instances(params["source"])
    body = {"format": 1, "id": params["backup_id"], **params["metadata"], "instances": instances}
    if not module.check_mode:
        put(client, params["bucket"], key, json.dumps(body, sort_keys=True).encode(), params["kms_key_id"])
    ids = sorted(
        {k[len(prefix) :].removesuffix(".json") for k in pacs_backup.list_keys(client, params["bucket"], prefix)}
    )
    ids = sorted(set(ids) | {params["backup_id"]}, reverse=True)
    doomed = ids[params["keep_catalogs"] :] if params["keep_catalogs"] > 0 else []
    if not module.check_mode:
        for catalog_id in doomed:
            client.delete_object(Bucket=params["bucket"], Key=f"{prefix}{catalog_id}.json", aws_retry=True)
    module.exit_json(
        changed=True,
        backup_id=params["backup_id"],
        manifest_key=key,
        summary=pacs_backup.summary(instances),
        upload_seconds=0.0,
        deleted=sorted(doomed),
        kept=[i for i in ids if i not in doomed],
    )


def main():
    argument_spec = {
        "state": {"type": "str", "choices": ["present", "catalog"], "default": "present"},
        "bucket": {"type": "str", "required": True},
        "prefix": {"type": "str", "default": "backups/"},
        "backup_id": {"type": "str", "required": True},
        "kms_key_id": {"type": "str", "required": True},
        "source": {"type": "path", "required": True},
        "access_points": {"type": "list", "elements": "str", "default": ["confs", "images", "index", "users"]},
        "images_access_point": {"type": "str", "default": "images"},
        "metadata": {"type": "dict", "default": {}},
        "keep": {"type": "int", "default": 7},
        "keep_catalogs": {"type": "int", "default": 48},
        "workers": {"type": "int", "default": 8},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if not module.params["prefix"].endswith("/"):
        module.fail_json(msg=f"prefix ({module.params['prefix']!r}) must end in /")
    if module.params["keep"] < 0 or module.params["keep_catalogs"] < 0:
        module.fail_json(msg="keep and keep_catalogs must be 0 or more")
    client = pacs_aws.aws_client(module, "s3")
    try:
        (catalog if module.params["state"] == "catalog" else backup)(module, client)
    except (ValueError, OSError) as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"backup {module.params['backup_id']} in bucket {module.params['bucket']}")


if __name__ == "__main__":
    main()
