"""library/pacs_settings_digest.py: the settings' digest without the DICOM peers.

The engine and nginx of the PACS task are labelled with it: a new caller or move destination must not
change it (the engine is told through its API, a restart would drop every open association), any other
setting must.
"""

from __future__ import annotations

import json

from tests.support.plugins import load_plugin

digest = load_plugin("library/pacs_settings_digest.py", "pacs_settings_digest")

SERVER_XML = """<config>
    <dicom-services>
        <aetitle>DICOOGLE-STORAGE</aetitle>
        <allowed-aetitles>{callers}</allowed-aetitles>
        <storage port="6666"/>
    </dicom-services>
    <move-destinations>
        {destinations}
    </move-destinations>
</config>
"""
DESTINATION = '<move-destination aetitle="{aet}" address="127.0.0.1" port="{port}" public="false"/>'


def write(folder, callers="DCMTK-CLIENT", destinations=(("STORAGE-NODE", 17777),), storage_port=6666, modalities=None):
    (folder / "confs").mkdir(exist_ok=True)
    xml = SERVER_XML.format(
        callers=callers, destinations="\n        ".join(DESTINATION.format(aet=a, port=p) for a, p in destinations)
    ).replace('port="6666"', f'port="{storage_port}"')
    (folder / "confs" / "server.xml").write_text(xml)
    (folder / "orthanc.json").write_text(
        json.dumps({"DicomAet": "DICOOGLE-STORAGE", "DicomModalities": modalities or {"DCMTK-CLIENT": {}}}, indent=2)
    )
    (folder / "nginx.conf").write_text("server {}\n")
    return digest.settings_digest(str(folder))


def test_new_peers_leave_the_digest_alone_other_settings_do_not(tmp_path):
    base, files, peer_parts = write(tmp_path)
    assert files == 3 and sorted(peer_parts) == ["confs/server.xml", "orthanc.json"]
    more = write(
        tmp_path,
        callers="DCMTK-CLIENT</allowed-aetitles><allowed-aetitles>MODALITY-1",
        destinations=(("STORAGE-NODE", 17777), ("MODALITY-1", 17778)),
        modalities={"DCMTK-CLIENT": {}, "MODALITY-1": {"Port": 17778}},
    )[0]
    assert more == base
    assert write(tmp_path, storage_port=6667)[0] != base
    (tmp_path / "nginx.conf").write_text("server { listen 1; }\n")
    assert digest.settings_digest(str(tmp_path))[0] != base


def test_a_file_without_peer_parts_counts_whole(tmp_path):
    (tmp_path / "plain.json").write_text('{"a": 1}')
    first = digest.settings_digest(str(tmp_path))
    assert first[2] == []
    (tmp_path / "plain.json").write_text('{"a": 2}')
    assert digest.settings_digest(str(tmp_path))[0] != first[0]
