# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the project's AWS modules (library/*.py).

Tag conversion and comparison, a retrying client, pagination that also works
where a paginator is missing, poll (exponential backoff, from pacs_poll), and
what the DataSync location modules share (find, compare, replace, delete).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import uuid

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils.pacs_poll import poll  # noqa: F401 - the AWS modules call pacs_aws.poll
except ImportError:  # imported as the package module_utils (unit tests)
    from module_utils.pacs_poll import poll  # noqa: F401

# Error codes worth a retry on top of AWSRetry's throttling codes.
RETRY_CODES = ["RequestLimitExceeded", "ThrottlingException", "TooManyRequestsException"]


def aws_client(module, service):
    """A client of `service` whose calls retry with jittered backoff when given aws_retry=True."""
    return module.client(
        service, retry_decorator=AWSRetry.jittered_backoff(retries=8, delay=2, catch_extra_error_codes=RETRY_CODES)
    )


def tags_to_dict(tag_list, key_name="Key", value_name="Value"):
    """[{'Key': k, 'Value': v}, ...] (or None) to {k: v}."""
    if not tag_list:
        return {}
    return boto3_tag_list_to_ansible_dict(tag_list, key_name, value_name)


def tags_to_list(tags, key_name="Key", value_name="Value"):
    """{k: v} (or None) to [{'Key': k, 'Value': v}, ...], values as strings."""
    if not tags:
        return []
    return ansible_dict_to_boto3_tag_list({k: str(v) for k, v in tags.items()}, key_name, value_name)


def tag_changes(current, desired, purge_tags):
    """(tags to set, tag keys to remove) to go from `current` to `desired`; nothing when desired is None."""
    if desired is None:
        return {}, []
    to_set, to_unset = compare_aws_tags(current or {}, {k: str(v) for k, v in desired.items()}, purge_tags)
    return to_set, sorted(to_unset)


def merged_tags(current, to_set, to_unset):
    """The tags a resource has after applying tag_changes()."""
    result = {k: v for k, v in (current or {}).items() if k not in to_unset}
    result.update(to_set)
    return result


def paginate(client, operation, result_key, page_param="NextToken", page_field="NextToken", **kwargs):
    """Every item of `result_key` over all pages of `operation`, following the page token by hand.

    Used instead of boto3 paginators so that the retrying wrapper applies to each page and so that APIs
    whose paginator is missing (or that moto pages differently) behave the same.
    """
    items = []
    method = getattr(client, operation)
    while True:
        page = method(aws_retry=True, **kwargs)
        items.extend(page.get(result_key) or [])
        token = page.get(page_field)
        if not token:
            return items
        kwargs[page_param] = token


def file_sha256(path):
    """SHA-256 (hex) of a file, read in 1 MiB blocks: the checksum s3_bulk_upload keeps in object metadata."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def s3_folder_prefix(prefix):
    """The key prefix of a "folder" (`incoming/2026`, `/incoming/`): `incoming/2026/`; empty for the top."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def s3_objects(client, bucket, prefix):
    """Every object (Key, Size, ...) under the folder `prefix` of `bucket`, over all pages."""
    return paginate(
        client, "list_objects_v2", "Contents", page_param="ContinuationToken", page_field="NextContinuationToken",
        Bucket=bucket, Prefix=s3_folder_prefix(prefix),
    )  # fmt: skip


def sorted_or_empty(values):
    """A sorted copy of a list, [] for None: compares list options regardless of order."""
    return sorted(values or [])


def client_token():
    """A fresh idempotency token for one create call (retries of that call reuse it).

    Never derived from the resource's name: after a deletion, a create with an old token would be answered
    with the deleted resource (or an idempotency mismatch) for as long as AWS remembers the token.
    """
    return uuid.uuid4().hex


# --- DataSync ------------------------------------------------------------------------------------------------


def normalize_location_uri(uri):
    """A location URI with single slashes and no trailing slash: `s3://b//x/` and `s3://b/x` are the same."""
    scheme, _, rest = (uri or "").partition("://")
    while "//" in rest:
        rest = rest.replace("//", "/")
    return f"{scheme}://{rest.rstrip('/')}"


def datasync_tags(client, arn):
    """The tags of a DataSync location, task or execution as a dict."""
    return tags_to_dict(paginate(client, "list_tags_for_resource", "Tags", ResourceArn=arn))


def datasync_find_locations(client, uri, name):
    """(location, tags) of the locations whose URI is `uri` and, when `name` is given, whose Name tag is it.

    Raises ValueError when more than one matches: the module cannot tell which one it manages.
    """
    wanted = normalize_location_uri(uri)
    found = []
    for entry in paginate(client, "list_locations", "Locations"):
        if normalize_location_uri(entry.get("LocationUri")) != wanted:
            continue
        tags = datasync_tags(client, entry["LocationArn"])
        if name is None or tags.get("Name") == name:
            found.append((entry, tags))
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} DataSync locations have the URI {uri}"
            + (f" and the Name {name!r}" if name else "")
            + ": "
            + ", ".join(entry["LocationArn"] for entry, _ in found)
            + (" (give tags.Name to tell them apart)" if name is None else "")
        )
    return found[0] if found else (None, None)


def datasync_update_tags(module, client, arn, have_tags):
    """Bring the tags of `arn` to the module's tags/purge_tags; returns (changed, resulting tags)."""
    to_set, to_unset = tag_changes(have_tags, module.params["tags"], module.params["purge_tags"])
    if not (to_set or to_unset):
        return False, have_tags
    if not module.check_mode:
        if to_unset:
            client.untag_resource(ResourceArn=arn, Keys=to_unset, aws_retry=True)
        if to_set:
            client.tag_resource(ResourceArn=arn, Tags=tags_to_list(to_set), aws_retry=True)
    return True, merged_tags(have_tags, to_set, to_unset)


