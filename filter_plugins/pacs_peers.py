"""The DICOM peers of a deployment (group_vars/all/peers.yml: pacs_peers), and
everything derived from them.

A peer is a DICOM application entity outside the PACS task: a modality, a
workstation, another site's router, a C-MOVE destination. The list is the one
source of truth; these filters turn it into what each part of the deployment
reads, so that adding, changing or removing a peer is one edit:

  pacs_peers_problems(peers, ctx)  why the list cannot be applied: a list of
                      "pacs_peers[<name>].<field> ..." messages (empty: fine)
  pacs_peers_derive(peers, ctx)    allowed_aets (the PACS's calling AE titles),
                      move_destinations (the engine's, each through its own
                      tunnel in the task), edge {storage, query} (the
                      certificate identities each DIMSE TLS port lets in),
                      move_tunnels (the task's TLS clients), pki_leaves (one
                      certificate per peer), hosts (managed hosts that play a
                      peer: their groups and network aliases), peers (each
                      peer with its defaults filled in)
  pacs_peers_plan(desired, applied)  added / changed / removed names, and the
                      removed or re-identified peers whose certificates must
                      be revoked
  pacs_peers_host(peers, host, groups)  the peer a managed host plays
  pacs_peers_bundle(peer, ctx)     the onboarding bundle's peer.json and README

ctx carries the globals the derivation needs: pacs_aet, task_ports (the
task's own ports, which a tunnel may not take), default_forward_port and
default_move_container (the destination whose tunnel keeps the task's
historic container name ghostunnel-move), default_validity_days (the PKI's
default: a peer with that lifetime gets no per-leaf override), reserved_names
and reserved_identities (the PKI leaves that are not peers), max_move_tunnels
(ECS: ten containers per task), target.
"""

from __future__ import annotations

import datetime
import importlib.util
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# The project's module_utils/pacs_checks.py (the AE title and port checks the modules and the other filters
# share), by its path: a filter cannot import it as ansible.module_utils.pacs_checks (see that file).
_spec = importlib.util.spec_from_file_location(
    "pacs_checks", Path(__file__).resolve().parent / "../module_utils/pacs_checks.py"
)
pacs_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pacs_checks)
ae_title_problem = pacs_checks.ae_title_problem
port_number = pacs_checks.port_number

ROLES = ("store-scu", "query-scu", "move-destination")
CALLING_ROLES = ("store-scu", "query-scu")
FIELDS = (
    "name",
    "ae_title",
    "roles",
    "identity",
    "host",
    "port",
    "forward_port",
    "dns_names",
    "description",
    "inventory_host",
    "validity_days",
)
_DESTINATION_FIELDS = ("host", "port", "forward_port", "dns_names")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
# A certificate's common name: what the edge's policy and the PKI take as is.
_IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _label(peer, index):
    name = peer.get("name") if isinstance(peer, Mapping) else None
    return str(name) if isinstance(name, str) and name else f"#{index}"


def _normalise(peer, ctx):
    """The peer with its defaults: identity = name, roles as a list, ports as
    ints, dns_names as a list, description = name."""
    roles = peer.get("roles")
    if isinstance(roles, str):
        roles = [roles]
    result = {
        "name": peer.get("name"),
        "ae_title": peer.get("ae_title"),
        "roles": list(roles or []),
        "identity": peer.get("identity") or peer.get("name"),
        "description": peer.get("description") or peer.get("name"),
        "inventory_host": peer.get("inventory_host") or "",
        "validity_days": int(peer.get("validity_days") or ctx.get("peer_validity_days") or 0) or None,
    }
    if "move-destination" in result["roles"]:
        result.update(
            host=peer.get("host"),
            port=port_number(peer.get("port")),
            forward_port=port_number(peer.get("forward_port")),
            dns_names=list(peer.get("dns_names") or []),
        )
    return result


