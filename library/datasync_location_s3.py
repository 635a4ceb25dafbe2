#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: datasync_location_s3
short_description: Manage a DataSync location in an S3 bucket
description:
  - Creates, tags and deletes a DataSync location for a folder of an S3 bucket (the source of the bulk
    import into EFS, for example).
  - AWS allows any number of locations with the same URI. The module finds its own by the URI
    (C(s3://<bucket>/<subdirectory>/)) and, when O(tags) has a C(Name), by that tag too; it fails when
    that is still ambiguous.
  - The role and storage class are compared with the location's. When they differ the module fails and
    says so, unless O(replace=true), which deletes the location and creates it again (its ARN changes).
  - Tags are compared and updated in place; see O(purge_tags).
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  state:
    description: Whether the location should exist.
    type: str
    choices: [present, absent]
    default: present
  s3_bucket_arn:
    description: ARN of the bucket (C(arn:aws:s3:::bucket)).
    type: str
    required: true
  subdirectory:
    description: Folder (key prefix) in the bucket the location stands for.
    type: str
    default: /
  bucket_access_role_arn:
    description: IAM role DataSync assumes to read and write the bucket. Required to create the location.
    type: str
  s3_storage_class:
    description: Storage class of the objects DataSync writes.
    type: str
    choices:
      - STANDARD
      - STANDARD_IA
      - ONEZONE_IA
      - INTELLIGENT_TIERING
      - GLACIER
      - GLACIER_INSTANT_RETRIEVAL
      - DEEP_ARCHIVE
      - OUTPOSTS
    default: STANDARD
  replace:
    description: Delete and create the location again when its role or storage class differ.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: The bulk import folder of the images bucket
  datasync_location_s3:
    s3_bucket_arn: "arn:aws:s3:::{{ images_bucket }}"
    subdirectory: /import
    bucket_access_role_arn: "{{ datasync_role.iam_role.arn }}"
    tags:
      Name: pacs-import-s3
  register: import_source
"""

RETURN = r"""
location_arn:
  description: ARN of the location; null when it is absent.
  returned: always
  type: str
  sample: arn:aws:datasync:us-east-1:123456789012:location/loc-0123456789abcdef0
location_uri:
  description: URI of the location; null when it is absent.
  returned: always
  type: str
  sample: s3://pacs-images/import/
location:
  description: The location as DataSync describes it, in snake_case, with tags as a dict.
  returned: when state is present and the location exists
  type: dict
  contains:
    s3_config:
      description: The bucket access role.
      type: dict
    tags:
      description: Tags.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def location_uri(params):
    bucket = params["s3_bucket_arn"].split(":::", 1)[-1].split("/", 1)[0]
    subdirectory = params["subdirectory"].strip("/")
    return f"s3://{bucket}/" + (f"{subdirectory}/" if subdirectory else "")


def differences(described, params):
    diffs = []
    role = (described.get("S3Config") or {}).get("BucketAccessRoleArn")
    if params["bucket_access_role_arn"] and role != params["bucket_access_role_arn"]:
        diffs.append("bucket_access_role_arn")
    storage_class = described.get("S3StorageClass")
    if storage_class and storage_class != params["s3_storage_class"]:
        diffs.append("s3_storage_class")
    return diffs


def create(module, client, tags):
    params = module.params
    arn = client.create_location_s3(
        S3BucketArn=params["s3_bucket_arn"],
        Subdirectory=params["subdirectory"],
        S3StorageClass=params["s3_storage_class"],
        S3Config={"BucketAccessRoleArn": params["bucket_access_role_arn"]},
        Tags=pacs_aws.tags_to_list(tags),
        aws_retry=True,
    )["LocationArn"]
    return client.describe_location_s3(LocationArn=arn, aws_retry=True)


def main():
    argument_spec = {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "s3_bucket_arn": {"type": "str", "required": True},
        "subdirectory": {"type": "str", "default": "/"},
        "bucket_access_role_arn": {"type": "str"},
        "s3_storage_class": {
            "type": "str",
            "default": "STANDARD",
            "choices": [
                "STANDARD",
                "STANDARD_IA",
                "ONEZONE_IA",
                "INTELLIGENT_TIERING",
                "GLACIER",
                "GLACIER_INSTANT_RETRIEVAL",
                "DEEP_ARCHIVE",
                "OUTPOSTS",
            ],
        },
        "replace": {"type": "bool", "default": False},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if not module.params["s3_bucket_arn"].startswith("arn:") or ":::" not in module.params["s3_bucket_arn"]:
        module.fail_json(
            msg=f"s3_bucket_arn must be a bucket ARN (arn:aws:s3:::bucket), not {module.params['s3_bucket_arn']!r}"
        )
    pacs_aws.datasync_location_run(
        module,
        location_uri(module.params),
        kind="s3",
        differences=differences,
        create=create,
        required_to_create=["bucket_access_role_arn"],
    )


if __name__ == "__main__":
    main()
