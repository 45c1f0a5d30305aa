"""`make site`: the course website, a static site built by Sphinx and myst-nb into ``build/site/``.

Sources: the executed lectures in ``build/lectures/`` (written by ``make
course``; when that folder holds none, the lectures are first run in FAST
mode), the student versions of the homework (``assignments/hwN/hwN.ipynb``,
never ``solutions/``), and the landing page and configuration in ``site/``.
The notebooks are not executed again (``nb_execution_mode = "off"``).

Math is typeset by MathJax 3 from the npm package ``mathjax@3.2.2``: ``make
setup`` runs ``python tools/build_site.py fetch-mathjax``, which fetches it
with ``npm pack`` into the data cache and checks it against the registry's
sha512. The build copies the few components the pages load into
``_static/mathjax/`` and then scans the output: a reference to a CDN, or a
page script, style or image loaded from another host, fails the build.

Usage::

    python tools/build_site.py                  # build/lectures + assignments -> build/site
    python tools/build_site.py --lectures DIR --out DIR
    python tools/build_site.py fetch-mathjax    # the setup step (needs npm and the registry)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gnnrec_lite.datasets import cache  # noqa: E402

MATHJAX = "mathjax@3.2.2"
MATHJAX_TARBALL = "mathjax-3.2.2.tgz"
MATHJAX_SHA512 = "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
# The components site/conf.py loads (es5/ of the package); the rest of the package stays out.
MATHJAX_FILES = ("LICENSE", "es5/startup.js", "es5/core.js", "es5/input/tex.js", "es5/input/tex/extensions/",
                 "es5/output/chtml.js", "es5/output/chtml/fonts/", "es5/a11y/assistive-mml.js")
CDN = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs\.|googleapis\.com|gstatic\.com|bootstrapcdn|code\.jquery\.com"
                 r"|polyfill\.io|cdn\.mathjax|mathjax\.org/|require\.js|requirejs", re.I)
REMOTE_ASSET = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.I)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
OWN_MIME = "application/vnd.gnnrec."  # records and claims: their text/html beside them is what the page shows


class SiteError(RuntimeError):
    """The site cannot be built; the message says what to run."""


# --------------------------------------------------------------------------- MathJax
def mathjax_tarball() -> Path:
    """Where ``fetch-mathjax`` keeps the npm tarball: the data cache (``GNNREC_DATA_DIR``, else ~/.cache/gnnrec)."""
    return cache.data_home() / MATHJAX_TARBALL


def _sha512(path: Path) -> str:
    return base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode("ascii")


def fetch_mathjax() -> Path:
    """Fetch ``mathjax@3.2.2`` with ``npm pack`` into the cache (once), verified by its sha512."""
    target = mathjax_tarball()
    if target.is_file() and _sha512(target) == MATHJAX_SHA512:
        print(f"MathJax: {target} (verified)")
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError(f"npm is needed once to fetch {MATHJAX} for the course website: install it "
                        "(Debian: apt-get install npm; or run tools/provision.sh) and run `make setup` again")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        proc = subprocess.run([npm, "pack", MATHJAX, "--silent", "--pack-destination", tmp],
                              capture_output=True, text=True, timeout=600)
        got = Path(tmp) / MATHJAX_TARBALL
        if proc.returncode != 0 or not got.is_file():
            raise SiteError(f"npm pack {MATHJAX} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
        if _sha512(got) != MATHJAX_SHA512:
            raise SiteError(f"npm pack {MATHJAX}: sha512 {_sha512(got)} is not the registry's {MATHJAX_SHA512}")
        got.replace(target)
    print(f"MathJax: fetched {MATHJAX} into {target}")
    return target


def copy_mathjax(dest: Path) -> int:
    """Unpack the components listed in ``MATHJAX_FILES`` into ``dest``; returns how many files."""
    tarball = mathjax_tarball()
    if not tarball.is_file():
        raise SiteError(f"MathJax is not in the cache ({tarball}): run `make setup` "
                        "(or `.venv/bin/python tools/build_site.py fetch-mathjax`)")
    if _sha512(tarball) != MATHJAX_SHA512:
        raise SiteError(f"{tarball} does not match the sha512 of {MATHJAX}: delete it and run `make setup`")
    count = 0
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or not any(name == f or (f.endswith("/") and name.startswith(f))
                                              for f in MATHJAX_FILES):
                continue
            out = dest / name.removeprefix("es5/")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(tar.extractfile(member).read())
            count += 1
    return count


# --------------------------------------------------------------------------- notebooks
def lecture_page(nb: dict) -> dict:
    """An executed lecture as the site shows it.

    Widget views are dropped (the static picture of a widget is a separate
    output), and so are the course's own MIME types (records, claims), whose
    ``text/html`` form stays.
    """
    for cell in nb["cells"]:
        if cell.get("outputs"):
            cell["outputs"] = [o for o in cell["outputs"] if WIDGET_VIEW not in o.get("data", {})]
        for output in cell.get("outputs", []):
            if "data" in output:
                output["data"] = {k: v for k, v in output["data"].items() if not k.startswith(OWN_MIME)}
    nb["metadata"].pop("widgets", None)  # no widget state: myst-nb then loads no widget JavaScript
    return nb


def homework_page(nb: dict, name: str) -> dict:
    """A student notebook as the site shows it: the repository's "generated file" note becomes a note for readers."""
    cells = nb["cells"]
    if cells and cells[0]["cell_type"] == "markdown" and "Generated file" in "".join(cells[0]["source"]):
        cells.pop(0)
    title = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "# " in "".join(c["source"]))
    note = (f"> This is the student version of `{name}`, as released to a class. Download it with the button "
            f"at the top of the page (or take `assignments/{name}/{name}.ipynb` from the repository), work "
            f"on a copy, and check it as a class would be graded with `gnnrec grade {name} my-{name}.ipynb`.")
    cells.insert(title + 1, {"cell_type": "markdown", "id": "site-note", "metadata": {}, "source": note})
    return nb


