#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_endpoint_service
short_description: Manage a VPC endpoint service (the provider side of PrivateLink)
description:
  - Creates, updates and deletes a VPC endpoint service configuration in front of one or more Network Load
    Balancers, so that consumers in other VPCs or accounts reach them through interface endpoints.
  - The service is identified by its C(Name) tag (C(tags.Name)), or by O(service_id) when given; a second
    run with the same options changes nothing.
  - Compared and updated in place are the load balancers, whether a connection needs acceptance, the
    principals allowed to connect (O(allowed_principals)) and the tags.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  state:
    description: Whether the endpoint service should exist.
    type: str
    choices: [present, absent]
    default: present
  service_id:
    description:
      - Id of the service (C(vpce-svc-...)) to manage. Without it the service is looked up by C(tags.Name).
    type: str
  network_load_balancer_arns:
    description: ARNs of the Network Load Balancers the service exposes. Required to create the service.
    type: list
    elements: str
  acceptance_required:
    description: Whether each consumer's endpoint connection must be accepted by the provider.
    type: bool
    default: true
  allowed_principals:
    description:
      - ARNs of the principals (accounts, roles, users, or C(*)) allowed to create endpoints to the service.
      - The list is authoritative when given, principals not in it are removed; when omitted the
        permissions are left as they are.
    type: list
    elements: str
  private_dns_name:
    description: Private DNS name consumers' endpoints resolve to the service; omitted leaves it unset.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - O(tags) must contain a C(Name) key unless O(service_id) is given; the name is how the module finds
    the service again.
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: PrivateLink service in front of the DICOM NLB, for the on-prem account only
  ec2_vpc_endpoint_service:
    network_load_balancer_arns: ["{{ dicom_nlb.load_balancer_arn }}"]
    acceptance_required: false
    allowed_principals: ["arn:aws:iam::123456789012:root"]
    tags:
      Name: pacs-dicom
      Project: pacs
  register: dicom_service

- name: Remove it
  ec2_vpc_endpoint_service:
    tags: {Name: pacs-dicom}
    state: absent
"""

RETURN = r"""
service_id:
  description: Id of the endpoint service; null when it is absent.
  returned: always
  type: str
  sample: vpce-svc-0123456789abcdef0
service_name:
  description: Name consumers create their endpoints with; null when it is absent.
  returned: always
  type: str
  sample: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
service:
  description: The service configuration as EC2 describes it, in snake_case, with tags as a dict.
  returned: when state is present
  type: dict
  contains:
    acceptance_required:
      description: Whether connections need acceptance.
      type: bool
    network_load_balancer_arns:
      description: The load balancers.
      type: list
    service_state:
      description: State of the service, for example C(Available).
      type: str
    allowed_principals:
      description: Principals allowed to connect.
      type: list
    tags:
      description: Tags.
      type: dict
