"""What a first-time student sees, and how long it takes: the app in headless Chromium.

Starts ``ips-sim app`` on a free port, opens it in Debian's chromium through
Playwright, and prints the seconds until (1) the first results, (2) the
animation, (3) a compare run (caseload cap 20 -> 30) with "Why did this change?".
Screenshots of each go to the folder given (default outputs/app_screenshots/).

    .venv/bin/python benchmarks/bench_app.py [OUT_DIR]
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(page, timeout=180_000):
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=timeout)
    page.wait_for_function("() => document.querySelector('[data-testid=\"stStatusWidget\"]') === null "
                           "|| !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
                           timeout=timeout)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "ips-sim"), "app", "--port", str(port),
                               "--address", "127.0.0.1", "--headless"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        t0 = time.monotonic()
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            time.sleep(0.1)
        print(f"server listening: {time.monotonic() - t0:.1f} s")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            t = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator('[data-testid="stMetric"]').first.wait_for(timeout=180_000)
            print(f"first results (20 replications) visible: {time.monotonic() - t:.1f} s")
            wait_idle(page)
            print(f"page complete (charts, animation built): {time.monotonic() - t:.1f} s")
            page.screenshot(path=str(out / "1_main_page.png"))

            t = time.monotonic()
            page.get_by_role("tab", name="Watch one replication").click()
            plot = page.locator(".js-plotly-plot").first
            plot.wait_for(timeout=60_000)
            print(f"animation tab shown: {time.monotonic() - t:.1f} s")
            plot.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            plot.screenshot(path=str(out / "2_animation.png"))
            page.get_by_text("▶ fast").first.click()
            page.wait_for_timeout(3000)
            plot.screenshot(path=str(out / "3_animation_playing.png"))

            page.get_by_text("Compare with a baseline").click()
            slider = page.get_by_role("slider", name="Caseload cap per full-time specialist")
            slider.focus()
            for _ in range(10):
                page.keyboard.press("ArrowRight")
            page.wait_for_timeout(500)
            t = time.monotonic()
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Why did this change?").wait_for(timeout=180_000)
            wait_idle(page)
            print(f"compare run (2 x 20 replications) with the why chain: {time.monotonic() - t:.1f} s")
            why = page.locator('[data-testid="stHeading"]', has_text="Why did this change?")
            why.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "4_compare_why.png"))
            table = page.locator('[data-testid="stHeading"]', has_text="Difference per metric")
            table.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "4_compare_table.png"))
            frame = page.locator('[data-testid="stDataFrame"]', has=page.get_by_text("your settings")).last
            frame.screenshot(path=str(out / "4_compare_table_all.png"))
            page.get_by_role("tab", name="Watch one replication").click()
            page.wait_for_timeout(1000)
            plots = page.locator('[data-testid="stTabPanel"]:visible .js-plotly-plot')
            plots.first.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "5_compare_animation.png"))
            page.get_by_role("tab", name="Hours budget per specialist").click()
            page.wait_for_timeout(2500)
            panel = page.locator('[data-testid="stTabPanel"]:visible').first
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(out / "6_hours_budget.png"))
            errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
            print(f"error elements on the page: {errors}")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "outputs" / "app_screenshots")
