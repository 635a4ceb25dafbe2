#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_flow_log
short_description: Manage a flow log of a VPC, subnet or network interface
description:
  - Creates or deletes one flow log, identified by the resource it watches and where it delivers to (a
    CloudWatch Logs group or an S3 bucket). A second run with the same options changes nothing.
  - A flow log cannot be changed once created. When its traffic type, format or aggregation interval
    differ from the options, it is deleted and created again (its id changes), and RV(replaced) is true.
  - Tags are compared and updated in place; see O(purge_tags).
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  state:
    description: Whether the flow log should exist.
    type: str
    choices: [present, absent]
    default: present
  resource_id:
    description: Id of the VPC (or subnet, or network interface, see O(resource_type)) to log.
    type: str
    required: true
  resource_type:
    description: Kind of resource O(resource_id) names.
    type: str
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
  traffic_type:
    description: Which traffic to log.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  log_destination_type:
    description: Where the records go.
    type: str
    choices: [cloud-watch-logs, s3]
    default: cloud-watch-logs
  log_group_name:
    description:
      - CloudWatch Logs group the records go to (with O(log_destination_type=cloud-watch-logs)).
        Either this or O(log_destination) (the group's ARN) is required for that destination type.
    type: str
  deliver_logs_permission_arn:
    description: ARN of the IAM role the service assumes to write to CloudWatch Logs; required for that type.
    type: str
  log_destination:
    description:
      - ARN of the destination. For C(s3) the bucket's ARN (C(arn:aws:s3:::bucket)), optionally with a key
        prefix (C(arn:aws:s3:::bucket/prefix/)); for C(cloud-watch-logs) the log group's ARN.
      - moto (the lab's AWS) rejects an S3 destination with a key prefix; use the bare bucket ARN there.
    type: str
  log_format:
    description: Custom record format (C(${version} ${srcaddr} ...)); omitted means AWS's default format.
    type: str
  max_aggregation_interval:
    description: Seconds over which packets are aggregated into one record.
    type: int
    choices: [60, 600]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Every packet of the provider VPC into CloudWatch Logs
  ec2_vpc_flow_log:
    resource_id: "{{ provider_vpc.vpc.id }}"
    log_group_name: /pacs/flow-logs
    deliver_logs_permission_arn: "{{ flow_log_role.iam_role.arn }}"
    tags:
      Name: pacs-provider-flow-log

- name: Rejected packets into the log bucket
  ec2_vpc_flow_log:
    resource_id: "{{ provider_vpc.vpc.id }}"
    traffic_type: REJECT
    log_destination_type: s3
    log_destination: "arn:aws:s3:::pacs-logs"
"""

RETURN = r"""
flow_log_id:
  description: Id of the flow log; null when it is absent.
  returned: always
  type: str
  sample: fl-0123456789abcdef0
replaced:
  description: Whether an existing flow log was deleted and created again because it differed.
  returned: always
  type: bool
flow_log:
  description: The flow log as EC2 describes it, in snake_case, with tags as a dict.
  returned: when state is present
  type: dict
  contains:
    flow_log_id:
      description: Id.
      type: str
    resource_id:
      description: The watched resource.
      type: str
    traffic_type:
      description: Logged traffic.
      type: str
    log_destination_type:
      description: Destination type.
      type: str
    log_group_name:
      description: Log group, for CloudWatch Logs.
      type: str
    log_destination:
      description: Destination ARN.
      type: str
    tags:
      description: Tags.
      type: dict
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws


def _log_group_of(arn):
    """The log group name of a CloudWatch Logs group ARN (arn:aws:logs:region:acct:log-group:NAME[:*])."""
    if arn and ":log-group:" in arn:
        name = arn.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name
    return None


def same_destination(flow_log, params):
    if (flow_log.get("LogDestinationType") or "cloud-watch-logs") != params["log_destination_type"]:
        return False
    if params["log_destination_type"] == "s3":
        return (flow_log.get("LogDestination") or "").rstrip("/") == params["log_destination"].rstrip("/")
    wanted_group = params["log_group_name"] or _log_group_of(params["log_destination"])
    have_group = flow_log.get("LogGroupName") or _log_group_of(flow_log.get("LogDestination"))
    return wanted_group == have_group


def find_flow_log(client, params):
    found = [
        flow_log
        for flow_log in pacs_aws.paginate(
            client,
            "describe_flow_logs",
            "FlowLogs",
            Filters=[{"Name": "resource-id", "Values": [params["resource_id"]]}],
        )
        if same_destination(flow_log, params)
    ]
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} flow logs of {params['resource_id']} deliver to the same destination: "
            + ", ".join(f["FlowLogId"] for f in found)
        )
    return found[0] if found else None


def differences(flow_log, params):
    diffs = []
    if flow_log.get("TrafficType") != params["traffic_type"]:
        diffs.append("traffic_type")
    if params["log_format"] and flow_log.get("LogFormat") != params["log_format"]:
        diffs.append("log_format")
    interval = params["max_aggregation_interval"]
    if interval and flow_log.get("MaxAggregationInterval", 600) != interval:
        diffs.append("max_aggregation_interval")
    wanted_role = params["deliver_logs_permission_arn"]
    if wanted_role and flow_log.get("DeliverLogsPermissionArn") not in (None, wanted_role):
        diffs.append("deliver_logs_permission_arn")
    return diffs


