"""``apps``: the choices mediastack writes into the apps' own config files before they start.

Kept apart from ``schema.py`` so the app-config generators own their part of the schema.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mediastack.appconfig.trash_profiles import MOVIE_PROFILES, SERIES_PROFILES


class _StrictModel(BaseModel):
    """Same rules as ``schema.StrictModel`` (which imports this module, so not shared)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_profiles(names: list[str], known: Mapping[str, str]) -> list[str]:
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ValueError(f"unknown TRaSH profile '{name}'; {hint}known: {', '.join(known)}")
    if len(set(names)) != len(names):
        raise ValueError("a profile is listed twice")
    return names


class Recyclarr(_StrictModel):
    """Recyclarr syncs these TRaSH Guides quality profiles into Sonarr and Radarr daily."""

    series_profiles: list[str] = Field(
        default_factory=lambda: ["WEB-1080p"],
        description="TRaSH quality profiles for Sonarr, by their guide names: "
        f"{', '.join(SERIES_PROFILES)}. Empty: recyclarr leaves Sonarr alone.",
    )
    movie_profiles: list[str] = Field(
        default_factory=lambda: ["HD Bluray + WEB"],
        description="TRaSH quality profiles for Radarr, by their guide names: "
        f"{', '.join(MOVIE_PROFILES)}. Empty: recyclarr leaves Radarr alone.",
    )

    @field_validator("series_profiles")
    @classmethod
    def _known_series(cls, value: list[str]) -> list[str]:
        return _known_profiles(value, SERIES_PROFILES)

    @field_validator("movie_profiles")
    @classmethod
    def _known_movies(cls, value: list[str]) -> list[str]:
        return _known_profiles(value, MOVIE_PROFILES)


class Bazarr(_StrictModel):
    """Bazarr: which subtitles to look for."""

    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        min_length=1,
        description="Subtitle languages as two-letter ISO 639-1 codes (e.g. en, de, fr), in "
        "order of preference, for Bazarr's default language profile.",
    )

    @field_validator("languages")
    @classmethod
    def _two_letter_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if len(code) != 2 or not code.isascii() or not code.isalpha() or not code.islower():
                raise ValueError(f"'{code}' is not a two-letter lowercase code such as en")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value


class Apps(_StrictModel):
    """Settings written into the apps' own config files (`render`), before their first start."""

    recyclarr: Recyclarr = Field(default_factory=Recyclarr, description="Recyclarr.")
    bazarr: Bazarr = Field(default_factory=Bazarr, description="Bazarr.")