def pacs_peers_problems(peers, ctx=None):
    """Every reason the list cannot be applied, each naming the peer and the
    field (pacs_peers[<name>].<field>): checked before anything changes."""
    ctx = dict(ctx or {})
    problems = []

    def complain(label, field, rule):
        where = f"pacs_peers[{label}]" + (f".{field}" if field else "")
        problems.append(f"{where} {rule}")

    if not isinstance(peers, Sequence) or isinstance(peers, (str, bytes)):
        return ["pacs_peers must be a list of peers (dicts with name, ae_title, roles)"]
    reserved_names = set(ctx.get("reserved_names") or ())
    reserved_identities = set(ctx.get("reserved_identities") or ())
    # The task's own ports; move_forward is the default destination's tunnel.
    task_ports = {port_number(p) for k, p in (ctx.get("task_ports") or {}).items() if k != "move_forward"} - {None}
    pacs_aet = ctx.get("pacs_aet")
    names, aets, identities, forward_ports, hosts = {}, {}, {}, {}, {}
    callers = 0
    destinations = 0
    for index, peer in enumerate(peers):
        label = _label(peer, index)
        if not isinstance(peer, Mapping):
            complain(label, "", "must be a dict with name, ae_title and roles")
            continue
        unknown = sorted(set(peer) - set(FIELDS))
        if unknown:
            complain(label, unknown[0], f"is not a peer field (known: {', '.join(FIELDS)})")
        name = peer.get("name")
        if not isinstance(name, str) or not _DNS_LABEL.match(name):
            complain(label, "name", f"must be a DNS label (a-z, 0-9 and '-', 1-63 characters), got {name!r}")
        elif name in reserved_names:
            complain(label, "name", f"{name!r} is the name of one of the deployment's own certificates")
        elif name in names:
            complain(label, "name", f"repeats peer {names[name]}")
        else:
            names[name] = f"#{index}"

        aet = peer.get("ae_title")
        rule = ae_title_problem(aet)
        if rule:
            complain(label, "ae_title", f"{rule}, got {aet!r}")
        else:
            key = aet.upper()  # Orthanc compares AE titles without case (StrictAetComparison false)
            if pacs_aet and key == str(pacs_aet).upper():
                complain(label, "ae_title", f"{aet!r} is the PACS's own AE title (pacs_aet)")
            elif key in aets:
                complain(label, "ae_title", f"{aet!r} repeats the AE title of peer {aets[key]}")
            else:
                aets[key] = label

        roles = peer.get("roles")
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, Sequence) or not roles:
            complain(label, "roles", f"must list one or more of {', '.join(ROLES)}")
            roles = []
        else:
            bad = [r for r in roles if r not in ROLES]
            if bad:
                complain(label, "roles", f"has {bad[0]!r}: a role is one of {', '.join(ROLES)}")
            if len(set(roles)) != len(roles):
                complain(label, "roles", "repeats a role")
        if any(r in CALLING_ROLES for r in roles):
            callers += 1

        identity = peer.get("identity") or name
        if identity is not None:
            if not isinstance(identity, str) or not _IDENTITY.match(identity):
                rule = "must be a certificate common name (letters, digits, '.', '_', '-')"
                complain(label, "identity", f"{rule}, got {identity!r}")
            elif identity in reserved_identities:
                complain(label, "identity", f"{identity!r} is the identity of the deployment's own service")
            elif identity in identities:
                complain(label, "identity", f"{identity!r} is also the identity of peer {identities[identity]}")
            else:
                identities[identity] = label

        if "move-destination" in roles:
            destinations += 1
            host = peer.get("host")
            if host in (None, ""):
                complain(label, "host", "is required for a move-destination (the name its TLS port is reached by)")
            elif not isinstance(host, str) or not _HOST_NAME.match(host):
                complain(label, "host", f"must be a host name, got {host!r}")
            elif host.lower() in hosts:
                complain(label, "host", f"{host!r} is also the host of peer {hosts[host.lower()]}")
            else:
                hosts[host.lower()] = label
            for field in ("port", "forward_port"):
                value = peer.get(field)
                if value in (None, ""):
                    what = "its TLS port" if field == "port" else "the task's loopback port for its tunnel"
                    complain(label, field, f"is required for a move-destination ({what})")
                elif port_number(value) is None:
                    complain(label, field, f"must be a port 1-65535, got {value!r}")
            forward = port_number(peer.get("forward_port"))
            if forward is not None:
                if forward in task_ports:
                    complain(label, "forward_port", f"{forward} is one of the task's own ports")
                elif forward in forward_ports:
                    other = forward_ports[forward]
                    complain(label, "forward_port", f"{forward} is also the tunnel port of peer {other}")
                else:
                    forward_ports[forward] = label
            dns_names = peer.get("dns_names")
            if dns_names is not None and (
                not isinstance(dns_names, Sequence)
                or isinstance(dns_names, str)
                or not all(isinstance(n, str) and _HOST_NAME.match(n) for n in dns_names)
            ):
                complain(label, "dns_names", "must be a list of host names")
        else:
            for field in _DESTINATION_FIELDS:
                if peer.get(field) not in (None, "", []):
                    complain(label, field, "is only for a move-destination (the peer's roles do not include it)")

        validity = peer.get("validity_days")
        if validity is not None and (isinstance(validity, bool) or port_number(validity) is None):
            complain(label, "validity_days", f"must be a whole number of days, got {validity!r}")
        inventory_host = peer.get("inventory_host")
        if inventory_host not in (None, "") and not (
            isinstance(inventory_host, str) and _HOST_NAME.match(inventory_host)
        ):
            complain(label, "inventory_host", f"must be an inventory host name, got {inventory_host!r}")
        description = peer.get("description")
        if description is not None and (not isinstance(description, str) or any(c in description for c in '<>&"\n')):
            complain(label, "description", "must be one line of text without <, >, & or quotes")

    if peers and not callers:
        problems.append(
            "pacs_peers must have at least one store-scu or query-scu peer "
            "(Dicoogle lets every caller in when its allowed list is empty)"
        )
    if not peers:
        problems.append("pacs_peers must not be empty (no peer could store, query or receive)")
    limit = ctx.get("max_move_tunnels")
    if limit and ctx.get("target") == "aws" and destinations > int(limit):
        problems.append(
            f"pacs_peers has {destinations} move-destinations, more than the {limit} tunnels an ECS task has room for"
        )
    return problems


