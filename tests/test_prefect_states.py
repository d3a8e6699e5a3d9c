"""What Prefect's API shows of a good night and a failed night (a real server on loopback).

Night 1 (good): site_a has one row with age 15 (quarantined). Night 2 (failed): site_a's
export is corrected (the finding is resolved), site_b's workbook is damaged (that center
fails), site_c is unchanged. Both nights run through the real CLI against the session's
Prefect server; the tests read task and flow states, logs and artifacts back from its API.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harmonise.flows.artifacts import QUALITY_KEY, SUMMARY_KEY
from harmonise.flows.settings import DEMO_INBOX
from tests.prefect_server import BIN

pytestmark = pytest.mark.slow
TASKS = {"prepare", "ingest-site_a", "ingest-site_b", "ingest-site_c", "refresh-views", "freeze",
         "publish", "artifacts", "report"}


def _set_age(path, row: int, age: str) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[row][rows[0].index("Age")] = age
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _night(server, home, inbox) -> tuple[subprocess.CompletedProcess, dict]:
    before = {r["id"] for r in server.post("/flow_runs/filter")}
    done = subprocess.run([str(BIN / "harmonise"), "run", "--demo", "--inbox", str(inbox)],
                          env=server.env(HARMONISE_HOME=str(home)), capture_output=True, text=True,
                          timeout=600)
    runs = [r for r in server.post("/flow_runs/filter") if r["id"] not in before]
    assert len(runs) == 1, (done.stdout, done.stderr)
    return done, runs[0]


AUTOMATION = Path(__file__).parents[1] / "docs" / "prefect" / "nightly-failed-automation.yaml"
BLOCK = """
import sys
from prefect.blocks.notifications import CustomWebhookNotificationBlock as Hook
hook = Hook(name="harmonise-test", url=sys.argv[1], method="POST", allow_private_urls=True,
            json_data={"text": "{{subject}} | {{body}}"})