def datasync_location_result(described, tags):
    """A location module's result: ARN, URI and the description in snake_case with the tags as a dict; ARN
    and URI null when there is no location (`described` None)."""
    if described is None:
        return {"location_arn": None, "location_uri": None}
    shown = {k: v for k, v in described.items() if k != "ResponseMetadata"}
    shown["Tags"] = tags
    return {
        "location_arn": described["LocationArn"],
        "location_uri": described.get("LocationUri"),
        "location": camel_dict_to_snake_dict(shown, ignore_list=["Tags"]),
    }


def datasync_location_present(module, client, uri, *, kind, differences, create, required_to_create):
    """Bring the module's DataSync location at `uri` to its options; exits the module with the result.

    The location is the one at `uri` whose Name tag is O(tags.Name), when given (datasync_find_locations).
    `differences(described, params)` lists the options whose value differs from the location's: the module
    fails naming them, unless O(replace), which deletes the location and creates it again (a new ARN).
    Otherwise only the tags are brought to O(tags)/O(purge_tags). `kind` is the location type of the API
    (`s3`, `efs`: describe_location_<kind>; the messages say it in capitals); `create(module, client, tags)`
    makes the location and returns its description; `required_to_create` are the options a new one needs.
    Check mode calls no mutating API.
    """
    params = module.params
    name = (params["tags"] or {}).get("Name")
    entry, tags = datasync_find_locations(client, uri, name)
    if entry is not None:
        arn = entry["LocationArn"]
        described = getattr(client, f"describe_location_{kind}")(LocationArn=arn, aws_retry=True)
        diffs = differences(described, params)
        if diffs and not params["replace"]:
            module.fail_json(
                msg=(
                    f"DataSync location {arn} differs in {', '.join(diffs)}; "
                    "set replace=true to delete and create it again"
                ),
                differences=diffs,
            )
        if not diffs:
            changed, tags = datasync_update_tags(module, client, arn, tags)
            module.exit_json(changed=changed, **datasync_location_result(described, tags))
        if module.check_mode:
            module.exit_json(changed=True, differences=diffs, **datasync_location_result(None, None))
        client.delete_location(LocationArn=arn, aws_retry=True)

    if not all(params[option] for option in required_to_create):
        verb = "is" if len(required_to_create) == 1 else "are"
        module.fail_json(
            msg=f"{' and '.join(required_to_create)} {verb} required to create a DataSync {kind.upper()} location"
        )
    if module.check_mode:
        module.exit_json(changed=True, **datasync_location_result(None, None))
    tags = dict(params["tags"] or {})
    module.exit_json(changed=True, **datasync_location_result(create(module, client, tags), tags))


def datasync_location_absent(module, client, uri):
    """Delete the module's DataSync location at `uri` (and O(tags.Name), when given), if there is one; exits
    the module with the result."""
    entry, _tags = datasync_find_locations(client, uri, (module.params["tags"] or {}).get("Name"))
    if entry is None:
        module.exit_json(changed=False, **datasync_location_result(None, None))
    if not module.check_mode:
        client.delete_location(LocationArn=entry["LocationArn"], aws_retry=True)
    module.exit_json(changed=True, **datasync_location_result(None, None))


def datasync_location_run(module, uri, *, kind, differences, create, required_to_create):
    """A DataSync location module's work after its own option checks: the location at `uri` present
    (datasync_location_present, with these arguments) or absent by O(state); exits the module."""
    present = functools.partial(
        datasync_location_present,
        uri=uri, kind=kind, differences=differences, create=create, required_to_create=required_to_create,
    )  # fmt: skip
    absent = functools.partial(datasync_location_absent, uri=uri)
    run_state(module, aws_client(module, "datasync"), present, absent, f"DataSync location {uri}")


def policy_document(value):
    """A policy document as a dict, from a dict or a JSON string (how modules with a `json` option get it)."""
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except ValueError as err:
        raise ValueError(f"policy is not valid JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise ValueError("policy must be a JSON object (a policy document)")
    return parsed


def run_state(module, client, ensure_present, ensure_absent, what):
    """Call ensure_present or ensure_absent by O(state); a ValueError or an AWS error fails the module, the
    latter with `what` (the resource) in its message."""
    try:
        (ensure_present if module.params["state"] == "present" else ensure_absent)(module, client)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=what)


# --- AWS Backup ----------------------------------------------------------------------------------------------

# What an AWS call raises when it fails (for modules that do not go through run_state).
AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) if "botocore" in globals() else ()


def backup_find_recovery_point(client, vault, tag_key, value):
    """(recovery point as listed, its tags) of the vault's one recovery point tagged tag_key=value, newest
    first when several are; (None, {}) when none is. Points that failed or expired are left out."""
    points = paginate(client, "list_recovery_points_by_backup_vault", "RecoveryPoints", BackupVaultName=vault)
    points = [p for p in points if p.get("Status") not in ("EXPIRED", "DELETING")]
    points.sort(key=lambda p: str(p.get("CreationDate") or ""), reverse=True)
    for point in points:
        tags = client.list_tags(ResourceArn=point["RecoveryPointArn"], aws_retry=True).get("Tags") or {}
        if tags.get(tag_key) == value:
            return point, tags
    return None, {}
