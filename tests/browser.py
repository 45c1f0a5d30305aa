"""Headless Chromium for the browser tests (tests/test_browser.py, tests/test_site.py), driven by Playwright.

The browser is Debian's ``chromium`` (``tools/provision.sh`` installs it; never
``playwright install``), or the binary ``GNNREC_CHROMIUM`` names. Without it
the browser tests skip with a one-line reason, unless ``GNNREC_REQUIRE_BROWSER``
is set (``.ci/run`` sets it): then they fail.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def chromium_path() -> str:
    """``GNNREC_CHROMIUM`` if set, else Debian's ``/usr/bin/chromium``."""
    return os.environ.get("GNNREC_CHROMIUM") or "/usr/bin/chromium"


def require_chromium() -> str:
    """The Chromium binary; skips the test when there is none, or fails when ``GNNREC_REQUIRE_BROWSER`` is set."""
    path = chromium_path()
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    reason = (f"no Chromium at {path}: run tools/provision.sh (Debian: apt-get install -y chromium) "
              "or set GNNREC_CHROMIUM to a Chromium binary")
    if os.environ.get("GNNREC_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (GNNREC_REQUIRE_BROWSER is set, so this test may not skip)", pytrace=False)
    pytest.skip(f"{reason}; set GNNREC_REQUIRE_BROWSER=1 to make this a failure")


def launch(playwright):
    """Headless Chromium with the course's flags: no sandbox, no GPU, no background traffic."""
    return playwright.chromium.launch(executable_path=require_chromium(), args=FLAGS, headless=True)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
