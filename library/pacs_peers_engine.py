#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pacs_peers_engine
short_description: Make the running PACS engine's calling AE titles and C-MOVE destinations the desired ones
description:
  - Adding or removing a DICOM peer must not restart the engine (that would drop every other peer's
    associations). The rendered settings files (role pacs_settings) only count at the engine's next start, so
    this module changes the B(running) engine through its REST API, to the same state those files give.
  - C(orthanc) - the calling AE titles and the move destinations are Orthanc's modalities. Reads
    C(GET /modalities?expand), then C(PUT /modalities/<AET>) every entry that is missing or differs and
    C(DELETE /modalities/<name>) every entry that is not wanted. Each entry has the exact shape of the
    rendered C(DicomModalities) (filter C(pacs_settings_orthanc_modalities)), keyed by AE title. Works with
    C(DicomModalitiesInDatabase=false) (Orthanc 1.10.1 keeps the change in memory; the settings file gives the
    same state at the next start). The result is read back and compared.
  - C(dicoogle) - move destinations through C(GET /management/settings/storage/dicom) and
    C(POST /management/settings/storage/dicom) (C(type=add) / C(type=remove)); a destination whose address,
    port, description or public flag differs is removed and added again. The result is read back and compared.
  - C(dicoogle) - the allowed calling AE titles through Dicoogle's legacy settings servlet
    (C(POST /settings?action=setaccesslistsettings)), the only way to change them at runtime, with the
    server's own AE title sent back unchanged. Dicoogle has no way to read them, so the caller passes
    O(known_allowed_aets) (what it applied last); the list is sent when it differs from that, or when that is
    unknown (V(null)). Dicoogle checks the list at each C-STORE and C-MOVE (not at association time, and never
    for C-FIND).
  - Check mode reads the engine (and logs in to Dicoogle) and reports what would change; it changes nothing.
  - Talks HTTP(S) with a CA file, HTTP basic authentication, a timeout per request and bounded retries
    (module_utils/pacs_rest.py).
