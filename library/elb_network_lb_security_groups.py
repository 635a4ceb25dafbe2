#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elb_network_lb_security_groups
short_description: Make a Network Load Balancer with security groups, and keep them
description:
  - AWS lets a Network Load Balancer have security groups only if it was created with at least one, and
    C(community.aws.elb_network_lb) (10.0.0) has no option for them. This module runs before it: when no load
    balancer O(name) exists it creates the Network Load Balancer with O(security_groups) (and O(subnets),
    O(scheme), O(tags)); C(community.aws.elb_network_lb) then finds it and manages its listeners, attributes
    and tags as usual.
  - On an existing Network Load Balancer it sets the security groups and the evaluation of inbound rules for
    PrivateLink traffic (SetSecurityGroups) when they differ. A second run changes nothing.
  - One made without security groups cannot get any; the module fails and says so, changing nothing
    (the load balancer must be replaced).
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  name:
    description: Name of the load balancer.
    type: str
    required: true
  security_groups:
    description: Ids of the security groups (C(sg-...)), at least one.
    type: list
    elements: str
    required: true
  enforce_inbound_rules_on_privatelink_traffic:
    description:
      - Whether the security groups' inbound rules apply to traffic that reaches the load balancer through
        PrivateLink (an endpoint service's consumers). With V(false) only the endpoint service's allowed
        principals and connection acceptance decide who reaches the listeners through PrivateLink.
    type: bool
    default: true
  subnets:
    description: Subnet ids, used only when the load balancer is created.
    type: list
    elements: str
    required: true
  scheme:
    description: Scheme, used only when the load balancer is created.
    type: str
    choices: [internal, internet-facing]
    default: internal
  tags:
    description: Tags, used only when the load balancer is created (C(community.aws.elb_network_lb) keeps them).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: The DIMSE NLB has its own security group; PrivateLink traffic is governed by the endpoint service
  elb_network_lb_security_groups:
    name: pacs-dimse
    security_groups: ["{{ nlb_security_group_id }}"]
    enforce_inbound_rules_on_privatelink_traffic: false
    subnets: "{{ private_subnet_ids }}"
    scheme: internal
    tags: {Project: pacs}
"""

RETURN = r"""
load_balancer_arn:
  description: ARN of the load balancer.
  returned: always (in check mode, when it would be created, an empty string)
  type: str
security_groups:
  description: Ids of its security groups after the run, sorted.
  returned: always
  type: list
  elements: str
enforce_inbound_rules_on_privatelink_traffic:
  description: Whether inbound rules apply to PrivateLink traffic after the run.
  returned: always
  type: bool
created:
  description: Whether the run created the load balancer.
  returned: always
  type: bool
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

ON, OFF = "on", "off"


def find(client, name):
    try:
        balancers = client.describe_load_balancers(Names=[name], aws_retry=True)["LoadBalancers"]
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] == "LoadBalancerNotFound":
            return None
        raise
    return balancers[0] if balancers else None


def create(module, client, groups, enforce):
    params = module.params
    if module.check_mode:
        return "", True
    request = {
        "Name": params["name"],
        "Subnets": params["subnets"],
        "SecurityGroups": groups,
        "Scheme": params["scheme"],
        "Type": "network",
    }
    if params["tags"]:
        request["Tags"] = pacs_aws.tags_to_list(params["tags"])
    balancer = client.create_load_balancer(aws_retry=True, **request)["LoadBalancers"][0]
    if enforce == OFF:  # a new one evaluates them (on); only SetSecurityGroups turns it off
        client.set_security_groups(
            LoadBalancerArn=balancer["LoadBalancerArn"],
            SecurityGroups=groups,
            EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic=OFF,
            aws_retry=True,
        )
    return balancer["LoadBalancerArn"], True


def run(module, client):
    params = module.params
    groups = sorted(set(params["security_groups"]))
    if not groups:
        raise ValueError("security_groups must name at least one security group")
    enforce = ON if params["enforce_inbound_rules_on_privatelink_traffic"] else OFF
    result = {"security_groups": groups, "enforce_inbound_rules_on_privatelink_traffic": enforce == ON}

    balancer = find(client, params["name"])
    if balancer is None:
        arn, changed = create(module, client, groups, enforce)
        module.exit_json(changed=changed, created=True, load_balancer_arn=arn, **result)
    if balancer.get("Type") != "network":
        raise ValueError(f"load balancer {params['name']} is of type {balancer.get('Type')}, not network")
    current = sorted(balancer.get("SecurityGroups") or [])
    if not current:
        raise ValueError(
            f"Network Load Balancer {params['name']} was created without security groups, and AWS cannot add "
            "any to it afterwards: it must be replaced (deleted and made again) to get them"
        )
    current_enforce = balancer.get("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic") or ON
    arn = balancer["LoadBalancerArn"]
    if current == groups and current_enforce == enforce:
        module.exit_json(changed=False, created=False, load_balancer_arn=arn, **result)
    if not module.check_mode:
        client.set_security_groups(
            LoadBalancerArn=arn,
            SecurityGroups=groups,
            EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic=enforce,
            aws_retry=True,
        )
    module.exit_json(changed=True, created=False, load_balancer_arn=arn, **result)


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "security_groups": {"type": "list", "elements": "str", "required": True},
        "enforce_inbound_rules_on_privatelink_traffic": {"type": "bool", "default": True},
        "subnets": {"type": "list", "elements": "str", "required": True},
        "scheme": {"type": "str", "choices": ["internal", "internet-facing"], "default": "internal"},
        "tags": {"type": "dict", "default": {}},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "elbv2")
    try:
        run(module, client)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"security groups of Network Load Balancer {module.params['name']}")


if __name__ == "__main__":
    main()
