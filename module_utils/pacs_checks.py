# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of single input values, one implementation for the project's modules and filters.

- `ae_title_problem(value)`: why a value is not a usable DICOM AE title ('' when it is one).
- `port_number(value)`: a TCP port (1-65535) as an int, or None when the value is not one.

Standard library only. A module imports this file as `ansible.module_utils.pacs_checks` (Ansible ships it
with the module). A filter cannot: on the controller `ansible.module_utils` holds only ansible-core's own
files, whatever ansible.cfg's `module_utils` says. The filters (filter_plugins/pacs_peers.py,
roles/pacs_settings/filter_plugins/pacs_settings.py, roles/pacs_task/filter_plugins/pacs_task_definition.py)
load it by its path in the project instead.
"""

from __future__ import annotations

import re

# The DICOM AE character set (PS3.5 "AE"): printable ASCII without the backslash (the value separator of
# DICOM's multi-valued fields), 1-16 characters; not only spaces.
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def ae_title_problem(value) -> str:
    """Why value is not a usable AE title ('' when it is one), as the end of a message naming the value."""
    if not isinstance(value, str):
        return "must be a string"
    if "\\" in value:
        return "must not contain a backslash (DICOM's value separator)"
    if not _AE_TITLE.match(value):
        return "must be 1-16 characters of the DICOM AE character set (printable ASCII, no control characters)"
    if not value.strip(" "):
        return "must not be only spaces"
    if value != value.strip(" "):
        return "must not start or end with a space (DICOM ignores them, peers compare them differently)"
    return ""


def port_number(value):
    """The TCP port value names (an int, or a string of one, spaces around allowed), or None: not a whole
    number, a boolean, or outside 1-65535."""
    if isinstance(value, bool):
        return None
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None