version_added: "1.0.0"
options:
  engine:
    description: PACS engine behind O(url).
    type: str
    required: true
    choices: [dicoogle, orthanc]
  url:
    description: Base URL of the engine's web API (the admin web, C(https://127.0.0.1:8443)).
    type: str
    required: true
  ca_path:
    description: PEM CA bundle the server certificate must chain to; omit for the system's store.
    type: path
  validate_certs:
    description: Check the server certificate and name.
    type: bool
    default: true
  login:
    description:
      - User of HTTP basic authentication - the login in front of the admin web (the ALB's, its stand-in in the
        lab, or nginx's), or Orthanc's own users. Orthanc reached directly may need none.
      - No Dicoogle session is opened (C(POST /login) would put the password in the URL, hence in the web
        server's access log); Dicoogle 3.4.2 and 3.5.1 do not check a session on the calls made here.
    type: str
  password:
    description: Password of O(login).
    type: str
  aetitle:
    description:
      - The PACS's own AE title. It is compared with the engine's (Dicoogle C(GET /management/settings/dicom),
        Orthanc C(GET /system)) before any change; the module fails when they differ.
      - Required for C(dicoogle), whose settings servlet takes the server AE title with the access list (it is
        sent back unchanged).
    type: str
  allowed_aets:
    description:
      - Calling AE titles that may echo, store, find and move (Dicoogle - store and move), nothing else.
      - Dicoogle reads an empty list as "anyone" and cannot be given one at runtime, so it must not be empty there.
    type: list
    elements: str
    required: true
  known_allowed_aets:
    description:
      - C(dicoogle) only. The allowed calling AE titles the engine runs with, as last applied (Dicoogle cannot
        be asked). V(null) (unknown) sends O(allowed_aets) in any case.
    type: list
    elements: str
  move_destinations:
    description: C-MOVE destinations the engine knows, and only these.
    type: list
    elements: dict
    required: true
    suboptions:
      aetitle:
        description: AE title of the destination.
        type: str
        required: true
      address:
        description: Host name or IP address the engine connects to.
        type: str
        required: true
      port:
        description: TCP port the engine connects to.
        type: int
        required: true
      description:
        description: Free text (Dicoogle keeps it; Orthanc has no such field).
        type: str
        default: ""
      public:
        description: Dicoogle lists public destinations in its web UI (Orthanc has no such field).
        type: bool
        default: false
  orthanc_caller_address:
    description:
      - C(orthanc) - the Host of a calling AE's modality entry (the TLS tunnel delivers callers on loopback;
        C(pacs_settings_orthanc_caller_address)).
      - A modality at this address and O(orthanc_caller_port) counts as a caller, not as a move destination.
    type: str
    default: 127.0.0.1
  orthanc_caller_port:
    description: C(orthanc) - the Port of a calling AE's modality entry (C(pacs_settings_orthanc_caller_port)).
    type: int
    default: 104
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 30
  retries:
    description: Retries of a request the server could not take (refused connection, HTTP 429/502/503/504).
    type: int
    default: 3
notes:
  - Dicoogle has no API to read its allowed AE titles; the module cannot see a change made behind its back.
    Pass V(null) as O(known_allowed_aets) to send the list again.
  - An association already open keeps running; on Dicoogle a removed AE's association is still accepted and
    its C-STORE (or C-MOVE) aborted; Orthanc refuses the association ("Calling AE Title Not Recognized").
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Running Dicoogle takes the peers' AE titles and destinations
  pacs_peers_engine:
    engine: dicoogle
    url: https://127.0.0.1:8443
    ca_path: /etc/pacs/ca.crt
    login: "{{ admin.name }}"
    password: "{{ admin.password }}"
    aetitle: DICOOGLE-STORAGE
    allowed_aets: [DCMTK-CLIENT, MODALITY-1]
    known_allowed_aets: "{{ peers_record.applied_allowed_aets | default(None) }}"
    move_destinations:
      - aetitle: STORAGE-NODE
        address: 127.0.0.1
        port: 17777
        description: storage node storage.pacs.internal:7777 through the task's TLS tunnel
  register: engine_peers

- name: Running Orthanc (no login in front of it here)
  pacs_peers_engine:
    engine: orthanc
    url: http://127.0.0.1:8042
    allowed_aets: [DCMTK-CLIENT]
    move_destinations: []
"""

RETURN = r"""
engine:
  description: The engine asked.
  returned: always
  type: str
allowed_aets_before:
  description:
    - Calling AE titles allowed before the run. Orthanc - the modalities with any of echo, store, find or move.
      Dicoogle - O(known_allowed_aets) (V(null) when unknown).
  returned: always
  type: list
  elements: str
allowed_aets_after:
  description: Calling AE titles allowed after the run (in check mode, what they would be).
  returned: always
  type: list
  elements: str
allowed_aets_set:
  description: Dicoogle - whether the access list was sent (would be, in check mode). Orthanc - always false.
  returned: always
  type: bool
destinations_added:
  description: Move destinations added (a changed one is in both lists), as aetitle, address, port, description.
  returned: always
  type: list
  elements: dict
destinations_removed:
  description: Move destinations removed, as the engine had them.
  returned: always
  type: list
  elements: dict
modalities_put:
  description: Orthanc - names of the modalities created or replaced.
  returned: always
  type: list
  elements: str
modalities_deleted:
  description: Orthanc - names of the modalities deleted.
  returned: always
  type: list
  elements: str
"""


import json
import re
import urllib.parse

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible.module_utils import pacs_rest
    from ansible.module_utils.pacs_checks import ae_title_problem
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_rest
    from module_utils.pacs_checks import ae_title_problem

# Orthanc: the rights of a modality entry, as the rendered DicomModalities has them.
CALLER_RIGHTS = ("AllowEcho", "AllowStore", "AllowFind", "AllowMove")
DENIED_RIGHTS = ("AllowGet", "AllowFindWorklist", "AllowStorageCommitment")
# Orthanc 1.10.1 answers AllowStorageCommitment as these two (it sets both from it).
STORAGE_COMMITMENT_PARTS = ("AllowNAction", "AllowEventReport")


def html_element_id(text):
    """The form field name Dicoogle's legacy settings servlet reads for a setting's label: trimmed, an "s" put
    in front unless it starts with a letter, then every character but letters, digits, '-' and '_' dropped
    (Dicoogle's sdk settings/Utils.java)."""
    text = text.strip()
    if text and not re.match(r"[A-Za-z]", text[0]):
        text = "s" + text
    return re.sub(r"[^A-Za-z0-9_-]", "", text)


# The servlet's settings "Server AE Title" (a text field) and "Client Permit Access List" (a table of one column,
# "Client AE Title", one row per value of "<list id><column id>[]"; SettingsServlet.java, sdk DataTable.java).
SERVER_AE_PARAM = html_element_id("Server AE Title")
ACCESS_LIST_PARAM = html_element_id(html_element_id("Client Permit Access List") + " Client AE Title") + "[]"


class EngineError(Exception):
    """A request that failed or an answer the module cannot use, with the step it belongs to."""

    def __init__(self, msg, status=None):
        super().__init__(msg)
        self.status = status


def step(what, func, *args, **kwargs):
    """func(*args, **kwargs), its failure named after `what`."""
    try:
        return func(*args, **kwargs)
    except pacs_rest.PacsRestError as err:
        raise EngineError(f"{what}: {err}", err.status) from err


def input_problems(params):
    """A message for every broken rule of the inputs (none when they are usable)."""
    problems = []
    engine = params["engine"]
    for name in ("allowed_aets", "known_allowed_aets"):
        values = params[name] or []
        for index, aet in enumerate(values):
            rule = ae_title_problem(aet)
            if rule:
                problems.append(f"{name}[{index}] {rule}, got {aet!r}")
        if len(set(values)) != len(values):
            problems.append(f"{name} must not list an AE title twice")
    if engine == "dicoogle" and not params["allowed_aets"]:
        problems.append(
            "allowed_aets must not be empty with engine dicoogle: Dicoogle reads an empty list as 'any calling "
            "AE title' and its settings servlet cannot set an empty one at runtime"
        )
    seen = set()
    for index, destination in enumerate(params["move_destinations"]):
        where = f"move_destinations[{index}]"
        rule = ae_title_problem(destination["aetitle"])
        if rule:
            problems.append(f"{where}.aetitle {rule}, got {destination['aetitle']!r}")
        elif destination["aetitle"] in seen:
            problems.append(f"{where}.aetitle {destination['aetitle']!r} is listed twice")
        seen.add(destination["aetitle"])
        if not destination["address"].strip() or any(c.isspace() for c in destination["address"]):
            problems.append(f"{where}.address must be a host name or an IP address, got {destination['address']!r}")
        if not 1 <= destination["port"] <= 65535:
            problems.append(f"{where}.port must be 1-65535, got {destination['port']}")
    if params["aetitle"] is not None and ae_title_problem(params["aetitle"]):
        problems.append(f"aetitle {ae_title_problem(params['aetitle'])}, got {params['aetitle']!r}")
    if engine == "dicoogle" and not params["aetitle"]:
        problems.append("aetitle is required with engine dicoogle (its settings servlet takes it with the list)")
    if not 1 <= params["orthanc_caller_port"] <= 65535:
        problems.append(f"orthanc_caller_port must be 1-65535, got {params['orthanc_caller_port']}")
    return problems


def destination(aetitle, address, port, description="", public=False):
    """A move destination as the module compares and reports it."""
    return {
        "aetitle": aetitle,
        "address": address,
        "port": int(port),
        "description": description or "",
        "public": bool(public),
    }


def wanted_destinations(params):
    return [destination(**d) for d in params["move_destinations"]]


def _sort_key(entry):
    return (entry["aetitle"], entry["address"], entry["port"], entry["description"], entry["public"])


# --- Dicoogle ------------------------------------------------------------------------------------------------


class DicoogleSettings:
    """The Dicoogle calls of this module: its own AE title, its move destinations and the access list.

    Every request it can make is in CALLS (method, path, query parameter names); anything else is refused. The
    unit tests check them against the project's record of Dicoogle's web API, where the legacy settings servlet
    (not in Dicoogle's OpenAPI description) is a named exception.
    """

    CALLS = (
        ("GET", "/management/settings/dicom", ()),
        ("GET", "/management/settings/storage/dicom", ()),
        ("POST", "/management/settings/storage/dicom", ("type", "aetitle", "ip", "port", "description", "public")),
        ("POST", "/settings", ("action", SERVER_AE_PARAM, ACCESS_LIST_PARAM)),
    )

    def __init__(self, transport):
        self.transport = transport

    def _request(self, method, path, query=(), headers=None, safe_to_repeat=None):
        allowed = {(m, p): names for m, p, names in self.CALLS}
        if (method, path) not in allowed:
            raise pacs_rest.PacsRestError(f"the module does not make {method} {path}")
        unknown = {name for name, _ in query} - set(allowed[(method, path)])
        if unknown:
            raise pacs_rest.PacsRestError(f"{method} {path} takes no parameter {', '.join(sorted(unknown))}")
        return self.transport.request(
            method, path, query=list(query), headers=headers, safe_to_repeat=safe_to_repeat
        ).json()

    def aetitle(self):
        answer = self._request("GET", "/management/settings/dicom")
        if not isinstance(answer, dict) or "aetitle" not in answer:
            raise EngineError(f"GET /management/settings/dicom answered {answer!r}, not {{aetitle}}")
        return answer["aetitle"]

    def destinations(self):
        answer = self._request("GET", "/management/settings/storage/dicom")
        if not isinstance(answer, list):
            raise EngineError(f"GET /management/settings/storage/dicom answered {answer!r}, not a list")
        return [
            destination(
                item.get("AETitle"),
                item.get("ipAddrs"),
                item.get("port") or 0,
                item.get("description"),
                item.get("public", item.get("isPublic")),
            )
            for item in answer
        ]

    def add_destination(self, entry):
        query = [
            ("type", "add"),
            ("aetitle", entry["aetitle"]),
            ("ip", entry["address"]),
            ("port", str(entry["port"])),
            ("description", entry["description"]),
            ("public", "true" if entry["public"] else "false"),
        ]
        # Sent twice, an add makes two entries: not repeated once it may have arrived.
        return self._request("POST", "/management/settings/storage/dicom", query, safe_to_repeat=False)

    def remove_destination(self, entry):
        # Dicoogle removes every destination of that AE title; it parses the port first, so a valid one goes too.
        query = [
            ("type", "remove"),
            ("aetitle", entry["aetitle"]),
            ("ip", entry["address"]),
            ("port", str(entry["port"])),
        ]
        return self._request("POST", "/management/settings/storage/dicom", query, safe_to_repeat=True)

    def set_allowed_aets(self, aetitle, aets):
        """POST /settings?action=setaccesslistsettings: the allowed calling AE titles, the server AE title as is.

        The servlet answers with a redirect to the request's Referer: it is this module's read of the AE title,
        so the answer that comes back is {aetitle} when the servlet took the request.
        """
        query = [("action", "setaccesslistsettings"), (SERVER_AE_PARAM, aetitle)]
        query += [(ACCESS_LIST_PARAM, aet) for aet in aets]
        referer = self.transport.url("/management/settings/dicom")
        answer = self._request("POST", "/settings", query, headers={"Referer": referer}, safe_to_repeat=True)
        if not isinstance(answer, dict) or answer.get("aetitle") != aetitle:
            raise EngineError(
                f"Dicoogle's settings servlet answered {answer!r}; expected its redirect to "
                f"GET /management/settings/dicom with aetitle {aetitle!r}"
            )


def dicoogle_sync(client, params, check_mode):
    done = []
    settings = DicoogleSettings(client.transport)
    live_aetitle = step("reading Dicoogle's AE title", settings.aetitle)
    if live_aetitle != params["aetitle"]:
        raise EngineError(
            f"the engine's AE title is {live_aetitle!r}, not {params['aetitle']!r} (aetitle): is this the PACS meant?"
        )
    live = step("reading Dicoogle's move destinations", settings.destinations)
    wanted = wanted_destinations(params)
    by_aet = {}
    for entry in live:
        by_aet.setdefault(entry["aetitle"], []).append(entry)
    wanted_aets = {entry["aetitle"] for entry in wanted}
    to_add = [entry for entry in wanted if by_aet.get(entry["aetitle"], []) != [entry]]
    remove_aets = [aet for aet in by_aet if aet not in wanted_aets or aet in {e["aetitle"] for e in to_add}]
    removed = [entry for aet in remove_aets for entry in by_aet[aet]]
    known = params["known_allowed_aets"]
    set_aets = known is None or set(known) != set(params["allowed_aets"])
    result = {
        "allowed_aets_before": None if known is None else list(known),
        "allowed_aets_after": list(params["allowed_aets"]),
        "allowed_aets_set": set_aets,
        "destinations_added": to_add,
        "destinations_removed": removed,
        "modalities_put": [],
        "modalities_deleted": [],
        "changed": bool(set_aets or to_add or removed),
    }
    if check_mode or not result["changed"]:
        return result
    try:
        # The callers first: a new peer may store at once, a removed one no longer.
        if set_aets:
            step(
                "setting Dicoogle's allowed calling AE titles",
                settings.set_allowed_aets,
                live_aetitle,
                params["allowed_aets"],
            )
            done.append("allowed calling AE titles set")
        for aet in remove_aets:
            step(f"removing move destination {aet}", settings.remove_destination, by_aet[aet][0])
            done.append(f"destination {aet} removed")
        for entry in to_add:
            step(f"adding move destination {entry['aetitle']}", settings.add_destination, entry)
            done.append(f"destination {entry['aetitle']} added")
        after = step("reading Dicoogle's move destinations back", settings.destinations)
    except EngineError as err:
        raise EngineError(f"{err} (done before: {'; '.join(done) or 'nothing'})", err.status) from err
    if sorted(after, key=_sort_key) != sorted(wanted, key=_sort_key):
        raise EngineError(f"Dicoogle's move destinations after the change are {after!r}, not {wanted!r}")
    return result


# --- Orthanc -------------------------------------------------------------------------------------------------


def orthanc_modalities(callers, destinations, caller_address, caller_port):
    """Orthanc's DicomModalities for these callers and destinations, keyed by AE title, in the shape the role
    pacs_settings renders: a caller may echo, store, find and move; a destination that never calls may do
    nothing; a caller that is a destination too keeps the destination's address."""
    calling = set(callers)
    modalities = {}
    for entry in destinations:
        aet = entry["aetitle"]
        modality = {"AET": aet, "Host": entry["address"], "Port": int(entry["port"])}
        modality.update(dict.fromkeys(CALLER_RIGHTS, aet in calling))
        modality.update(dict.fromkeys(DENIED_RIGHTS, False))
        modalities[aet] = modality
    for aet in callers:
        if aet not in modalities:
            modality = {"AET": aet, "Host": caller_address, "Port": int(caller_port)}
            modality.update(dict.fromkeys(CALLER_RIGHTS, True))
            modality.update(dict.fromkeys(DENIED_RIGHTS, False))
            modalities[aet] = modality
    return modalities


def orthanc_entry_matches(live, wanted):
    """Whether Orthanc's expanded entry has every field of the wanted one (it adds defaults of its own)."""
    if not isinstance(live, dict):
        return False
    for key, value in wanted.items():
        if key == "AllowStorageCommitment" and key not in live:
            if any(live.get(part) != value for part in STORAGE_COMMITMENT_PARTS):
                return False
        elif key == "Port":
            if str(live.get(key)) != str(value):
                return False
        elif live.get(key) != value:
            return False
    return True


def orthanc_read(transport):
    answer = transport.json("GET", "/modalities", query=[("expand", "")])
    if not isinstance(answer, dict):
        raise EngineError(f"GET /modalities?expand answered {answer!r}, not an object of modalities")
    return answer


def orthanc_callers(modalities):
    return [
        entry.get("AET", name)
        for name, entry in modalities.items()
        if isinstance(entry, dict) and any(entry.get(right) for right in CALLER_RIGHTS)
    ]


def orthanc_destinations(modalities, params):
    """The modalities that are move destinations: all but those at the callers' address and port."""
    placeholder = (params["orthanc_caller_address"], str(params["orthanc_caller_port"]))
    return [
        destination(entry.get("AET", name), entry.get("Host"), entry.get("Port") or 0)
        for name, entry in modalities.items()
        if isinstance(entry, dict) and (entry.get("Host"), str(entry.get("Port"))) != placeholder
    ]


def _modality_path(name):
    return "/modalities/" + urllib.parse.quote(name, safe="")


def orthanc_sync(client, params, check_mode):
    transport = client.transport
    if params["aetitle"]:
        system = step("reading Orthanc's /system", transport.json, "GET", "/system") or {}
        if system.get("DicomAet") != params["aetitle"]:
            raise EngineError(
                f"the engine's AE title is {system.get('DicomAet')!r}, not {params['aetitle']!r} (aetitle): "
                "is this the PACS meant?"
            )
    live = step("reading Orthanc's modalities", orthanc_read, transport)
    wanted = orthanc_modalities(
        params["allowed_aets"],
        params["move_destinations"],
        params["orthanc_caller_address"],
        params["orthanc_caller_port"],
    )
    to_put = [name for name, entry in wanted.items() if not orthanc_entry_matches(live.get(name), entry)]
    to_delete = [name for name in live if name not in wanted]
    # Destinations compared as Orthanc keeps them (no description, no public flag).
    wanted_dest = [destination(d["aetitle"], d["address"], d["port"]) for d in params["move_destinations"]]
    live_dest = orthanc_destinations(live, params)
    result = {
        "allowed_aets_before": orthanc_callers(live),
        "allowed_aets_after": list(params["allowed_aets"]),
        "allowed_aets_set": False,
        "destinations_added": [entry for entry in wanted_dest if entry not in live_dest],
        "destinations_removed": [entry for entry in live_dest if entry not in wanted_dest],
        "modalities_put": to_put,
        "modalities_deleted": to_delete,
        "changed": bool(to_put or to_delete),
    }
    if check_mode or not result["changed"]:
        return result
    done = []
    try:
        # New and changed entries first, then the deletions.
        for name in to_put:
            body = json.dumps(wanted[name]).encode("utf-8")
            step(
                f"putting modality {name}",
                transport.request,
                "PUT",
                _modality_path(name),
                body=body,
                content_type="application/json",
            )
            done.append(f"modality {name} put")
        for name in to_delete:
            step(f"deleting modality {name}", transport.request, "DELETE", _modality_path(name))
            done.append(f"modality {name} deleted")
        after = step("reading Orthanc's modalities back", orthanc_read, transport)
    except EngineError as err:
        raise EngineError(f"{err} (done before: {'; '.join(done) or 'nothing'})", err.status) from err
    wrong = sorted(
        [name for name, entry in wanted.items() if not orthanc_entry_matches(after.get(name), entry)]
        + [name for name in after if name not in wanted]
    )
    if wrong:
        raise EngineError(f"Orthanc's modalities after the change differ from the wanted ones: {', '.join(wrong)}")
    return result


def main():
    argument_spec = {
        **pacs_rest.module_options(request_timeout=30),
        "login": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "aetitle": {"type": "str"},
        "allowed_aets": {"type": "list", "elements": "str", "required": True},
        "known_allowed_aets": {"type": "list", "elements": "str"},
        "move_destinations": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "aetitle": {"type": "str", "required": True},
                "address": {"type": "str", "required": True},
                "port": {"type": "int", "required": True},
                "description": {"type": "str", "default": ""},
                "public": {"type": "bool", "default": False},
            },
        },
        "orthanc_caller_address": {"type": "str", "default": "127.0.0.1"},
        "orthanc_caller_port": {"type": "int", "default": 104},
    }
    module = AnsibleModule(
        argument_spec=argument_spec, supports_check_mode=True, required_together=[("login", "password")]
    )
    params = module.params
    problems = input_problems(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    engine = params["engine"]
    client = pacs_rest.module_client(module, username=params["login"], password=params["password"])
    sync = dicoogle_sync if engine == "dicoogle" else orthanc_sync
    try:
        result = sync(client, params, module.check_mode)
    except EngineError as err:
        pacs_rest.module_fail(module, err, " (login and password refused?)" if err.status in (401, 403) else "")
    module.exit_json(engine=engine, **result)


if __name__ == "__main__":
    main()
