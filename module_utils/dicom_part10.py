# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is this file a whole DICOM Part 10 file? Plain Python (no pydicom), for hosts that have only Python.

`inspect(path)` checks the 128-byte preamble and the 'DICM' marker, reads the file meta group, then walks
every data element of the data set (explicit or implicit VR, little or big endian, deflated; sequences and
items of defined or undefined length; encapsulated pixel data) without reading the values it does not need,
and checks that the last element ends exactly where the file does. A file cut anywhere inside an element is
reported as truncated, with the element and the byte counts. It also checks that the identifying UIDs are
there and that an image's native pixel data is as long as its rows, columns, samples, bits and frames say.

It returns the identifying attributes (SOP Class/Instance, Study/Series Instance UIDs, Patient ID, transfer
syntax) or raises `NotDicomError` with the reason.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = (0xFFFE, 0xE000), (0xFFFE, 0xE00D), (0xFFFE, 0xE0DD)
PIXEL_DATA = (0x7FE0, 0x0010)
# Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
# Top-level attributes read: name -> (tag, kind).
WANTED = {
    (0x0008, 0x0016): ("sop_class_uid", "str"),
    (0x0008, 0x0018): ("sop_instance_uid", "str"),
    (0x0010, 0x0020): ("patient_id", "str"),
    (0x0020, 0x000D): ("study_instance_uid", "str"),
    (0x0020, 0x000E): ("series_instance_uid", "str"),
    (0x0028, 0x0002): ("samples_per_pixel", "us"),
    (0x0028, 0x0008): ("number_of_frames", "str"),
    (0x0028, 0x0010): ("rows", "us"),
    (0x0028, 0x0011): ("columns", "us"),
    (0x0028, 0x0100): ("bits_allocated", "us"),
}
# Storage SOP classes whose instances always carry Pixel Data (PS3.3 IODs): a file of one of them that ends
# at an element boundary before its pixel data is a truncated file, not a short one.
IMAGE_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1." + suffix
    for suffix in (
        "1", "1.1", "1.1.1", "1.2", "1.2.1", "1.3", "1.3.1", "2", "2.1", "3.1", "4", "4.1", "6.1", "7", "7.1",
        "7.2", "7.3", "7.4", "12.1", "12.1.1", "12.2", "13.1.3", "20", "77.1.1", "77.1.2", "77.1.4", "128",
        "481.1", "481.2",
    )
}  # fmt: skip
REQUIRED = ("sop_class_uid", "sop_instance_uid", "study_instance_uid", "series_instance_uid")


class NotDicomError(ValueError):
    """The file is not a (whole) DICOM Part 10 file; the message says why."""


def _tag(tag):
    return f"({tag[0]:04X},{tag[1]:04X})"


class _Walker:
    def __init__(self, stream, size, explicit, little):
        self.stream = stream
        self.size = size
        self.explicit = explicit
        self.endian = "<" if little else ">"
        self.found = {}
        self.pixel_length = None

    def _read(self, count, what):
        data = self.stream.read(count)
        if len(data) < count:
            raise NotDicomError(
                f"truncated: {what} needs {count} bytes at offset {self.stream.tell() - len(data)}, "
                f"the file has {len(data)} more"
            )
        return data

    def _header(self, explicit):
        start = self.stream.tell()
        group, element = struct.unpack(self.endian + "HH", self._read(4, "an element's tag"))
        tag = (group, element)
        if group == 0xFFFE:  # item and delimiters: no VR, 4-byte length
            (length,) = struct.unpack(self.endian + "I", self._read(4, f"the length of {_tag(tag)}"))
            return tag, None, length, start
        if explicit:
            vr = self._read(2, f"the VR of {_tag(tag)}")
            if vr in LONG_VRS:
                self._read(2, f"the reserved bytes of {_tag(tag)}")
                (length,) = struct.unpack(self.endian + "I", self._read(4, f"the length of {_tag(tag)}"))
            else:
                (length,) = struct.unpack(self.endian + "H", self._read(2, f"the length of {_tag(tag)}"))
            return tag, vr, length, start
        (length,) = struct.unpack(self.endian + "I", self._read(4, f"the length of {_tag(tag)}"))
        return tag, None, length, start

    def _skip(self, tag, length):
        here = self.stream.tell()
        if here + length > self.size:
            raise NotDicomError(
                f"truncated: element {_tag(tag)} at offset {here} needs {length} bytes, the file has {self.size - here}"
            )
        self.stream.seek(length, os.SEEK_CUR)

    def elements(self, explicit, top=False, end=None, until=None):
        """Walk elements until `end` (an offset), the delimiter `until`, or, at the top, the end of the file."""
        while True:
            here = self.stream.tell()
            if end is not None and here >= end:
                if here > end:
                    raise NotDicomError(f"an element runs past the end of its container at offset {end}")
                return
            if top and here == self.size:
                return
            tag, vr, length, _ = self._header(explicit)
            if until is not None and tag == until:
                return
            if tag in (ITEM_END, SEQUENCE_END):
                raise NotDicomError(f"unexpected delimiter {_tag(tag)} at offset {here}")
            if length == UNDEFINED:
                if tag == PIXEL_DATA:
                    self.pixel_length = UNDEFINED
                    self.items(explicit, fragments=True)
                else:  # a sequence (implicit VR, SQ, or UN whose content is implicit VR little endian)
                    self.items(False if vr == b"UN" else explicit)
                continue
            if top and tag in WANTED:
                self._keep(tag, self._read(length, f"the value of {_tag(tag)}"))
                continue
            if top and tag == PIXEL_DATA:
                self.pixel_length = length
            self._skip(tag, length)

    def items(self, explicit, fragments=False):
        while True:
            here = self.stream.tell()
            tag, _vr, length, _ = self._header(explicit)
            if tag == SEQUENCE_END:
                return
            if tag != ITEM:
                raise NotDicomError(f"expected an item at offset {here}, found {_tag(tag)}")
            if length == UNDEFINED and not fragments:
                self.elements(explicit, until=ITEM_END)
            elif length == UNDEFINED:
                raise NotDicomError(f"pixel data fragment of undefined length at offset {here}")
            else:
                self._skip(tag, length)

    def _keep(self, tag, value):
        name, kind = WANTED[tag]
        if kind == "us":
            self.found[name] = struct.unpack(self.endian + "H", value[:2])[0] if len(value) >= 2 else None
        else:
            self.found[name] = value.decode("ascii", "replace").strip("\x00 ")


