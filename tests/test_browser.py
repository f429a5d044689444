"""The app in a real browser: ``ips-sim app`` on a free local port, driven by headless Chromium.

Playwright for Python drives Debian's ``chromium`` (there is no browser download
here; ``make test`` installs the Debian package when it can). Without Chromium
the test skips with one line, except under ``CI=true``, where it fails.
Screenshots go to the test's temporary folder (``--basetemp`` to keep them).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import IPS_SIM, cli_env, require

CHROMIUM = Path(os.environ.get("IPS_SIM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MEAN_WAIT = "Mean wait for a place"
ERROR_SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium when run as root with apt-get"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tmp_path):
    """The app served by ``ips-sim app`` on a free local port; stopped after the test."""
    _need_chromium()
    require("streamlit")
    port = _free_port()
    env = cli_env()
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen([str(IPS_SIM), "app", "--port", str(port), "--address", "127.0.0.1", "--headless"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start: {(tmp_path / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _slider_value(slider) -> str:
    """A slider's value: aria-valuenow (older Streamlit) or the value of its range input."""
    return slider.get_attribute("aria-valuenow") or slider.input_value()


def _mean_wait(page) -> str:
    card = page.locator('[data-testid="stMetric"]', has_text=MEAN_WAIT).first
    return card.locator('[data-testid="stMetricValue"]').inner_text()


def _wait_for_results(page, timeout_ms: float = 90_000) -> str:
    page.locator('[data-testid="stMetric"]', has_text=MEAN_WAIT).first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=timeout_ms)
    return _mean_wait(page)


def test_app_in_chromium_moving_specialists_changes_the_mean_wait(app_url, tmp_path):
    sync_api = require("playwright.sync_api")
    timings = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            start = time.monotonic()
            page.goto(app_url)
            before = _wait_for_results(page)
            timings["first results"] = time.monotonic() - start
            page.screenshot(path=str(tmp_path / "main_page.png"), full_page=True)
            assert re.match(r"^[\d.,]+ days$", before), before

            slider = page.get_by_role("slider", name=re.compile("Employment specialists"))
            assert _slider_value(slider) == "2"
            slider.focus()
            page.keyboard.press("ArrowRight")  # 2 -> 3 specialists, as a keyboard user moves a slider
            deadline = time.monotonic() + 10
            while _slider_value(slider) != "3" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _slider_value(slider) == "3"
            page.get_by_text("settings have changed").wait_for(timeout=30_000)
            start = time.monotonic()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("settings have changed").wait_for(state="detached", timeout=90_000)
            after = _wait_for_results(page)
            timings["rerun"] = time.monotonic() - start
            page.screenshot(path=str(tmp_path / "three_specialists.png"), full_page=True)

            assert after != before, f"mean wait still {after} with 3 specialists"
            assert float(after.split()[0].replace(",", "")) < float(before.split()[0].replace(",", ""))
            assert page.locator(ERROR_SELECTOR).count() == 0
        finally:
            browser.close()
    (tmp_path / "timings.txt").write_text("".join(f"{k}: {v:.1f} s\n" for k, v in timings.items()))
