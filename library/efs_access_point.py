#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: efs_access_point
short_description: Create, tag and delete an access point of an EFS file system
description:
  - Manages one EFS access point, identified by its file system and its C(Name) tag (the O(name) option);
    a second run with the same options finds the access point by that pair and changes nothing.
  - The root directory, its creation permissions and the POSIX user are fixed when AWS creates an access
    point. When they differ from the options the module fails and says which ones differ, unless
    O(replace) is true, in which case the access point is deleted and created again (its id changes).
  - Tags are compared with what the access point has and updated in place; see O(purge_tags).
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  file_system_id:
    description: Id of the file system (C(fs-...)) the access point belongs to.
    type: str
    required: true
  name:
    description:
      - Name of the access point, kept as its C(Name) tag; with O(file_system_id) the key the module
        looks the access point up by. A C(Name) key in O(tags) is overridden by this.
    type: str
    required: true
  state:
    description: Whether the access point should exist.
    type: str
    choices: [present, absent]
    default: present
  path:
    description: Root directory of the access point inside the file system, an absolute path.
    type: str
    default: /
  posix_user:
    description: The POSIX identity every request through the access point is made as.
    type: dict
    suboptions:
      uid:
        description: User id.
        type: int
        required: true
      gid:
        description: Group id.
        type: int
        required: true
      secondary_gids:
        description: More group ids.
        type: list
        elements: int
  creation_info:
    description:
      - Owner and permissions EFS gives the root directory when it does not exist yet.
        Needed for a O(path) other than C(/) that is not already in the file system.
    type: dict
    suboptions:
      owner_uid:
        description: Owner user id.
        type: int
        required: true
      owner_gid:
        description: Owner group id.
        type: int
        required: true
      permissions:
        description: Octal permissions, as a string (for example C("0750")).
        type: str
        required: true
  replace:
    description: Delete and create the access point again when a fixed property differs.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the access point to become available, or to be gone when deleted.
    type: int
    default: 120
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Access point for the PACS images, owned by the PACS user
  efs_access_point:
    file_system_id: "{{ efs.file_system_id }}"
    name: pacs-images
    path: /images
    posix_user: {uid: 1000, gid: 1000}
    creation_info: {owner_uid: 1000, owner_gid: 1000, permissions: "0750"}
    tags:
      Project: pacs
  register: images_ap

- name: Remove it
  efs_access_point:
    file_system_id: "{{ efs.file_system_id }}"
    name: pacs-images
    state: absent
"""

RETURN = r"""
access_point_id:
  description: Id of the access point (C(fsap-...)); null after a deletion or when none exists.
  returned: always
  type: str
  sample: fsap-0123456789abcdef0
access_point_arn:
  description: ARN of the access point; null after a deletion or when none exists.
  returned: always
  type: str
access_point:
  description: The access point as EFS describes it (keys in snake_case, tags as a dict).
  returned: when state is present
  type: dict
  contains:
    access_point_id: {description: Id., type: str}
    access_point_arn: {description: ARN., type: str}
    file_system_id: {description: File system id., type: str}
    name: {description: Name tag., type: str}
    life_cycle_state: {description: Life cycle state such as C(available)., type: str}
    posix_user: {description: POSIX user., type: dict}
    root_directory: {description: Root directory and its creation info., type: dict}
    tags: {description: Tags., type: dict}
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


def find_access_point(client, file_system_id, name):
    """The access point of the file system whose Name tag is `name`, or None (fails on several)."""
    found = [
        ap
        for ap in pacs_aws.paginate(client, "describe_access_points", "AccessPoints", FileSystemId=file_system_id)
        if pacs_aws.tags_to_dict(ap.get("Tags")).get("Name") == name
        and ap.get("LifeCycleState") not in ("deleting", "deleted")
    ]
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} access points of {file_system_id} are named {name!r}: "
            + ", ".join(ap["AccessPointId"] for ap in found)
        )
    return found[0] if found else None


def desired_posix_user(params):
    user = params["posix_user"]
    if not user:
        return None
    result = {"Uid": user["uid"], "Gid": user["gid"]}
    if user.get("secondary_gids"):
        result["SecondaryGids"] = list(user["secondary_gids"])
    return result


def desired_root_directory(params):
    result = {"Path": params["path"]}
    info = params["creation_info"]
    if info:
        result["CreationInfo"] = {
            "OwnerUid": info["owner_uid"],
            "OwnerGid": info["owner_gid"],
            "Permissions": info["permissions"],
        }
    return result


def fixed_differences(current, params):
    """Names of the options whose value differs from the access point's fixed properties."""
    differences = []
    root = current.get("RootDirectory") or {}
    if (root.get("Path") or "/") != params["path"]:
        differences.append("path")
    wanted_user = desired_posix_user(params)
    have_user = current.get("PosixUser") or None
    if have_user is not None:
        have_user = {k: v for k, v in have_user.items() if k != "SecondaryGids" or v}
    if wanted_user != have_user:
        differences.append("posix_user")
    wanted_info = desired_root_directory(params).get("CreationInfo")
    if wanted_info is not None:
        have_info = root.get("CreationInfo") or {}
        if {**have_info, "Permissions": str(have_info.get("Permissions", "")).zfill(4)} != {
            **wanted_info,
            "Permissions": wanted_info["Permissions"].zfill(4),
        }:
            differences.append("creation_info")
    return differences


