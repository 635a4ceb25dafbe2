"""Filters of the pacs_settings role.

pacs_settings_problems
    Check the role's inputs (a flat {variable name: value} dict) against the
    rules DICOM, Dicoogle, Orthanc and nginx put on them; return one message
    per broken rule, each naming the variable and the rule. Never echoes a
    password: the role passes only user names in.
pacs_settings_orthanc_modalities
    Orthanc's "DicomModalities" from the allowed calling AE titles and the
    C-MOVE destinations.
pacs_settings_sha512_crypt
    SHA-512 crypt ("$6$", the glibc scheme nginx's auth_basic_user_file
    accepts through crypt(3)) with a caller-given salt, so that a rerun with
    the same inputs writes the same htpasswd file. Written from the published
    algorithm description ("Unix crypt using SHA-256 and SHA-512"); it needs no
    passlib.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# The project's module_utils/pacs_checks.py (the AE title check the modules and the other filters share), by
# its path: a filter cannot import it as ansible.module_utils.pacs_checks (see that file).
_spec = importlib.util.spec_from_file_location(
    "pacs_checks", Path(__file__).resolve().parent / "../../../module_utils/pacs_checks.py"
)
pacs_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pacs_checks)
ae_title_problem = pacs_checks.ae_title_problem

# DICOM PS3.5 UI: dot-separated numeric components, no leading zero in a
# multi-digit component, at most 64 characters.
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_NGINX_SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")
_NGINX_TIME = re.compile(r"^[0-9]+(ms|s|m|h|d)?$")
_HTPASSWD_NAME = re.compile(r"^[^:\s]{1,255}$")
_ADDRESS = re.compile(r"^[A-Za-z0-9.:_-]{1,253}$")
_CRYPT_SALT = re.compile(r"^[./0-9A-Za-z]{1,16}$")
_PORT_VARIABLES = (
    "pacs_settings_port_web",
    "pacs_settings_port_storage",
    "pacs_settings_port_query",
    "pacs_settings_port_admin_tls",
)
_ENGINES = ("dicoogle", "orthanc")


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y", "t")


def _as_port(value):
    """The port as an int, or None when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _name(variable: str, sources: Mapping) -> str:
    source = sources.get(variable)
    return f"{variable} (set from {source})" if source else variable


def uid_problem(value) -> str:
    if not isinstance(value, str) or len(value) > 64 or not _UID.match(value):
        return "must be a DICOM UID (dot-separated numbers without leading zeros, at most 64 characters)"
    return ""


