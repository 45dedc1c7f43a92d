"""Content-Security-Policy values for the HTML pages the service serves.

A page's own inline scripts and styles are allowed by their SHA-256 hash, the scripts and style sheets it links by
their exact URL; everything else is refused unless a directive says otherwise.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Nothing loads, posts, frames or rebases a page unless its policy says so.
BASELINE = {"default-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'none'"],
            "frame-ancestors": ["'none'"]}


def inline_source(text: str) -> str:
    """The source expression allowing one inline `<script>` or `<style>` whose content is exactly `text`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(**directives: Iterable[str]) -> str:
    """`BASELINE` with `directives` (`script_src=[…]` for script-src) added or replacing its own."""
    merged = {**BASELINE, **{name.replace("_", "-"): list(values) for name, values in directives.items()}}
    return "; ".join(" ".join([name, *values]) for name, values in merged.items())


@dataclass
class PageAssets:
    """What an HTML page runs and loads: inline scripts and styles, linked scripts and style sheets."""

    inline_scripts: list[str] = field(default_factory=list)
    inline_styles: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    stylesheets: list[str] = field(default_factory=list)


class _AssetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.assets = PageAssets()
        self._inline: list[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.assets.scripts.append(attributes["src"] or "")
        elif tag in ("script", "style"):
            self._inline = self.assets.inline_scripts if tag == "script" else self.assets.inline_styles
            self._text = []
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or "").split() and attributes.get("href"):
            self.assets.stylesheets.append(attributes["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._inline is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._inline is not None:
            self._inline.append("".join(self._text))
            self._inline = None


def page_assets(html: str) -> PageAssets:
    parser = _AssetParser()
    parser.feed(html)
    parser.close()
    return parser.assets
