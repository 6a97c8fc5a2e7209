"""Browser fixtures for every app: Debian's Chromium driven by Playwright against a live server."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ASKONCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("ASKONCE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """open_page(email, password, viewport=None) -> a signed-in page on the live server."""
    contexts: list[Any] = []

    def open_as(email: str, password: str, *, viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or {"width": 1280, "height": 860}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        dialogs: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.dialogs = dialogs
        page.goto("/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login/" not in page.url, f"{email} could not sign in"
        return page

    yield open_as
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Keep a picture of the page when ASKONCE_SCREENSHOTS names a folder (README images)."""
    folder = os.environ.get("ASKONCE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
