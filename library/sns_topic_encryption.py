#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sns_topic_encryption
short_description: Encrypt an existing SNS topic at rest with a KMS key
description:
  - Sets the C(KmsMasterKeyId) attribute of one SNS topic, which M(community.aws.sns_topic) (10.0.0) does not
    manage; the topic itself, its policy and its subscriptions stay with that module.
  - A second run with the same key finds the attribute equal and changes nothing.
  - Supports check mode. In check mode a topic that does not exist yet (the run that would create it) is
    reported as a change, without any mutating call.
version_added: "1.0.0"
options:
  topic_arn:
    description: ARN of the topic.
    type: str
    required: true
  kms_master_key_id:
    description:
      - The key, as SNS takes it (an ARN, a key id or an alias). The empty string removes the encryption.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Encrypt the alarms topic with the deployment's key
  sns_topic_encryption:
    topic_arn: "{{ topic.sns_arn }}"
    kms_master_key_id: "{{ kms_key_arn }}"
"""

RETURN = r"""
topic_arn:
  description: ARN of the topic.
  returned: always
  type: str
kms_master_key_id:
  description: The topic's key after the run (in check mode, the key it would have); empty when unencrypted.
  returned: always
  type: str
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


def current_key(client, topic_arn):
    """The topic's KmsMasterKeyId ('' when unencrypted), or None when the topic does not exist."""
    try:
        attributes = client.get_topic_attributes(TopicArn=topic_arn, aws_retry=True)["Attributes"]
    except is_boto3_error_code("NotFound"):
        return None
    return attributes.get("KmsMasterKeyId", "")


def main():
    argument_spec = {
        "topic_arn": {"type": "str", "required": True},
        "kms_master_key_id": {"type": "str", "required": True, "no_log": False},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    topic_arn, wanted = module.params["topic_arn"], module.params["kms_master_key_id"]
    client = pacs_aws.aws_client(module, "sns")
    try:
        have = current_key(client, topic_arn)
        if have is None and not module.check_mode:
            module.fail_json(msg=f"SNS topic {topic_arn} does not exist", topic_arn=topic_arn, kms_master_key_id="")
        if have == wanted:
            module.exit_json(changed=False, topic_arn=topic_arn, kms_master_key_id=have)
        if not module.check_mode:
            client.set_topic_attributes(
                TopicArn=topic_arn, AttributeName="KmsMasterKeyId", AttributeValue=wanted, aws_retry=True
            )
            wanted = current_key(client, topic_arn)
        module.exit_json(changed=True, topic_arn=topic_arn, kms_master_key_id=wanted)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"KMS encryption of SNS topic {topic_arn}")


if __name__ == "__main__":
    main()
