"""Filters of role pacs_backup: which Docker volume is an access point's, and a restore's volume names."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

BACKUP_ID = r"[0-9]{8}T[0-9]{6}Z"


def pacs_backup_volume_of(access_point, mounts, task_name):
    """The Docker volume the container mounts for access_point (<task>-<ap>[-r<backup id>]), or ''."""
    pattern = re.compile(rf"^{re.escape(task_name)}-{re.escape(access_point)}(-r{BACKUP_ID})?$")
    names = [m.get("Name", "") for m in mounts or [] if m.get("Type") == "volume" and pattern.match(m.get("Name", ""))]
    if len(names) > 1:
        raise AnsibleFilterError(f"the container mounts {len(names)} volumes for {access_point}: {', '.join(names)}")
    return names[0] if names else ""


def pacs_backup_restored_volumes(access_points, task_name, backup_id):
    """{access point: <task>-<ap>-r<backup id>}: the fresh volumes a restore of backup_id makes."""
    if not re.fullmatch(BACKUP_ID, backup_id or ""):
        raise AnsibleFilterError(f"{backup_id!r} is not a backup id")
    return {point: f"{task_name}-{point}-r{backup_id}" for point in access_points}


class FilterModule:
    def filters(self):
        return {
            "pacs_backup_volume_of": pacs_backup_volume_of,
            "pacs_backup_restored_volumes": pacs_backup_restored_volumes,
        }
