"""The extensions themselves: methods added to moto 5.2.5's response classes, state kept in its backends.

moto finds the handler of a request by turning the API action's name into a method name of the service's
response class (`DescribeTags` -> `describe_tags`); for REST services the action comes from matching the
method and path against botocore's own model, for JSON services from the `X-Amz-Target` header. So a
method added to the class is reached both by moto's server and by `mock_aws` in-process, with no URL
routing of our own. Nothing here edits moto's files.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from urllib.parse import unquote

from moto.backup import urls as backup_urls
from moto.backup.exceptions import AlreadyExistsException, BackupClientError, ResourceNotFoundException
from moto.backup.exceptions import InvalidRequestException as BackupInvalidRequestException
from moto.backup.models import BackupBackend, Plan
from moto.backup.responses import BackupResponse
from moto.cognitoidp.exceptions import InvalidParameterException
from moto.cognitoidp.models import CognitoIdpBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.datasync.exceptions import InvalidRequestException
from moto.datasync.responses import DataSyncResponse
from moto.ec2.models import EC2Backend
from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupBackend, SecurityGroupRule
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
from moto.ec2.responses.security_groups import SecurityGroups
from moto.ec2.responses.vpc_peering_connections import VPCPeeringConnections
from moto.ec2.responses.vpc_service_configuration import VPCEndpointServiceConfiguration
from moto.ec2.utils import generic_filter
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.efs import urls as efs_urls
from moto.efs.exceptions import FileSystemNotFound
from moto.efs.models import efs_backends
from moto.efs.responses import EFSResponse
from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend, FakeLoadBalancer
from moto.elbv2.responses import ELBV2Response
from moto.events.models import EventPattern
from moto.events.responses import EventsHandler
from moto.kms.exceptions import ValidationException as KmsValidationException
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse
from moto.moto_api._internal import mock_random

_MARK = "_pacs_lab_emulator_applied"
JSON = {"Content-Type": "application/json"}
# AWS Backup paths moto 5.2.5 has no URL rule for (the plans' rule, `/backup/plans/.+`, spans the selections);
# written as botocore sends them (the server turns `/?` into a rule without the slash).
BACKUP_PATHS = (
    "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>.+)$",
    "{0}/backup-jobs$",
    "{0}/backup-jobs/(?P<job>[^/]+)$",
    "{0}/restore-jobs$",
    "{0}/restore-jobs/(?P<job>[^/]+)$",
)
EFS_LEGACY_TAG_PATHS = (
    "/2015-02-01/tags/<file_system_id>/",
    "/2015-02-01/create-tags/<file_system_id>",
    "/2015-02-01/delete-tags/<file_system_id>",
)


# --- EFS: the legacy tag API (DescribeTags, CreateTags, DeleteTags) ------------------------------------------


def _efs_file_system(response):
    file_system_id = response._get_param("FileSystemId")
    if file_system_id not in response.efs_backend.file_systems_by_id:
        raise FileSystemNotFound(file_system_id)
    return file_system_id


def efs_describe_tags(self):
    """GET /2015-02-01/tags/{FileSystemId}/ : the file system's tags, from the backend's tag store."""
    file_system_id = _efs_file_system(self)
    tags = self.efs_backend.list_tags_for_resource(file_system_id)
    return json.dumps({"Tags": tags}), JSON


def efs_create_tags(self):
    """POST /2015-02-01/create-tags/{FileSystemId} : add or overwrite tags (204, no body)."""
    file_system_id = _efs_file_system(self)
    tags = {tag["Key"]: tag.get("Value", "") for tag in self._get_param("Tags") or []}
    self.efs_backend.tag_resource(file_system_id, tags)
    return "", {"status": 204}


def efs_delete_tags(self):
    """POST /2015-02-01/delete-tags/{FileSystemId} : remove tags by key (204, no body)."""
    file_system_id = _efs_file_system(self)
    self.efs_backend.untag_resource(file_system_id, self._get_param("TagKeys") or [])
    return "", {"status": 204}


def efs_delete_file_system_policy(self):
    """DELETE /2015-02-01/file-systems/{FileSystemId}/policy : the file system is back to EFS's default policy."""
    file_system_id = _efs_file_system(self)
    self.efs_backend.file_systems_by_id[file_system_id].file_system_policy = None
    return "{}", JSON


# --- DataSync: tags, EFS locations, execution listing ------------------------------------------------------


def _datasync_tags(backend):
    """Tags by ARN, kept on moto's DataSync backend (reset with it)."""
    if not hasattr(backend, "pacs_tags"):
        backend.pacs_tags = {}
    return backend.pacs_tags


def _known_arn(backend, arn):
    return arn in backend.locations or arn in backend.tasks or arn in backend.task_executions


def _record_tags(response, arn):
    tags = response._get_param("Tags") or []
    _datasync_tags(response.datasync_backend)[arn] = {tag["Key"]: tag.get("Value", "") for tag in tags}


def _wrap_create(original):
    """Keep the Tags of a create call that moto ignores; the result's ARN names the new resource."""

    def create(self):
        body = original(self)
        result = json.loads(body)
        _record_tags(self, result.get("LocationArn") or result.get("TaskArn"))
        return body

    create.__name__ = original.__name__
    create.__doc__ = f"moto's {original.__name__}, plus its Tags kept for ListTagsForResource."
    return create


def _wrap_delete(original, key):
    def delete(self):
        arn = self._get_param(key)
        body = original(self)
        _datasync_tags(self.datasync_backend).pop(arn, None)
        return body

    delete.__name__ = original.__name__
    delete.__doc__ = f"moto's {original.__name__}, plus its tags dropped."
    return delete


def datasync_create_location_efs(self):
    """CreateLocationEfs: an `efs://<region>.<fs-id>/<subdirectory>/` location in moto's location table."""
    filesystem_arn = self._get_param("EfsFilesystemArn")
    ec2_config = self._get_param("Ec2Config") or {}
    if not filesystem_arn or not ec2_config.get("SubnetArn") or not ec2_config.get("SecurityGroupArns"):
        raise InvalidRequestException("EfsFilesystemArn and Ec2Config (SubnetArn, SecurityGroupArns) are required.")
    file_system_id = filesystem_arn.rsplit("/", 1)[-1]
    subdirectory = (self._get_param("Subdirectory") or "/").strip("/")
    uri = f"efs://{self.region}.{file_system_id}/" + (f"{subdirectory}/" if subdirectory else "")
    metadata = {
        "EfsFilesystemArn": filesystem_arn,
        "Ec2Config": ec2_config,
        "AccessPointArn": self._get_param("AccessPointArn"),
        "FileSystemAccessRoleArn": self._get_param("FileSystemAccessRoleArn"),
        "InTransitEncryption": self._get_param("InTransitEncryption") or "NONE",
        "CreationTime": datetime.datetime.now(datetime.UTC).timestamp(),
    }
    arn = self.datasync_backend.create_location(uri, metadata=metadata, typ="EFS")
    _record_tags(self, arn)
    return json.dumps({"LocationArn": arn})