def pacs_peers_derive(peers, ctx=None):
    """What each part of the deployment reads, from the list (valid: call
    pacs_peers_problems first)."""
    ctx = dict(ctx or {})
    normal = [_normalise(p, ctx) for p in peers or []]
    default_forward = port_number(ctx.get("default_forward_port"))
    default_validity = int(ctx.get("default_validity_days") or 0)
    allowed, destinations, tunnels, leaves, hosts = [], [], [], [], {}
    edge = {"storage": [], "query": []}
    for peer in normal:
        roles = peer["roles"]
        if any(r in CALLING_ROLES for r in roles):
            allowed.append(peer["ae_title"])
        if "store-scu" in roles:
            edge["storage"].append(peer["identity"])
        if "query-scu" in roles:
            edge["query"].append(peer["identity"])
        usages = []
        dns_names = []
        if any(r in CALLING_ROLES for r in roles):
            usages.append("clientAuth")
        if "move-destination" in roles:
            usages.append("serverAuth")
            dns_names = list(dict.fromkeys([peer["host"], *peer["dns_names"]]))
            destinations.append(
                {
                    "aetitle": peer["ae_title"],
                    "address": "127.0.0.1",
                    "port": peer["forward_port"],
                    "description": f"{peer['description']} {peer['host']}:{peer['port']} through the task's TLS tunnel",
                    "public": False,
                }
            )
            default = peer["forward_port"] == default_forward
            tunnels.append(
                {
                    "container": "ghostunnel-move" if default else f"ghostunnel-move-{peer['name']}",
                    "listen": peer["forward_port"],
                    "host": peer["host"],
                    "port": peer["port"],
                    "cn": peer["identity"],
                    "peer": peer["name"],
                }
            )
        leaf = {"name": peer["name"], "common_name": peer["identity"], "dns_names": dns_names, "usages": usages}
        if peer["validity_days"] and peer["validity_days"] != default_validity:
            leaf["validity_days"] = peer["validity_days"]
        leaves.append(leaf)
        if peer["inventory_host"]:
            groups = []
            if any(r in CALLING_ROLES for r in roles):
                groups.append("dicom_clients")
            if "move-destination" in roles:
                groups.append("dicom_storage_nodes")
            aliases = [n for n in dns_names if n != "localhost"]
            hosts[peer["inventory_host"]] = {"peer": peer["name"], "groups": groups, "aliases": aliases}
    # The tunnel that keeps the historic name first, the others in list order.
    tunnels.sort(key=lambda t: t["container"] != "ghostunnel-move")
    return {
        "peers": normal,
        "allowed_aets": allowed,
        "move_destinations": destinations,
        "edge": edge,
        "move_tunnels": tunnels,
        "pki_leaves": leaves,
        "hosts": hosts,
    }


