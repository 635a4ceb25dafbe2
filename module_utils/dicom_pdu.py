# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DICOM upper-layer PDUs (PS3.8 section 9.3), just enough to open and release an association.

Used by the dicom_association_probe module to ask a DICOM service, through TLS or not,
whether it accepts an association, without needing dcmtk on the probing host.
"""

from __future__ import annotations

import struct

VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
# A UID under the 2.25 (UUID-derived) root, naming this probe as an implementation.
IMPLEMENTATION_CLASS_UID = "2.25.186472209812469231049357818347765119583"
IMPLEMENTATION_VERSION = "PACS-PROBE-1"

PDU_TYPES = {
    0x01: "A-ASSOCIATE-RQ",
    0x02: "A-ASSOCIATE-AC",
    0x03: "A-ASSOCIATE-RJ",
    0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ",
    0x06: "A-RELEASE-RP",
    0x07: "A-ABORT",
}

_AE_CHARS = set(range(0x20, 0x7F)) - {0x5C}


def check_ae_title(title: str) -> str:
    """Return the AE title if it is valid (1-16 chars of the default repertoire, no backslash, not blank)."""
    if not 1 <= len(title) <= 16:
        raise ValueError(f"AE title {title!r} must be 1 to 16 characters long")
    if any(ord(char) not in _AE_CHARS for char in title):
        raise ValueError(f"AE title {title!r} may hold only printable ASCII without backslash")
    if not title.strip():
        raise ValueError("AE title may not be only spaces")
    return title


def _item(item_type: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", item_type, 0, len(payload)) + payload


def _uid(uid: str) -> bytes:
    return uid.encode("ascii")


def associate_rq(called_aet: str, calling_aet: str, max_pdu: int = 16384) -> bytes:
    """Build an A-ASSOCIATE-RQ proposing Verification with Implicit VR Little Endian."""
    called = check_ae_title(called_aet).ljust(16).encode("ascii")
    calling = check_ae_title(calling_aet).ljust(16).encode("ascii")
    presentation_context = struct.pack(">BBBB", 1, 0, 0, 0) + _item(0x30, _uid(VERIFICATION_SOP_CLASS))
    presentation_context += _item(0x40, _uid(IMPLICIT_VR_LITTLE_ENDIAN))
    user_info = _item(0x51, struct.pack(">I", max_pdu))
    user_info += _item(0x52, _uid(IMPLEMENTATION_CLASS_UID))
    user_info += _item(0x55, IMPLEMENTATION_VERSION.encode("ascii"))
    variable = _item(0x10, _uid(APPLICATION_CONTEXT)) + _item(0x20, presentation_context) + _item(0x50, user_info)
    body = struct.pack(">HH", 1, 0) + called + calling + bytes(32) + variable
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def release_rq() -> bytes:
    """Build an A-RELEASE-RQ."""
    return struct.pack(">BBII", 0x05, 0, 4, 0)


def read_pdu_header(header: bytes) -> tuple[int, int]:
    """Return (pdu type, body length) of a 6-byte PDU header."""
    if len(header) != 6:
        raise ValueError(f"a PDU header is 6 bytes, got {len(header)}")
    pdu_type, _reserved, length = struct.unpack(">BBI", header)
    return pdu_type, length


def describe_reject(body: bytes) -> str:
    """Describe an A-ASSOCIATE-RJ body: result, source, reason (PS3.8 table 9-21)."""
    if len(body) < 4:
        return "A-ASSOCIATE-RJ (short body)"
    result, source, reason = body[1], body[2], body[3]
    reasons = {
        (1, 2): "application context name not supported",
        (1, 3): "calling AE title not recognized",
        (1, 7): "called AE title not recognized",
        (2, 1): "protocol version not supported",
        (3, 1): "temporary congestion",
        (3, 2): "local limit exceeded",
    }
    kind = "permanent" if result == 1 else "transient"
    return f"A-ASSOCIATE-RJ {kind}: {reasons.get((source, reason), f'source {source} reason {reason}')}"
