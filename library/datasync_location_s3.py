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

import contextlib

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

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


def result_of(described, tags):
    if described is None:
        return {"location_arn": None, "location_uri": None}
    shown = {k: v for k, v in described.items() if k != "ResponseMetadata"}
    shown["Tags"] = tags
    return {
        "location_arn": described["LocationArn"],
        "location_uri": described.get("LocationUri"),
        "location": camel_dict_to_snake_dict(shown, ignore_list=["Tags"]),
    }


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


def ensure_present(module, client, name):
    params = module.params
    entry, tags = pacs_aws.datasync_find_locations(client, location_uri(params), name)
    if entry is not None:
        described = client.describe_location_s3(LocationArn=entry["LocationArn"], aws_retry=True)
        diffs = differences(described, params)
        if diffs and not params["replace"]:
            module.fail_json(
                msg=(
                    f"DataSync location {entry['LocationArn']} differs in {', '.join(diffs)}; "
                    "set replace=true to delete and create it again"
                ),
                differences=diffs,
            )
        if not diffs:
            changed, tags = pacs_aws.datasync_update_tags(module, client, entry["LocationArn"], tags)
            module.exit_json(changed=changed, **result_of(described, tags))
        if module.check_mode:
            module.exit_json(changed=True, differences=diffs, **result_of(None, None))
        client.delete_location(LocationArn=entry["LocationArn"], aws_retry=True)

    if not params["bucket_access_role_arn"]:
        module.fail_json(msg="bucket_access_role_arn is required to create a DataSync S3 location")
    if module.check_mode:
        module.exit_json(changed=True, **result_of(None, None))
    tags = dict(params["tags"] or {})
    module.exit_json(changed=True, **result_of(create(module, client, tags), tags))


def ensure_absent(module, client, name):
    entry, _tags = pacs_aws.datasync_find_locations(client, location_uri(module.params), name)
    if entry is None:
        module.exit_json(changed=False, **result_of(None, None))
    if not module.check_mode:
        client.delete_location(LocationArn=entry["LocationArn"], aws_retry=True)
    module.exit_json(changed=True, **result_of(None, None))


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
    name = (module.params["tags"] or {}).get("Name")
    client = pacs_aws.aws_client(module, "datasync")
    try:
        if module.params["state"] == "present":
            ensure_present(module, client, name)
        else:
            ensure_absent(module, client, name)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"DataSync location {location_uri(module.params)}")


if __name__ == "__main__":
    main()