def create(module, client):
    params = module.params
    kwargs = {
        "ResourceIds": [params["resource_id"]],
        "ResourceType": params["resource_type"],
        "TrafficType": params["traffic_type"],
        "LogDestinationType": params["log_destination_type"],
        "ClientToken": pacs_aws.client_token(),
    }
    optional = {
        "LogGroupName": params["log_group_name"],
        "LogDestination": params["log_destination"],
        "DeliverLogsPermissionArn": params["deliver_logs_permission_arn"],
        "LogFormat": params["log_format"],
        "MaxAggregationInterval": params["max_aggregation_interval"],
    }
    kwargs.update({key: value for key, value in optional.items() if value})
    if params["tags"]:
        kwargs["TagSpecifications"] = [{"ResourceType": "vpc-flow-log", "Tags": pacs_aws.tags_to_list(params["tags"])}]
    result = client.create_flow_logs(aws_retry=True, **kwargs)
    failures = result.get("Unsuccessful") or []
    if failures or not result.get("FlowLogIds"):
        errors = [(f.get("Error") or {}).get("Message", str(f)) for f in failures]
        module.fail_json(msg=f"could not create the flow log of {params['resource_id']}: {'; '.join(errors)}")
    return result["FlowLogIds"][0]


def describe(client, flow_log_id):
    logs = client.describe_flow_logs(FlowLogIds=[flow_log_id], aws_retry=True).get("FlowLogs") or []
    return logs[0] if logs else None


def result_of(flow_log, replaced=False, tags=None):
    if flow_log is None:
        return {"flow_log_id": None, "replaced": replaced}
    shown = dict(flow_log)
    shown["Tags"] = tags if tags is not None else pacs_aws.tags_to_dict(flow_log.get("Tags"))
    return {
        "flow_log_id": flow_log["FlowLogId"],
        "replaced": replaced,
        "flow_log": camel_dict_to_snake_dict(shown, ignore_list=["Tags"]),
    }


def delete(module, client, flow_log_id):
    result = client.delete_flow_logs(FlowLogIds=[flow_log_id], aws_retry=True)
    failures = result.get("Unsuccessful") or []
    if failures:
        errors = [(f.get("Error") or {}).get("Message", str(f)) for f in failures]
        module.fail_json(msg=f"could not delete flow log {flow_log_id}: {'; '.join(errors)}")


def ensure_present(module, client):
    params = module.params
    current = find_flow_log(client, params)
    replaced = False
    if current is not None and differences(current, params):
        replaced = True
        if module.check_mode:
            module.exit_json(changed=True, differences=differences(current, params), **result_of(None, True))
        delete(module, client, current["FlowLogId"])
        current = None
    if current is None:
        if module.check_mode:
            module.exit_json(changed=True, **result_of(None))
        flow_log_id = create(module, client)
        created = describe(client, flow_log_id) or {"FlowLogId": flow_log_id}
        module.exit_json(changed=True, **result_of(created, replaced))

    have_tags = pacs_aws.tags_to_dict(current.get("Tags"))
    to_set, to_unset = pacs_aws.tag_changes(have_tags, params["tags"], params["purge_tags"])
    changed = bool(to_set or to_unset)
    if changed and not module.check_mode:
        if to_unset:
            client.delete_tags(Resources=[current["FlowLogId"]], Tags=[{"Key": k} for k in to_unset], aws_retry=True)
        if to_set:
            client.create_tags(Resources=[current["FlowLogId"]], Tags=pacs_aws.tags_to_list(to_set), aws_retry=True)
    module.exit_json(changed=changed, **result_of(current, tags=pacs_aws.merged_tags(have_tags, to_set, to_unset)))


def ensure_absent(module, client):
    current = find_flow_log(client, module.params)
    if current is None:
        module.exit_json(changed=False, **result_of(None))
    if not module.check_mode:
        delete(module, client, current["FlowLogId"])
    module.exit_json(changed=True, **result_of(None))


def validate(module):
    params = module.params
    if params["log_destination_type"] == "s3":
        if not params["log_destination"] or not params["log_destination"].startswith("arn:"):
            module.fail_json(
                msg="log_destination_type=s3 needs log_destination, the bucket's ARN (arn:aws:s3:::bucket)"
            )
        if params["log_group_name"]:
            module.fail_json(msg="log_group_name is only for log_destination_type=cloud-watch-logs")
    else:
        if not (params["log_group_name"] or params["log_destination"]):
            module.fail_json(
                msg="log_destination_type=cloud-watch-logs needs log_group_name (or log_destination, the group's ARN)"
            )
        if params["state"] == "present" and not params["deliver_logs_permission_arn"]:
            module.fail_json(
                msg="log_destination_type=cloud-watch-logs needs deliver_logs_permission_arn (the writing role)"
            )


def main():
    argument_spec = {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "resource_id": {"type": "str", "required": True},
        "resource_type": {"type": "str", "choices": ["VPC", "Subnet", "NetworkInterface"], "default": "VPC"},
        "traffic_type": {"type": "str", "choices": ["ACCEPT", "REJECT", "ALL"], "default": "ALL"},
        "log_destination_type": {"type": "str", "choices": ["cloud-watch-logs", "s3"], "default": "cloud-watch-logs"},
        "log_group_name": {"type": "str"},
        "deliver_logs_permission_arn": {"type": "str"},
        "log_destination": {"type": "str"},
        "log_format": {"type": "str"},
        "max_aggregation_interval": {"type": "int", "choices": [60, 600]},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    validate(module)
    client = pacs_aws.aws_client(module, "ec2")
    pacs_aws.run_state(module, client, ensure_present, ensure_absent, f"flow log of {module.params['resource_id']}")


if __name__ == "__main__":
    main()
