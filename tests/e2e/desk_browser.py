"""Headless Chromium for the agent page (Debian's chromium and chromedriver), with the Voice
SDK's Device replaced by ``voice_sdk_double.js`` before the page's scripts run (issue 17)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.native_env import native_environment

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
VOICE_DOUBLE = Path(__file__).with_name("voice_sdk_double.js")
WAIT = 30.0
HAS_CHROMIUM = CHROMIUM.exists() and CHROMEDRIVER.exists()
NO_CHROMIUM = "Debian's chromium and chromedriver are not installed (make .local/.stamp-chromium installs them)"


@contextmanager
def chromium(*, voice_double: bool = True) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="agent-desk-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), env=native_environment()), options=options)
    try:
        if voice_double:
            source = VOICE_DOUBLE.read_text(encoding="utf-8")
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, condition: Any, what: str) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The desk's poll redraws parts of the page: an element found a moment ago may be gone.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    waiting = WebDriverWait(driver, WAIT, poll_frequency=0.2, ignored_exceptions=ignored)
    return waiting.until(condition, message=f"the page never showed {what}")


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, element_id).text)