def describe(client, access_point_id):
    try:
        result = client.describe_access_points(AccessPointId=access_point_id, aws_retry=True)
    except is_boto3_error_code("AccessPointNotFound"):
        return None
    points = result.get("AccessPoints") or []
    return points[0] if points else None


def create(module, client, tags):
    params = module.params
    kwargs = {
        "ClientToken": pacs_aws.client_token(),
        "FileSystemId": params["file_system_id"],
        "RootDirectory": desired_root_directory(params),
        "Tags": pacs_aws.tags_to_list(tags),
    }
    user = desired_posix_user(params)
    if user:
        kwargs["PosixUser"] = user
    created = client.create_access_point(aws_retry=True, **kwargs)
    access_point_id = created["AccessPointId"]
    current, ready = pacs_aws.poll(
        lambda: describe(client, access_point_id),
        lambda ap: ap is not None and ap.get("LifeCycleState") == "available",
        params["wait_timeout"],
    )
    if not ready:
        module.fail_json(msg=f"access point {access_point_id} is not available after {params['wait_timeout']} s")
    return current


def delete(module, client, access_point_id):
    client.delete_access_point(AccessPointId=access_point_id, aws_retry=True)
    _, gone = pacs_aws.poll(
        lambda: describe(client, access_point_id),
        lambda ap: ap is None or ap.get("LifeCycleState") == "deleted",
        module.params["wait_timeout"],
    )
    if not gone:
        module.fail_json(msg=f"access point {access_point_id} still exists after {module.params['wait_timeout']} s")


def result_of(access_point, tags=None):
    if access_point is None:
        return {"access_point_id": None, "access_point_arn": None}
    shown = dict(access_point)
    shown["Tags"] = tags if tags is not None else pacs_aws.tags_to_dict(access_point.get("Tags"))
    snake = camel_dict_to_snake_dict(shown, ignore_list=["Tags"])
    return {
        "access_point_id": access_point["AccessPointId"],
        "access_point_arn": access_point.get("AccessPointArn"),
        "access_point": snake,
    }


def ensure_present(module, client):
    params = module.params
    wanted_tags = dict(params["tags"] or {})
    wanted_tags["Name"] = params["name"]
    current = find_access_point(client, params["file_system_id"], params["name"])

    if current is not None:
        differences = fixed_differences(current, params)
        if differences and not params["replace"]:
            module.fail_json(
                msg=(
                    f"access point {current['AccessPointId']} ({params['name']}) differs in {', '.join(differences)}, "
                    "which AWS cannot change in place; set replace=true to delete and create it again"
                ),
                differences=differences,
            )
        if differences:
            if module.check_mode:
                module.exit_json(changed=True, replaced=True, **result_of(None))
            delete(module, client, current["AccessPointId"])
            current = None

    if current is None:
        if module.check_mode:
            module.exit_json(changed=True, **result_of(None))
        created = create(module, client, wanted_tags)
        module.exit_json(changed=True, **result_of(created))

    # Tags: the given ones (and the Name) must be there; others go only with purge_tags.
    have_tags = pacs_aws.tags_to_dict(current.get("Tags"))
    desired = wanted_tags if params["tags"] is not None else {**have_tags, "Name": params["name"]}
    to_set, to_unset = pacs_aws.tag_changes(have_tags, desired, params["purge_tags"])
    changed = bool(to_set or to_unset)
    if changed and not module.check_mode:
        if to_unset:
            client.untag_resource(ResourceId=current["AccessPointId"], TagKeys=to_unset, aws_retry=True)
        if to_set:
            client.tag_resource(ResourceId=current["AccessPointId"], Tags=pacs_aws.tags_to_list(to_set), aws_retry=True)
    module.exit_json(changed=changed, **result_of(current, pacs_aws.merged_tags(have_tags, to_set, to_unset)))


def ensure_absent(module, client):
    params = module.params
    current = find_access_point(client, params["file_system_id"], params["name"])
    if current is None:
        module.exit_json(changed=False, **result_of(None))
    if not module.check_mode:
        delete(module, client, current["AccessPointId"])
    module.exit_json(changed=True, **result_of(None))


def main():
    argument_spec = {
        "file_system_id": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "path": {"type": "str", "default": "/"},
        "posix_user": {
            "type": "dict",
            "options": {
                "uid": {"type": "int", "required": True},
                "gid": {"type": "int", "required": True},
                "secondary_gids": {"type": "list", "elements": "int"},
            },
        },
        "creation_info": {
            "type": "dict",
            "options": {
                "owner_uid": {"type": "int", "required": True},
                "owner_gid": {"type": "int", "required": True},
                "permissions": {"type": "str", "required": True},
            },
        },
        "replace": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 120},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params["path"].startswith("/"):
        module.fail_json(msg=f"path must be absolute (start with /), got {params['path']!r}")
    info = params["creation_info"]
    if info and not (info["permissions"].isdigit() and set(info["permissions"]) <= set("01234567")):
        module.fail_json(
            msg=f"creation_info.permissions must be octal digits such as '0750', not {info['permissions']!r}"
        )

    client = pacs_aws.aws_client(module, "efs")
    try:
        if params["state"] == "present":
            ensure_present(module, client)
        else:
            ensure_absent(module, client)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"EFS access point {params['name']} of {params['file_system_id']}")


if __name__ == "__main__":
    main()
