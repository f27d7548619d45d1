"""Safe HTML from templates shipped in the package.

Pages are :class:`string.Template` files in ``templates/`` (``$name`` placeholders).
Every value put into a template is escaped unless it is already :class:`Html`, markup
this package built itself: a name or a note typed anywhere (another device's segment
included) is shown, never run. That is the whole of the template engine: no
dependency, nothing to compile, nothing that can forget to escape.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from functools import cache
from importlib import resources
from string import Template
from typing import Any


class Html(str):
    """Markup that is safe as it is (built here from escaped parts)."""

    __slots__ = ()


def escape(value: Any) -> Html:
    """Return ``value`` as safe markup: escaped, unless it is :class:`Html` already."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any], separator: str = "") -> Html:
    """Return the parts escaped (unless safe) and joined."""
    return Html(separator.join(escape(part) for part in parts))


def attributes(**values: Any) -> Html:
    """Return HTML attributes (``data_x`` → ``data-x``); None and False leave one out,
    True writes it bare."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        parts.append(key if value is True else f'{key}="{escape(value)}"')
    return Html(" ".join(parts))


@cache
def template(name: str) -> Template:
    """Return the template ``templates/NAME`` (read once)."""
    text = resources.files("coffeechat.web").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def render(template_name: str, /, **values: Any) -> Html:
    """Fill the template ``template_name`` with ``values``, each escaped unless it is
    :class:`Html`."""
    filled = template(template_name).substitute({k: escape(v) for k, v in values.items()})
    return Html(filled)


def tag(name: str, content: Any = "", **values: Any) -> Html:
    """Return ``<name attributes>content</name>`` (content escaped unless safe)."""
    opening = f"{name} {attributes(**values)}".rstrip()
    return Html(f"<{opening}>{escape(content)}</{name}>")
