#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_prefix_list_info
short_description: Look up the ids of AWS-managed prefix lists by name
description:
  - Gives the id (C(pl-...)) of each AWS-managed prefix list named, such as C(com.amazonaws.eu-west-1.s3),
    the address ranges of a service's gateway endpoint. A security group rule names that id to let traffic
    to the service out, and nothing else.
  - Fails, naming them, when a name has no prefix list in the region.
  - Reads only; supports check mode.
version_added: "1.0.0"
options:
  names:
    description: Names of the prefix lists.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: The S3 prefix list of the region
  ec2_prefix_list_info:
    names: ["com.amazonaws.eu-west-1.s3"]
  register: prefix_lists
"""

RETURN = r"""
prefix_list_ids:
  description: The id of each named prefix list, by name.
  returned: always
  type: dict
  sample: {"com.amazonaws.eu-west-1.s3": "pl-6da54004"}
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def prefix_list_ids(client, names):
    found = pacs_aws.paginate(
        client, "describe_prefix_lists", "PrefixLists", Filters=[{"Name": "prefix-list-name", "Values": names}]
    )
    ids = {p["PrefixListName"]: p["PrefixListId"] for p in found if p.get("PrefixListName") in names}
    missing = [name for name in names if name not in ids]
    if missing:
        raise ValueError(f"no prefix list named {', '.join(missing)} in this region")
    return ids


def main():
    argument_spec = {"names": {"type": "list", "elements": "str", "required": True}}
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "ec2")
    try:
        module.exit_json(changed=False, prefix_list_ids=prefix_list_ids(client, module.params["names"]))
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg="prefix lists")


if __name__ == "__main__":
    main()