"""

import contextlib

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

GONE_STATES = ("Deleting", "Deleted", "Failed")


def find_service(client, service_id, name):
    """The service configuration with this id, or the one whose Name tag is `name`; None when none."""
    if service_id:
        try:
            configs = client.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id], aws_retry=True)
        except is_boto3_error_code(["InvalidVpcEndpointServiceId.NotFound", "InvalidVpcEndpointService.NotFound"]):
            return None
        found = configs.get("ServiceConfigurations") or []
    else:
        # All services, filtered here: the tag filter is not honoured by every implementation of the API.
        found = [
            config
            for config in pacs_aws.paginate(
                client, "describe_vpc_endpoint_service_configurations", "ServiceConfigurations"
            )
            if pacs_aws.tags_to_dict(config.get("Tags")).get("Name") == name
        ]
    found = [config for config in found if config.get("ServiceState") not in GONE_STATES]
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} VPC endpoint services are named {name!r}: " + ", ".join(c["ServiceId"] for c in found)
        )
    return found[0] if found else None


def current_principals(client, service_id):
    return sorted(
        entry["Principal"]
        for entry in pacs_aws.paginate(
            client, "describe_vpc_endpoint_service_permissions", "AllowedPrincipals", ServiceId=service_id
        )
    )


def result_of(config, principals=None, tags=None):
    if config is None:
        return {"service_id": None, "service_name": None}
    shown = dict(config)
    shown["Tags"] = tags if tags is not None else pacs_aws.tags_to_dict(config.get("Tags"))
    if principals is not None:
        shown["AllowedPrincipals"] = principals
    return {
        "service_id": config["ServiceId"],
        "service_name": config.get("ServiceName"),
        "service": camel_dict_to_snake_dict(shown, ignore_list=["Tags"]),
    }


def create(module, client, tags):
    params = module.params
    kwargs = {
        "NetworkLoadBalancerArns": params["network_load_balancer_arns"],
        "AcceptanceRequired": params["acceptance_required"],
        "ClientToken": pacs_aws.client_token(),
        "TagSpecifications": [{"ResourceType": "vpc-endpoint-service", "Tags": pacs_aws.tags_to_list(tags)}],
    }
    if params["private_dns_name"]:
        kwargs["PrivateDnsName"] = params["private_dns_name"]
    return client.create_vpc_endpoint_service_configuration(aws_retry=True, **kwargs)["ServiceConfiguration"]


def ensure_present(module, client, name):
    params = module.params
    config = find_service(client, params["service_id"], name)
    changed = False
    if config is None:
        if params["service_id"]:
            module.fail_json(msg=f"VPC endpoint service {params['service_id']} does not exist")
        if not params["network_load_balancer_arns"]:
            module.fail_json(msg="network_load_balancer_arns is required to create a VPC endpoint service")
        if module.check_mode:
            module.exit_json(changed=True, **result_of(None))
        config = create(module, client, params["tags"] or {})
        changed = True
        have_tags = pacs_aws.tags_to_dict(config.get("Tags")) or dict(params["tags"] or {})
    else:
        have_tags = pacs_aws.tags_to_dict(config.get("Tags"))
        service_id = config["ServiceId"]
        modify = {}
        if config.get("AcceptanceRequired") != params["acceptance_required"]:
            modify["AcceptanceRequired"] = params["acceptance_required"]
        if params["network_load_balancer_arns"] is not None:
            have = set(config.get("NetworkLoadBalancerArns") or [])
            want = set(params["network_load_balancer_arns"])
            if want - have:
                modify["AddNetworkLoadBalancerArns"] = sorted(want - have)
            if have - want:
                modify["RemoveNetworkLoadBalancerArns"] = sorted(have - want)
        if params["private_dns_name"] and config.get("PrivateDnsName") != params["private_dns_name"]:
            modify["PrivateDnsName"] = params["private_dns_name"]
        if modify:
            changed = True
            if not module.check_mode:
                client.modify_vpc_endpoint_service_configuration(ServiceId=service_id, aws_retry=True, **modify)

        to_set, to_unset = pacs_aws.tag_changes(have_tags, params["tags"], params["purge_tags"])
        if to_set or to_unset:
            changed = True
            if not module.check_mode:
                if to_unset:
                    client.delete_tags(Resources=[service_id], Tags=[{"Key": key} for key in to_unset], aws_retry=True)
                if to_set:
                    client.create_tags(Resources=[service_id], Tags=pacs_aws.tags_to_list(to_set), aws_retry=True)
            have_tags = pacs_aws.merged_tags(have_tags, to_set, to_unset)

    principals = current_principals(client, config["ServiceId"])
    if params["allowed_principals"] is not None:
        want = set(params["allowed_principals"])
        add, remove = sorted(want - set(principals)), sorted(set(principals) - want)
        if add or remove:
            changed = True
            if not module.check_mode:
                kwargs = {}
                if add:
                    kwargs["AddAllowedPrincipals"] = add
                if remove:
                    kwargs["RemoveAllowedPrincipals"] = remove
                client.modify_vpc_endpoint_service_permissions(ServiceId=config["ServiceId"], aws_retry=True, **kwargs)
            principals = sorted(want)

    if changed and not module.check_mode:
        config = find_service(client, config["ServiceId"], name) or config
        have_tags = pacs_aws.tags_to_dict(config.get("Tags")) or have_tags
    module.exit_json(changed=changed, **result_of(config, principals, have_tags))


def ensure_absent(module, client, name):
    config = find_service(client, module.params["service_id"], name)
    if config is None:
        module.exit_json(changed=False, **result_of(None))
    if not module.check_mode:
        result = client.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]], aws_retry=True)
        failures = result.get("Unsuccessful") or []
        if failures:
            module.fail_json(
                msg=f"could not delete VPC endpoint service {config['ServiceId']}",
                unsuccessful=camel_dict_to_snake_dict({"Unsuccessful": failures})["unsuccessful"],
            )
    module.exit_json(changed=True, **result_of(None))


def main():
    argument_spec = {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "service_id": {"type": "str"},
        "network_load_balancer_arns": {"type": "list", "elements": "str"},
        "acceptance_required": {"type": "bool", "default": True},
        "allowed_principals": {"type": "list", "elements": "str"},
        "private_dns_name": {"type": "str"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    name = (params["tags"] or {}).get("Name")
    if not params["service_id"] and not name:
        module.fail_json(msg="tags.Name (or service_id) is required: the module finds the service by its Name tag")
    client = pacs_aws.aws_client(module, "ec2")
    try:
        if params["state"] == "present":
            ensure_present(module, client, name)
        else:
            ensure_absent(module, client, name)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"VPC endpoint service {params['service_id'] or name}")


if __name__ == "__main__":
    main()
