"""A reading of the status page with html.parser: sections, zones, services, text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset({"meta", "link", "br", "img", "input", "hr"})


@dataclass
class _Open:
    tag: str
    attributes: dict[str, str]


@dataclass
class PageReading(HTMLParser):
    """What a browser would show: text per section id, each service's zone, the scripts'
    and styles' sources (``external``: any src/href to elsewhere)."""

    sections: dict[str, str] = field(default_factory=dict)
    zone_of: dict[str, str] = field(default_factory=dict)
    external: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    _stack: list[_Open] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append(tag)
        self.external += [attributes[name] for name in ("src", "href") if name in attributes]
        if tag == "section":
            self.sections[attributes.get("id", "")] = ""
        service = attributes.get("data-service")
        if service is not None:
            self.zone_of[service] = self._zone()
        if tag not in VOID_ELEMENTS:
            self._stack.append(_Open(tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in reversed(self._stack):
            if element.tag == "section":
                name = element.attributes.get("id", "")
                self.sections[name] += data
                return

    def _zone(self) -> str:
        for element in reversed(self._stack):
            classes = element.attributes.get("class", "").split()
            if "zone" in classes:
                return next(name for name in classes if name != "zone")
        return ""


def read_page(html: str) -> PageReading:
    reading = PageReading()
    reading.feed(html)
    reading.close()
    return reading