def pacs_settings_problems(inputs: Mapping, sources: Mapping | None = None) -> list[str]:
    """Every broken rule in the role's inputs, as readable messages."""
    sources = sources or {}
    problems: list[str] = []

    def complain(variable: str, rule: str) -> None:
        problems.append(f"{_name(variable, sources)} {rule}")

    engine = inputs.get("pacs_settings_engine")
    if engine not in _ENGINES:
        complain("pacs_settings_engine", f"must be one of {', '.join(_ENGINES)}, got {engine!r}")

    dest = inputs.get("pacs_settings_dest")
    if not isinstance(dest, str) or not dest.startswith("/"):
        complain("pacs_settings_dest", f"must be an absolute path (the folder to render into), got {dest!r}")

    # AE titles.
    aet = inputs.get("pacs_settings_aet")
    rule = ae_title_problem(aet)
    if rule:
        complain("pacs_settings_aet", f"{rule}, got {aet!r}")
    node = inputs.get("pacs_settings_node_name")
    if engine == "dicoogle" and node != aet:
        # Dicoogle's storage SCP also answers to its node-name as an AE title.
        rule = ae_title_problem(node)
        if rule:
            complain("pacs_settings_node_name", f"{rule} (Dicoogle also accepts it as a called AE title), got {node!r}")

    callers = inputs.get("pacs_settings_allowed_aets")
    if not isinstance(callers, Sequence) or isinstance(callers, str):
        complain("pacs_settings_allowed_aets", "must be a list of AE titles")
        callers = []
    for index, caller in enumerate(callers):
        rule = ae_title_problem(caller)
        if rule:
            complain(f"pacs_settings_allowed_aets[{index}]", f"{rule}, got {caller!r}")
    if len(set(callers)) != len(callers):
        complain("pacs_settings_allowed_aets", "must not list an AE title twice")
    if not callers and not _as_bool(inputs.get("pacs_settings_allow_any_caller", False)):
        complain(
            "pacs_settings_allowed_aets",
            "must list at least one calling AE title (an empty list lets every caller in; "
            "set pacs_settings_allow_any_caller: true if that is really meant)",
        )

    # Move destinations.
    destinations = inputs.get("pacs_settings_move_destinations")
    if not isinstance(destinations, Sequence) or isinstance(destinations, str):
        complain("pacs_settings_move_destinations", "must be a list of {aetitle, address, port} dicts")
        destinations = []
    seen_aets: set = set()
    for index, dest_entry in enumerate(destinations):
        where = f"pacs_settings_move_destinations[{index}]"
        if not isinstance(dest_entry, Mapping):
            complain(where, "must be a dict with aetitle, address and port")
            continue
        missing = [key for key in ("aetitle", "address", "port") if dest_entry.get(key) in (None, "")]
        if missing:
            complain(where, f"must have aetitle, address and port (missing: {', '.join(missing)})")
        if dest_entry.get("aetitle") not in (None, ""):
            rule = ae_title_problem(dest_entry["aetitle"])
            if rule:
                complain(f"{where}.aetitle", f"{rule}, got {dest_entry['aetitle']!r}")
            if dest_entry["aetitle"] in seen_aets:
                complain(f"{where}.aetitle", f"must be unique, {dest_entry['aetitle']!r} repeats")
            seen_aets.add(dest_entry["aetitle"])
        address = dest_entry.get("address")
        if address not in (None, "") and (not isinstance(address, str) or not _ADDRESS.match(address)):
            complain(f"{where}.address", f"must be a host name or an IP address, got {address!r}")
        if dest_entry.get("port") not in (None, ""):
            port = _as_port(dest_entry["port"])
            if port is None or not 1 <= port <= 65535:
                complain(f"{where}.port", f"must be a port number 1-65535, got {dest_entry['port']!r}")

    # Ports of the task's network namespace: each valid and all distinct.
    named_ports: dict[str, int] = {}
    for variable in _PORT_VARIABLES:
        value = inputs.get(variable)
        port = _as_port(value)
        if port is None or not 1 <= port <= 65535:
            complain(variable, f"must be a port number 1-65535, got {value!r}")
        else:
            named_ports[variable] = port
    task_ports = inputs.get("pacs_settings_task_ports") or {}
    if not isinstance(task_ports, Mapping):
        complain("pacs_settings_task_ports", "must be a dict {name: port}")
        task_ports = {}
    for key, value in task_ports.items():
        port = _as_port(value)
        if port is None or not 1 <= port <= 65535:
            complain(f"pacs_settings_task_ports.{key}", f"must be a port number 1-65535, got {value!r}")
        else:
            named_ports[f"pacs_settings_task_ports.{key}"] = port
    by_port: dict[int, list[str]] = {}
    for variable, port in named_ports.items():
        by_port.setdefault(port, []).append(variable)
    for port, variables in sorted(by_port.items()):
        if len(variables) > 1:
            names = " and ".join(_name(v, sources) for v in variables)
            problems.append(f"{names} must be distinct ports (one network namespace) but are all {port}")

    # Dicoogle.
    version = inputs.get("pacs_settings_dicoogle_version")
    if not isinstance(version, str) or not _VERSION.match(version):
        complain("pacs_settings_dicoogle_version", f"must be a release number x.y.z (e.g. 3.5.1), got {version!r}")
    for variable in (
        "pacs_settings_dicoogle_images_dir",
        "pacs_settings_dicoogle_index_dir",
        "pacs_settings_orthanc_storage_dir",
        "pacs_settings_orthanc_index_dir",
    ):
        value = inputs.get(variable)
        if variable in inputs and (not isinstance(value, str) or not value.startswith("/")):
            complain(variable, f"must be an absolute path inside the engine's container, got {value!r}")
    sop_classes = inputs.get("pacs_settings_dicoogle_sop_classes") or []
    if engine == "dicoogle" and not sop_classes:
        complain(
            "pacs_settings_dicoogle_sop_classes",
            "must list at least one storage SOP class (Dicoogle's storage SCP accepts only the listed ones)",
        )
    for index, sop in enumerate(sop_classes):
        uid = sop.get("uid") if isinstance(sop, Mapping) else None
        rule = uid_problem(uid)
        if rule:
            complain(f"pacs_settings_dicoogle_sop_classes[{index}].uid", f"{rule}, got {uid!r}")
        for ts_index, ts in enumerate((sop.get("transfer_syntaxes") or []) if isinstance(sop, Mapping) else []):
            rule = uid_problem(ts)
            if rule:
                where = f"pacs_settings_dicoogle_sop_classes[{index}].transfer_syntaxes[{ts_index}]"
                complain(where, f"{rule}, got {ts!r}")
    for variable in (
        "pacs_settings_dicoogle_default_ts",
        "pacs_settings_dicoogle_qr_sop_classes",
        "pacs_settings_dicoogle_qr_transfer_capabilities",
    ):
        values = inputs.get(variable) or []
        if engine == "dicoogle" and not values:
            complain(variable, "must not be empty")
        for index, uid in enumerate(values):
            rule = uid_problem(uid)
            if rule:
                complain(f"{variable}[{index}]", f"{rule}, got {uid!r}")

    # nginx.
    size = inputs.get("pacs_settings_nginx_client_max_body_size")
    if not _NGINX_SIZE.match(str(size)):
        complain("pacs_settings_nginx_client_max_body_size", f"must be an nginx size such as 64m, got {size!r}")
    timeout = inputs.get("pacs_settings_nginx_proxy_read_timeout")
    if not _NGINX_TIME.match(str(timeout)):
        complain("pacs_settings_nginx_proxy_read_timeout", f"must be an nginx time such as 300s, got {timeout!r}")
    for variable in (
        "pacs_settings_nginx_tls_certificate",
        "pacs_settings_nginx_tls_certificate_key",
        "pacs_settings_nginx_config_dir",
        "pacs_settings_nginx_run_dir",
    ):
        value = inputs.get(variable)
        if not isinstance(value, str) or not value.startswith("/") or re.search(r"[\s;{}'\"]", value):
            complain(variable, f"must be an absolute path without spaces, quotes, ';' or braces, got {value!r}")
    for index, name in enumerate(inputs.get("pacs_settings_nginx_server_names") or []):
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9*._-]{1,253}$", name):
            complain(f"pacs_settings_nginx_server_names[{index}]", f"must be a host name, got {name!r}")
    ciphers = inputs.get("pacs_settings_nginx_ssl_ciphers")
    if not isinstance(ciphers, Sequence) or isinstance(ciphers, str) or not ciphers:
        complain("pacs_settings_nginx_ssl_ciphers", "must be a non-empty list of OpenSSL cipher names")
        ciphers = []
    for index, cipher in enumerate(ciphers):
        if not isinstance(cipher, str) or not re.match(r"^[A-Za-z0-9_-]+$", cipher):
            complain(f"pacs_settings_nginx_ssl_ciphers[{index}]", f"must be an OpenSSL cipher name, got {cipher!r}")
        elif "GCM" not in cipher and "POLY1305" not in cipher:
            complain(f"pacs_settings_nginx_ssl_ciphers[{index}]", f"must be an AEAD suite, got {cipher!r}")
    for variable in ("pacs_settings_nginx_hsts", "pacs_settings_nginx_basic_auth_realm"):
        value = inputs.get(variable)
        if not isinstance(value, str) or not value or re.search(r"[\"\\;{}\x00-\x1f]", value):
            complain(variable, f"must be a non-empty string without quotes, backslashes, ';' or braces, got {value!r}")

    # Users: names only ever reach this function, with the names of users
    # whose password is empty.
    for users_variable, enabled_variable in (
        ("pacs_settings_admin_users", "pacs_settings_nginx_basic_auth"),
        ("pacs_settings_orthanc_registered_users", "pacs_settings_orthanc_authentication_enabled"),
    ):
        names = list(inputs.get(f"{users_variable}__names") or [])
        enabled = _as_bool(inputs.get(enabled_variable, False))
        if enabled and not names and (users_variable == "pacs_settings_admin_users" or engine == "orthanc"):
            complain(users_variable, f"must list at least one user when {enabled_variable} is true")
        for index, name in enumerate(names):
            if not isinstance(name, str) or not _HTPASSWD_NAME.match(name):
                complain(f"{users_variable}[{index}].name", f"must be 1-255 characters, no ':' or space, got {name!r}")
        if len(set(names)) != len(names):
            complain(users_variable, "must not list a user name twice")
        for name in inputs.get(f"{users_variable}__without_password") or []:
            complain(users_variable, f"has an empty password for user {name!r}")
    seed = inputs.get("pacs_settings_htpasswd_salt_seed")
    if not isinstance(seed, str) or not seed:
        complain("pacs_settings_htpasswd_salt_seed", "must be a non-empty string")
    value = inputs.get("pacs_settings_htpasswd_rounds")
    rounds = _as_port(value)
    if rounds is None or not 1000 <= rounds <= 999_999_999:
        complain("pacs_settings_htpasswd_rounds", f"must be a whole number 1000-999999999, got {value!r}")

    return problems


