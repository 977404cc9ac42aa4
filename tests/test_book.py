"""The book layer and the browser layer.

1. Book: ``jupyter-book build -W -n --keep-going`` from the outputs stored in the
   notebooks, into a temporary folder (the repository's own ``_build`` is left alone).
   Any Sphinx warning fails the build, and the tests.
2. Browser: headless Chromium (Debian's ``chromium``, driven by Playwright; never
   ``playwright install``) opens every page of the table of contents from disk with
   the network off: every request that is not ``file:``, ``data:`` or ``blob:`` is
   aborted and reported.  On each page: math is typeset by MathJax (no raw TeX left),
   every image has loaded, every flip-book steps and plays, every saved widget view
   renders (sliders included), and the console shows no error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

# DESCENT_BOOK_ROOT: build and check another copy of the book (e.g. a trial one in /tmp).
ROOT = Path(os.environ.get("DESCENT_BOOK_ROOT", Path(__file__).resolve().parents[1])).resolve()
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def toc_pages(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document of the table of contents, in order, without extension."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    pages = [data["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in data.get("parts", []):
        walk(part.get("chapters"))
    walk(data.get("chapters"))
    return [str(Path(p).with_suffix("")) for p in pages]


PAGES = toc_pages()


# ------------------------------------------------------------------ the build

@pytest.fixture(scope="module")
def html_dir(tmp_path_factory) -> Path:
    """Build the book once for this module; fail (not skip) if the build fails."""
    out = tmp_path_factory.mktemp("book")
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", "-W", "-n", "--keep-going",
           "--path-output", str(out), str(ROOT)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        warnings = [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]
        pytest.fail(f"jupyter-book build failed (exit {proc.returncode}, {seconds:.0f} s):\n"
                    + "\n".join(warnings[-40:] or log.splitlines()[-40:]), pytrace=False)
    print(f"book built in {seconds:.1f} s")
    return out / "_build" / "html"


def test_book_builds_every_page(html_dir):
    missing = [p for p in PAGES if not (html_dir / f"{p}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"
    assert (html_dir / "_static" / "html-manager" / "embed.js").is_file(), "the vendored widget manager was not copied"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file(), "offline MathJax was not copied"


def test_pages_reference_no_network_script_or_stylesheet(html_dir):
    """Static check behind the browser's: no <script src> or stylesheet from a CDN."""
    import re

    remote = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="(https?://[^"]+)"[^>]*>')
    offenders = {}
    for page in PAGES:
        html = (html_dir / f"{page}.html").read_text(encoding="utf-8")
        urls = [u for tag, u in ((m.group(0), m.group(1)) for m in remote.finditer(html))
                if tag.startswith("<script") or 'rel="stylesheet"' in tag]
        if urls:
            offenders[page] = urls
    assert not offenders, f"pages that load scripts or styles from the network: {offenders}"


# ------------------------------------------------------------------ the browser

@pytest.fixture(scope="module")
def browser():
    from _requires import require_system

    require_system(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM}), for the browser tests", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives every launch a fresh temporary profile (--user-data-dir).
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


class PageReport:
    """What a page did while it was open: console errors, uncaught errors, requests."""

    def __init__(self):
        self.errors: list[str] = []
        self.blocked: list[str] = []


def open_page(browser, url: str):
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
    report = PageReport()

    def route(r):
        if r.request.url.startswith(LOCAL_SCHEMES):
            r.continue_()
        else:
            report.blocked.append(r.request.url)
            r.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: report.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: report.errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: report.errors.append(f"request failed: {r.url[:200]} ({r.failure})")
            if r.url.startswith("file:") else None)
    page.goto(url, wait_until="load", timeout=60_000)
    return context, page, report


WAIT_FOR_RENDERING = """async () => {
  const until = async (test, ms) => { const t0 = Date.now();
    while (!test() && Date.now() - t0 < ms) { await new Promise(r => setTimeout(r, 50)); } return test(); };
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  await until(() => views.every(s => s.parentElement.querySelector('.widget-subarea .jupyter-widgets')), 15000);
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 10000); })));
}"""

