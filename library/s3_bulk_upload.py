#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bulk_upload
short_description: Upload every DICOM file under a folder to an S3 bucket, in parallel and resumably
description:
  - Walks O(src) and uploads each file to O(bucket) under O(prefix), keeping the folder layout, several files
    at a time (O(workers)); files of O(multipart_threshold) bytes or more go up in parts (boto3's managed
    transfer).
  - Each object carries the SHA-256 of its file in its metadata (O(checksum_key)). A file whose object is
    already there with the same size and checksum is skipped, so a rerun, or a run after an interrupted one,
    uploads only what is missing or changed. S3 only shows an object once its upload completed, so an
    interrupted upload leaves nothing half-written behind; with O(abort_incomplete=true) the parts of
    interrupted multipart uploads under the prefix are discarded too.
  - With O(dicom_only=true) every file is first checked to be a whole DICOM Part 10 file, in plain Python
    (the 'DICM' marker, every data element walked to the file's last byte, the identifying UIDs present, an
    image's pixel data complete). Files that fail are not uploaded and are listed in RV(rejected) with the
    reason; nothing is dropped silently.
  - Check mode reads the folder and the bucket and reports what would be uploaded, uploading nothing.
version_added: "1.0.0"
options:
  src:
    description: Folder whose files (recursively) are uploaded.
    type: path
    required: true
  bucket:
    description: Name of the bucket.
    type: str
    required: true
  prefix:
    description: Key prefix the folder's relative paths are put under (C(incoming/2026-01)); empty for the top.
    type: str
    default: ""
  workers:
    description: Files uploaded at the same time.
    type: int
    default: 8
  multipart_threshold:
    description: Files of this many bytes or more are uploaded in parts (at least 5 MiB, S3's smallest part).
    type: int
    default: 8388608
  multipart_chunksize:
    description: Size of each part of a multipart upload, in bytes (at least 5 MiB).
    type: int
    default: 8388608
  part_concurrency:
    description: Parts of one multipart upload sent at the same time.
    type: int
    default: 4
  checksum_key:
    description: Object metadata key holding the file's SHA-256 (hex).
    type: str
    default: sha256
  dicom_only:
    description: Upload only whole DICOM Part 10 files; reject the others with the reason.
    type: bool
    default: true
  encryption:
    description: Server-side encryption of the objects; omit to use the bucket's default encryption.
    type: str
    choices: [AES256, "aws:kms"]
  kms_key_id:
    description: KMS key (id, ARN or alias) for O(encryption=aws:kms); omit for the bucket's or S3's key.
    type: str
  abort_incomplete:
    description: Abort the multipart uploads left under the prefix by an interrupted run before uploading.
    type: bool
    default: true
  manifest_key:
    description:
      - After the uploads, put a listing of every accepted file (uploaded or already there) at this key. Its first
        line is C(# s3_bulk_upload manifest 1), then one C(<size> <path>) line per file, in file order, where the
        path is the object's key without O(manifest_strip_prefix). A bulk ingest's indexer waits for those files to
        land (roles/bulk_ingest).
      - Not put in check mode, nor when an upload failed. Files whose path holds a line break are rejected.
    type: str
  manifest_strip_prefix:
    description:
      - Key prefix taken off each listed key (the DataSync S3 location's subdirectory, so that the paths are
        relative to where DataSync lands the files). Every accepted key must start with it.
    type: str
    default: ""
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Upload a folder of studies to the images bucket
  s3_bulk_upload:
    src: /data/outgoing
    bucket: "{{ images_bucket }}"
    prefix: incoming
    encryption: aws:kms
    kms_key_id: alias/pacs
  register: upload

- name: Say what was refused
  ansible.builtin.debug:
    msg: "{{ item.path }}: {{ item.reason }}"
  loop: "{{ upload.rejected }}"
"""

RETURN = r"""
files:
  description: Files uploaded by this run (would be uploaded, in check mode).
  returned: always
  type: int
bytes:
  description: Bytes uploaded by this run (would be, in check mode).
  returned: always
  type: int
already_there:
  description: Files whose object was already there with the same size and checksum.
  returned: always
  type: int
already_there_bytes:
  description: Bytes of the files already there.
  returned: always
  type: int
rejected:
  description: Files not uploaded, with the reason (not DICOM, truncated, unreadable, upload failed).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/data/outgoing/notes.txt", "reason": "not DICOM: no 'DICM' marker after the 128-byte preamble"}]
accepted:
  description: Files that are (now) in the bucket, uploaded or skipped.
  returned: always
  type: int
studies:
  description: Study Instance UIDs of the accepted files (empty with O(dicom_only=false)).
  returned: always
  type: list
  elements: str
keys:
  description: Object keys of the accepted files, in file order.
  returned: always
  type: list
  elements: str
manifest:
  description: Key of the listing put (O(manifest_key)), or null when none was put.
  returned: always
  type: str
aborted_uploads:
  description: Interrupted multipart uploads aborted under the prefix.
  returned: always
  type: int
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
    from boto3.s3.transfer import TransferConfig

try:
    from ansible.module_utils import dicom_part10, pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import dicom_part10, pacs_aws

MIN_PART = 5 * 1024 * 1024
MANIFEST_HEADER = "# s3_bulk_upload manifest 1\n"


def object_key(prefix, src, path):
    relative = os.path.relpath(path, src).replace(os.sep, "/")
    prefix = prefix.strip("/")
    return f"{prefix}/{relative}" if prefix else relative


def walk(src):
    for folder, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            yield os.path.join(folder, name)


def existing_objects(client, bucket, prefix):
    """{key: size} of the objects under the prefix."""
    return {item["Key"]: item["Size"] for item in pacs_aws.s3_objects(client, bucket, prefix)}


def abort_incomplete(client, bucket, prefix, check_mode):
    uploads = pacs_aws.paginate(
        client, "list_multipart_uploads", "Uploads", page_param="KeyMarker", page_field="NextKeyMarker",
        Bucket=bucket, Prefix=pacs_aws.s3_folder_prefix(prefix),
    )  # fmt: skip
    if not check_mode:
        for upload in uploads:
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"], aws_retry=True)
    return len(uploads)


class Uploader:
    def __init__(self, module, client, transfer_client):
        params = module.params
        self.module = module
        self.client = client
        self.transfer_client = transfer_client
        self.params = params
        self.existing = {}
        self.transfer = TransferConfig(
            multipart_threshold=params["multipart_threshold"],
            multipart_chunksize=params["multipart_chunksize"],
            max_concurrency=params["part_concurrency"],
            use_threads=params["part_concurrency"] > 1,
        )
        self.extra = {}
        if params["encryption"]:
            self.extra["ServerSideEncryption"] = params["encryption"]
        if params["kms_key_id"]:
            self.extra["SSEKMSKeyId"] = params["kms_key_id"]

    def same_object(self, key, size, digest):
        if self.existing.get(key) != size:
            return False
        try:
            head = self.client.head_object(Bucket=self.params["bucket"], Key=key, aws_retry=True)
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return head.get("Metadata", {}).get(self.params["checksum_key"]) == digest

    def one(self, path):
        """(outcome, entry) for one file: outcome is uploaded, skipped or rejected."""
        params = self.params
        entry = {"path": path, "key": object_key(params["prefix"], params["src"], path)}
        if params["manifest_key"] and ("\n" in entry["key"] or "\r" in entry["key"]):
            reason = "its path holds a line break (the manifest lists a path a line)"
            return "rejected", {"path": path, "reason": reason}
        try:
            if params["dicom_only"]:
                entry["study_instance_uid"] = dicom_part10.inspect(path)["study_instance_uid"]
            entry["size"] = os.path.getsize(path)
            digest = pacs_aws.file_sha256(path)
        except dicom_part10.NotDicomError as err:
            return "rejected", {"path": path, "reason": str(err)}
        except OSError as err:
            return "rejected", {"path": path, "reason": f"unreadable: {err}"}
        try:
            if self.same_object(entry["key"], entry["size"], digest):
                return "skipped", entry
            if not self.module.check_mode:
                extra = dict(self.extra, Metadata={params["checksum_key"]: digest})
                self.transfer_client.upload_file(
                    path, params["bucket"], entry["key"], ExtraArgs=extra, Config=self.transfer
                )
        except Exception as err:  # noqa: BLE001 - botocore's, s3transfer's and the socket's errors alike
            return "rejected", {"path": path, "reason": f"upload failed: {type(err).__name__}: {err}"}
        return "uploaded", entry


def main():
    argument_spec = {
        "src": {"type": "path", "required": True},
        "bucket": {"type": "str", "required": True},
        "prefix": {"type": "str", "default": ""},
        "workers": {"type": "int", "default": 8},
        "multipart_threshold": {"type": "int", "default": 8 * 1024 * 1024},
        "multipart_chunksize": {"type": "int", "default": 8 * 1024 * 1024},
        "part_concurrency": {"type": "int", "default": 4},
        "checksum_key": {"type": "str", "default": "sha256", "no_log": False},
        "dicom_only": {"type": "bool", "default": True},
        "encryption": {"type": "str", "choices": ["AES256", "aws:kms"]},
        "kms_key_id": {"type": "str"},
        "abort_incomplete": {"type": "bool", "default": True},
        "manifest_key": {"type": "str", "no_log": False},
        "manifest_strip_prefix": {"type": "str", "default": ""},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not os.path.isdir(params["src"]):
        module.fail_json(msg=f"src {params['src']} is not a folder")
    if params["workers"] < 1 or params["part_concurrency"] < 1:
        module.fail_json(msg="workers and part_concurrency must be at least 1")
    if min(params["multipart_threshold"], params["multipart_chunksize"]) < MIN_PART:
        module.fail_json(msg=f"multipart_threshold and multipart_chunksize must be at least {MIN_PART} (5 MiB)")
    if params["kms_key_id"] and params["encryption"] != "aws:kms":
        module.fail_json(msg="kms_key_id needs encryption: aws:kms")
    strip = params["manifest_strip_prefix"].lstrip("/")
    if params["manifest_key"] and not object_key(params["prefix"], ".", "x").startswith(strip):
        module.fail_json(
            msg=f"keys under prefix {params['prefix']!r} do not start with manifest_strip_prefix {strip!r}"
        )

    started = time.monotonic()
    pool_size = params["workers"] * max(1, params["part_concurrency"]) + 2
    config = {"max_pool_connections": pool_size, "retries": {"mode": "standard", "max_attempts": 6}}
    client = pacs_aws.aws_client(module, "s3")
    transfer_client = module.client("s3", config=config)
    uploader = Uploader(module, client, transfer_client)
    try:
        aborted = (
            abort_incomplete(client, params["bucket"], params["prefix"], module.check_mode)
            if params["abort_incomplete"]
            else 0
        )
        uploader.existing = existing_objects(client, params["bucket"], params["prefix"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"reading bucket {params['bucket']}")

    paths = list(walk(params["src"]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=params["workers"]) as pool:
        outcomes = list(pool.map(uploader.one, paths))
    uploaded = [entry for outcome, entry in outcomes if outcome == "uploaded"]
    skipped = [entry for outcome, entry in outcomes if outcome == "skipped"]
    rejected = [entry for outcome, entry in outcomes if outcome == "rejected"]
    accepted = [entry for outcome, entry in outcomes if outcome != "rejected"]
    result = {
        "changed": bool(uploaded) or (aborted > 0),
        "files": len(uploaded),
        "bytes": sum(entry["size"] for entry in uploaded),
        # Not "skipped": Ansible would take a result with a true "skipped" for a skipped task.
        "already_there": len(skipped),
        "already_there_bytes": sum(entry["size"] for entry in skipped),
        "rejected": rejected,
        "accepted": len(accepted),
        "studies": sorted({entry["study_instance_uid"] for entry in accepted if entry.get("study_instance_uid")}),
        "keys": [entry["key"] for entry in accepted],
        "aborted_uploads": aborted,
        "seconds": round(time.monotonic() - started, 3),
    }
    result["manifest"] = None
    failed_uploads = [entry for entry in rejected if entry["reason"].startswith("upload failed")]
    if failed_uploads:
        module.fail_json(msg=f"{len(failed_uploads)} uploads failed; a rerun uploads only what is missing", **result)
    if params["manifest_key"] and not module.check_mode:
        body = MANIFEST_HEADER + "".join(f"{entry['size']} {entry['key'][len(strip) :]}\n" for entry in accepted)
        try:
            client.put_object(
                Bucket=params["bucket"], Key=params["manifest_key"], Body=body.encode(), aws_retry=True,
                **uploader.extra,
            )  # fmt: skip
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
            module.fail_json_aws(err, msg=f"putting the manifest {params['manifest_key']}", **result)
        result.update(changed=True, manifest=params["manifest_key"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
