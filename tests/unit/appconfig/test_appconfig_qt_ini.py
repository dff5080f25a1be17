"""Qt INI edits: only our lines change, the app's own lines stay byte for byte."""

from __future__ import annotations

import pytest

from mediastack.appconfig import qt_ini

APP_FILE = (
    "[BitTorrent]\n"
    "Session\\Port=6881\n"
    "\n"
    "[Preferences]\n"
    "; a comment the app ignores\n"
    "WebUI\\Port=1234\n"
    "WebUI\\Address=127.0.0.1\n"
)


def test_an_existing_key_is_replaced_in_place_and_the_rest_kept() -> None:
    edited = qt_ini.set_values(APP_FILE, {("Preferences", "WebUI\\Port"): "8080"})
    assert edited == APP_FILE.replace("WebUI\\Port=1234", "WebUI\\Port=8080")


def test_a_missing_key_goes_to_the_end_of_its_section() -> None:
    edited = qt_ini.set_values(APP_FILE, {("BitTorrent", "Session\\DefaultSavePath"): "/data"})
    assert edited.startswith("[BitTorrent]\nSession\\Port=6881\nSession\\DefaultSavePath=/data\n\n")


def test_a_missing_section_is_appended_after_a_blank_line() -> None:
    edited = qt_ini.set_values(APP_FILE, {("LegalNotice", "Accepted"): "true"})
    assert edited == APP_FILE + "\n[LegalNotice]\nAccepted=true\n"


def test_values_already_set_give_the_text_back_unchanged() -> None:
    text = APP_FILE.replace("\n", "\n", 1) + "\n\n"  # trailing blank lines, as written
    assert qt_ini.set_values(text, {("Preferences", "WebUI\\Port"): "1234"}) is text


def test_read_value_finds_a_key_only_in_its_section() -> None:
    assert qt_ini.read_value(APP_FILE, "Preferences", "WebUI\\Port") == "1234"
    assert qt_ini.read_value(APP_FILE, "BitTorrent", "WebUI\\Port") is None


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("admin", "admin"),
        ("/data/torrents", "/data/torrents"),
        ("my user", '"my user"'),
        ('a,b="c"\\d', '"a,b=\\"c\\"\\\\d"'),
        ("@ByteArray(x)", '"@ByteArray(x)"'),
    ],
)
def test_strings_are_quoted_as_qt_reads_them(value: str, written: str) -> None:
    assert qt_ini.quote_string(value) == written


@pytest.mark.parametrize("value", ["zoë", "tab\there", "line\nbreak"])
def test_strings_qt_would_escape_differently_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        qt_ini.quote_string(value)
