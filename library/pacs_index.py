#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pacs_index
short_description: Have the PACS index a folder of landed DICOM files, wait for it, and check the studies
description:
  - C(dicoogle) - logs in (when O(dicoogle_username) is given), asks Dicoogle to index O(uri)
    (C(POST /management/tasks/index)), follows the index tasks (C(GET /index/task)) until they complete, closes
    them, and adds up their indexed and error counts. Dicoogle's indexer skips the files its index holds
    already (they are not counted), so a finished run reports a change only when it indexed files; a run
    not waited for (O(wait=false)) reports one. In check mode nothing is started.
  - C(orthanc) - Orthanc has no folder indexer in Debian's packages, so every file under O(path) (the landed
    folder, on the host the module runs on) is posted to C(POST /instances), O(workers) at a time; Orthanc
    indexes a file before it answers. Its change log (C(GET /changes)) confirms one new instance per new file.
    Files it already holds count as C(already_indexed) and make no change. In check mode each file's SOP
    Instance UID is looked up (C(POST /tools/find)) instead, and nothing is posted.
  - With O(study_uids), each study is then searched with the PACS's own search (Dicoogle C(/search), Orthanc
    C(/tools/find)); the module fails when one is missing.
  - Talks HTTPS with a CA file (the admin web's nginx), HTTP basic authentication, a timeout per request and
    bounded retries.
version_added: "1.0.0"
options:
  engine:
    description: PACS engine behind O(url).
    type: str
    required: true
    choices: [dicoogle, orthanc]
  url:
    description: Base URL of the PACS's REST API (C(https://127.0.0.1:8443)).
    type: str
    required: true
  ca_path:
    description: PEM CA bundle the server certificate must chain to; omit for the system's store.
    type: path
  validate_certs:
    description: Check the server certificate and name.
    type: bool
    default: true
  url_username:
    description: User of HTTP basic authentication (nginx in front of the PACS, or Orthanc's own users).
    type: str
  url_password:
    description: Password of O(url_username).
    type: str
  dicoogle_username:
    description: Dicoogle user to log in as (C(POST /login)); omit to skip the login.
    type: str
  dicoogle_password:
    description: Password of O(dicoogle_username).
    type: str
  uri:
    description:
      - URI Dicoogle indexes, as Dicoogle sees it (C(file:/srv/pacs/images/froms3/)).
      - Required for C(dicoogle) unless O(start_index=false).
    type: str
  start_index:
    description:
      - C(dicoogle) - start the index of O(uri) and follow it. C(orthanc) - post the files under O(path).
      - C(false) only searches O(study_uids), with either engine (the PACS task's indexer container indexed the
        landed files already, roles/bulk_ingest; or a restore brought the index back, roles/pacs_backup); nothing
        changes then.
    type: bool
    default: true
  path:
    description: Folder of landed files on the host the module runs on. Required for C(orthanc) with O(start_index).
    type: path
  study_uids:
    description: Study Instance UIDs that must be findable once indexing is done.
    type: list
    elements: str
    default: []
  wait:
    description: Wait for the index tasks to finish (and then check O(study_uids)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the index tasks.
    type: int
    default: 3600
  poll_interval:
    description: Seconds before the first task check; each pause is 1.5 times the one before, at most 30.
    type: float
    default: 2
  workers:
    description: Files posted (and looked up) at the same time (C(orthanc)).
    type: int
    default: 4
  skip_held:
    description:
      - C(orthanc) - before posting, look up each file's SOP Instance UID (C(POST /tools/find)), O(workers) at a
        time, and post only the files Orthanc does not hold yet, so that a rerun over a landed folder that keeps
        every earlier ingest sends a small query per file instead of the whole file again. Files that are not
        DICOM are reported as refused without being posted.
      - C(false) posts every file; Orthanc answers C(AlreadyStored) for those it holds.
    type: bool
    default: true
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 60
  retries:
    description: Retries of a request the server could not take (refused connection, HTTP 429/502/503/504).
    type: int
    default: 3
  fail_on_errors:
    description: Fail when the PACS reports files it could not index.
    type: bool
    default: true
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Index the folder DataSync filled (Dicoogle)
  pacs_index:
    engine: dicoogle
    url: https://127.0.0.1:8443
    ca_path: /etc/pacs/ca.crt
    uri: file:/srv/pacs/images/froms3/
    study_uids: "{{ upload.studies }}"

- name: Import the landed folder (Orthanc)
  pacs_index:
    engine: orthanc
    url: https://127.0.0.1:8443
    ca_path: /etc/pacs/ca.crt
    url_username: admin
    url_password: "{{ admin_password }}"
    path: /var/lib/docker/volumes/pacs-lab-images/_data/froms3
"""

RETURN = r"""
engine:
  description: The engine asked.
  returned: always
  type: str
submitted:
  description: Index tasks started (dicoogle) or files posted (orthanc).
  returned: always
  type: int
indexed:
  description: Files the PACS indexed in this run (orthanc - new instances only).
  returned: always
  type: int
already_indexed:
  description: Files the PACS already held (orthanc).
  returned: always
  type: int
errors:
  description: Files the PACS could not index.
  returned: always
  type: int
rejected:
  description: The files the PACS refused, with its reason (orthanc).
  returned: always
  type: list
  elements: dict
tasks:
  description: Dicoogle's index tasks, as last seen.
  returned: always
  type: list
  elements: dict
finished:
  description: Whether the index tasks finished within O(wait_timeout).
  returned: always
  type: bool
studies_found:
  description: Studies of O(study_uids) the PACS's search found.
  returned: always
  type: list
  elements: str
studies_missing:
  description: Studies of O(study_uids) the PACS's search did not find.
  returned: always
  type: list
  elements: str
seconds:
  description: Wall-clock time of the run.
  returned: always
  type: float
"""

import concurrent.futures
import os
import time

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible.module_utils import dicom_part10, pacs_rest
except ImportError:  # running from the project tree (unit tests)
    from module_utils import dicom_part10, pacs_rest


def landed_files(path):
    return sorted(os.path.join(folder, name) for folder, _dirs, names in os.walk(path) for name in names)


def orthanc_partition(client, files, workers):
    """(new, held, rejected): the files Orthanc does not hold, those it holds, and those not DICOM."""

    def one(path):
        try:
            uid = dicom_part10.inspect(path)["sop_instance_uid"]
        except (dicom_part10.NotDicomError, OSError) as err:
            return "rejected", {"path": path, "reason": str(err)}
        return ("held" if client.find("Instance", {"SOPInstanceUID": uid}, limit=1) else "new"), path

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(one, files))
    return tuple([entry for outcome, entry in outcomes if outcome == kind] for kind in ("new", "held", "rejected"))


def orthanc_check_mode(client, files, workers):
    """What an import would do: files whose instance Orthanc does not hold yet."""
    new, held, rejected = orthanc_partition(client, files, workers)
    return pacs_rest.summary(
        "orthanc",
        submitted=len(files),
        indexed=len(new),
        already_indexed=len(held),
        errors=len(rejected),
        rejected=rejected,
    )


def orthanc_import(client, params, files):
    """Post the files (only those Orthanc does not hold, with skip_held) and count what happened to each."""
    held, refused = [], []
    if params["skip_held"]:
        files_to_post, held, refused = orthanc_partition(client, files, params["workers"])
    else:
        files_to_post = files
    result = client.index(
        params["path"],
        files=files_to_post,
        wait=params["wait"],
        timeout=params["wait_timeout"],
        poll_interval=params["poll_interval"],
    )
    result.update(
        submitted=len(files),
        already_indexed=result["already_indexed"] + len(held),
        errors=result["errors"] + len(refused),
        rejected=refused + result["rejected"],
    )
    return result


def main():
    argument_spec = {
        **pacs_rest.module_options(request_timeout=60),
        "url_username": {"type": "str"},
        "url_password": {"type": "str", "no_log": True},
        "dicoogle_username": {"type": "str"},
        "dicoogle_password": {"type": "str", "no_log": True},
        "uri": {"type": "str"},
        "start_index": {"type": "bool", "default": True},
        "path": {"type": "path"},
        "study_uids": {"type": "list", "elements": "str", "default": []},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 3600},
        "poll_interval": {"type": "float", "default": 2},
        "workers": {"type": "int", "default": 4},
        "skip_held": {"type": "bool", "default": True},
        "fail_on_errors": {"type": "bool", "default": True},
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_together=[("url_username", "url_password"), ("dicoogle_username", "dicoogle_password")],
    )
    params = module.params
    if params["engine"] == "dicoogle" and params["start_index"] and not params["uri"]:
        module.fail_json(msg="engine is dicoogle and start_index is true but uri is missing")
    if params["poll_interval"] <= 0 or params["wait_timeout"] < 0 or params["workers"] < 1:
        module.fail_json(msg="poll_interval must be above 0, wait_timeout 0 or more and workers at least 1")
    if params["engine"] == "orthanc" and params["start_index"] and not os.path.isdir(params["path"] or ""):
        module.fail_json(
            msg=f"engine is orthanc and start_index is true: path ({params['path']}) must be a folder here"
        )
    started = time.monotonic()
    client = pacs_rest.module_client(
        module,
        username=params["url_username"],
        password=params["url_password"],
        login=params["dicoogle_username"],
        login_password=params["dicoogle_password"],
        workers=params["workers"],
    )

    try:
        if not params["start_index"]:
            result = pacs_rest.summary(params["engine"])
            changed = False
        elif params["engine"] == "dicoogle":
            if module.check_mode:
                result = pacs_rest.summary("dicoogle", finished=False)
                module.exit_json(changed=True, studies_found=[], studies_missing=[], seconds=0.0, **result)
            result = client.index(
                params["uri"],
                wait=params["wait"],
                timeout=params["wait_timeout"],
                poll_interval=params["poll_interval"],
            )
            changed = result["indexed"] > 0 or not params["wait"]
        else:
            files = landed_files(params["path"])
            if module.check_mode:
                result = orthanc_check_mode(client, files, params["workers"])
            else:
                result = orthanc_import(client, params, files)
            changed = result["indexed"] > 0
        found, missing = [], []
        if params["study_uids"] and params["wait"] and not module.check_mode:
            found, missing = client.find_studies(params["study_uids"])
    except pacs_rest.PacsRestError as err:
        pacs_rest.module_fail(module, err)

    result.update(
        changed=changed if not module.check_mode else result["indexed"] > 0,
        studies_found=found,
        studies_missing=missing,
        seconds=round(time.monotonic() - started, 3),
    )
    if params["wait"] and not result["finished"]:
        module.fail_json(msg=f"indexing did not finish in {params['wait_timeout']} s", **result)
    if missing:
        module.fail_json(
            msg=f"{len(missing)} of {len(params['study_uids'])} studies not found after indexing", **result
        )
    if params["fail_on_errors"] and result["errors"]:
        module.fail_json(msg=f"the PACS could not index {result['errors']} files", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