def pacs_settings_orthanc_modalities(
    callers, destinations, caller_address="127.0.0.1", caller_port=104, allow_any_caller=False
) -> dict:
    """Orthanc's DicomModalities, keyed by AE title.

    A caller gets echo, store, find and move (never get, worklist or storage
    commitment); a move destination that never calls gets no rights at all.
    A caller that is also a destination keeps the destination's address.
    """
    rights = ("AllowEcho", "AllowStore", "AllowFind", "AllowMove")
    denied = ("AllowGet", "AllowFindWorklist", "AllowStorageCommitment")
    caller_set = set(callers or [])
    modalities: dict[str, dict] = {}
    for destination in destinations or []:
        aet = destination["aetitle"]
        may_call = aet in caller_set or _as_bool(allow_any_caller)
        entry = {"AET": aet, "Host": destination["address"], "Port": _as_port(destination["port"])}
        entry.update(dict.fromkeys(rights, may_call))
        entry.update(dict.fromkeys(denied, False))
        modalities[aet] = entry
    for aet in callers or []:
        if aet in modalities:
            continue
        entry = {"AET": aet, "Host": caller_address, "Port": _as_port(caller_port)}
        entry.update(dict.fromkeys(rights, True))
        entry.update(dict.fromkeys(denied, False))
        modalities[aet] = entry
    return modalities


