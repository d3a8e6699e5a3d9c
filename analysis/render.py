"""Render a :class:`analysis.page.Page` to HTML through the Jinja2 templates of
``analysis/templates/`` (autoescape on, undefined names are errors)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from harmonise.analysis.attrition import Diagram
from harmonise.analysis.page import Page

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's template environment (package templates, HTML autoescape)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)


def render_page(page: Page, template: str = "report.html.j2") -> str:
    """The whole HTML page."""
    return environment().get_template(template).render(page=page)


def render_svg(diagram: Diagram) -> str:
    """A diagram as a standalone SVG file (the same template as the page's inline one)."""
    return environment().get_template("attrition.svg.j2").render(d=diagram, standalone=True)
