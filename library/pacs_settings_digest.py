#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pacs_settings_digest
short_description: Digest of a PACS settings folder without its DICOM peers
description:
  - Sums up a rendered settings folder (role pacs_settings) as it matters to a running engine that is told
    about its DICOM peers through its web API (role pacs_peers, entry point engine) - every file's path and
    content, except the peer parts, which an engine takes without a restart - Dicoogle's
    C(allowed-aetitles) and C(move-destinations) elements in C(server.xml), and Orthanc's
    C(DicomModalities) in its JSON settings.
  - The PACS task's engine and nginx containers carry this digest as a label, so a new caller or
    destination does not restart the engine (which would drop every peer's open association), while any
    other change of the settings still does.
  - Read-only; supports check mode.
version_added: "1.0.0"
options:
  path:
    description: The rendered settings folder.
    type: path
    required: true
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Sum up the settings without the peers
  pacs_settings_digest:
    path: /var/lib/pacs-lab/task/settings
  register: static_settings
"""

RETURN = r"""
digest:
  description: SHA-256 (hex) over every file's relative path and its content without the peer parts.
  returned: always
  type: str
files:
  description: How many files were summed up.
  returned: always
  type: int
peer_parts:
  description: The files whose peer parts were left out.
  returned: always
  type: list
  elements: str
"""

import hashlib
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

# Dicoogle's server.xml: the calling AE titles and the C-MOVE destinations.
_DICOOGLE_PEERS = re.compile(
    r"[ \t]*<allowed-aetitles\b[^>]*?(/>|>.*?</allowed-aetitles>)[ \t]*\n?"
    r"|[ \t]*<move-destinations\b[^>]*?(/>|>.*?</move-destinations>)[ \t]*\n?",
    re.DOTALL,
)
# Orthanc's settings: the modalities (its callers and destinations).
_ORTHANC_PEERS = ("DicomModalities",)


def without_peers(name, data):
    """The file's content without its peer parts, and whether it had any."""
    if name.endswith(".xml"):
        text = data.decode("utf-8")
        stripped, count = _DICOOGLE_PEERS.subn("", text)
        return stripped.encode("utf-8"), count > 0
    if name.endswith(".json"):
        try:
            document = json.loads(data)
        except ValueError:
            return data, False
        if isinstance(document, dict) and any(key in document for key in _ORTHANC_PEERS):
            for key in _ORTHANC_PEERS:
                document.pop(key, None)
            return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8"), True
    return data, False


def settings_digest(path):
    total = hashlib.sha256()
    files = 0
    peer_parts = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            relative = os.path.relpath(full, path)
            with open(full, "rb") as handle:
                content, had_peers = without_peers(name, handle.read())
            if had_peers:
                peer_parts.append(relative)
            total.update(relative.encode("utf-8") + b"\0" + hashlib.sha256(content).hexdigest().encode() + b"\n")
            files += 1
    return total.hexdigest(), files, peer_parts


def main():
    module = AnsibleModule(argument_spec={"path": {"type": "path", "required": True}}, supports_check_mode=True)
    path = module.params["path"]
    if not os.path.isdir(path):
        module.fail_json(msg=f"{path} is not a folder (the rendered settings)")
    try:
        digest, files, peer_parts = settings_digest(path)
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=f"cannot read the settings in {path}: {exc}")
    module.exit_json(changed=False, digest=digest, files=files, peer_parts=peer_parts)


if __name__ == "__main__":
    main()
