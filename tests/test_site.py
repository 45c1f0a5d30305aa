"""The course website (tools/build_site.py, ``make site``), built from FAST-mode lectures and read in headless Chromium.

One module fixture builds the site with ``tools/build_site.py`` from the
lectures executed in FAST mode, as the lecture tests run them (once per
session: tests/lectures.py), into a temporary folder. The files are checked for what must
never be there (CDN references, solutions, hidden tests); then Chromium opens
every page from a server on 127.0.0.1, with every request routed and any
other host refused, and checks that the math is typeset, every image loads
and the navigation reaches every lecture. A screenshot of a lecture page is
copied to ``build/screenshots/``.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from browser import launch, require_chromium

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted(p.stem for p in (ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
HOMEWORK = sorted(p.stem for p in (ROOT / "assignments").glob("hw*/hw*.ipynb"))
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com", "fonts.gstatic.com",
             "ajax.googleapis.com", "code.jquery.com", "stackpath.bootstrapcdn.com", "cdn.mathjax.org",
             "polyfill.io", "cdn.plot.ly")
RAW_TEX = ("$$", "\\begin", "\\frac", "\\(", "\\[")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by tools/build_site.py from every lecture executed in FAST mode."""
    import nbformat

    from lectures import execute

    folder = tmp_path_factory.mktemp("course")
    (folder / "lectures").mkdir()
    for stem in LECTURES:
        nbformat.write(execute(stem)[0], folder / "lectures" / f"{stem}.ipynb")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--lectures",
                           str(folder / "lectures"), "--out", str(folder / "site")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(LECTURES)} lectures, {len(HOMEWORK)} homework" in proc.stdout
    return folder / "site"


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


class Assets(HTMLParser):
    """Every URL a page loads by itself: script, link, img, iframe, source, video, audio."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img", "iframe", "source", "video", "audio"):
            self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def text_files(site: Path):
    return [p for p in site.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".css", ".json", ".txt")]


def test_build_runs_the_lectures_in_fast_mode_when_there_are_none(tmp_path, monkeypatch, capsys):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_site
    finally:
        sys.path.pop(0)
    calls = []

    def fake_run(cmd, check):  # stands in for tools/build_course.py: one executed lecture appears
        calls.append(cmd)
        (tmp_path / "lectures" / "01_x.ipynb").write_text("{}")

    monkeypatch.setattr(build_site.subprocess, "run", fake_run)
    (tmp_path / "lectures").mkdir()
    assert build_site.ensure_lectures(tmp_path / "lectures") == [tmp_path / "lectures" / "01_x.ipynb"]
    assert calls[0][2:] == ["--stages", "lectures", "--fast", "--out", str(tmp_path)]
    assert "running them in FAST mode first" in capsys.readouterr().out
    assert build_site.ensure_lectures(tmp_path / "lectures") and len(calls) == 1  # not again once there are some


# --------------------------------------------------------------------------- the files
def test_site_has_a_page_per_lecture_and_homework(site):
    assert (site / "index.html").is_file()
    for stem in LECTURES:
        assert (site / "lectures" / f"{stem}.html").is_file(), f"no page for lecture {stem}"
    for stem in HOMEWORK:
        assert (site / "homework" / f"{stem}.html").is_file(), f"no page for homework {stem}"
    assert (site / ".nojekyll").is_file(), "GitHub Pages would hide _static/ without .nojekyll"
    assert (site / "_static" / "mathjax" / "startup.js").is_file()


def test_site_names_no_cdn_and_loads_nothing_from_another_host(site):
    for path in text_files(site):
        text = path.read_text(errors="replace")
        for host in CDN_HOSTS:
            assert host not in text, f"{path.relative_to(site)} names {host}"
        if path.suffix == ".html":
            parser = Assets()
            parser.feed(text)
            remote = [u for u in parser.urls if urlparse(u).scheme in ("http", "https") or u.startswith("//")]
            assert not remote, f"{path.relative_to(site)} loads {remote}"


def test_site_holds_no_solutions_or_hidden_tests(site):
    for path in text_files(site) + list(site.rglob("*.ipynb")):
        text = path.read_text(errors="replace")
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION"):
            assert marker not in text, f"{path.relative_to(site)} holds {marker!r}"
    assert not (site / "solutions").exists()


# --------------------------------------------------------------------------- in Chromium
def expected_images(stem: str, site: Path) -> int:
    """Pictures in the executed notebook's outputs: image/png outputs and <img> in HTML outputs (widget pictures)."""
    nb = json.loads((site.parent / "lectures" / f"{stem}.ipynb").read_text())
    count = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                count += 1
            elif "text/html" in data:
                count += len(re.findall(r"<img\b", "".join(data["text/html"])))
    return count


