"""Newznab/Torznab both ways: the indexer test Sonarr and Radarr run, and the feed Prowlarr
serves.

Client side, Sonarr v4.0.19.2979 ``src/NzbDrone.Core/Indexers/``: ``Torznab/Torznab.cs`` and
``Newznab/Newznab.cs`` ``Test`` (``HttpIndexerBase.TestConnection`` first: the first RSS
request must parse and hold at least one release, else "Query successful, but no results in
the configured categories..."; then ``TestCapabilities``: ``search`` supporting ``q``, or
``tv-search`` with q/tvdbid/rid plus season and ep), ``Newznab/NewznabCapabilitiesProvider.cs``
(``{baseUrl without trailing /}{apiPath without trailing /}?t=caps&apikey=...``),
``Newznab/NewznabRssParser.cs`` (an ``<error code>`` of 100..199 is an invalid API key).
Radarr v6.0.3.10276 asks ``t=movie`` and accepts ``movie-search`` with q/imdbid/tmdbid.

Server side, Prowlarr v2.3.5.5323 ``src/Prowlarr.Api.V1/Indexers/NewznabController.cs``:
``/{id}/api`` and ``/api/v1/indexer/{id}/newznab``; no ``t``: 400 error XML 200 "Missing
parameter (t)"; id 0 is the test indexer (caps with every standard category; any search gives
one "Test Release"); an unknown id is 404; unknown ``t``: error 202 "No such function".
Simplified: the caps list a few top-level categories, not Newznab's full tree; a seeded
indexer answers searches with one release too (the lab has no real trackers).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from typing import Any
from xml.sax.saxutils import escape

from .schema import Failures, matches, not_empty
from .web import failure

TIMEOUT_SECONDS = 15
CATEGORIES = ((2000, "Movies"), (3000, "Audio"), (5000, "TV"), (7000, "Books"),
              (8000, "Other"))
CHILD_CATEGORIES = {2000: (2010, 2020, 2030, 2040, 2045, 2050, 2060),
                    5000: (5010, 5020, 5030, 5040, 5045, 5050, 5070, 5080, 5090)}


def validate(settings: dict[str, Any], *, anime: bool) -> Failures:
    """NewznabSettingsValidator / TorznabSettingsValidator."""
    problems: Failures = []
    if not settings.get("categories") and not (anime and settings.get("animeCategories")):
        message = ("Either 'Categories' or 'Anime Categories' must be provided" if anime
                   else "'Categories' must not be empty.")
        problems.append(failure("", message))
    base_url = settings.get("baseUrl")
    problems += not_empty("BaseUrl", base_url)
    if not (isinstance(base_url, str) and base_url.lower().startswith(("http://", "https://"))
            and urllib.parse.urlsplit(base_url).netloc):
        problems.append(failure("BaseUrl", "must be valid URL that starts with http(s)://",
                                attempted=base_url))
    problems += matches("ApiPath", settings.get("apiPath"), r"^(?!\/?https?://[-_a-z0-9.]+)",
                        "Must be a valid URL path (ie: '/api')", flags=2)
    extra = settings.get("additionalParameters")
    if extra and extra.strip():
        problems += matches("AdditionalParameters", extra, r"(&.+?\=.+?)+",
                            "The specified condition was not met for 'Additional "
                            "Parameters'.")
    return problems


def run_test(settings: dict[str, Any], *, search_type: str) -> Failures:
    """Return the test failures for an indexer pointing at ``baseUrl`` + ``apiPath``."""
    base = str(settings["baseUrl"]).rstrip("/") + str(settings.get("apiPath") or "").rstrip("/")
    key = settings.get("apiKey") or ""
    categories = ",".join(str(item) for item in settings.get("categories") or [])
    try:
        caps = _fetch(f"{base}?t=caps" + (f"&apikey={urllib.parse.quote(key)}" if key else ""))
        query = {"t": search_type, "cat": categories, "extended": "1", "apikey": key,
                 "offset": "0", "limit": "100"}
        feed = _fetch(f"{base}?{urllib.parse.urlencode(query)}")
    except InvalidApiKey:
        return [failure("ApiKey", "Invalid API Key")]
    except Exception as error:
        return [failure("", f"Unable to connect to indexer: {error}. Check the log "
                            f"surrounding this error for details")]
    if not feed.findall("./channel/item"):
        return [failure("", "Query successful, but no results in the configured categories "
                            "were returned from your indexer. This may be an issue with the "
                            "indexer or your indexer category settings.")]
    if not _supports_search(caps, search_type):
        return [failure("", "Indexer does not support required search parameters")]
    return []


class InvalidApiKey(Exception):
    """ApiKeyException: the indexer answered an error code 100..199."""


def _fetch(url: str) -> ElementTree.Element:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        text = error.read()
        if not text.strip().startswith(b"<"):
            raise
    root = ElementTree.fromstring(text)
    if root.tag == "error":
        code = int(root.get("code") or 0)
        if 100 <= code <= 199:
            raise InvalidApiKey(root.get("description"))
        raise RuntimeError(f"Indexer API call resulted in an unexpected StatusCode "
                           f"[{code}]: {root.get('description')}")
    return root


def _supports_search(caps: ElementTree.Element, search_type: str) -> bool:
    def params(tag: str) -> set[str]:
        found = caps.find(f"./searching/{tag}")
        if found is None or found.get("available") != "yes":
            return set()
        return set((found.get("supportedParams") or "q").split(","))

    if "q" in params("search"):
        return True
    if search_type == "movie":
        return bool(params("movie-search") & {"q", "imdbid", "tmdbid"})
    tv = params("tv-search")
    return bool(tv & {"q", "tvdbid", "rid"}) and {"season", "ep"} <= tv


def caps_xml() -> bytes:
    """The caps Prowlarr answers for its test indexer (id 0)."""
    categories = "".join(
        f'<category id="{number}" name="{name}">'
        + "".join(f'<subcat id="{child}" name="{name}/{child}"/>'
                  for child in CHILD_CATEGORIES.get(number, ()))
        + "</category>"
        for number, name in CATEGORIES
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><caps>'
        '<server title="Prowlarr"/><limits default="100" max="100"/>'
        '<searching><search available="yes" supportedParams="q"/>'
        '<tv-search available="yes" supportedParams="q,season,ep"/>'
        '<movie-search available="yes" supportedParams="q"/>'
        '<music-search available="yes" supportedParams="q"/>'
        '<audio-search available="yes" supportedParams="q"/>'
        '<book-search available="yes" supportedParams="q"/></searching>'
        f"<categories>{categories}</categories></caps>"
    ).encode()


def results_xml(title: str) -> bytes:
    """A Newznab RSS feed with one release."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:newznab="http://www.newznab.com/DTD/2010/feeds/attributes/">'
        f"<channel><title>Prowlarr</title><item><title>{escape(title)}</title>"
        "<guid>https://prowlarr.com</guid><link>https://prowlarr.com</link>"
        "<pubDate>Mon, 01 Jan 2024 00:00:00 +0000</pubDate>"
        '<enclosure url="https://prowlarr.com" length="0" type="application/x-nzb"/>'
        '<newznab:attr name="category" value="5000"/>'
        "</item></channel></rss>"
    ).encode()


def error_xml(code: int, description: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><error code="{code}" '
            f'description="{escape(description)}"/>').encode()
