# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a backup of the PACS's volumes is made of, shared by library/pacs_backup_store.py and pacs_backup_fetch.py.

A backup is a folder per access point (confs, images, index, users) under a staging root. `scan()` lists
every directory and file of it with its owner and mode (S3 keeps neither) and every file's size and SHA-256,
and reads the DICOM instances of the images access point (SOP Instance UID, study, series). The manifest is
that list plus the backup's id, time and engine; the object of a file is `<prefix><id>/<access point>/<path>`.
"""

from __future__ import annotations

import hashlib
import os
import stat

try:
    from ansible.module_utils import dicom_part10, pacs_aws
except ImportError:  # imported as the package module_utils (unit tests)
    from module_utils import dicom_part10, pacs_aws

MANIFEST = "manifest.json"
CATALOGS = "catalogs/"
CHUNK = 1024 * 1024


def list_keys(client, bucket, prefix):
    """Every key under the folder prefix, over all pages."""
    return [o["Key"] for o in pacs_aws.s3_objects(client, bucket, prefix)]


def backups(client, bucket, prefix):
    """{backup id: complete (has its manifest)} of every backup under prefix (catalogs left out)."""
    found = {}
    for key in list_keys(client, bucket, prefix):
        rest = key[len(prefix) :]
        if rest.startswith(CATALOGS) or "/" not in rest:
            continue
        backup_id, name = rest.split("/", 1)
        found[backup_id] = found.get(backup_id, False) or name == MANIFEST
    return found


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _owner(info):
    return {"mode": f"{stat.S_IMODE(info.st_mode):04o}", "uid": info.st_uid, "gid": info.st_gid}


def dicom_instances(root):
    """{SOP Instance UID: {study, series, path}} of the DICOM files under root (other files are skipped)."""
    instances = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            try:
                found = dicom_part10.inspect(path)
            except (dicom_part10.NotDicomError, OSError):
                continue
            instances.setdefault(
                found["sop_instance_uid"],
                {
                    "study": found["study_instance_uid"],
                    "series": found["series_instance_uid"],
                    "path": os.path.relpath(path, root),
                },
            )
    return instances


def scan(root, access_points, images_access_point, digest=sha256_of):
    """Directories, files (size, SHA-256, owner, mode) and DICOM instances of the access points under root."""
    dirs, files = [], []
    for point in access_points:
        base = os.path.join(root, point)
        if not os.path.isdir(base):
            raise ValueError(f"access point {point!r} has no folder {base}")
        for folder, subdirs, names in os.walk(base):
            subdirs.sort()
            relative = os.path.relpath(folder, base)
            dirs.append({"access_point": point, "path": "" if relative == "." else relative, **_owner(os.stat(folder))})
            for name in sorted(names):
                path = os.path.join(folder, name)
                info = os.lstat(path)
                if not stat.S_ISREG(info.st_mode):
                    continue  # sockets, links: nothing a PACS keeps as data
                files.append(
                    {
                        "access_point": point,
                        "path": os.path.relpath(path, base),
                        "size": info.st_size,
                        "sha256": digest(path),
                        **_owner(info),
                    }
                )
    instances = dicom_instances(os.path.join(root, images_access_point))
    return {"directories": dirs, "files": files, "instances": instances}


def summary(instances):
    return {
        "instance_count": len(instances),
        "study_count": len({i["study"] for i in instances.values()}),
        "series_count": len({i["series"] for i in instances.values()}),
    }


def object_key(prefix, backup_id, access_point, path):
    return f"{prefix}{backup_id}/{access_point}/{path}"


def manifest_key(prefix, backup_id):
    return f"{prefix}{backup_id}/{MANIFEST}"


def lost_instances(before, backed_up):
    """SOP Instance UIDs held before a restore (`before`, a dict or list of UIDs) that the backup lacks, sorted."""
    return sorted(set(before) - set(backed_up))
