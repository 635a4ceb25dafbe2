"""The extensions themselves: methods added to moto 5.2.5's response classes, state kept in its backends.

moto finds the handler of a request by turning the API action's name into a method name of the service's
response class (`DescribeTags` -> `describe_tags`); for REST services the action comes from matching the
method and path against botocore's own model, for JSON services from the `X-Amz-Target` header. So a
method added to the class is reached both by moto's server and by `mock_aws` in-process, with no URL
routing of our own. Nothing here edits moto's files.
"""

from __future__ import annotations

import datetime
import json

from moto.core.responses import ActionResult
from moto.datasync.exceptions import InvalidRequestException
from moto.datasync.responses import DataSyncResponse
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
from moto.ec2.responses.vpc_peering_connections import VPCPeeringConnections
from moto.ec2.utils import generic_filter
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.efs import urls as efs_urls
from moto.efs.exceptions import FileSystemNotFound
from moto.efs.responses import EFSResponse
from moto.elbv2.models import FakeLoadBalancer
from moto.events.models import EventPattern
from moto.events.responses import EventsHandler

_MARK = "_pacs_moto_ext_applied"
JSON = {"Content-Type": "application/json"}
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


# moto 5.2.5's TestEventPattern answers nothing (its backend raises NotImplementedError), though moto matches
# patterns itself when it delivers events. The same matcher answers it here, so that the molecule scenario
# can ask whether the stored DataSync rule matches a failed execution of the deployment's task.
def events_test_event_pattern(self):
    pattern = EventPattern.load(self._get_param("EventPattern"))
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers


def apply():
    """Add the extensions to moto's classes; a second call does nothing."""
    if getattr(DataSyncResponse, _MARK, False):
        return
    EFSResponse.describe_tags = efs_describe_tags
    EFSResponse.create_tags = efs_create_tags
    EFSResponse.delete_tags = efs_delete_tags
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
    EventsHandler.test_event_pattern = events_test_event_pattern
    setattr(DataSyncResponse, _MARK, True)