def _summary(peer):
    """What the record keeps of an applied peer: enough to tell a change and
    to find its certificate when it goes."""
    keys = ("name", "ae_title", "roles", "identity", "host", "port", "forward_port")
    return {k: peer.get(k) for k in keys if peer.get(k) not in (None, "", [])}


def pacs_peers_plan(desired, applied):
    """added / changed / unchanged / removed peer names, and `revoke`: the
    applied peers whose certificate goes (removed, or given another
    identity: the old certificate must not keep working). `applied` is the
    record's list of summaries (None on the first run: nothing to remove)."""
    want = {p["name"]: _summary(p) for p in desired or []}
    have = {p["name"]: p for p in applied or []}
    added = [n for n in want if n not in have]
    removed = [n for n in have if n not in want]
    changed = [n for n in want if n in have and want[n] != have[n]]
    unchanged = [n for n in want if n in have and want[n] == have[n]]
    reidentified = [n for n in changed if want[n].get("identity") != have[n].get("identity")]
    return {
        "added": added,
        "changed": changed,
        "unchanged": unchanged,
        "removed": removed,
        "revoke": removed + reidentified,
        "applied": [want[n] for n in want],
    }


def pacs_peers_host(peers, host, groups=()):
    """The name of the peer a managed host plays: the one naming it as
    inventory_host, else the first calling peer for a DICOM client and the
    first destination for a storage node (the inventories' static hosts)."""
    normal = [_normalise(p, {}) for p in peers or []]
    for peer in normal:
        if peer["inventory_host"] == host:
            return peer["name"]
    wanted = "move-destination" if "dicom_storage_nodes" in (groups or ()) else None
    for peer in normal:
        if peer["inventory_host"]:
            continue
        if wanted and wanted in peer["roles"]:
            return peer["name"]
        if not wanted and any(r in CALLING_ROLES for r in peer["roles"]):
            return peer["name"]
    return ""


def pacs_peers_revoked_serials(revoked, now_epoch=None):
    """The decimal serials of the record's revoked certificates still within
    their lifetime (a certificate past not_after is refused by TLS anyway)."""
    serials = []
    for entry in revoked or []:
        if now_epoch is not None and int(entry.get("not_after_epoch") or 0) <= int(now_epoch):
            continue
        serials.append(str(entry["serial"]))
    return sorted(set(serials), key=lambda s: (len(s), s))


