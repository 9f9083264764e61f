"""`darch dashboard`: the page in a real headless browser (Debian's Chromium driven by
Playwright), its JSON API, and its errors."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

import darchlang
from darchlang.search import make_searcher, run_search
from darchlang.search.synthetic import NKObjective

SPACE = """def conv() = conv2d(filters: one_of(4, 8, 12, 16, 20, 24, 28, 32), size: one_of(1, 3, 5))
space = concat [conv(), maybe_swap(relu(), batch_norm()), conv()]
"""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def search(journal, budget, fail_at=()):
    space = darchlang.load_string(SPACE, "t.darch").space
    objective = NKObjective(space, k=0, seed=0)
    calls = []

    def evaluate(arch):
        calls.append(arch)
        if len(calls) - 1 in fail_at:
            raise RuntimeError("diverged")
        return objective(arch)

    return run_search(space, make_searcher("random", space, seed=1), evaluate, budget=budget,
                      journal=journal, space_text=SPACE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    from darchlang.report.dashboard import make_server

    journal = tmp_path / "run.db"
    search(journal, 3, fail_at=(1,))
    srv = make_server(journal, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield journal, f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()
    srv.server_close()


def test_the_api_reports_progress_best_and_failures(server):
    from darchlang.report.dashboard import create_app

    journal, _ = server
    client = create_app(journal).test_client()
    state = client.get("/api/state").get_json()
    assert state["done"] == 3 and state["failed"] == 1 and state["searcher"] == "random"
    assert state["budget"] == 3  # recorded by the search, so the page shows "3 of 3"
    failed = [e for e in state["evaluations"] if e["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["score"] is None and "diverged" in failed[0]["reason"]
    best = state["best"]
    assert best["score"] == max(e["score"] for e in state["evaluations"] if e["score"] is not None)
    detail = client.get(f"/api/evaluations/{best['index']}").get_json()
    assert "conv2d" in detail["text_html"] and detail["choices"]
    assert not any(v.startswith("option ") for _, v in detail["choices"])  # written labels
    assert client.get("/api/evaluations/99").status_code == 404


@pytest.mark.slow
def test_the_page_in_a_browser_lists_evaluations_and_follows_new_ones(server):
    if CHROMIUM is None:  # CI installs it; a developer without it is told how
        assert not os.environ.get("CI"), "CI must install Debian's chromium (see .ci/run)"
        pytest.skip("needs Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    journal, url = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_selector("tr.row")
        assert page.locator("tr.row").count() == 3
        assert "3 evaluations done, 1 failed" in page.inner_text("#progress")
        assert page.locator("#history circle.point").count() == 2
        assert page.locator("#history text.failure").count() == 1   # marked apart
        page.locator("tr.row").first.click()
        page.wait_for_selector("#architecture-text")
        assert "conv2d" in page.inner_text("#detail")
        search(journal, 5)                       # the search goes on: two more evaluations
        page.wait_for_function("document.querySelectorAll('tr.row').length === 5", timeout=10_000)
        assert "5 evaluations done" in page.inner_text("#progress")
        assert not errors
        browser.close()


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path):
    def darch(*args):
        return subprocess.run([sys.executable, "-m", "darchlang.cli", *args],
                              capture_output=True, text=True, timeout=60)

    r = darch("dashboard", str(tmp_path / "missing.db"))
    assert r.returncode == 1 and "no journal at" in r.stderr and "Traceback" not in r.stderr
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    r = darch("dashboard", str(junk))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    journal = tmp_path / "run.db"
    search(journal, 1)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        r = darch("dashboard", str(journal), "--port", str(port))
    assert r.returncode == 1 and "cannot serve on 127.0.0.1" in r.stderr and "--port" in r.stderr


@pytest.mark.slow
def test_cli_serves_until_interrupted(tmp_path):
    import signal
    import urllib.request

    journal = tmp_path / "run.db"
    search(journal, 2)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "darchlang.cli", "dashboard", str(journal),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
        for _ in range(50):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        assert b'"done":2' in body
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err