def has_formulas(stem: str) -> bool:
    nb = json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())
    return any(c["cell_type"] == "markdown" and "$" in "".join(c["source"]) for c in nb["cells"])


WAIT_FOR_MATHJAX = """async () => {
    if (!document.querySelector('script[src*="mathjax/startup.js"]')) return false;
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return null;  // never started
    await MathJax.startup.promise;
    return true;
}"""
PROSE = """() => {
    const copy = (document.querySelector('main') || document.body).cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight').forEach(e => e.remove());
    return copy.textContent;
}"""
IMAGES = """async () => {
    const imgs = [...document.images];
    imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
    await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
    return {total: imgs.length, outputs: document.querySelectorAll('.cell_output img').length,
            broken: imgs.filter(i => !(i.naturalWidth > 0)).map(i => (i.getAttribute('src') || '').slice(0, 80))};
}"""


def check_page(page, name: str, problems: list[str]) -> dict:
    """Typeset math, no raw TeX in the prose, every image loaded; returns what was found."""
    typeset = page.evaluate(WAIT_FOR_MATHJAX)
    if typeset is None:
        problems.append(f"{name}: the page loads MathJax but MathJax did not start")
    prose = page.evaluate(PROSE)
    raw = [t for t in RAW_TEX if t in prose]
    if raw:
        at = prose.index(raw[0])
        problems.append(f"{name}: raw TeX {raw} in the text: ...{prose[max(0, at - 60):at + 60]!r}...")
    images = page.evaluate(IMAGES)
    if images["broken"]:
        problems.append(f"{name}: images that did not load: {images['broken']}")
    math, errors = page.locator("mjx-container").count(), page.locator("mjx-merror").count()
    if errors:
        problems.append(f"{name}: MathJax could not typeset {errors} formulas")
    stem = name.removeprefix("lectures/").removesuffix(".html")
    if name.startswith("lectures/") and stem in LECTURES and has_formulas(stem) and math == 0:
        problems.append(f"{name}: the lecture has formulas but no typeset math")
    return {"typeset": typeset, "math": math, **images}


def serve(folder: Path):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_every_page_in_chromium(chromium, site, tmp_path):
    from playwright.sync_api import sync_playwright

    server = serve(site)
    base = f"http://127.0.0.1:{server.server_port}/"
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if p.relative_to(site).parts[0] not in ("_static", "_sources"))  # the theme ships a template there
    foreign, problems, seen = [], [], {}

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("data", "blob") or (url.hostname == "127.0.0.1" and url.port == server.server_port):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    try:
        with sync_playwright() as p:
            browser = launch(p)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route("**/*", route)
                page = context.new_page()
                page.on("pageerror", lambda err: problems.append(f"{page.url}: script error {err}"))
                page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.url}: HTTP {r.status}"))
                page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")  # left by the next goto
                        and problems.append(f"{r.url}: {r.failure}"))
                for name in pages:
                    page.goto(base + name, wait_until="load")
                    seen[name] = check_page(page, name, problems)

                # navigation: from the landing page, following only the site's navigation links
                reached, todo = set(), ["index.html"]
                while todo:
                    name = todo.pop()
                    if name in reached:
                        continue
                    reached.add(name)
                    page.goto(base + name, wait_until="domcontentloaded")
                    hrefs = page.eval_on_selector_all("nav a[href], .prev-next-area a[href]",
                                                      "els => els.map(e => e.href)")
                    for href in hrefs:
                        target = urldefrag(urljoin(base + name, href))[0]
                        if target.startswith(base) and target.endswith(".html"):
                            todo.append(target[len(base):])

                shot_stem = "05_lightgcn" if "05_lightgcn" in LECTURES else LECTURES[0]
                page.goto(f"{base}lectures/{shot_stem}.html", wait_until="load")
                page.evaluate(WAIT_FOR_MATHJAX)
                formulas = page.locator("mjx-container[display='true']")
                if formulas.count():
                    formulas.first.scroll_into_view_if_needed()
                shot = tmp_path / f"site-{shot_stem}.png"
                page.screenshot(path=str(shot))
            finally:
                browser.close()
    finally:
        server.shutdown()

    assert not foreign, f"requests left 127.0.0.1: {sorted(set(foreign))}"
    assert not problems, "\n".join(problems)
    for stem in LECTURES:
        name = f"lectures/{stem}.html"
        assert name in reached, f"the navigation does not reach {name}; it reaches {sorted(reached)}"
        assert seen[name]["outputs"] >= expected_images(stem, site), (
            f"{name} shows {seen[name]['outputs']} output pictures, the notebook has {expected_images(stem, site)}")
    for stem in HOMEWORK:
        assert f"homework/{stem}.html" in reached
    assert seen["index.html"]["typeset"] and seen["index.html"]["math"] > 0
    assert shot.stat().st_size > 10_000
    keep = ROOT / "build" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / shot.name)