def pacs_peers_revoked_entry(item):
    """A revoked list entry from (peer name, serial, not_after, subject) as
    x509_certificate_info gives them (not_after: ASN.1 time, 20271231235959Z)."""
    name, serial, not_after, subject = item
    expiry = datetime.datetime.strptime(str(not_after), "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.UTC)
    return {
        "name": name,
        "identity": (subject or {}).get("commonName", ""),
        "serial": str(int(serial)),
        "not_after": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after_epoch": int(expiry.timestamp()),
    }


def pacs_peers_bundle(peer, ctx):
    """The onboarding bundle's peer.json (a dict) and README.txt (text) for
    one peer: the endpoint, its ports by role, the AE titles on both sides,
    and ready dcmtk command lines. Nothing of any other peer."""
    ctx = dict(ctx or {})
    endpoint = ctx["endpoint"]
    ports = {"storage": int(ctx["storage_port"]), "query": int(ctx["query_port"])}
    pacs_aet = ctx["pacs_aet"]
    roles = peer["roles"]
    info = {
        "peer": peer["name"],
        "identity": peer["identity"],
        "roles": roles,
        "endpoint": endpoint,
        "ports": {},
        "calling_ae_title": peer["ae_title"],
        "called_ae_title": pacs_aet,
        "files": {"ca": "ca.pem", "certificate": "cert.pem", "private_key": "key.pem"},
    }
    tls = "+tls key.pem cert.pem +cf ca.pem"
    lines = [
        f"Onboarding bundle for DICOM peer {peer['name']} of PACS deployment {ctx.get('deployment', '')}",
        "",
        f"Certificate identity (CN): {peer['identity']}",
        f"Configure the device with calling AE title {peer['ae_title']} and called AE title {pacs_aet}.",
        f"The PACS's DICOM TLS endpoint: {endpoint}",
        "ca.pem is the deployment's CA; cert.pem and key.pem are this peer's certificate and private key",
        "(keep key.pem secret: mode 0600). The certificate expires at the date in peer.json; the PACS",
        "team sends a new bundle before then.",
        "",
    ]
    if "store-scu" in roles:
        info["ports"]["storage"] = ports["storage"]
        lines += [
            f"C-STORE (and C-ECHO) to {endpoint}:{ports['storage']}, for example:",
            f"  echoscu {tls} -aet {peer['ae_title']} -aec {pacs_aet} {endpoint} {ports['storage']}",
            f"  storescu {tls} -aet {peer['ae_title']} -aec {pacs_aet} {endpoint} {ports['storage']} FILE.dcm",
            "",
        ]
    if "query-scu" in roles:
        info["ports"]["query"] = ports["query"]
        lines += [
            f"C-FIND and C-MOVE (and C-ECHO) to {endpoint}:{ports['query']}, for example:",
            f"  echoscu {tls} -aet {peer['ae_title']} -aec {pacs_aet} {endpoint} {ports['query']}",
            f"  findscu {tls} -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID -aet {peer['ae_title']} "
            f"-aec {pacs_aet} {endpoint} {ports['query']}",
            "",
        ]
    if "move-destination" in roles:
        info["move_destination"] = {
            "ae_title": peer["ae_title"],
            "listen": f"{peer['host']}:{peer['port']}",
            "pacs_identity": ctx["pacs_identity"],
        }
        lines += [
            f"C-MOVE destination: the PACS connects with TLS to {peer['host']}:{peer['port']} and calls",
            f"AE title {peer['ae_title']}; it presents a certificate with CN {ctx['pacs_identity']} issued by ca.pem",
            "and checks this peer's certificate (its name must match). For example, a receiver with dcmtk:",
            f"  storescp {tls} -aet {peer['ae_title']} {peer['port']}",
            "  (dcmtk checks that the caller's certificate is issued by ca.pem, not its CN: let only",
            f"   {ctx['pacs_identity']} in with a TLS front that checks the name, as ghostunnel --allow-cn does)",
            "",
        ]
    return {"peer": info, "readme": "\n".join(lines)}


class FilterModule:
    def filters(self):
        return {
            "pacs_peers_problems": pacs_peers_problems,
            "pacs_peers_derive": pacs_peers_derive,
            "pacs_peers_plan": pacs_peers_plan,
            "pacs_peers_host": pacs_peers_host,
            "pacs_peers_revoked_serials": pacs_peers_revoked_serials,
            "pacs_peers_revoked_entry": pacs_peers_revoked_entry,
            "pacs_peers_bundle": pacs_peers_bundle,
        }
