"""Lecture 02 in a real browser: JupyterLab on 127.0.0.1, headless Debian Chromium driven by Playwright.

Runs every cell of the lecture, moves the slider of the score f(u1, v0) past
f(u1, v1), and checks that the displayed Recall@1, binary loss and BPR loss
change to the values the formulas give. A screenshot is saved in the test's
temporary folder and copied to ``build/screenshots/`` for a person to look at.
Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package; ``tools/provision.sh``
installs it) or ``GNNREC_CHROMIUM`` pointing at another Chromium binary; without
one it skips, or fails when ``GNNREC_REQUIRE_BROWSER`` is set (tests/browser.py).
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from browser import jupyterlab, launch, require_chromium

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def sp(x):
    return math.log1p(math.exp(x))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of lecture 02; yields (url, token, folder)."""
    require_chromium()
    folder = tmp_path_factory.mktemp("lab")
    served = folder / "served"
    served.mkdir()
    shutil.copy(ROOT / "lectures" / "02_losses_bpr.ipynb", served)
    # Render every cell: JupyterLab 4 leaves cells outside the viewport out of the page by default.
    settings = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
    with jupyterlab(served, folder, settings) as (url, token):
        yield url, token, folder


def results(page) -> dict:
    """The explorer's results table as {name: float}."""
    cells = page.locator(".gnnrec-results td").all_inner_texts()
    return {cells[i].strip(): float(cells[i + 1]) for i in range(0, len(cells), 2)}


def test_lecture02_sliders_update_the_losses_in_jupyterlab(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, token, folder = lab
    shot = tmp_path / "lecture02-sliders.png"
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{url}/lab/tree/02_losses_bpr.ipynb?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            # the status bar says "Python 3 (ipykernel) | Idle" once the kernel is up
            page.wait_for_selector(".jp-StatusBar-Widget >> text=/\\| Idle/", timeout=90_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            # the notebook's last record, as an output, marks the end of the run
            page.wait_for_selector(".jp-OutputArea-output >> text=minibatch/standard error", timeout=240_000)
            table = page.locator(".gnnrec-results")
            table.scroll_into_view_if_needed()
            before = results(page)
            assert before["Recall@1"] == 1.0
            assert before["binary loss"] == pytest.approx((sp(-1) + sp(-3)) / 2 + (sp(-1) + sp(2)) / 2, abs=1e-4)

            sliders = page.locator(".widget-slider")
            assert sliders.count() == 4
            handle = sliders.nth(2).locator(".noUi-handle")  # f(u1, v0), 2.0 at the start
            handle.click()
            for _ in range(15):  # step 0.1: 2.0 -> 3.5, past f(u1, v1) = 3.0
                handle.press("ArrowRight")
            readout = sliders.nth(2).locator(".widget-readout")
            page.wait_for_function("el => el.innerText.trim() === '3.5'", arg=readout.element_handle(),
                                   timeout=30_000)
            # updates arrive one key press at a time; wait for the one of the final value
            expected = f"{(sp(-1) + sp(-3)) / 2 + (sp(-1) + sp(3.5)) / 2:.4f}"
            page.wait_for_function(
                "v => [...document.querySelectorAll('.gnnrec-results td')].some(td => td.innerText.trim() === v)",
                arg=expected, timeout=30_000)
            after = results(page)
            cell = page.locator(".jp-CodeCell", has=page.locator(".widget-slider")).first
            cell.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot))
        except Exception:
            failure = ROOT / "build" / "screenshots" / "lecture02-failure.png"
            failure.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(failure), full_page=True)
            print(f"browser test failed; the page at that moment: {failure}")
            raise
        finally:
            browser.close()
    assert after["Recall@1"] == 0.5  # u1's negative v0 now outranks its positive v1
    assert after["binary loss"] == pytest.approx((sp(-1) + sp(-3)) / 2 + (sp(-1) + sp(3.5)) / 2, abs=1e-4)
    assert after["BPR loss"] == pytest.approx((sp(-2) + sp(0.5)) / 2, abs=1e-4)
    assert after["binary loss"] != before["binary loss"] and after["BPR loss"] != before["BPR loss"]
    assert shot.stat().st_size > 10_000
    keep = ROOT / "build" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / shot.name)