INSPECT = """() => {
  const visibleText = (root) => { const c = root.cloneNode(true);
    c.querySelectorAll('pre, code, script, style, .highlight, mjx-container').forEach(e => e.remove());
    return c.textContent; };
  const main = document.querySelector('main') || document.body;
  const state = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const models = state ? Object.values(JSON.parse(state.textContent).state || {}) : [];
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  return {
    math: document.querySelectorAll('.math').length,
    untypeset: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
                 .map(e => e.textContent.trim().slice(0, 80)),
    rawTeX: ['$$', '\\\\[', '\\\\('].filter(t => visibleText(main).includes(t)),
    brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                    .map(i => (i.getAttribute('src') || '').slice(0, 100)),
    images: document.images.length,
    views: views.length,
    unrenderedViews: views.filter(s => !s.parentElement.querySelector('.widget-subarea .jupyter-widgets')).length,
    sliderModels: models.filter(m => /SliderModel$/.test(m.model_name || '')).length,
    sliders: document.querySelectorAll('.widget-slider').length,
    flipbooks: document.querySelectorAll('.animation').length,
  };
}"""

# Step a flip-book one frame, then play it, and report what the player showed.
FLIPBOOK = """async (anim) => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const img = anim.querySelector('img[id^="_anim_img"]');
  const slider = anim.querySelector('input[id^="_anim_slider"]');
  const button = t => anim.querySelector(`button[title="${t}"]`);
  if (!img || !slider || !button('Next frame') || !button('Play')) return {ok: false, why: 'player parts missing'};
  const frames = Number(slider.max) + 1;
  button('First frame').click(); await sleep(50);
  const first = img.src, firstIndex = Number(slider.value);
  button('Next frame').click(); await sleep(100);
  const stepped = img.src !== first && Number(slider.value) === firstIndex + 1;
  button('First frame').click(); await sleep(50);
  button('Play').click();
  let played = false; const t0 = Date.now();
  while (Date.now() - t0 < 5000) { await sleep(100);
    if (Number(slider.value) >= Math.min(2, frames - 1) && img.src !== first) { played = true; break; } }
  button('Pause').click();
  return {ok: frames >= 2 && stepped && played, frames, stepped, played, id: img.id};
}"""


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_offline(page_name, html_dir, browser):
    path = html_dir / f"{page_name}.html"
    context, page, report = open_page(browser, path.as_uri())
    try:
        page.evaluate(WAIT_FOR_RENDERING)
        info = page.evaluate(INSPECT)
        problems = []
        if info["untypeset"]:
            problems.append(f"math not typeset: {info['untypeset'][:5]}")
        if info["rawTeX"]:
            problems.append(f"raw TeX delimiters left in the text: {info['rawTeX']}")
        if info["brokenImages"]:
            problems.append(f"images that did not load: {info['brokenImages'][:5]}")
        if info["unrenderedViews"]:
            problems.append(f"{info['unrenderedViews']} of {info['views']} widget views did not render")
        if info["sliderModels"] and not info["sliders"]:
            problems.append(f"the saved state has {info['sliderModels']} slider(s) but no slider is on the page")
        ids = page.evaluate("() => [...document.querySelectorAll('img[id^=\"_anim_img\"]')].map(i => i.id)")
        if len(ids) != len(set(ids)):
            problems.append(f"flip-books share an element id (only the first would play): {sorted(ids)}")
        for k, anim in enumerate(page.query_selector_all(".animation")):
            result = page.evaluate(FLIPBOOK, anim)
            if not result.get("ok"):
                problems.append(f"flip-book {k} does not play: {result}")
        print(f"{page_name}: {info['math']} math, {info['images']} images, {info['views']} widget views, "
              f"{info['sliders']} sliders, {info['flipbooks']} flip-books")
        if report.blocked:
            problems.append(f"requests to the network (blocked): {sorted(set(report.blocked))}")
        if report.errors:
            problems.append("console errors:\n  " + "\n  ".join(report.errors[:20]))
        assert not problems, f"{page_name}.html ({info['math']} math, {info['images']} images, {info['views']} widget views, " \
                             f"{info['flipbooks']} flip-books):\n" + "\n".join(problems)
    finally:
        context.close()
