#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_object_lock
short_description: Turn on S3 Object Lock on a versioned bucket and set its default retention
description:
  - Ensures the bucket's Object Lock configuration is C(Enabled) with a default retention of O(mode) for O(days)
    days (PutObjectLockConfiguration).
  - Works on a bucket that was made without Object Lock, as S3 allows for a versioned bucket;
    M(amazon.aws.s3_bucket) can only turn it on when it makes the bucket.
  - Object Lock cannot be turned off again; the module never tries.
  - Supports check mode; a bucket that does not exist yet (check mode on an empty account) is reported as a change.
version_added: "1.0.0"
options:
  bucket:
    description: Name of the bucket; its versioning must be enabled.
    type: str
    required: true
  mode:
    description: Default retention mode of new object versions. C(GOVERNANCE) can be bypassed by a caller with
      C(s3:BypassGovernanceRetention); C(COMPLIANCE) by no one.
    type: str
    choices: [GOVERNANCE, COMPLIANCE]
    default: GOVERNANCE
  days:
    description: Default retention of new object versions, in days.
    type: int
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Keep every log version for 365 days (governance mode)
  s3_object_lock:
    bucket: pacs-prod-logs-111122223333-eu-west-1
    mode: GOVERNANCE
    days: 365
"""

RETURN = r"""
object_lock_configuration:
  description: The bucket's Object Lock configuration as S3 returns it (after the change); empty when none.
  returned: always
  type: dict
  sample: {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}}}
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


def current_configuration(client, bucket):
    """The bucket's Object Lock configuration, {} when it has none, None when the bucket does not exist."""
    try:
        return client.get_object_lock_configuration(Bucket=bucket, aws_retry=True).get("ObjectLockConfiguration") or {}
    except is_boto3_error_code("ObjectLockConfigurationNotFoundError"):
        return {}
    except is_boto3_error_code("NoSuchBucket"):
        return None


def normalised(configuration):
    """The configuration without a zero Days or Years: AWS returns only the one that is set, moto both."""
    if not configuration:
        return configuration
    retention = (configuration.get("Rule") or {}).get("DefaultRetention") or {}
    result = {"ObjectLockEnabled": configuration.get("ObjectLockEnabled")}
    if retention:
        result["Rule"] = {"DefaultRetention": {k: v for k, v in retention.items() if v}}
    return result


def main():
    argument_spec = {
        "bucket": {"type": "str", "required": True},
        "mode": {"type": "str", "choices": ["GOVERNANCE", "COMPLIANCE"], "default": "GOVERNANCE"},
        "days": {"type": "int", "required": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["days"] < 1:
        module.fail_json(msg=f"days must be at least 1, not {params['days']}")
    wanted = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": params["mode"], "Days": params["days"]}},
    }
    client = pacs_aws.aws_client(module, "s3")
    try:
        current = normalised(current_configuration(client, params["bucket"]))
        if current is None and not module.check_mode:
            module.fail_json(msg=f"bucket {params['bucket']} does not exist")
        if current == wanted:
            module.exit_json(changed=False, object_lock_configuration=current)
        if module.check_mode:
            module.exit_json(changed=True, object_lock_configuration=wanted)
        client.put_object_lock_configuration(Bucket=params["bucket"], ObjectLockConfiguration=wanted, aws_retry=True)
        module.exit_json(
            changed=True, object_lock_configuration=normalised(current_configuration(client, params["bucket"]))
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"Object Lock configuration of bucket {params['bucket']}")


if __name__ == "__main__":
    main()
