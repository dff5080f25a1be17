"""The TRaSH Guides quality profiles mediastack offers, by name, with their ``trash_id``.

Read from recyclarr/config-templates, branch v8 (commit 71d7cee, 2026-04-28):
``sonarr/templates/web-1080p.yml``, ``web-2160p.yml``; ``radarr/templates/hd-bluray-web.yml``,
``uhd-bluray-web.yml``, ``remux-web-1080p.yml``, ``remux-web-2160p.yml`` (each template's
``quality_profiles: - trash_id:``). The names are the guide's own. Anime and the language
variants are left out: they need another ``quality_definition`` type or language groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SERIES_PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "WEB-1080p": "72dae194fc92bf828f32cde7744e51a1",
        "WEB-2160p": "d1498e7d189fbe6c7110ceaabb7473e6",
    }
)

MOVIE_PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "HD Bluray + WEB": "d1d67249d3890e49bc12e275d989a7e9",
        "UHD Bluray + WEB": "64fb5f9858489bdac2af690e27c8f42f",
        "Remux + WEB 1080p": "9ca12ea80aa55ef916e3751f4b874151",
        "Remux + WEB 2160p": "fd161a61e3ab826d3a22d53f935696dd",
    }
)
