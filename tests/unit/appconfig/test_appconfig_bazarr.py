"""Bazarr's config.yaml: only our keys merged in, everything Bazarr wrote kept."""

from __future__ import annotations

import pytest
import yaml

from mediastack.appconfig.bazarr import ArrLink, BazarrSettings, bazarr_config
from mediastack.appconfig.errors import ForeignFileError

SETTINGS = BazarrSettings(
    api_key="bazarrkey", sonarr=ArrLink(8989, "sonarrkey"), radarr=ArrLink(7878, "radarrkey")
)
# The shape Bazarr (v1.5, dynaconf) writes: sections of settings; a user's choices in them.
BAZARR_WRITTEN = """\
auth:
  apikey: generated-by-bazarr
  type: form
  username: me
general:
  ip: '*'
  port: 6767
  use_sonarr: false
  theme: dark
sonarr:
  ip: 127.0.0.1
  port: 8989
  base_url: /
  apikey: ''
  only_monitored: true
plex: {}
"""


def test_our_keys_are_set() -> None:
    document = yaml.safe_load(bazarr_config(SETTINGS, None))
    assert document == {
        "auth": {"apikey": "bazarrkey"},
        "general": {"use_sonarr": True, "use_radarr": True},
        "sonarr": {"ip": "127.0.0.1", "port": 8989, "base_url": "/", "apikey": "sonarrkey"},
        "radarr": {"ip": "127.0.0.1", "port": 7878, "base_url": "/", "apikey": "radarrkey"},
    }


def test_everything_else_bazarr_or_the_user_wrote_is_kept() -> None:
    document = yaml.safe_load(bazarr_config(SETTINGS, BAZARR_WRITTEN))
    assert document["auth"] == {"apikey": "bazarrkey", "type": "form", "username": "me"}
    assert document["general"]["theme"] == "dark"
    assert document["general"]["ip"] == "*"
    assert document["sonarr"]["only_monitored"] is True
    assert document["sonarr"]["apikey"] == "sonarrkey"
    assert document["plex"] == {}


def test_an_app_not_enabled_is_switched_off_and_its_section_left_alone() -> None:
    settings = BazarrSettings(api_key="bazarrkey", sonarr=None, radarr=ArrLink(7878, "r"))
    document = yaml.safe_load(bazarr_config(settings, BAZARR_WRITTEN))
    assert document["general"]["use_sonarr"] is False
    assert document["sonarr"]["apikey"] == ""


def test_generating_twice_gives_the_same_bytes() -> None:
    first = bazarr_config(SETTINGS, BAZARR_WRITTEN)
    assert bazarr_config(SETTINGS, first) is first
    assert bazarr_config(SETTINGS, BAZARR_WRITTEN) == first


def test_a_file_that_is_not_a_mapping_is_left_alone() -> None:
    with pytest.raises(ForeignFileError, match="not valid YAML"):
        bazarr_config(SETTINGS, "auth: [broken\n")
    with pytest.raises(ForeignFileError, match="not a YAML mapping"):
        bazarr_config(SETTINGS, "- a list\n")