def stage_sources(src: Path, lectures: list[Path], homework: list[Path]) -> None:
    """Lay out the Sphinx project: site/, the pages, the README picture and MathJax."""
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(ROOT / "site", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "lectures").mkdir()
    for path in lectures:
        page = lecture_page(json.loads(path.read_text()))
        (src / "lectures" / path.name).write_text(json.dumps(page, indent=1))
    for page in sorted((ROOT / "lectures").glob("appendix_*.md")):  # reading pages beside the lectures
        shutil.copy(page, src / "lectures" / page.name)
    (src / "homework").mkdir()
    for path in homework:
        page = homework_page(json.loads(path.read_text()), path.stem)
        (src / "homework" / path.name).write_text(json.dumps(page, indent=1))
    shutil.copy(ROOT / "docs" / "img" / "course-graph.png", src / "_static")
    copy_mathjax(src / "_static" / "mathjax")


# --------------------------------------------------------------------------- build and check
def check_offline(out: Path) -> None:
    """Fail when the output names a CDN or a page loads a script, style or image from another host."""
    problems = []
    for path in sorted(out.rglob("*")):
        if path.suffix not in (".html", ".js", ".css", ".json", ".txt") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        problems += [f"{path.relative_to(out)}: names a CDN: ...{text[max(0, m.start() - 60):m.end() + 40]}..."
                     for m in CDN.finditer(text)]
        if path.suffix == ".html":
            problems += [f"{path.relative_to(out)}: loads from another host: {m.group(0)}"
                         for m in REMOTE_ASSET.finditer(text)]
    if problems:
        raise SiteError("the site would reach the network:\n  " + "\n  ".join(problems[:20]))


def ensure_lectures(folder: Path) -> list[Path]:
    """The executed lectures in ``folder``; when there are none, run the lectures stage in FAST mode first."""
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        print(f"{folder} holds no executed lectures: running them in FAST mode first "
              f"(tools/build_course.py --stages lectures --fast), about a minute and a half", flush=True)
        subprocess.run([sys.executable, str(ROOT / "tools" / "build_course.py"), "--stages", "lectures", "--fast",
                        "--out", str(folder.parent)], check=True)
        found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise SiteError(f"no executed lectures in {folder}")
    return found


def build(lectures: Path = ROOT / "build" / "lectures", out: Path = ROOT / "build" / "site") -> dict:
    """Build the site into ``out``; returns ``{"pages", "lectures", "homework", "bytes"}``."""
    pages = ensure_lectures(Path(lectures))
    homework = sorted((ROOT / "assignments").glob("hw*/hw*.ipynb"))
    out = Path(out)
    src = out.with_name(out.name + "-src")
    stage_sources(src, pages, homework)
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(src / ".doctrees"), str(src), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0:
        raise SiteError(f"sphinx-build failed ({proc.returncode}):\n" + "\n".join(warnings[-30:]))
    for line in warnings:
        print(f"  sphinx: {line}")
    for template in (out / "_static").glob("*webpack-macros.html"):  # the themes' Jinja templates, not pages
        template.unlink()
    check_offline(out)
    html = [p for p in out.rglob("*.html") if p.is_file()]
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"pages": len(html), "lectures": len(pages), "homework": len(homework), "bytes": size}


def summary_line(result: dict, out: Path) -> str:
    return (f"{result['pages']} pages ({result['lectures']} lectures, {result['homework']} homework), "
            f"{result['bytes'] / 1e6:.1f} MB in {out}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="build", choices=["build", "fetch-mathjax"])
    parser.add_argument("--lectures", default=str(ROOT / "build" / "lectures"), help="the executed lectures")
    parser.add_argument("--out", default=str(ROOT / "build" / "site"), help="where the site goes")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch-mathjax":
            fetch_mathjax()
            return 0
        result = build(Path(args.lectures), Path(args.out))
    except SiteError as err:
        print(f"build_site: {err}", file=sys.stderr)
        return 1
    print(f"site: {summary_line(result, Path(args.out))}; open {Path(args.out) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
