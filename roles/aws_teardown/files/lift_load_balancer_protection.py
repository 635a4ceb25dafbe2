"""Turn off the deletion protection of the named load balancers that have it on.

No module of amazon.aws or community.aws changes a load balancer's attributes without also taking its
whole configuration (subnets, security groups, listeners), which a teardown does not have; this script
calls ModifyLoadBalancerAttributes for that one attribute. It prints a JSON object: "lifted", the names
whose protection it turned off; "absent", the names that do not exist. Check mode: --check reads only.

Environment: TEARDOWN_REGION (required), TEARDOWN_ENDPOINT_URL (optional, for moto), and the usual AWS
credentials. Arguments: the load balancers' names.
"""

from __future__ import annotations

import json
import os
import sys

import boto3

ATTRIBUTE = "deletion_protection.enabled"


def lift(elbv2, names, check):
    lifted, absent = [], []
    for name in names:
        try:
            (balancer,) = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
        except elbv2.exceptions.LoadBalancerNotFoundException:
            absent.append(name)
            continue
        arn = balancer["LoadBalancerArn"]
        attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        if {a["Key"]: a["Value"] for a in attributes}.get(ATTRIBUTE, "false") != "true":
            continue
        if not check:
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=arn, Attributes=[{"Key": ATTRIBUTE, "Value": "false"}]
            )
        lifted.append(name)
    return {"lifted": lifted, "absent": absent}


def main(argv):
    check = "--check" in argv
    names = [arg for arg in argv if arg != "--check"]
    elbv2 = boto3.client(
        "elbv2",
        region_name=os.environ["TEARDOWN_REGION"],
        endpoint_url=os.environ.get("TEARDOWN_ENDPOINT_URL") or None,
    )
    print(json.dumps(lift(elbv2, names, check)))


if __name__ == "__main__":
    main(sys.argv[1:])
