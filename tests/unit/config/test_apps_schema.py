"""The `apps` section: the choices written into the apps' config files, checked up front."""

from __future__ import annotations

import pytest

from mediastack.config import ConfigError, parse_config
from mediastack.config.reference import reference_rows


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_defaults_are_the_trash_guides_usual_profiles_and_english() -> None:
    apps = parse_config("").apps
    assert apps.recyclarr.series_profiles == ["WEB-1080p"]
    assert apps.recyclarr.movie_profiles == ["HD Bluray + WEB"]
    assert apps.bazarr.languages == ["en"]


def test_known_profiles_are_accepted_and_empty_means_none() -> None:
    apps = parse_config(
        "apps: {recyclarr: {series_profiles: [WEB-2160p, WEB-1080p], movie_profiles: []}}\n"
    ).apps
    assert apps.recyclarr.series_profiles == ["WEB-2160p", "WEB-1080p"]
    assert apps.recyclarr.movie_profiles == []


def test_an_unknown_profile_is_named_with_the_closest_known_one() -> None:
    problems = problems_of("apps: {recyclarr: {movie_profiles: [HD Bluray + Web]}}\n")
    message = problems["apps.recyclarr.movie_profiles"]
    assert "unknown TRaSH profile 'HD Bluray + Web'" in message
    assert "did you mean 'HD Bluray + WEB'?" in message


def test_series_profiles_are_not_movie_profiles() -> None:
    problems = problems_of("apps: {recyclarr: {series_profiles: [HD Bluray + WEB]}}\n")
    assert "known: WEB-1080p, WEB-2160p" in problems["apps.recyclarr.series_profiles"]


def test_bad_languages_duplicates_and_typos_are_reported_together() -> None:
    problems = problems_of(
        "apps:\n"
        "  recyclarr: {series_profiles: [WEB-1080p, WEB-1080p]}\n"
        "  bazarr: {languages: [eng]}\n"
        "  bazar: {}\n"
    )
    assert problems["apps.recyclarr.series_profiles"] == "a profile is listed twice"
    assert "'eng' is not a two-letter" in problems["apps.bazarr.languages"]
    assert "apps.bazar" in problems


def test_every_apps_key_is_in_the_reference() -> None:
    rows = {row.path: row for row in reference_rows()}
    for key in ("apps.recyclarr.series_profiles", "apps.recyclarr.movie_profiles"):
        assert rows[key].description
    assert rows["apps.bazarr.languages"].default == "[en]"
