#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_empty
short_description: Delete every object version and delete marker of an S3 bucket, locked ones too
description:
  - Deletes every object version and every delete marker of the bucket (ListObjectVersions, DeleteObjects), so
    that the bucket itself can be deleted.
  - With O(bypass_governance_retention), versions under Object Lock retention in governance mode are deleted too
    (the caller needs C(s3:BypassGovernanceRetention)); M(amazon.aws.s3_bucket)'s C(force) does not send that
    header and fails on them. Versions in compliance mode or under a legal hold cannot be deleted; the module
    fails naming them.
  - With O(remove_policy), the bucket policy is deleted first, for a policy that denies the caller object access
    (the images bucket admits object actions only through the on-prem endpoint or by the DataSync role).
  - A bucket that does not exist is left alone (no change).
  - Supports check mode.
version_added: "1.0.0"
options:
  bucket:
    description: Name of the bucket.
    type: str
    required: true
  bypass_governance_retention:
    description: Delete versions under governance-mode retention too.
    type: bool
    default: false
  remove_policy:
    description: Delete the bucket policy before the objects.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Empty the log bucket (Object Lock, governance mode) before deleting it
  s3_bucket_empty:
    bucket: pacs-prod-logs-111122223333-eu-west-1
    bypass_governance_retention: true
"""

RETURN = r"""
deleted:
  description: How many object versions and delete markers were (or, in check mode, would be) deleted.
  returned: always
  type: int
policy_removed:
  description: Whether the bucket policy was (or would be) deleted.
  returned: always
  type: bool
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

# DeleteObjects takes at most 1000 keys.
BATCH = 1000


def bucket_exists(client, bucket):
    try:
        client.head_bucket(Bucket=bucket, aws_retry=True)
    except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
        return False
    return True


def has_policy(client, bucket):
    try:
        return bool(client.get_bucket_policy(Bucket=bucket, aws_retry=True).get("Policy"))
    except is_boto3_error_code("NoSuchBucketPolicy"):
        return False


def versions(client, bucket):
    """Every (key, version id) of the bucket, delete markers included."""
    found = []
    kwargs = {"Bucket": bucket}
    while True:
        page = client.list_object_versions(aws_retry=True, **kwargs)
        for item in (page.get("Versions") or []) + (page.get("DeleteMarkers") or []):
            found.append({"Key": item["Key"], "VersionId": item["VersionId"]})
        if not page.get("IsTruncated"):
            return found
        kwargs["KeyMarker"] = page.get("NextKeyMarker")
        kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker")


def main():
    argument_spec = {
        "bucket": {"type": "str", "required": True},
        "bypass_governance_retention": {"type": "bool", "default": False},
        "remove_policy": {"type": "bool", "default": False},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    bucket = params["bucket"]
    client = pacs_aws.aws_client(module, "s3")
    try:
        if not bucket_exists(client, bucket):
            module.exit_json(changed=False, deleted=0, policy_removed=False)
        policy_removed = bool(params["remove_policy"] and has_policy(client, bucket))
        if policy_removed and not module.check_mode:
            client.delete_bucket_policy(Bucket=bucket, aws_retry=True)
        listed = versions(client, bucket)
        if module.check_mode:
            module.exit_json(changed=bool(listed) or policy_removed, deleted=len(listed), policy_removed=policy_removed)
        extra = {"BypassGovernanceRetention": True} if params["bypass_governance_retention"] else {}
        for start in range(0, len(listed), BATCH):
            answer = client.delete_objects(
                Bucket=bucket, Delete={"Objects": listed[start : start + BATCH], "Quiet": True}, aws_retry=True, **extra
            )
            errors = answer.get("Errors") or []
            if errors:
                module.fail_json(
                    msg=f"could not delete {len(errors)} object versions of bucket {bucket}, e.g. "
                    + ", ".join(f"{e.get('Key')} ({e.get('Code')})" for e in errors[:5]),
                    errors=errors,
                )
        module.exit_json(changed=bool(listed) or policy_removed, deleted=len(listed), policy_removed=policy_removed)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"emptying bucket {bucket}")


if __name__ == "__main__":
    main()