_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sha512_groups():
    # The byte order of the SHA-512 variant: rotating triples over 0..62,
    # then byte 63 on its own.
    groups = []
    a, b, c = 0, 21, 42
    for _ in range(21):
        groups.append((a, b, c))
        a, b, c = (b + 1) % 63, (c + 1) % 63, (a + 1) % 63
    return groups


def _b64_triplet(b2: int, b1: int, b0: int, count: int) -> str:
    word = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(count):
        out.append(_CRYPT_ALPHABET[word & 0x3F])
        word >>= 6
    return "".join(out)


def _repeat_to(block: bytes, length: int) -> bytes:
    whole, rest = divmod(length, len(block))
    return block * whole + block[:rest]


def pacs_settings_sha512_crypt(password, salt, rounds=5000) -> str:
    """SHA-512 crypt of password with the given salt (up to 16 of [./0-9A-Za-z])."""
    if not isinstance(password, str) or not password:
        raise ValueError("pacs_settings_sha512_crypt needs a non-empty password")
    salt = str(salt)[:16]
    if not _CRYPT_SALT.match(salt):
        raise ValueError("pacs_settings_sha512_crypt needs a salt of 1-16 characters from [./0-9A-Za-z]")
    rounds = int(rounds)
    if not 1000 <= rounds <= 999_999_999:
        raise ValueError("pacs_settings_sha512_crypt needs 1000-999999999 rounds")
    key = password.encode("utf-8")
    salt_bytes = salt.encode("ascii")

    alternate = hashlib.sha512(key + salt_bytes + key).digest()
    first = hashlib.sha512(key + salt_bytes)
    first.update(_repeat_to(alternate, len(key)))
    length = len(key)
    while length:
        first.update(alternate if length & 1 else key)
        length >>= 1
    digest = first.digest()

    key_sequence = _repeat_to(hashlib.sha512(key * len(key)).digest(), len(key))
    salt_sequence = _repeat_to(hashlib.sha512(salt_bytes * (16 + digest[0])).digest(), len(salt_bytes))

    for round_number in range(rounds):
        step = hashlib.sha512()
        step.update(key_sequence if round_number & 1 else digest)
        if round_number % 3:
            step.update(salt_sequence)
        if round_number % 7:
            step.update(key_sequence)
        step.update(digest if round_number & 1 else key_sequence)
        digest = step.digest()

    encoded = "".join(_b64_triplet(digest[a], digest[b], digest[c], 4) for a, b, c in _sha512_groups())
    encoded += _b64_triplet(0, 0, digest[63], 2)
    prefix = "$6$" if rounds == 5000 else f"$6$rounds={rounds}$"
    return f"{prefix}{salt}${encoded}"


_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def pacs_settings_dicoogle_bcrypt(password, salt_seed, rounds=10) -> str:
    """Dicoogle's users.xml hash of password: bcrypt ($2b$), as Dicoogle checks it.

    Dicoogle runs a password longer than bcrypt's 72 bytes through SHA-512 first (the raw 64-byte
    digest is then hashed). The 16 salt bytes are the first of SHA-256(salt_seed), so the same
    password and seed give the same hash (an unchanged users file on a rerun).
    """
    import base64

    import bcrypt

    secret = str(password).encode("utf-8")
    if len(secret) > 72:
        secret = hashlib.sha512(secret).digest()
    salt = base64.b64encode(hashlib.sha256(str(salt_seed).encode("utf-8")).digest()[:16]).decode("ascii")[:22]
    salt = salt.translate(str.maketrans(_BASE64_ALPHABET, _BCRYPT_ALPHABET))
    return bcrypt.hashpw(secret, f"$2b${int(rounds):02d}${salt}".encode("ascii")).decode("ascii")


class FilterModule:
    """The role's filters."""

    def filters(self):
        return {
            "pacs_settings_problems": pacs_settings_problems,
            "pacs_settings_orthanc_modalities": pacs_settings_orthanc_modalities,
            "pacs_settings_sha512_crypt": pacs_settings_sha512_crypt,
            "pacs_settings_dicoogle_bcrypt": pacs_settings_dicoogle_bcrypt,
        }
