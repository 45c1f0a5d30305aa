"""Headless Chromium for the browser tests (tests/test_browser.py, tests/test_site.py), driven by Playwright.

The browser is Debian's ``chromium`` (``tools/provision.sh`` installs it; never
``playwright install``), or the binary ``GNNREC_CHROMIUM`` names. Without it
the browser tests skip with a one-line reason, unless ``GNNREC_REQUIRE_BROWSER``
is set (``.ci/run`` sets it): then they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
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


@contextlib.contextmanager
def jupyterlab(root: Path, folder: Path, settings: dict | None = None):
    """JupyterLab serving ``root`` on 127.0.0.1 with a random token; its config, workspaces and user settings in
    ``folder`` (no news, no update check, plus ``settings``: ``{"@jupyterlab/x/y": {...}}``). Yields
    ``(url, token)`` once the server answers; stops it afterwards."""
    user = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}, **(settings or {})}
    for name, values in user.items():
        path = folder / ".settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, OMP_NUM_THREADS="1", JUPYTER_CONFIG_DIR=str(folder / ".config"),
               JUPYTERLAB_WORKSPACES_DIR=str(folder / ".workspaces"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.workspaces_dir={folder / '.workspaces'}", f"--LabApp.user_settings_dir={folder / '.settings'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(folder / "jupyterlab.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        pytest.fail(f"JupyterLab did not start: {(folder / 'jupyterlab.log').read_text()[-2000:]}")
                    time.sleep(0.5)
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