def datasync_describe_location_efs(self):
    """DescribeLocationEfs for a location made by CreateLocationEfs."""
    location = self.datasync_backend._get_location(self._get_param("LocationArn"), typ="EFS")
    described = {"LocationArn": location.arn, "LocationUri": location.uri}
    for key in ("Ec2Config", "AccessPointArn", "FileSystemAccessRoleArn", "InTransitEncryption", "CreationTime"):
        if location.metadata.get(key) is not None:
            described[key] = location.metadata[key]
    return json.dumps(described)


def datasync_list_task_executions(self):
    """ListTaskExecutions, optionally of one task (no paging: the lab has few executions)."""
    task_arn = self._get_param("TaskArn")
    executions = [
        {"TaskExecutionArn": execution.arn, "Status": execution.status}
        for execution in self.datasync_backend.task_executions.values()
        if not task_arn or execution.task_arn == task_arn
    ]
    return json.dumps({"TaskExecutions": executions})


def datasync_list_tags_for_resource(self):
    """ListTagsForResource for locations, tasks and executions."""
    arn = self._get_param("ResourceArn")
    if not _known_arn(self.datasync_backend, arn):
        raise InvalidRequestException(f"Resource {arn} is not found.")
    tags = _datasync_tags(self.datasync_backend).get(arn, {})
    return json.dumps({"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]})


def datasync_tag_resource(self):
    """TagResource: add or overwrite tags."""
    arn = self._get_param("ResourceArn")
    if not _known_arn(self.datasync_backend, arn):
        raise InvalidRequestException(f"Resource {arn} is not found.")
    tags = _datasync_tags(self.datasync_backend).setdefault(arn, {})
    tags.update({tag["Key"]: tag.get("Value", "") for tag in self._get_param("Tags") or []})
    return json.dumps({})


def datasync_untag_resource(self):
    """UntagResource: remove tags by key."""
    arn = self._get_param("ResourceArn")
    if not _known_arn(self.datasync_backend, arn):
        raise InvalidRequestException(f"Resource {arn} is not found.")
    tags = _datasync_tags(self.datasync_backend).setdefault(arn, {})
    for key in self._get_param("Keys") or []:
        tags.pop(key, None)
    return json.dumps({})


def _describe_task_execution_with_counters(original):
    def describe_task_execution(self):
        body = json.loads(original(self))
        # AWS always reports these counters; moto never moves data, so they stay zero.
        for key in ("BytesTransferred", "BytesWritten", "FilesTransferred", "EstimatedFilesToTransfer"):
            body.setdefault(key, 0)
        return json.dumps(body)

    describe_task_execution.__doc__ = "moto's DescribeTaskExecution, plus the (zero) transfer counters AWS reports."
    return describe_task_execution


# --- ELBv2: the load balancer attributes AWS always returns ---------------------------------------------------

# What DescribeLoadBalancerAttributes answers on AWS for a new load balancer of each type (the defaults of
# the ELBv2 API reference, "Load balancer attributes"). moto 5.2.5 starts an ALB with only four of them and
# leaves out `access_logs.s3.enabled` and `idle_timeout.timeout_seconds` on purpose ("for TF
# compatibility"); amazon.aws.elb_application_lb reads every attribute it is given an option for and fails
# with a KeyError when one is missing.
ELBV2_DEFAULT_ATTRIBUTES = {
    "application": {
        "access_logs.s3.enabled": "false",
        "idle_timeout.timeout_seconds": "60",
        "routing.http2.enabled": "true",
        "routing.http.desync_mitigation_mode": "defensive",
        "routing.http.drop_invalid_header_fields.enabled": "false",
        "routing.http.preserve_host_header.enabled": "false",
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
        "routing.http.xff_client_port.enabled": "false",
        "routing.http.xff_header_processing.mode": "append",
        "waf.fail_open.enabled": "false",
        "client_keep_alive.seconds": "3600",
    },
    "network": {
        "access_logs.s3.enabled": "false",
        "dns_record.client_routing_policy": "any_availability_zone",
    },
}


def _load_balancer_init_with_aws_defaults(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        for key, value in ELBV2_DEFAULT_ATTRIBUTES.get(self.type, {}).items():
            self.attrs.setdefault(key, value)

    __init__.__doc__ = "moto's FakeLoadBalancer, with every attribute AWS reports for its type (moto's values kept)."
    return __init__


# --- EC2: the filters of DescribeVpcPeeringConnections ------------------------------------------------------


# moto 5.2.5 ignores the Filters of DescribeVpcPeeringConnections and answers every peering of the region.
# amazon.aws.ec2_vpc_peering looks its peering up by requester and accepter VPC, so its second request (on-prem
# to provider) found the first peering (on-prem to consumer) and renamed it; a teardown looking its peerings up
# by tag would find another deployment's too. These are the filters AWS documents for the call (tags go to
# moto's usual tag filters).
def _peering_filter_value(original):
    def get_filter_value(self, filter_name, method_name=None):
        values = {
            "vpc-peering-connection-id": self.id,
            "status-code": self._status.code,
            "status-message": self._status.message,
            "requester-vpc-info.vpc-id": self.vpc.id,
            "requester-vpc-info.cidr-block": self.vpc.cidr_block,
            "requester-vpc-info.owner-id": self.vpc.owner_id,
            "accepter-vpc-info.vpc-id": self.peer_vpc.id,
            "accepter-vpc-info.cidr-block": self.peer_vpc.cidr_block,
            "accepter-vpc-info.owner-id": self.peer_vpc.owner_id,
        }
        if filter_name in values:
            return values[filter_name]
        return original(self, filter_name, method_name)

    get_filter_value.__doc__ = "The filter values AWS documents for DescribeVpcPeeringConnections, then moto's own."
    return get_filter_value


def _describe_peerings_with_filters(original):
    def describe_vpc_peering_connections(self):
        filters = self._filters_from_querystring()
        if not filters:
            return original(self)
        ids = self._get_param("VpcPeeringConnectionIds", [])
        found = self.ec2_backend.describe_vpc_peering_connections(vpc_peering_ids=ids)
        return ActionResult({"VpcPeeringConnections": generic_filter(filters, found)})

    describe_vpc_peering_connections.__doc__ = "moto's DescribeVpcPeeringConnections, with its Filters applied."
    return describe_vpc_peering_connections


# --- ECS: the health check grace period of a new service -----------------------------------------------------


# moto 5.2.5's CreateService drops healthCheckGracePeriodSeconds (UpdateService keeps every parameter as an
# attribute of the service, so an updated service reports it). community.aws.ecs_service compares the period
# with the service's, so against moto every service behind a load balancer was updated once more by the run
# after the one that made it.
def _create_service_keeping_grace_period(original):
    def create_service(self):
        result = original(self)
        grace = self._get_int_param("healthCheckGracePeriodSeconds")
        if grace is not None:
            cluster = self._get_param("cluster", "default").split("/")[-1]
            self.ecs_backend.services[
                f"{cluster}:{self._get_param('serviceName')}"
            ].health_check_grace_period_seconds = grace
        return result

    create_service.__doc__ = "moto's CreateService, keeping the service's healthCheckGracePeriodSeconds."
    return create_service


# --- EC2: endpoint connections that wait for the provider's acceptance -----------------------------------


# moto 5.2.5 keeps a service's AcceptanceRequired but makes every interface endpoint `available` at once,
# and lacks DescribeVpcEndpointConnections and AcceptVpcEndpointConnections (NotImplementedError). On AWS
# an endpoint to a service that requires acceptance is `pendingAcceptance` until the provider accepts it;
# roles/aws_edge accepts its own consumer's endpoint and no other.
def _requires_acceptance(config):
    return str(config.acceptance_required).lower() == "true"


def _create_vpc_endpoint_pending_acceptance(original):
    def create_vpc_endpoint(self, vpc_id, service_name, *args, **kwargs):
        endpoint = original(self, vpc_id, service_name, *args, **kwargs)
        for config in self.configurations.values():
            if config.service_name == service_name and _requires_acceptance(config):
                endpoint.state = "pendingAcceptance"
        return endpoint

    create_vpc_endpoint.__doc__ = "moto's CreateVpcEndpoint; pendingAcceptance when the service requires acceptance."
    return create_vpc_endpoint


def _endpoint_connections(backend):
    for config in backend.configurations.values():
        for endpoint in backend.vpc_end_points.values():
            if endpoint.service_name == config.service_name:
                yield config, endpoint


def ec2_describe_vpc_endpoint_connections(self):
    """DescribeVpcEndpointConnections: the endpoints to this region's services, filtered as AWS documents."""
    filters = self._filters_from_querystring() or {}
    connections = []
    for config, endpoint in _endpoint_connections(self.ec2_backend):
        values = {
            "service-id": config.id,
            "vpc-endpoint-id": endpoint.id,
            "vpc-endpoint-owner": self.current_account,
            "vpc-endpoint-state": endpoint.state,
        }
        if all(values.get(name) in wanted for name, wanted in filters.items()):
            connections.append(
                {
                    "ServiceId": config.id,
                    "VpcEndpointId": endpoint.id,
                    "VpcEndpointOwner": self.current_account,
                    "VpcEndpointState": endpoint.state,
                    "CreationTimestamp": endpoint.creation_timestamp,
                    "NetworkLoadBalancerArns": config.network_load_balancer_arns,
                    "VpcEndpointConnectionId": endpoint.id,
                }
            )
    return ActionResult({"VpcEndpointConnections": connections})


def _set_connections(response, new_state, from_states):
    service_id = response._get_param("ServiceId")
    wanted = response._get_param("VpcEndpointIds", [])
    services = {config.id: config for config in response.ec2_backend.configurations.values()}
    unsuccessful = []
    for endpoint_id in wanted:
        endpoint = response.ec2_backend.vpc_end_points.get(endpoint_id)
        config = services.get(service_id)
        if config is None or endpoint is None or endpoint.service_name != config.service_name:
            error = {"Code": "InvalidVpcEndpointId.NotFound", "Message": f"no endpoint {endpoint_id} of {service_id}"}
            unsuccessful.append({"ResourceId": endpoint_id, "Error": error})
        elif endpoint.state in from_states:
            endpoint.state = new_state
    return ActionResult({"Unsuccessful": unsuccessful})


def ec2_accept_vpc_endpoint_connections(self):
    """AcceptVpcEndpointConnections: the service's pending endpoints become available."""
    return _set_connections(self, "available", {"pendingAcceptance"})


def ec2_reject_vpc_endpoint_connections(self):
    """RejectVpcEndpointConnections: the service's pending or available endpoints become rejected."""
    return _set_connections(self, "rejected", {"pendingAcceptance", "available"})


# --- EC2: the description of a security group rule to a prefix list -------------------------------------------


# moto 5.2.5 drops the Description of a rule's PrefixListIds entry (it keeps those of CIDR ranges and groups),
# and its UpdateSecurityGroupRuleDescriptions{Ingress,Egress} answer without the `Return` AWS sends.
# amazon.aws.ec2_security_group therefore saw the task's rule to the S3 prefix list without its description on
# every run after the first, and its update call failed with KeyError 'Return' (roles/aws_network).
def _rule_init_keeping_prefix_list_description(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        prefix_list = (
            kwargs.get("prefix_list_id") if "prefix_list_id" in kwargs else (args[7] if len(args) > 7 else None)
        )
        self.prefix_list_description = (prefix_list or {}).get("Description")

    __init__.__doc__ = "moto's SecurityGroupRule, keeping the Description of its prefix list entry."
    return __init__


def _flattened_rules_with_prefix_list_descriptions(original):
    def _flattened_rules(self, rules):
        views = original(self, list(rules))
        for view in views:
            for entry in view.prefix_list_ids:
                for rule in rules:
                    same_rule = (rule.from_port, rule.to_port, rule.ip_protocol, rule.prefix_list_id) == (
                        view.from_port,
                        view.to_port,
                        view.ip_protocol,
                        entry["PrefixListId"],
                    )
                    if same_rule and getattr(rule, "prefix_list_description", None):
                        entry["Description"] = rule.prefix_list_description
        return views

    _flattened_rules.__doc__ = "moto's grouped rules, with the Description of each prefix list entry."
    return _flattened_rules


def _update_description_of_prefix_lists(original):
    def _sg_update_description(self, security_rule, rule):
        original(self, security_rule, rule)
        if security_rule.prefix_list_id and security_rule.prefix_list_id == rule.prefix_list_id:
            rule.prefix_list_description = getattr(security_rule, "prefix_list_description", None)

    _sg_update_description.__doc__ = "moto's rule description update, for prefix list entries too."
    return _sg_update_description


def _answer_return_true(original):
    def update_descriptions(self):
        original(self)
        return ActionResult({"Return": True})

    update_descriptions.__doc__ = f"{original.__name__}, answering Return true as AWS does."
    return update_descriptions


# --- ELBv2: a Network Load Balancer's security groups as AWS keeps them -------------------------------------


# AWS lets a Network Load Balancer have security groups only if it was made with some: SetSecurityGroups on
# one made without answers ValidationError, and one made with some cannot drop them all. It also keeps
# EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic (default `on`), set by SetSecurityGroups and read back
# by DescribeLoadBalancers. moto 5.2.5 lets any balancer take or drop groups and ignores the setting, so the
# rehearsal could neither show that aws_edge makes its NLB with a group nor read the setting back.
class ElbValidationError(ELBClientError):
    code = "ValidationError"


def _network_lb_init_with_privatelink_setting(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.type == "network" and self.security_groups:
            self.enforce_security_group_inbound_rules_on_private_link_traffic = "on"

    __init__.__doc__ = "moto's FakeLoadBalancer; an NLB made with security groups reports the PrivateLink setting."
    return __init__


def elbv2_set_security_groups(self):
    arn = self._get_param("LoadBalancerArn")
    groups = self._get_param("SecurityGroups", [])
    enforce = self._get_param("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic")
    balancer = self.elbv2_backend.load_balancers.get(arn)
    if balancer is not None and balancer.type == "network":
        if not balancer.security_groups:
            raise ElbValidationError(
                "You cannot set security groups on a Network Load Balancer which was created without any"
            )
        if not groups:
            raise ElbValidationError("You cannot remove every security group of a Network Load Balancer")
    self.elbv2_backend.set_security_groups(arn, groups)
    result = {"SecurityGroupIds": groups}
    if balancer is not None and balancer.type == "network":
        if enforce is not None:
            balancer.enforce_security_group_inbound_rules_on_private_link_traffic = enforce
        result["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] = (
            balancer.enforce_security_group_inbound_rules_on_private_link_traffic
        )
    return ActionResult(result)


# --- Deletion protection: refused deletes of a protected load balancer or user pool -------------------------


# moto 5.2.5 stores a load balancer's `deletion_protection.enabled` and a user pool's DeletionProtection but
# deletes either anyway. AWS refuses: DeleteLoadBalancer with OperationNotPermitted, DeleteUserPool with
# InvalidParameterException. Without the refusal the rehearsal could not show that the teardown lifts the
# protection before it deletes (roles/aws_teardown/tasks/protection.yml).
class OperationNotPermitted(ELBClientError):
    code = "OperationNotPermitted"


def _delete_load_balancer_unless_protected(original):
    def delete_load_balancer(self, arn):
        balancer = self.load_balancers.get(arn)
        if balancer is not None and str(balancer.attrs.get("deletion_protection.enabled", "false")).lower() == "true":
            raise OperationNotPermitted(
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            )
        return original(self, arn)

    delete_load_balancer.__doc__ = "moto's DeleteLoadBalancer, refused while deletion protection is enabled."
    return delete_load_balancer


def _delete_user_pool_unless_protected(original):
    def delete_user_pool(self, user_pool_id):
        pool = self.describe_user_pool(user_pool_id)
        if pool.extended_config.get("DeletionProtection") == "ACTIVE":
            raise InvalidParameterException("The user pool cannot be deleted because deletion protection is activated.")
        return original(self, user_pool_id)

    delete_user_pool.__doc__ = "moto's DeleteUserPool, refused while the pool's DeletionProtection is ACTIVE."
    return delete_user_pool


# --- AWS Backup: selections, plan updates, vault access policies, recovery points -----------------------------


# moto 5.2.5 has backup plans and vaults but no selections, no UpdateBackupPlan, no vault access policy and no
# recovery points (its vaults always count 0). roles/aws_backup assigns the EFS file system to its plan with a
# selection (amazon.aws.backup_selection) and protects the vault's recovery points with an access policy; the
# teardown must delete the recovery points, which the policy forbids until it is removed. The state is kept on
# moto's Backup backend (attributes `pacs_selections`, `pacs_vault_policies`, `pacs_recovery_points`), so
# `POST /moto-api/reset` clears it.
class BackupAccessDenied(BackupClientError):
    code = 403

    def __init__(self, msg):
        super().__init__("AccessDeniedException", msg)


def _backup_state(backend, name):
    if not hasattr(backend, name):
        setattr(backend, name, {})
    return getattr(backend, name)


def _backup_body(response):
    return json.loads(response.body) if response.body else {}


def _path_parts(response):
    return [unquote(part) for part in response.path.split("?")[0].strip("/").split("/")]


def _live_plan(response, plan_id):
    plan = response.backup_backend.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(msg=f"Backup plan {plan_id} not found")
    return plan


def _vault(response, name):
    if name not in response.backup_backend.vaults:
        raise BackupAccessDenied(_NO_VAULT)
    return response.backup_backend.vaults[name]


# What AWS answers for a vault that does not exist, whatever the caller's rights (DescribeBackupVault,
# ListRecoveryPointsByBackupVault, ...); amazon.aws.backup_vault expects it and fails on moto's
# ResourceNotFoundException.
_NO_VAULT = "Insufficient privileges to perform this action."


def _describe_backup_vault_as_aws(original):
    def describe_backup_vault(self, backup_vault_name):
        if backup_vault_name not in self.vaults:
            raise BackupAccessDenied(_NO_VAULT)
        return original(self, backup_vault_name)

    describe_backup_vault.__doc__ = "moto's DescribeBackupVault; AccessDeniedException for a missing vault (as AWS)."
    return describe_backup_vault


def _as_list(value):
    return [value] if isinstance(value, str) else list(value or [])


def _denied_by_vault_policy(backend, vault_name, action):
    """True when the vault's access policy has an unconditional Deny of `action` to everyone.

    Only what the project writes is judged (Principal `*` or `{"AWS": "*"}`, actions with `*` wildcards, no
    Condition); a statement moto cannot judge is left out, as if it allowed."""
    document = _backup_state(backend, "pacs_vault_policies").get(vault_name)
    if not document:
        return False
    for statement in json.loads(document).get("Statement", []):
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and _as_list(principal.get("AWS")) == ["*"])
        if statement.get("Effect") != "Deny" or not everyone or statement.get("Condition"):
            continue
        if any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(statement.get("Action"))):
            return True
    return False


def backup_create_backup_selection(self):
    """CreateBackupSelection: PUT /backup/plans/{id}/selections/ (a name is unique in its plan)."""
    plan_id = _path_parts(self)[2]
    _live_plan(self, plan_id)
    body = _backup_body(self)
    selection = body.get("BackupSelection") or {}
    if not selection.get("SelectionName") or not selection.get("IamRoleArn"):
        raise BackupInvalidRequestException(msg="BackupSelection needs SelectionName and IamRoleArn")
    selections = _backup_state(self.backup_backend, "pacs_selections").setdefault(plan_id, {})
    if any(s["BackupSelection"]["SelectionName"] == selection["SelectionName"] for s in selections.values()):
        raise AlreadyExistsException(msg=f"Backup selection {selection['SelectionName']} already exists")
    selection_id = str(mock_random.uuid4())
    selections[selection_id] = {
        "BackupSelection": selection,
        "SelectionId": selection_id,
        "BackupPlanId": plan_id,
        "CreationDate": datetime.datetime.now(datetime.UTC).timestamp(),
        "CreatorRequestId": body.get("CreatorRequestId"),
    }
    return json.dumps({k: selections[selection_id][k] for k in ("SelectionId", "BackupPlanId", "CreationDate")})


def _selection(response):
    parts = _path_parts(response)
    plan_id, selection_id = parts[2], parts[4]
    _live_plan(response, plan_id)
    selections = _backup_state(response.backup_backend, "pacs_selections").get(plan_id, {})
    if selection_id not in selections:
        raise ResourceNotFoundException(msg=f"Backup selection {selection_id} not found")
    return plan_id, selection_id, selections


def backup_get_backup_selection(self):
    """GetBackupSelection: the selection as it was created."""
    _plan_id, selection_id, selections = _selection(self)
    found = selections[selection_id]
    return json.dumps({k: v for k, v in found.items() if v is not None})


def backup_list_backup_selections(self):
    """ListBackupSelections of one plan (no paging: a plan has few selections)."""
    plan_id = _path_parts(self)[2]
    _live_plan(self, plan_id)
    listed = [
        {
            "SelectionId": s["SelectionId"],
            "SelectionName": s["BackupSelection"]["SelectionName"],
            "BackupPlanId": plan_id,
            "CreationDate": s["CreationDate"],
            "IamRoleArn": s["BackupSelection"]["IamRoleArn"],
        }
        for s in _backup_state(self.backup_backend, "pacs_selections").get(plan_id, {}).values()
    ]
    return json.dumps({"BackupSelectionsList": listed})


def backup_delete_backup_selection(self):
    """DeleteBackupSelection."""
    _plan_id, selection_id, selections = _selection(self)
    del selections[selection_id]
    return "{}"


def backup_update_backup_plan(self):
    """UpdateBackupPlan: the plan's rules and settings replaced, a new version id (defaults as on create)."""
    plan_id = _path_parts(self)[2]
    plan = _live_plan(self, plan_id)
    # moto's Plan fills in the rules' defaults and ids; a throwaway plan does it for the new document.
    fresh = Plan(backup_plan=_backup_body(self)["BackupPlan"], creator_request_id=None, backend=self.backup_backend)
    plan.backup_plan = fresh.backup_plan
    plan.advanced_backup_settings = fresh.advanced_backup_settings
    plan.version_id = fresh.version_id
    return json.dumps(plan.to_dict())


def _create_backup_plan_of_a_free_name(original):
    def create_backup_plan(self, backup_plan, backup_plan_tags, creator_request_id):
        # moto keeps a deleted plan (with its DeletionDate) and refused its name for ever; AWS frees it.
        live = [p for p in self.plans.values() if p.deletion_date is None]
        if backup_plan["BackupPlanName"] in [p.backup_plan["BackupPlanName"] for p in live]:
            raise AlreadyExistsException(msg="Backup plan with the same plan document already exists")
        deleted = {k: p for k, p in self.plans.items() if p.deletion_date is not None}
        for key in deleted:
            del self.plans[key]
        try:
            return original(self, backup_plan, backup_plan_tags, creator_request_id)
        finally:
            self.plans.update(deleted)

    create_backup_plan.__doc__ = "moto's CreateBackupPlan; the name of a deleted plan may be used again."
    return create_backup_plan


def _delete_backup_plan_without_selections(original):
    def delete_backup_plan(self, backup_plan_id):
        if _backup_state(self, "pacs_selections").get(backup_plan_id):
            raise BackupInvalidRequestException(
                msg="Related backup plan selections must be deleted prior to backup plan deletion"
            )
        return original(self, backup_plan_id)

    delete_backup_plan.__doc__ = "moto's DeleteBackupPlan, refused while the plan has selections (as AWS)."
    return delete_backup_plan


def backup_put_backup_vault_access_policy(self):
    """PutBackupVaultAccessPolicy: the document kept as sent."""
    name = _path_parts(self)[1]
    _vault(self, name)
    policy = _backup_body(self).get("Policy")
    try:
        json.loads(policy or "")
    except ValueError as err:
        raise BackupInvalidRequestException(msg=f"Policy is not a JSON document: {err}") from err
    _backup_state(self.backup_backend, "pacs_vault_policies")[name] = policy
    return "{}"


def backup_get_backup_vault_access_policy(self):
    """GetBackupVaultAccessPolicy: ResourceNotFoundException when the vault has none (as AWS)."""
    name = _path_parts(self)[1]
    vault = _vault(self, name)
    policy = _backup_state(self.backup_backend, "pacs_vault_policies").get(name)
    if policy is None:
        raise ResourceNotFoundException(msg=f"Backup vault {name} has no access policy")
    return json.dumps({"BackupVaultName": name, "BackupVaultArn": vault.backup_vault_arn, "Policy": policy})


def backup_delete_backup_vault_access_policy(self):
    """DeleteBackupVaultAccessPolicy (no error when there is none, as AWS)."""
    name = _path_parts(self)[1]
    _vault(self, name)
    _backup_state(self.backup_backend, "pacs_vault_policies").pop(name, None)
    return "{}"


def _recovery_points(backend, vault_name):
    return _backup_state(backend, "pacs_recovery_points").setdefault(vault_name, {})


def backup_start_backup_job(self):
    """StartBackupJob: the recovery point is made at once, COMPLETED (moto copies no data).

    Its RecoveryPointTags are kept (ListTags of the recovery point's ARN); a repeated IdempotencyToken answers
    the job it started before, as AWS does."""
    body = _backup_body(self)
    vault = _vault(self, body.get("BackupVaultName"))
    resource_arn = body.get("ResourceArn") or ""
    if not resource_arn or not body.get("IamRoleArn"):
        raise BackupInvalidRequestException(msg="ResourceArn and IamRoleArn are required")
    jobs = _backup_state(self.backup_backend, "pacs_backup_jobs")
    token = body.get("IdempotencyToken")
    for job in jobs.values():
        if token and job["IdempotencyToken"] == token:
            return json.dumps({k: job[k] for k in ("BackupJobId", "RecoveryPointArn", "CreationDate")})
    job_id = str(mock_random.uuid4())
    arn = f"arn:aws:backup:{self.region}:{self.current_account}:recovery-point:{mock_random.uuid4()}"
    now = datetime.datetime.now(datetime.UTC).timestamp()
    resource_type = {"elasticfilesystem": "EFS", "ec2": "EC2", "s3": "S3"}.get(resource_arn.split(":")[2], "")
    _recovery_points(self.backup_backend, vault.backup_vault_name)[arn] = {
        "RecoveryPointArn": arn,
        "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "ResourceArn": resource_arn,
        "ResourceType": resource_type,
        "IamRoleArn": body["IamRoleArn"],
        "Status": "COMPLETED",
        "CreationDate": now,
        "CompletionDate": now,
        "Lifecycle": body.get("Lifecycle") or {},
        "EncryptionKeyArn": vault.encryption_key_arn,
        "IsEncrypted": bool(vault.encryption_key_arn),
        "BackupSizeInBytes": 0,
    }
    if body.get("RecoveryPointTags"):
        self.backup_backend.tag_resource(arn, body["RecoveryPointTags"])
    vault.num_of_recovery_points = len(_recovery_points(self.backup_backend, vault.backup_vault_name))
    jobs[job_id] = {
        "AccountId": self.current_account,
        "BackupJobId": job_id,
        "IdempotencyToken": token,
        "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "RecoveryPointArn": arn,
        "ResourceArn": resource_arn,
        "ResourceType": resource_type,
        "IamRoleArn": body["IamRoleArn"],
        "CreationDate": now,
        "CompletionDate": now,
        "State": "COMPLETED",
        "PercentDone": "100.0",
        "BackupSizeInBytes": 0,
    }
    return json.dumps({"BackupJobId": job_id, "RecoveryPointArn": arn, "CreationDate": now})


def _describe_job(self, jobs, kind):
    """The job the path names, from the jobs a Start call kept, as Describe answers it."""
    job_id = _path_parts(self)[1]
    job = _backup_state(self.backup_backend, jobs).get(job_id)
    if job is None:
        raise ResourceNotFoundException(msg=f"{kind} job {job_id} not found")
    return json.dumps({k: v for k, v in job.items() if k != "IdempotencyToken"})


def backup_describe_backup_job(self):
    """DescribeBackupJob of a job StartBackupJob made (all COMPLETED)."""
    return _describe_job(self, "pacs_backup_jobs", "Backup")


def _recovery_point(response, name, arn):
    _vault(response, name)
    point = _recovery_points(response.backup_backend, name).get(arn)
    if point is None:
        raise ResourceNotFoundException(msg=f"Recovery point {arn} not found")
    return point


def backup_describe_recovery_point(self):
    """DescribeRecoveryPoint: the recovery point as listed."""
    parts = _path_parts(self)
    return json.dumps(_recovery_point(self, parts[1], "/".join(parts[3:])))


def _efs_backend(arn):
    """moto's EFS backend of the account and region an EFS ARN names."""
    region, account = arn.split(":")[3:5]
    return efs_backends[account][region]


def backup_get_recovery_point_restore_metadata(self):
    """GetRecoveryPointRestoreMetadata of an EFS recovery point: the keys AWS answers for EFS, from the backed
    up file system's settings as they are now (moto keeps no copy of them in the recovery point)."""
    parts = _path_parts(self)
    point = _recovery_point(self, parts[1], "/".join(parts[3:-1]))
    metadata = {}
    if point["ResourceType"] == "EFS":
        file_system_id = point["ResourceArn"].rsplit("/", 1)[-1]
        source = _efs_backend(point["ResourceArn"]).file_systems_by_id.get(file_system_id)
        metadata = {"file-system-id": file_system_id, "newFileSystem": "true"}
        if source is not None:
            metadata.update(
                {
                    "Encrypted": str(bool(source.encrypted)).lower(),
                    "KmsKeyId": source.kms_key_id or "",
                    "PerformanceMode": source.performance_mode,
                    "CreationToken": source.creation_token,
                }
            )
    return json.dumps(
        {
            "BackupVaultArn": point["BackupVaultArn"],
            "RecoveryPointArn": point["RecoveryPointArn"],
            "ResourceType": point["ResourceType"],
            "RestoreMetadata": metadata,
        }
    )


def _restore_efs(response, point, metadata):
    """(created file system ARN, None) or (None, why the job failed): a new, empty file system in moto's EFS."""
    if str(metadata.get("newFileSystem", "")).lower() != "true":
        return None, "this emulator restores an EFS recovery point into a new file system only (newFileSystem true)"
    backend = _efs_backend(point["ResourceArn"])
    token = metadata.get("CreationToken") or str(mock_random.uuid4())
    if token in backend.creation_tokens:
        return None, f"a file system with the creation token {token} already exists"
    encrypted = str(metadata.get("Encrypted", "false")).lower() == "true"
    created = backend.create_file_system(
        creation_token=token,
        performance_mode=metadata.get("PerformanceMode") or "generalPurpose",
        encrypted=encrypted,
        kms_key_id=metadata.get("KmsKeyId") if encrypted else None,
        throughput_mode="bursting",
        provisioned_throughput_in_mibps=None,
        availability_zone_name=None,
        backup=False,
        tags=[],
    )
    return created.file_system_arn, None


def backup_start_restore_job(self):
    """StartRestoreJob of an EFS recovery point into a new file system (Metadata newFileSystem true): the file
    system is made at once in moto's EFS (Encrypted, KmsKeyId, PerformanceMode, CreationToken from the
    metadata) and the job is COMPLETED with its CreatedResourceArn; a refused restore makes a FAILED job. The
    file system is empty: moto keeps no data, so nothing is copied. A repeated IdempotencyToken answers the
    job it started before."""
    body = _backup_body(self)
    arn, metadata = body.get("RecoveryPointArn") or "", body.get("Metadata") or {}
    if not arn or not body.get("IamRoleArn"):
        raise BackupInvalidRequestException(msg="RecoveryPointArn, Metadata and IamRoleArn are required")
    points = _backup_state(self.backup_backend, "pacs_recovery_points")
    found = [vault_points[arn] for vault_points in points.values() if arn in vault_points]
    if not found:
        raise ResourceNotFoundException(msg=f"Recovery point {arn} not found")
    point = found[0]
    jobs = _backup_state(self.backup_backend, "pacs_restore_jobs")
    token = body.get("IdempotencyToken")
    for job in jobs.values():
        if token and job["IdempotencyToken"] == token:
            return json.dumps({"RestoreJobId": job["RestoreJobId"]})
    if point["ResourceType"] != "EFS":
        raise BackupInvalidRequestException(msg="this emulator restores EFS recovery points only")
    created, why = _restore_efs(self, point, metadata)
    now = datetime.datetime.now(datetime.UTC).timestamp()
    job_id = str(mock_random.uuid4())
    jobs[job_id] = {
        "AccountId": self.current_account,
        "RestoreJobId": job_id,
        "IdempotencyToken": token,
        "RecoveryPointArn": arn,
        "SourceResourceArn": point["ResourceArn"],
        "BackupVaultArn": point["BackupVaultArn"],
        "CreationDate": now,
        "CompletionDate": now,
        "Status": "FAILED" if why else "COMPLETED",
        "StatusMessage": why or "",
        "PercentDone": "100.0",
        "BackupSizeInBytes": 0,
        "IamRoleArn": body["IamRoleArn"],
        "ResourceType": point["ResourceType"],
        "RecoveryPointCreationDate": point["CreationDate"],
        **({"CreatedResourceArn": created} if created else {}),
    }
    return json.dumps({"RestoreJobId": job_id})


def backup_describe_restore_job(self):
    """DescribeRestoreJob of a job StartRestoreJob made."""
    return _describe_job(self, "pacs_restore_jobs", "Restore")


def backup_list_recovery_points_by_backup_vault(self):
    """ListRecoveryPointsByBackupVault (no paging, no filters)."""
    name = _path_parts(self)[1]
    _vault(self, name)
    return json.dumps({"RecoveryPoints": list(_recovery_points(self.backup_backend, name).values())})


def backup_delete_recovery_point(self):
    """DeleteRecoveryPoint, refused (AccessDeniedException) while the vault's access policy denies it."""
    parts = _path_parts(self)
    name, arn = parts[1], "/".join(parts[3:])
    vault = _vault(self, name)
    if _denied_by_vault_policy(self.backup_backend, name, "backup:DeleteRecoveryPoint"):
        raise BackupAccessDenied(f"The access policy of backup vault {name} denies backup:DeleteRecoveryPoint")
    points = _recovery_points(self.backup_backend, name)
    if arn not in points:
        raise ResourceNotFoundException(msg=f"Recovery point {arn} not found")
    del points[arn]
    vault.num_of_recovery_points = len(points)
    return "{}"


def _delete_backup_vault_as_aws(original):
    def delete_backup_vault(self, backup_vault_name):
        if backup_vault_name in self.vaults:
            if _denied_by_vault_policy(self, backup_vault_name, "backup:DeleteBackupVault"):
                raise BackupAccessDenied(
                    f"The access policy of backup vault {backup_vault_name} denies backup:DeleteBackupVault"
                )
            if _recovery_points(self, backup_vault_name):
                raise BackupInvalidRequestException(
                    msg="Backup vault cannot be deleted because it contains recovery points"
                )
        _backup_state(self, "pacs_vault_policies").pop(backup_vault_name, None)
        _backup_state(self, "pacs_recovery_points").pop(backup_vault_name, None)
        return original(self, backup_vault_name)

    delete_backup_vault.__doc__ = (
        "moto's DeleteBackupVault, refused while the vault holds recovery points or its access policy denies it."
    )
    return delete_backup_vault


# moto 5.2.5's TestEventPattern answers nothing (its backend raises NotImplementedError), though moto matches
# patterns itself when it delivers events. The same matcher answers it here, so that the molecule scenario
# can ask whether the stored DataSync rule matches a failed execution of the deployment's task.
def events_test_event_pattern(self):
    pattern = EventPattern.load(self._get_param("EventPattern"))
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers


# --- KMS: the key deletion calls, EnableKey and DisableKey of a key named by its ARN -----------------------


# AWS takes a key's id or its ARN in ScheduleKeyDeletion, CancelKeyDeletion, EnableKey and DisableKey. moto
# 5.2.5 validates either, then looks its keys up by the value as sent, so a key ARN ends in KeyError (HTTP
# 500). amazon.aws.kms_key names an existing key by its ARN: `state: absent` (ScheduleKeyDeletion: the
# teardown, roles/aws_teardown/tasks/keys.yml) failed, and so did `state: present` on a key pending deletion
# (CancelKeyDeletion, then EnableKey: role kms_key taking the key of a torn-down deployment back) and
# `enabled: false` (DisableKey). The backend's four methods now take either. ScheduleKeyDeletion and
# CancelKeyDeletion also answer and refuse as AWS: the key's ARN as KeyId, ScheduleKeyDeletion's KeyState and
# PendingWindowInDays; a window outside 7 to 30 days is a ValidationException (moto kept the key as it was
# and answered no date); scheduling a key already pending deletion, or cancelling the deletion of one that is
# not, is a KMSInvalidStateException (moto started the window again, or disabled an enabled key). The alias
# stays with a key pending deletion, as on AWS (where KMS deletes it with the key at the window's end).
def _kms_backend_taking_key_arns(original):
    def method(self, key_id, *args, **kwargs):
        return original(self, self.get_key_id(key_id), *args, **kwargs)

    method.__name__ = original.__name__
    method.__doc__ = f"moto's {original.__name__}, of a key named by its id or its ARN."
    return method


class KmsInvalidState(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("KMSInvalidStateException", message)


def _kms_key(response):
    """The key a KeyId (key id or key ARN, as AWS takes in these calls) names; NotFoundException otherwise."""
    key_id = response._get_param("KeyId")
    response._validate_cmk_id(key_id)
    return response.kms_backend.keys[response.kms_backend.get_key_id(key_id)]


def kms_schedule_key_deletion(self):
    """ScheduleKeyDeletion of a key named by its id or ARN, answered and refused as AWS does."""
    key = _kms_key(self)
    window = self._get_param("PendingWindowInDays")
    window = 30 if window is None else int(window)
    if not 7 <= window <= 30:
        raise KmsValidationException(
            f"1 validation error detected: Value '{window}' at 'pendingWindowInDays' failed to satisfy "
            "constraint: Member must have value between 7 and 30"
        )
    if key.key_state == "PendingDeletion":
        raise KmsInvalidState(f"{key.arn} is pending deletion.")
    deletion_date = self.kms_backend.schedule_key_deletion(key.id, window)
    return json.dumps(
        {"KeyId": key.arn, "DeletionDate": deletion_date, "KeyState": key.key_state, "PendingWindowInDays": window}
    )


def kms_cancel_key_deletion(self):
    """CancelKeyDeletion of a key named by its id or ARN: the key is Disabled again, as on AWS."""
    key = _kms_key(self)
    if key.key_state != "PendingDeletion":
        raise KmsInvalidState(f"{key.arn} is not pending deletion.")
    self.kms_backend.cancel_key_deletion(key.id)
    return json.dumps({"KeyId": key.arn})


def apply():
    """Add the extensions to moto's classes; a second call does nothing."""
    if getattr(DataSyncResponse, _MARK, False):
        return
    EFSResponse.describe_tags = efs_describe_tags
    EFSResponse.create_tags = efs_create_tags
    EFSResponse.delete_tags = efs_delete_tags
    EFSResponse.delete_file_system_policy = efs_delete_file_system_policy
    # In-process, moto matches EFS requests with the catch-all regex of moto/efs/urls.py; its server instead
    # builds Werkzeug rules from the same table, where that catch-all spans one path segment only, so the
    # legacy paths need rules of their own.
    efs_urls.url_paths.update(dict.fromkeys(EFS_LEGACY_TAG_PATHS, EFSResponse.dispatch))

    DataSyncResponse.create_location_s3 = _wrap_create(DataSyncResponse.create_location_s3)
    DataSyncResponse.create_location_smb = _wrap_create(DataSyncResponse.create_location_smb)
    DataSyncResponse.create_task = _wrap_create(DataSyncResponse.create_task)
    DataSyncResponse.delete_location = _wrap_delete(DataSyncResponse.delete_location, "LocationArn")
    DataSyncResponse.delete_task = _wrap_delete(DataSyncResponse.delete_task, "TaskArn")
    DataSyncResponse.describe_task_execution = _describe_task_execution_with_counters(
        DataSyncResponse.describe_task_execution
    )
    DataSyncResponse.create_location_efs = datasync_create_location_efs
    DataSyncResponse.describe_location_efs = datasync_describe_location_efs
    DataSyncResponse.list_task_executions = datasync_list_task_executions
    DataSyncResponse.list_tags_for_resource = datasync_list_tags_for_resource
    DataSyncResponse.tag_resource = datasync_tag_resource
    DataSyncResponse.untag_resource = datasync_untag_resource
    FakeLoadBalancer.__init__ = _load_balancer_init_with_aws_defaults(FakeLoadBalancer.__init__)
    VPCPeeringConnection.get_filter_value = _peering_filter_value(VPCPeeringConnection.get_filter_value)
    VPCPeeringConnections.describe_vpc_peering_connections = _describe_peerings_with_filters(
        VPCPeeringConnections.describe_vpc_peering_connections
    )
    EC2ContainerServiceResponse.create_service = _create_service_keeping_grace_period(
        EC2ContainerServiceResponse.create_service
    )
    EC2Backend.create_vpc_endpoint = _create_vpc_endpoint_pending_acceptance(EC2Backend.create_vpc_endpoint)
    VPCEndpointServiceConfiguration.describe_vpc_endpoint_connections = ec2_describe_vpc_endpoint_connections
    VPCEndpointServiceConfiguration.accept_vpc_endpoint_connections = ec2_accept_vpc_endpoint_connections
    VPCEndpointServiceConfiguration.reject_vpc_endpoint_connections = ec2_reject_vpc_endpoint_connections
    SecurityGroupRule.__init__ = _rule_init_keeping_prefix_list_description(SecurityGroupRule.__init__)
    SecurityGroup._flattened_rules = _flattened_rules_with_prefix_list_descriptions(SecurityGroup._flattened_rules)
    SecurityGroupBackend._sg_update_description = _update_description_of_prefix_lists(
        SecurityGroupBackend._sg_update_description
    )
    for name in ("update_security_group_rule_descriptions_ingress", "update_security_group_rule_descriptions_egress"):
        setattr(SecurityGroups, name, _answer_return_true(getattr(SecurityGroups, name)))
    FakeLoadBalancer.__init__ = _network_lb_init_with_privatelink_setting(FakeLoadBalancer.__init__)
    ELBV2Response.set_security_groups = elbv2_set_security_groups
    ELBv2Backend.delete_load_balancer = _delete_load_balancer_unless_protected(ELBv2Backend.delete_load_balancer)
    CognitoIdpBackend.delete_user_pool = _delete_user_pool_unless_protected(CognitoIdpBackend.delete_user_pool)
    backup_urls.url_paths.update(dict.fromkeys(BACKUP_PATHS, BackupResponse.dispatch))
    BackupResponse.create_backup_selection = backup_create_backup_selection
    BackupResponse.get_backup_selection = backup_get_backup_selection
    BackupResponse.list_backup_selections = backup_list_backup_selections
    BackupResponse.delete_backup_selection = backup_delete_backup_selection
    BackupResponse.update_backup_plan = backup_update_backup_plan
    BackupResponse.put_backup_vault_access_policy = backup_put_backup_vault_access_policy
    BackupResponse.get_backup_vault_access_policy = backup_get_backup_vault_access_policy
    BackupResponse.delete_backup_vault_access_policy = backup_delete_backup_vault_access_policy
    BackupResponse.start_backup_job = backup_start_backup_job
    BackupResponse.list_recovery_points_by_backup_vault = backup_list_recovery_points_by_backup_vault
    BackupResponse.delete_recovery_point = backup_delete_recovery_point
    BackupResponse.describe_backup_job = backup_describe_backup_job
    BackupResponse.describe_recovery_point = backup_describe_recovery_point
    BackupResponse.get_recovery_point_restore_metadata = backup_get_recovery_point_restore_metadata
    BackupResponse.start_restore_job = backup_start_restore_job
    BackupResponse.describe_restore_job = backup_describe_restore_job
    BackupBackend.create_backup_plan = _create_backup_plan_of_a_free_name(BackupBackend.create_backup_plan)
    BackupBackend.delete_backup_plan = _delete_backup_plan_without_selections(BackupBackend.delete_backup_plan)
    BackupBackend.delete_backup_vault = _delete_backup_vault_as_aws(BackupBackend.delete_backup_vault)
    BackupBackend.describe_backup_vault = _describe_backup_vault_as_aws(BackupBackend.describe_backup_vault)
    EventsHandler.test_event_pattern = events_test_event_pattern
    for name in ("schedule_key_deletion", "cancel_key_deletion", "enable_key", "disable_key"):
        setattr(KmsBackend, name, _kms_backend_taking_key_arns(getattr(KmsBackend, name)))
    KmsResponse.schedule_key_deletion = kms_schedule_key_deletion
    KmsResponse.cancel_key_deletion = kms_cancel_key_deletion
    setattr(DataSyncResponse, _MARK, True)
