"""The report in a real browser (headless Chromium) at a desktop width and a phone width:
no element sticks out of its box, nothing makes the page scroll sideways.

A probe script (added to a copy of the page; the report itself has no script) walks every
element after load and records those whose right edge passes their parent's content box
or the window, unless an ancestor scrolls sideways on purpose (the wide tables'
``.scroll`` wrapper). The result is read back from the DOM (``--dump-dom``).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_report import CHROMIUM, CHROMIUM_FLAGS

PROBE = """<script>addEventListener("load", () => {
  const bad = [];
  const scrolls = el => { for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === "auto" || o === "scroll") return true; }
    return false; };
  for (const el of document.body.querySelectorAll("*")) {
    if (el.tagName === "SCRIPT" || scrolls(el)) continue;
    const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
    const ps = getComputedStyle(el.parentElement);
    const right = p.right - parseFloat(ps.paddingRight) - parseFloat(ps.borderRightWidth);
    if (r.width > 0 && (r.right > right + 1 || r.right > innerWidth + 1 || r.left < -1))
      bad.push(el.tagName + (el.id ? "#" + el.id : "") + " " + Math.round(r.left) + "-" +
               Math.round(r.right) + " in " + Math.round(p.left) + "-" + Math.round(right));
  }
  const page = document.documentElement.scrollWidth;
  const flow = document.getElementById("attrition-diagram"), f = flow && flow.getBoundingClientRect();
  const boxes = flow ? [...flow.querySelectorAll("text")].filter(t => {
      const b = t.getBoundingClientRect(), r = t.parentElement.querySelector("rect").getBoundingClientRect();
      return b.right > r.right + 0.5 || b.left < r.left - 0.5; }).length : -1;
  parent.postMessage(JSON.stringify(
    {width: innerWidth, scroll: page, bad: bad.slice(0, 30), count: bad.length,
     flow: f ? [f.left, f.right, f.height] : null, flow_text_outside: boxes}), "*");
});</script>"""

#: Headless Chromium keeps its window at least 500 px wide: a phone's width is given to the
#: report by an iframe of that width, and the probe's answer comes back by postMessage.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{src}" style="width:{width}px;height:900px;border:0"></iframe>
<script>addEventListener("message", e => document.body.setAttribute("data-overflow", e.data))
</script></body></html>"""


def _probe(report: Path, tmp_path: Path, width: int) -> dict:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): "
                    "apt-get install -y chromium")
    page = tmp_path / f"probe-{width}.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    frame = tmp_path / f"frame-{width}.html"
    frame.write_text(FRAME.format(src=page.name, width=width), encoding="utf-8")
    done = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                           "--window-size=1500,1000", "--virtual-time-budget=10000",
                           "--dump-dom", frame.as_uri()],
                          capture_output=True, timeout=240, check=True)
    found = re.search(r'data-overflow="([^"]*)"', done.stdout.decode("utf-8"))
    assert found, done.stdout[:300]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 390])
def test_no_element_of_the_report_overflows_its_box(demo_report, tmp_path, width):
    seen = _probe(demo_report, tmp_path, width)   # the page at that window width
    assert seen["width"] == width
    assert seen["count"] == 0, "\n".join(seen["bad"])
    assert seen["scroll"] <= width, f"page scrolls sideways: {seen['scroll']} px wide"
    left, right, height = seen["flow"]                 # the patient-flow diagram is drawn
    assert 0 <= left < right <= width and height > 100
    assert seen["flow_text_outside"] == 0               # every line stays in its box


def test_report_declares_a_viewport_for_phones(demo_report):
    head = demo_report.read_text(encoding="utf-8").split("</head>", 1)[0]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in head
