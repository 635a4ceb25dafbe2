#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_endpoint_connection
short_description: Accept or reject interface endpoints' connections to a VPC endpoint service
description:
  - The provider's side of a PrivateLink connection. When a VPC endpoint service requires acceptance, a
    consumer's interface endpoint stays C(pendingAcceptance) until the provider accepts it; this module
    accepts (or rejects) the connections of the endpoints it is given, and no others.
  - A connection already in the wanted state is left alone, so a second run changes nothing.
  - An endpoint that has no connection to the service is an error, named in the message.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  service_id:
    description: Id of the endpoint service (C(vpce-svc-...)).
    type: str
    required: true
  vpc_endpoint_ids:
    description: Ids of the consumers' interface endpoints (C(vpce-...)) whose connections to accept or reject.
    type: list
    elements: str
    required: true
  state:
    description: C(accepted) accepts pending connections; C(rejected) rejects pending or accepted ones.
    type: str
    choices: [accepted, rejected]
    default: accepted
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Accept our own consumer's endpoint, and nobody else's
  ec2_vpc_endpoint_connection:
    service_id: "{{ dimse_service.service_id }}"
    vpc_endpoint_ids: ["{{ consumer_endpoint.result.vpc_endpoint_id }}"]
"""

RETURN = r"""
changed_endpoint_ids:
  description: The endpoints whose connection the run accepted or rejected (or would, in check mode).
  returned: always
  type: list
  elements: str
connections:
  description: State of each given endpoint's connection after the run, by endpoint id.
  returned: always
  type: dict
  sample: {"vpce-0123456789abcdef0": "available"}
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

# The endpoint states each wanted state changes, and what they become.
PENDING = {"pendingAcceptance", "pending"}
TO_CHANGE = {"accepted": PENDING, "rejected": PENDING | {"available"}}
AFTER = {"accepted": "available", "rejected": "rejected"}


def connection_states(client, service_id):
    """The state of every endpoint connection of the service, by endpoint id."""
    connections = pacs_aws.paginate(
        client,
        "describe_vpc_endpoint_connections",
        "VpcEndpointConnections",
        Filters=[{"Name": "service-id", "Values": [service_id]}],
    )
    return {c["VpcEndpointId"]: c.get("VpcEndpointState") for c in connections}


def run(module, client):
    params = module.params
    states = connection_states(client, params["service_id"])
    unknown = [e for e in params["vpc_endpoint_ids"] if e not in states]
    if unknown:
        raise ValueError(f"no connection to {params['service_id']} from endpoint(s) {', '.join(unknown)}")
    wanted = params["state"]
    to_change = [e for e in params["vpc_endpoint_ids"] if states[e] in TO_CHANGE[wanted]]
    if to_change and not module.check_mode:
        call = (
            client.accept_vpc_endpoint_connections if wanted == "accepted" else client.reject_vpc_endpoint_connections
        )
        answer = call(ServiceId=params["service_id"], VpcEndpointIds=to_change, aws_retry=True)
        failures = answer.get("Unsuccessful") or []
        if failures:
            errors = [f"{f.get('ResourceId')}: {(f.get('Error') or {}).get('Message', f)}" for f in failures]
            module.fail_json(msg=f"could not set {wanted} on endpoint connections: {'; '.join(errors)}")
        states = connection_states(client, params["service_id"])
    elif to_change:
        states = {**states, **dict.fromkeys(to_change, AFTER[wanted])}
    module.exit_json(
        changed=bool(to_change),
        changed_endpoint_ids=to_change,
        connections={e: states.get(e) for e in params["vpc_endpoint_ids"]},
    )


def main():
    argument_spec = {
        "service_id": {"type": "str", "required": True},
        "vpc_endpoint_ids": {"type": "list", "elements": "str", "required": True},
        "state": {"type": "str", "choices": ["accepted", "rejected"], "default": "accepted"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "ec2")
    try:
        run(module, client)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"endpoint connections of {module.params['service_id']}")


if __name__ == "__main__":
    main()
