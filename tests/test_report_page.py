"""The report page is typed parts rendered by a Jinja2 template with autoescape on: text
from anywhere is escaped, and a section is one dataclass plus one partial."""
from __future__ import annotations

from html.parser import HTMLParser

from harmonise.analysis.page import Cell, Page, Paragraph, Row, Section, Table, Tables
from harmonise.analysis.render import render_page

HOSTILE = '<script>alert("x")</script>'


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _page(*sections: Section) -> Page:
    return Page(title=HOSTILE, lead="lead", meta=(("Key", HOSTILE),), sections=sections)


def test_every_text_of_a_page_is_escaped_whatever_part_holds_it():
    table = Table.build("t-1", [Cell("code", title=HOSTILE, sub=HOSTILE)],
                        [Row.section(HOSTILE), [Cell(HOSTILE, css="ok")], [None],
                         [Cell(HOSTILE, code=True)]], caption=HOSTILE)
    html = render_page(_page(Section("s1", HOSTILE, HOSTILE, "tables",
                                     Tables((Paragraph(HOSTILE, strong=HOSTILE), table)))))
    parser = Tags()
    parser.feed(html)
    assert [t for t, _ in parser.tags if t == "script"] == []
    assert html.count("&lt;script&gt;") >= 9
    assert "\u2013" in html                              # a missing cell shows an en dash


def test_sections_render_in_order_with_their_ids_and_navigation():
    blocks = Tables((Paragraph("first"),))
    html = render_page(_page(Section("alpha", "Alpha", "A", "tables", blocks),
                             Section("beta", "Beta", "B", "tables", blocks)))
    parser = Tags()
    parser.feed(html)
    ids = [a["id"] for t, a in parser.tags if t == "section"]
    links = [a["href"] for t, a in parser.tags if t == "a"]
    assert ids == ["alpha", "beta"] and links == ["#alpha", "#beta"]