print(hook.save("harmonise-test-alerts", overwrite=True))
"""


@pytest.fixture(scope="module")
def alerts(prefect_server, tmp_path_factory):
    """The documented automation, pointed at a webhook listening here: the alerts it receives."""
    import http.server
    import threading
    received: list[str] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    listener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    env = prefect_server.env()
    url = f"http://127.0.0.1:{listener.server_address[1]}/alert"
    block_id = subprocess.run([str(BIN / "python"), "-c", BLOCK, url], env=env, capture_output=True,
                              text=True, timeout=120, check=True).stdout.strip().splitlines()[-1]
    spec = tmp_path_factory.mktemp("automation") / "automation.yaml"
    spec.write_text(AUTOMATION.read_text(encoding="utf-8").replace("REPLACE-WITH-YOUR-BLOCK-ID", block_id),
                    encoding="utf-8")
    subprocess.run([str(BIN / "prefect"), "automation", "create", "--from-file", str(spec)], env=env,
                   capture_output=True, text=True, timeout=120, check=True)
    yield received
    listener.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def nights(prefect_server, alerts, tmp_path_factory):
    root = tmp_path_factory.mktemp("nights")
    inbox, home = root / "inbox", root / "home"
    shutil.copytree(DEMO_INBOX, inbox)
    patients = inbox / "site_a" / "site_a_patients.csv"
    original_age = list(csv.reader(patients.open(encoding="utf-8")))[3][4]
    _set_age(patients, 3, "15")
    good = _night(prefect_server, home, inbox)
    _set_age(patients, 3, original_age)
    (inbox / "site_b" / "site_b_export.xlsx").write_bytes(b"this is not an Excel workbook")
    failed = _night(prefect_server, home, inbox)
    return {"good": good, "failed": failed, "home": home}


def _tasks(server, flow_run) -> dict[str, str]:
    runs = server.post("/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run["id"]]}}})
    return {r["name"]: r["state_type"] for r in runs}


def _artifacts(server, flow_run) -> dict[str, dict]:
    found = server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [flow_run["id"]]}}})
    return {a["key"]: a for a in found}


def test_a_good_night_completes_every_task_under_its_stable_name(nights, prefect_server):
    done, run = nights["good"]
    assert done.returncode == 0, done.stderr
    assert run["state_type"] == "COMPLETED" and run["name"].startswith("nightly-")
    assert _tasks(prefect_server, run) == {name: "COMPLETED" for name in TASKS}


def test_a_failed_center_fails_its_task_and_the_flow_while_the_others_load(nights, prefect_server):
    done, run = nights["failed"]
    assert done.returncode == 1
    assert run["state_type"] == "FAILED"
    assert "1 of 3 centers failed (site_b)" in run["state"]["message"]
    tasks = _tasks(prefect_server, run)
    assert tasks == {**{name: "COMPLETED" for name in TASKS}, "ingest-site_b": "FAILED"}
    assert "site_b failed" in done.stderr and "site_b failed" not in done.stdout
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"      # not a terminal: plain timestamped lines
    assert re.search(rf"^{stamp} ✓ site_a: \d+ patients loaded", done.stdout, re.M)
    assert re.search(rf"^{stamp} ✗ site_b failed", done.stderr, re.M)


def test_the_documented_automation_alerts_on_the_failed_night_only(nights, alerts):
    from tests.prefect_server import wait_for
    _, failed = nights["failed"]
    wait_for(lambda: alerts, 120, "the alert of the failed night")
    assert len(alerts) == 1, alerts
    assert failed["name"] in alerts[0] and "Failed" in alerts[0] and "site_b" in alerts[0]


def test_the_run_logger_sends_one_line_per_center_to_prefect(nights, prefect_server):
    _, run = nights["failed"]
    logs = prefect_server.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}}})
    messages = [(log["level"], log["message"]) for log in logs]
    assert any(level == 40 and "✗ site_b failed" in text and "site_b_export.xlsx" in text
               for level, text in messages)
    assert any(level == 20 and "site_a: " in text and "patients loaded" in text for level, text in messages)
    assert any(level == 20 and "site_c: unchanged since the last load" in text for level, text in messages)


def test_each_run_publishes_a_summary_table_and_the_quality_changes_under_stable_keys(nights, prefect_server):
    for night in ("good", "failed"):
        found = _artifacts(prefect_server, nights[night][1])
        assert set(found) == {SUMMARY_KEY, QUALITY_KEY}
        assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in found)
        assert (found[SUMMARY_KEY]["type"], found[QUALITY_KEY]["type"]) == ("table", "markdown")
    failed = _artifacts(prefect_server, nights["failed"][1])
    summary = {row["center"]: row for row in json.loads(failed[SUMMARY_KEY]["data"])}
    assert {c: r["status"] for c, r in summary.items()} == {
        "site_a": "loaded", "site_b": "failed", "site_c": "skipped"}
    assert summary["site_c"]["patients"] == 11 and summary["site_a"]["rows quarantined"] == 0
    good = _artifacts(prefect_server, nights["good"][1])
    assert "| new | patient | Age (age_years) | at_least |" in good[QUALITY_KEY]["data"]
    assert "| resolved | patient | Age (age_years) | at_least |" in failed[QUALITY_KEY]["data"]
    history = prefect_server.post("/artifacts/filter", {"artifacts": {"key": {"any_": [SUMMARY_KEY]}}})
    assert len(history) >= 2   # the UI keeps every version under the one key


def test_each_run_writes_its_own_timestamped_log_file_under_the_home(nights):
    logs = sorted((nights["home"] / "logs").glob("*.log"))
    assert len(logs) == 2
    failed = logs[-1].read_text(encoding="utf-8").splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (INFO|ERROR|WARNING) ", line)
               for line in failed if not line.startswith("  "))
    assert any("ingest-site_b | ✗ site_b failed" in line for line in failed)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOC_IMAGES = {"good": "prefect-good-night.png", "failed": "prefect-failed-night.png"}


def _chromium(url: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}",
                           "--window-size=1440,1000", "--virtual-time-budget=25000", *args, url],
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("night", ["good", "failed"])
def test_the_prefect_ui_shows_the_night_and_a_screenshot_is_taken(nights, prefect_server, night,
                                                                  tmp_path):
    """docs/operations.md's screenshots: HARMONISE_DOC_IMAGES=docs/img writes them there."""
    _, run = nights[night]
    url = f"{prefect_server.url}/runs/flow-run/{run['id']}"
    dom = _chromium(url, tmp_path / "profile", "--dump-dom").stdout
    assert run["name"] in dom
    assert ("Failed" if night == "failed" else "Completed") in dom
    shot = tmp_path / DOC_IMAGES[night]
    _chromium(url, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 30_000
    target = os.environ.get("HARMONISE_DOC_IMAGES")
    if target:
        shutil.copy(shot, Path(target) / DOC_IMAGES[night])