def _meta(stream, size):
    """The file meta group (always explicit VR little endian): {(group, element): raw value}."""
    walker = _Walker(stream, size, explicit=True, little=True)
    meta = {}
    while stream.tell() + 2 <= size:
        here = stream.tell()
        (group,) = struct.unpack("<H", stream.read(2))
        stream.seek(here)
        if group != 0x0002:
            break
        tag, _vr, length, _ = walker._header(True)
        if length == UNDEFINED:
            raise NotDicomError(f"file meta element {_tag(tag)} has an undefined length")
        meta[tag] = walker._read(length, f"the value of {_tag(tag)}")
    return meta


def inspect(path):
    """The identifying attributes of a whole DICOM Part 10 file; NotDicomError (with the reason) otherwise."""
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        head = stream.read(132)
        if len(head) < 132:
            raise NotDicomError(f"not DICOM: {size} bytes, shorter than the 128-byte preamble and 'DICM'")
        if head[128:132] != b"DICM":
            raise NotDicomError("not DICOM: no 'DICM' marker after the 128-byte preamble")
        meta = _meta(stream, size)
        syntax = meta.get((0x0002, 0x0010), b"").decode("ascii", "replace").strip("\x00 ")
        if not syntax:
            raise NotDicomError("no Transfer Syntax UID (0002,0010) in the file meta group")
        if syntax == DEFLATED:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                data = inflater.decompress(stream.read()) + inflater.flush()
            except zlib.error as err:
                raise NotDicomError(f"deflated data set does not inflate: {err}") from err
            if not inflater.eof:
                raise NotDicomError("truncated: the deflated data set ends before its end marker")
            walker = _Walker(io.BytesIO(data), len(data), explicit=True, little=True)
        else:
            walker = _Walker(stream, size, explicit=syntax != IMPLICIT_LE, little=syntax != EXPLICIT_BE)
        walker.elements(walker.explicit, top=True)
    found = walker.found
    missing = [name for name in REQUIRED if not found.get(name)]
    if missing:
        raise NotDicomError(f"missing {', '.join(missing)}: not a composite instance")
    if walker.pixel_length is None and (found.get("rows") or found["sop_class_uid"] in IMAGE_SOP_CLASSES):
        raise NotDicomError("truncated: an image without Pixel Data (7FE0,0010)")
    expected = _native_pixel_bytes(found)
    if expected and walker.pixel_length not in (None, UNDEFINED) and walker.pixel_length < expected:
        raise NotDicomError(f"truncated: Pixel Data has {walker.pixel_length} bytes, the image needs {expected}")
    result = {name: found.get(name) or "" for name, kind in WANTED.values() if kind == "str"}
    result.pop("number_of_frames", None)
    result.update(path=str(path), size=size, transfer_syntax_uid=syntax)
    return result


def _native_pixel_bytes(found):
    try:
        frames = int(found.get("number_of_frames") or 1)
        count = found["rows"] * found["columns"] * (found.get("samples_per_pixel") or 1) * frames
        return (count * found["bits_allocated"] + 7) // 8
    except (KeyError, TypeError, ValueError):
        return None
