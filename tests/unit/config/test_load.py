"""A user's config: defaults, every problem at once with its path and fix, nothing touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediastack.config import ConfigError, load_config, parse_config
from mediastack.config.reference import commented_yaml, reference_markdown, reference_rows


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return {problem.path: f"{problem.message} | {problem.fix}" for problem in caught.value.problems}


def test_empty_file_gives_the_documented_defaults() -> None:
    config = parse_config("")
    assert config.network.name == "homelab_media_network"
    assert config.identity.umask == "002"
    assert config.supervisor.gluetun_healthy_timeout_seconds == 300
    assert config.supervisor.max_cascades_per_hour == 5
    assert config.supervisor.loop_pause_seconds == 3600
    assert config.media_server == "plex"


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    problems = problems_of(
        """
identity: {puid: abc, timezone: Mars/Base}
vpn: {typ: wireguard}
services:
  sonar: {enabled: true}
  qbittorrent: {image: "foo:1", tag: x, ports: {web: 80}}
  radarr: {ports: {webui: 99999}}
"""
    )
    assert set(problems) == {
        "identity.puid",
        "identity.timezone",
        "vpn.typ",
        "services.sonar",
        "services.qbittorrent",
        "services.qbittorrent.ports.web",
        "services.radarr.ports",
    }
    assert "did you mean 'type'" in problems["vpn.typ"]
    assert "did you mean 'sonarr'" in problems["services.sonar"]
    assert "use one of: webui" in problems["services.qbittorrent.ports.web"]
    assert "whole number" in problems["identity.puid"]


def test_gluetun_cannot_be_switched_off() -> None:
    problems = problems_of("services: {gluetun: {enabled: false}}")
    assert "namespace" in problems["services.gluetun.enabled"]


def test_broken_yaml_names_the_line() -> None:
    problems = problems_of("name: x\nservices: [unclosed\n")
    assert "line" in problems[""]


def test_a_list_instead_of_a_mapping_is_refused() -> None:
    assert "mapping" in problems_of("- a\n- b\n")[""]


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "mediastack.yaml")
    assert "mediastack init" in caught.value.problems[0].fix


def test_relative_folders_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "mediastack.yaml"
    path.write_text("folders: {data: /srv/data, config: appdata}\n")
    loaded = load_config(path)
    assert loaded.data_folder == Path("/srv/data")
    assert loaded.config_folder == tmp_path.resolve() / "appdata"


def test_media_server_choice_enables_exactly_one_by_default(tmp_path: Path) -> None:
    path = tmp_path / "mediastack.yaml"
    path.write_text("media_server: jellyfin\n")
    names = {definition.name for definition in load_config(path).enabled_services()}
    assert "jellyfin" in names
    assert "plex" not in names


def test_commented_yaml_round_trips_and_documents_every_key() -> None:
    config = parse_config("services: {sonarr: {tag: '4.0'}}\nvpn: {server_countries: [NL]}\n")
    text = commented_yaml(config)
    assert parse_config(text) == config
    assert "# Holds torrents/ and media/" in text


def test_reference_covers_every_leaf_key_with_a_description() -> None:
    rows = list(reference_rows())
    paths = {row.path for row in rows}
    assert {"identity.puid", "vpn.api_key_variable", "services.<name>.tag"} <= paths
    assert all(row.description for row in rows)
    assert "`supervisor.max_cascades_per_hour`" in reference_markdown()
