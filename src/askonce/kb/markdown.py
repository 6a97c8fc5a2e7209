"""Markdown to safe HTML: markdown-it-py renders, nh3 sanitizes, before anything reaches a page.

Authors may write raw HTML (a <details> block, a <kbd>): the sanitizer, not the parser, decides
what survives, so `<script>`, event handlers and `javascript:` links never do.
"""

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin

# Bump when the renderer or the allow-list changes: cached revisions are then rendered again.
RENDERER_VERSION = 1

_TAGS = {
    *("h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre", "code"),
    *("ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td"),
    *("a", "img", "em", "strong", "del", "s", "kbd", "sup", "sub", "mark", "details", "summary"),
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
}
_SCHEMES = {"http", "https", "mailto"}
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": True, "typographer": False})
        .enable(["table", "strikethrough"])
        .use(anchors_plugin, min_level=1, max_level=4, permalink=True, permalinkSymbol="#")
    )


def render_markdown(source: str) -> str:
    """Sanitized HTML for a Markdown text. Never raises: any input renders to something."""
    raw = _parser().render(source or "")
    return nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        # Only code-language classes survive (for highlighting); no layout-breaking classes.
        attribute_filter=_keep_attribute,
        filter_style_properties={"text-align"},
    )


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        return value if tag == "code" and re.fullmatch(r"language-[\w+-]{1,30}", value) else None
    return value


def markdown_to_text(source: str) -> str:
    """The readable text of a Markdown document, for the search index and snippets."""
    text = nh3.clean(render_markdown(source), tags=set())
    text = html.unescape(text).replace("#", " ")
    return _SPACES.sub(" ", text).strip()
