"""Take the README's pictures from a fresh demo instance: `.venv/bin/python scripts/screenshots.py`.

Starts `askonce serve` on a throwaway SQLite file with the demo data, signs in as the demo people
in Debian's Chromium (Playwright) and saves PNGs to docs/images/.
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
PORT = 8765
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    data = tempfile.mkdtemp(prefix="askonce-shots-")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["ASKONCE_DATA_DIR"] = data
    askonce = [sys.executable, "-m", "askonce.cli"]
    subprocess.run([*askonce, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*askonce, "demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([*askonce, "serve", "--port", str(PORT), "--smtp-port", "0"], env=env)
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        IMAGES.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 820}, base_url=base)
            page.goto("/login/")
            page.fill("input[name=username]", "sam@example.com")
            page.fill("input[name=password]", "askonce-demo")
            page.click("button[type=submit]")
            page.goto("/console/?queue=all_open")
            page.screenshot(path=str(IMAGES / "console-queue.png"))
            page.goto("/console/tickets/4/")
            page.screenshot(path=str(IMAGES / "console-ticket.png"), full_page=True)
            page.goto("/console/schedules/support/")
            page.screenshot(path=str(IMAGES / "oncall-schedule.png"))
            page.goto("/console/kb/")
            page.screenshot(path=str(IMAGES / "kb-dashboard.png"))
            page.goto("/console/kb/articles/purge-by-surrogate-key/edit")
            page.screenshot(path=str(IMAGES / "kb-editor.png"))
            # The worker embeds the demo articles and flags the overlap within a few seconds.
            for _ in range(60):
                page.goto("/console/kb/overlaps/")
                if page.get_by_test_id("overlap").count():
                    break
                time.sleep(1)
            page.screenshot(path=str(IMAGES / "kb-overlaps.png"))
            page.goto("/console/kb/kcs/")
            page.screenshot(path=str(IMAGES / "kb-kcs.png"), full_page=True)
            reader = browser.new_page(viewport={"width": 1280, "height": 820}, base_url=base)
            reader.goto("/help/")
            reader.screenshot(path=str(IMAGES / "help-center.png"))
            reader.goto("/help/articles/purge-a-url/")
            reader.screenshot(path=str(IMAGES / "help-article.png"))
            reader.goto("/help/search?q=purge")
            reader.screenshot(path=str(IMAGES / "help-search.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"pictures in {IMAGES}")


if __name__ == "__main__":
    main()
