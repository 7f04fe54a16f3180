"""Debian's headless Chromium driven by Selenium, for the studio's browser tests. Where no browser is installed
the tests are skipped with the command that installs one, except under CI (the env var CI set), where a missing
browser fails the run: `.ci/run` installs it, so its absence there is a fault, not a choice."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install chromium chromium-driver"
SCREENSHOTS_ENV = "GANKIT_SCREENSHOTS"

# No network but the studio's own server: any other host fails to resolve, so a page that fetched from a CDN
# would break here as it would offline.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--force-device-scale-factor=1"]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium: pip install '.[test]'"
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if absent:
        return f"needs Debian's chromium and its driver ({', '.join(absent)} missing): {INSTALL}"
    return None


def require_browser() -> None:
    """Skip (fail under CI) when the browser or Selenium is missing."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)


class Browser:
    """One headless Chromium (a fresh profile, removed on ``quit``)."""

    def __init__(self, width: int = 1280, height: int = 820):
        require_browser()
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="gankit-chromium-")
        options = Options()
        options.binary_location = str(CHROMIUM)
        for flag in [*FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]:
            options.add_argument(flag)
        try:
            self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_script_timeout(30)
        # The page's own size, whatever the window's frame takes (screenshots are exactly width x height).
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url: str, timeout: float = 30) -> None:
        """Load the page and wait until it has drawn its first state (body[data-ready])."""
        self.driver.get(url)
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready || null"), timeout,
                  "the page never became ready")
        assert self.driver.execute_script("return document.body.dataset.ready") == "1", \
            self.driver.find_element("id", "model-info").text

    def wait(self, condition, timeout: float = 30, message: str = ""):
        """Wait for ``condition(driver)``; a timeout names what the page last reported (its toast)."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:  # an element found while the page redraws may be gone a moment later: look again
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(condition, message)
        except TimeoutException:
            said = self.driver.execute_script("const t = document.querySelector('#toast'); return t ? t.textContent : ''")
            raise TimeoutException(f"{message} (after {timeout:g} s; the page last said: {said or 'nothing'})") from None

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args):
        """Run ``script`` with ``done`` bound to the callback that returns its value (promises welcome)."""
        return self.driver.execute_async_script("const done = arguments[arguments.length - 1];\n" + script, *args)

    def screenshot(self, name: str) -> Path | None:
        """Save the window as DIR/NAME.png when GANKIT_SCREENSHOTS=DIR is set (for the README and docs)."""
        folder = os.environ.get(SCREENSHOTS_ENV)
        if not folder:
            return None
        from PIL import Image

        path = Path(folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.open(io.BytesIO(self.driver.get_screenshot_as_png())).convert("RGB")
        # A palette of 256 colours keeps a screenshot of a flat dark page small without visible loss.
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)
        return path
