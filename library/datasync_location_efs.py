#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: datasync_location_efs
short_description: Manage a DataSync location in an EFS file system
description:
  - Creates, tags and deletes a DataSync location for a folder of an EFS file system (the destination of
    the bulk import from S3, for example), reached through a subnet and security groups of the VPC and,
    optionally, an access point with an IAM role.
  - The module finds its location by the URI (C(efs://<region>.<fs-id>/<subdirectory>/)) and, when O(tags)
    has a C(Name), by that tag too; it fails when that is still ambiguous.
  - The network, access point, role and encryption settings are compared with the location's. When they
    differ the module fails and says so, unless O(replace=true), which deletes the location and creates it
    again (its ARN changes).
  - Tags are compared and updated in place; see O(purge_tags).
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  state:
    description: Whether the location should exist.
    type: str
    choices: [present, absent]
    default: present
  efs_filesystem_arn:
    description: ARN of the file system.
    type: str
    required: true
  subdirectory:
    description: Folder of the file system the location stands for (inside the access point, when given).
    type: str
    default: /
  subnet_arn:
    description: ARN of the subnet DataSync's network interfaces are placed in. Required to create.
    type: str
  security_group_arns:
    description: ARNs of the security groups of those interfaces (they must reach the mount targets on 2049).
    type: list
    elements: str
  access_point_arn:
    description: ARN of the access point DataSync mounts the file system through.
    type: str
  file_system_access_role_arn:
    description: IAM role DataSync assumes to mount the file system (with IAM authorization on the file system).
    type: str
  in_transit_encryption:
    description: Whether DataSync encrypts the NFS traffic with TLS 1.2 (required with an access point or role).
    type: str
    choices: [NONE, TLS1_2]
    default: TLS1_2
  replace:
    description: Delete and create the location again when a setting differs.
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
- name: The images/froms3 folder of the PACS file system, through its access point
  datasync_location_efs:
    efs_filesystem_arn: "{{ pacs_efs.efs.file_system_arn }}"
    subdirectory: /
    access_point_arn: "{{ froms3_ap.access_point_arn }}"
    file_system_access_role_arn: "{{ datasync_role.iam_role.arn }}"
    subnet_arn: "arn:aws:ec2:{{ aws_region }}:{{ account_id }}:subnet/{{ private_subnet_id }}"
    security_group_arns:
      - "arn:aws:ec2:{{ aws_region }}:{{ account_id }}:security-group/{{ datasync_sg_id }}"
    tags:
      Name: pacs-import-efs
  register: import_destination
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
  sample: efs://us-east-1.fs-0123456789abcdef0/images/froms3/
location:
  description: The location as DataSync describes it, in snake_case, with tags as a dict.
  returned: when state is present and the location exists
  type: dict
  contains:
    ec2_config:
      description: Subnet and security groups.
      type: dict
    access_point_arn:
      description: Access point.
      type: str
    in_transit_encryption:
      description: C(NONE) or C(TLS1_2).
      type: str
    tags:
      description: Tags.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def location_uri(module):
    params = module.params
    file_system_id = params["efs_filesystem_arn"].rsplit("/", 1)[-1]
    subdirectory = params["subdirectory"].strip("/")
    region = params["efs_filesystem_arn"].split(":")[3] or module.region
    return f"efs://{region}.{file_system_id}/" + (f"{subdirectory}/" if subdirectory else "")


def differences(described, params):
    diffs = []
    ec2 = described.get("Ec2Config") or {}
    if params["subnet_arn"] and ec2.get("SubnetArn") != params["subnet_arn"]:
        diffs.append("subnet_arn")
    if params["security_group_arns"] is not None and sorted(ec2.get("SecurityGroupArns") or []) != sorted(
        params["security_group_arns"]
    ):
        diffs.append("security_group_arns")
    for option, field in (
        ("access_point_arn", "AccessPointArn"),
        ("file_system_access_role_arn", "FileSystemAccessRoleArn"),
    ):
        if (described.get(field) or None) != (params[option] or None):
            diffs.append(option)
    if (described.get("InTransitEncryption") or "NONE") != params["in_transit_encryption"]:
        diffs.append("in_transit_encryption")
    return diffs


def create(module, client, tags):
    params = module.params
    kwargs = {
        "EfsFilesystemArn": params["efs_filesystem_arn"],
        "Subdirectory": params["subdirectory"],
        "Ec2Config": {"SubnetArn": params["subnet_arn"], "SecurityGroupArns": params["security_group_arns"]},
        "InTransitEncryption": params["in_transit_encryption"],
        "Tags": pacs_aws.tags_to_list(tags),
    }
    if params["access_point_arn"]:
        kwargs["AccessPointArn"] = params["access_point_arn"]
    if params["file_system_access_role_arn"]:
        kwargs["FileSystemAccessRoleArn"] = params["file_system_access_role_arn"]
    arn = client.create_location_efs(aws_retry=True, **kwargs)["LocationArn"]
    return client.describe_location_efs(LocationArn=arn, aws_retry=True)


def main():
    argument_spec = {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "efs_filesystem_arn": {"type": "str", "required": True},
        "subdirectory": {"type": "str", "default": "/"},
        "subnet_arn": {"type": "str"},
        "security_group_arns": {"type": "list", "elements": "str"},
        "access_point_arn": {"type": "str"},
        "file_system_access_role_arn": {"type": "str"},
        "in_transit_encryption": {"type": "str", "choices": ["NONE", "TLS1_2"], "default": "TLS1_2"},
        "replace": {"type": "bool", "default": False},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    arn = params["efs_filesystem_arn"]
    if not (arn.startswith("arn:") and ":file-system/fs-" in arn):
        module.fail_json(msg=f"efs_filesystem_arn must be a file system ARN (...:file-system/fs-...), not {arn!r}")
    needs_tls = params["access_point_arn"] or params["file_system_access_role_arn"]
    if needs_tls and params["in_transit_encryption"] != "TLS1_2":
        module.fail_json(msg="an access point or a file system access role needs in_transit_encryption=TLS1_2")
    pacs_aws.datasync_location_run(
        module,
        location_uri(module),
        kind="efs",
        differences=differences,
        create=create,
        required_to_create=["subnet_arn", "security_group_arns"],
    )


if __name__ == "__main__":
    main()
