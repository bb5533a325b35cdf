"""The pages gpukit writes as a reader and a browser see them: their elements, their text, any
markup in them that would run or load something, and what Chromium does when it opens them."""

from __future__ import annotations

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gpukit.safe_html import scheme

# Elements that run code, load from elsewhere, send data or change how links resolve.
ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "link",
               "base", "form"}


class ParsedPage(HTMLParser):
    """Every element (tag, attributes, whether it is in <head>) and the text a reader sees."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], bool]] = []
        self.style_text: list[str] = []
        self.text: list[str] = []
        self._in_head = self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._in_head |= tag == "head"
        self._in_style = tag == "style"
        self.elements.append((tag, {name: value or "" for name, value in attrs}, self._in_head))

    def handle_endtag(self, tag):
        self._in_head &= tag != "head"
        self._in_style &= tag != "style"

    def handle_data(self, data):
        (self.style_text if self._in_style else self.text).append(data)

    def shown(self) -> str:
        """The page's text, whitespace collapsed (markup a student wrote shows as text)."""
        return " ".join("".join(self.text).split())

    def head(self) -> list[tuple[str, dict[str, str]]]:
        """The elements in <head>, <head> itself first."""
        return [(tag, attributes) for tag, attributes, in_head in self.elements if in_head]


def live_markup(page: ParsedPage) -> list[str]:
    """What in ``page`` would run a script or load something when a browser opens it."""
    problems = []
    for tag, attributes, in_head in page.elements:
        where = f"<{tag} {attributes}>"
        if tag in ACTIVE_TAGS:
            problems.append(f"active element {where}")
        if tag == "style" and not in_head:
            problems.append(f"style in the body {where}")
        if tag == "meta" and attributes.get("http-equiv", "").lower() not in (
                "", "content-security-policy"):
            problems.append(f"meta directive {where}")
        problems += [f"event handler {where}" for name in attributes if name.startswith("on")]
        for name in ("href", "src", "action", "formaction", "data", "xlink:href"):
            url = attributes.get(name)
            if url is None:
                continue
            if name == "src" and scheme(url) != "data":
                problems.append(f"a load from elsewhere {where}")
            if scheme(url) not in ("", "http", "https", "mailto", "data") or (
                    scheme(url) == "data" and tag != "img"):
                problems.append(f"a {scheme(url)}: URL {where}")
    return problems


def chromium() -> str:
    """Debian's Chromium, which Playwright drives; CI must have it, elsewhere the test skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium not found (Debian package chromium; scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def open_in_chromium(*pages: Path) -> list[dict[str, list[str]]]:
    """Open each page in Chromium; for each, what it did: the dialogs it opened (alert), the
    requests it made beyond local files and data URIs, those its Content-Security-Policy
    refused, console errors, script errors, and its text as shown."""
    from playwright.sync_api import sync_playwright

    seen = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        for page in pages:
            events: dict[str, list[str]] = {"dialogs": [], "requests": [], "blocked": [],
                                            "console": [], "errors": []}
            tab = browser.new_page()
            tab.on("dialog", lambda dialog, events=events: (
                events["dialogs"].append(dialog.message), dialog.dismiss()))
            tab.on("request", lambda request, events=events: events["requests"].append(
                request.url) if _remote(request.url) else None)
            tab.on("requestfailed", lambda request, events=events: events["blocked"].append(
                request.url) if _remote(request.url) and request.failure == "csp" else None)
            tab.on("console", lambda message, events=events: events["console"].append(
                message.text) if message.type == "error" else None)
            tab.on("pageerror", lambda error, events=events: events["errors"].append(str(error)))
            tab.goto(page.as_uri(), wait_until="load")
            events["text"] = [tab.inner_text("body")]
            tab.close()
            seen.append(events)
        browser.close()
    return seen


def _remote(url: str) -> bool:
    return not url.startswith(("file:", "data:"))
