"""Filters of the aws_compute role.

aws_compute_efs_volumes(access_point_ids, file_system_id) gives the task
definition's volumes: one EFS volume per access point (named after it), TLS in
transit and IAM authorization with the task role.
"""

from __future__ import annotations


def aws_compute_efs_volumes(access_point_ids, file_system_id):
    return [
        {
            "name": name,
            "efsVolumeConfiguration": {
                "fileSystemId": file_system_id,
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": access_point_id, "iam": "ENABLED"},
            },
        }
        for name, access_point_id in sorted((access_point_ids or {}).items())
    ]


class FilterModule:
    def filters(self):
        return {"aws_compute_efs_volumes": aws_compute_efs_volumes}
