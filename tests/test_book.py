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
3. The page as a reader meets it, at 1280 px and at 400 px (``test_page_fits_*``,
   ``test_images_*``, ``test_headings_*``, ``test_static_controls_*``): nothing with
   math, printed output or a table overflows the text column (at 1280 px only a table
   may scroll, in a box with a visible cue; at 400 px anything may); every image has a
   real alt text (not a file name) and at least 1.5 image pixels per CSS pixel; no
   heading carries two numbers; the text announces no chapter the book lacks; every
   control that is enabled changes an image or a canvas when moved.  A failure lists
   every offending element (page, viewport, element, sizes).  Screenshots of every page
   at both widths land in ``DESCENT_BOOK_SCREENS`` (default ``_build/screens/`` in the
   book's folder), with ``report.md`` / ``report.json``: the counts and the full list.
   ``DESCENT_BOOK_REPORT=1`` turns these checks into that report only (nothing fails).
4. The figure helpers (``descent.plot``) and the book's Sphinx extension
   (``scripts/book_offline.py``), without a browser: density, sizes, alt text, the
   palette under simulated colour-vision deficiencies, legends, tables, buttons.
"""

from __future__ import annotations

import os
import re
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
    v = visit(browser, html_dir, page_name)
    info = v.info
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
    if len(v.anim_ids) != len(set(v.anim_ids)):
        problems.append(f"flip-books share an element id (only the first would play): {sorted(v.anim_ids)}")
    for k, result in enumerate(v.flipbooks):
        if not result.get("ok"):
            problems.append(f"flip-book {k} does not play: {result}")
    print(f"{page_name}: {info['math']} math, {info['images']} images, {info['views']} widget views, "
          f"{info['sliders']} sliders, {info['flipbooks']} flip-books")
    if v.blocked:
        problems.append(f"requests to the network (blocked): {sorted(set(v.blocked))}")
    if v.errors:
        problems.append("console errors:\n  " + "\n  ".join(v.errors[:20]))
    assert not problems, f"{page_name}.html ({info['math']} math, {info['images']} images, {info['views']} widget views, " \
                         f"{info['flipbooks']} flip-books):\n" + "\n".join(problems)


# ------------------------------------------------------------------ the page as a reader meets it

SCREENS = Path(os.environ.get("DESCENT_BOOK_SCREENS") or ROOT / "_build" / "screens").resolve()
REPORT_ONLY = os.environ.get("DESCENT_BOOK_REPORT", "").lower() not in ("", "0", "false", "no")
VIEWPORTS = {"1280": 1280, "400": 400}

# Everything measured on one page at one width, in one pass.  "column" is the article's
# content box; a "box" is the nearest element (the candidate itself or an ancestor inside
# the article) whose overflow-x is not visible: if its content is wider than it, it
# scrolls (auto/scroll; with a cue when the book's CSS gave it the shadow background,
# recognised by a `local` background attachment) or cuts the content off (hidden/clip).
READ = r"""() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const acs = getComputedStyle(article), ar = article.getBoundingClientRect();
  const col = {left: ar.left + parseFloat(acs.paddingLeft), right: ar.right - parseFloat(acs.paddingRight)};
  const px = v => Math.round(v);
  const sectionOf = e => { let s = e.closest('section'); const h = s && s.querySelector('h1, h2, h3, h4');
    return h ? h.textContent.replace(/#\s*$/, '').trim().slice(0, 60) : ''; };
  const snippet = e => (e.getAttribute('aria-label') || e.textContent || e.getAttribute('alt') || '')
    .replace(/\s+/g, ' ').trim().slice(0, 50);
  const where = e => ({section: sectionOf(e), y: px(e.getBoundingClientRect().top + window.scrollY)});
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    [...e.classList].slice(0, 3).map(c => '.' + c).join('');
  const category = e => e.matches('mjx-container, mjx-container *')
      ? (e.closest('mjx-container').getAttribute('display') === 'true' ? 'display math' : 'inline math')
    : e.matches('table, table *, .descent-table, .pst-scrollable-table-container') ? 'table'
    : e.closest('.animation') ? 'flip-book' : e.closest('.jupyter-widgets') ? 'widget' : 'output';
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && e.offsetParent !== null; };
  const candidates = [...article.querySelectorAll('mjx-container, table, .descent-table, .pst-scrollable-table-container, '
                                                  + 'div.cell_output > *, div.cell_output pre, div.animation, .jupyter-widgets')]
    .filter(shown);
  const seen = new Set(), wide = [];
  for (const e of candidates) {
    const kind = category(e);
    const record = (el, what, sizes) => { if (seen.has(el)) return; seen.add(el);
      wide.push({kind, what, element: name(el), text: snippet(el), ...where(el), ...sizes}); };
    // MathJax's content is its mjx-math; scrollWidth would count the hidden assistive MathML
    const math = e.matches('mjx-container') && e.querySelector('mjx-math');
    let rect = (math || e).getBoundingClientRect(), outer = e, first = true;
    for (let n = e; n && n !== article; n = n.parentElement) {  // each box that scrolls or clips on the way up
      const s = getComputedStyle(n);
      if (s.overflowX === 'visible') continue;
      const content = first && math ? Math.round(rect.width) : n.scrollWidth;
      if (content > n.clientWidth + (first && math ? 2 : 1)) {
        const what = ['hidden', 'clip'].includes(s.overflowX) ? 'cut off'
          : s.backgroundAttachment.includes('local') ? 'scrolls (with a cue)' : 'scrolls (no cue)';
        record(n, what, {scrollWidth: content, clientWidth: n.clientWidth});
      }
      first = false;
      rect = n.getBoundingClientRect();  // nothing of e shows outside this box
      outer = n;
    }
    if (rect.right > col.right + 1 || rect.left < col.left - 1)
      record(outer, 'overflows the column', {right: px(rect.right), column: px(col.right), by: px(rect.right - col.right)});
  }
  const pageWide = document.scrollingElement.scrollWidth - window.innerWidth;
  const contained = e => { for (let n = e.parentElement; n && n !== document.body; n = n.parentElement) {
      const s = getComputedStyle(n); if (s.overflowX !== 'visible' || s.position === 'fixed') return true; } return false; };
  const beyond = pageWide > 1 ? [...article.querySelectorAll('*')].filter(e => {
      const r = e.getBoundingClientRect(); return r.width > 0 && r.right > window.innerWidth + 1 && !contained(e); }) : [];
  const culprits = beyond.filter(e => !beyond.includes(e.parentElement)).slice(0, 5)
    .map(e => `${name(e)} ${where(e).section ? 'in "' + where(e).section + '" ' : ''}(y = ${where(e).y} px): `
              + `right edge ${px(e.getBoundingClientRect().right)} px: «${snippet(e)}»`);
  const fileLike = /\.(png|jpe?g|gif|svg|webp)\b|_images\/|^[0-9a-f]{16,}|^data:/i;
  const images = [...article.querySelectorAll('img')].map(img => {
    const r = img.getBoundingClientRect(), alt = (img.getAttribute('alt') || '').trim();
    return {element: name(img), alt: alt.slice(0, 80), altOk: alt.length >= 8 && !fileLike.test(alt),
            shown: r.width > 0 && img.offsetParent !== null, natural: img.naturalWidth, css: Math.round(r.width * 10) / 10,
            density: r.width > 0 ? Math.round(img.naturalWidth / r.width * 100) / 100 : null,
            src: (img.getAttribute('src') || '').slice(0, 60), ...where(img)};
  });
  const doubled = /^\s*\d+(?:\.\d+)*\.?\s+\d+(?:\.\d+)*\.\s/;
  const headings = [...document.querySelectorAll('article h1, article h2, article h3, article h4, article h5, article h6, nav a')]
    .map(h => h.textContent.replace(/#\s*$/, '').replace(/\s+/g, ' ').trim()).filter(t => doubled.test(t));
  const chapters = [...new Set([...article.innerText.matchAll(/\bChapter (\d{2})\b/g)].map(m => m[1]))];
  const next = document.querySelector('.prev-next-area a.right-next');
  const visibleCode = [...article.querySelectorAll('div.cell_input pre')].filter(shown)
    .reduce((n, pre) => n + pre.innerText.replace(/\n$/, '').split('\n').length, 0);
  return {wide, pageWide, culprits, images, headings: [...new Set(headings)], chapters,
          next: next ? next.getAttribute('href') : null, visibleCode};
}"""

# Every control of the page: its description, and whether it is inactive.
CONTROLS = r"""() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const all = [...article.querySelectorAll('input[type="range"], select, [role="slider"]')]
    .filter(e => !(e.matches('[role="slider"]') && e.closest('input')));
  return all.map((e, i) => {
    e.setAttribute('data-descent-control', String(i));
    const holder = e.closest('.widget-slider, .widget-dropdown, .widget-inline-hbox');
    const label = e.closest('.animation') ? 'flip-book frame'
      : (holder && holder.querySelector('.widget-label, label') || {}).textContent || e.getAttribute('aria-label')
        || e.getAttribute('title') || e.getAttribute('name') || e.id || '';
    const s = getComputedStyle(e);
    const inactive = !!(e.disabled || e.closest('[disabled], [aria-disabled="true"], .mod-disabled, fieldset:disabled')
      || e.getAttribute('aria-disabled') === 'true' || s.pointerEvents === 'none' || s.visibility === 'hidden');
    const sec = e.closest('section'), h = sec && sec.querySelector('h1, h2, h3, h4');
    return {index: i, tag: e.tagName.toLowerCase() + (e.matches('[role="slider"]') ? '[role=slider]' : ''),
            label: label.replace(/\s+/g, ' ').trim().slice(0, 40), inactive,
            section: h ? h.textContent.replace(/#\s*$/, '').trim().slice(0, 60) : '',
            y: Math.round(e.getBoundingClientRect().top + window.scrollY)};
  });
}"""

# What a control can change: the images, canvases and SVGs of its cell output (else its
# cell, else the page), as one fingerprint string.
PICTURE = r"""(index) => {
  const e = document.querySelector(`[data-descent-control="${index}"]`);
  const scope = [e.closest('div.cell_output'), e.closest('div.cell'), document.querySelector('article')]
    .find(s => s && s.querySelector('img, canvas, svg')) || document.body;
  const parts = [...scope.querySelectorAll('img, canvas, svg')].map(el =>
    el.tagName === 'IMG' ? (el.currentSrc || el.src) : el.tagName === 'CANVAS' ? el.toDataURL() : el.outerHTML);
  let h = 0; const text = parts.join('|');
  for (let i = 0; i < text.length; i++) { h = (h * 31 + text.charCodeAt(i)) | 0; }
  return `${parts.length}:${text.length}:${h}`;
}"""


# Scroll a control to the middle of the window; return where to press and where to let go.
AIM = r"""(index) => {
  const e = document.querySelector(`[data-descent-control="${index}"]`);
  e.scrollIntoView({block: 'center', inline: 'nearest'});
  if (e.tagName === 'SELECT') return {select: true, n: e.options.length, current: e.selectedIndex};
  const track = (e.matches('[role="slider"]') && (e.closest('.noUi-target') || e.parentElement)) || e;
  const t = track.getBoundingClientRect(), h = e.getBoundingClientRect();
  const lo = Number(e.min || 0), hi = Number(e.max || 100);
  const hx = e === track ? t.left + t.width * (Number(e.value) - lo) / ((hi - lo) || 1) : h.left + h.width / 2;
  const target = t.left + (hx - t.left > t.width / 2 ? 0.15 : 0.85) * t.width;
  return {select: false, drag: e !== track, hx, hy: h.top + h.height / 2, target, y: t.top + t.height / 2};
}"""


# The value a control shows: a range input's or a select's value, an ARIA slider's valuenow
# (ipywidgets: its readout).
VALUE = r"""(index) => {
  const e = document.querySelector(`[data-descent-control="${index}"]`);
  if (e.matches('[role="slider"]')) { const box = e.closest('.widget-slider');
    const readout = box && box.querySelector('.widget-readout');
    return (readout && readout.textContent.trim()) || e.getAttribute('aria-valuetext') || e.getAttribute('aria-valuenow'); }
  return e.tagName === 'SELECT' ? (e.options[e.selectedIndex] || {}).text : e.value;
}"""


def _move(page, control: dict) -> None:
    """Move a control as a reader would: click far along a range input, drag a slider's
    handle along its track, pick another option of a drop-down."""
    aim = page.evaluate(AIM, control["index"])
    if aim["select"]:
        if aim["n"] > 1:
            page.locator(f'[data-descent-control="{control["index"]}"]').select_option(index=(aim["current"] + 1) % aim["n"])
        return
    if aim["drag"]:
        page.mouse.move(aim["hx"], aim["hy"])
        page.mouse.down()
        page.mouse.move(aim["target"], aim["y"], steps=3)
        page.mouse.up()
    else:
        page.mouse.click(aim["target"], aim["y"])


class Visit:
    """What one page showed and did, opened once for every browser check: at 1280 px
    its rendering (math, images, widgets, flip-books played, console), its layout read
    and its controls tried; then at 400 px its layout read again.  Screenshots of both."""

    info: dict
    anim_ids: list
    flipbooks: list
    errors: list
    blocked: list
    readings: dict  # width -> READ result
    controls: list


_VISITS: dict = {}


def _screenshot(page, page_name: str, width: int) -> None:
    if SCREENS.name == "none":  # DESCENT_BOOK_SCREENS=none: no screenshots (a quicker local run)
        return
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{page_name.replace('/', '-')}-{width}.jpg"), full_page=True,
                    type="jpeg", quality=60, animations="disabled")


def _try_controls(page) -> list:
    controls = page.evaluate(CONTROLS)
    for control in controls:
        if control["inactive"]:
            continue
        before, value = page.evaluate(PICTURE, control["index"]), page.evaluate(VALUE, control["index"])
        try:
            _move(page, control)
        except Exception as exc:  # a control that cannot be moved is reported, not raised
            control["error"] = f"could not be moved: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            continue
        t0 = time.perf_counter()
        control["changed"] = False
        while time.perf_counter() - t0 < 0.1:  # a live panel redraws within a frame (16 ms)
            if page.evaluate(PICTURE, control["index"]) != before:
                control["changed"] = True
                break
            page.wait_for_timeout(20)
        moved_to = page.evaluate(VALUE, control["index"])
        control["error"] = (f"moved from {value} to {moved_to}, but no image or canvas of its output changed"
                            if moved_to != value else f"did not move (its value stayed {value})")
    return controls


def visit(browser, html_dir: Path, page_name: str) -> Visit:
    if page_name in _VISITS:
        return _VISITS[page_name]
    v = Visit()
    context, page, report = open_page(browser, (html_dir / f"{page_name}.html").as_uri())
    try:
        page.evaluate(WAIT_FOR_RENDERING)
        v.info = page.evaluate(INSPECT)
        v.anim_ids = page.evaluate("() => [...document.querySelectorAll('img[id^=\"_anim_img\"]')].map(i => i.id)")
        v.flipbooks = [page.evaluate(FLIPBOOK, anim) for anim in page.query_selector_all(".animation")]
        v.errors, v.blocked = list(report.errors), list(report.blocked)  # what loading and playing did
        v.readings = {1280: page.evaluate(READ)}
        _screenshot(page, page_name, 1280)
        v.controls = _try_controls(page)
        page.set_viewport_size({"width": 400, "height": 900})
        page.wait_for_timeout(150)
        v.readings[400] = page.evaluate(READ)
        _screenshot(page, page_name, 400)
    finally:
        context.close()
    _VISITS[page_name] = v
    return v


_REPORT: dict = {}


@pytest.fixture(scope="module")
def report():
    """Collects every finding; at the end writes SCREENS/report.json and report.md."""
    yield _REPORT
    if not _REPORT or SCREENS.name == "none":
        return
    import json

    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / "report.json").write_text(json.dumps(_REPORT, indent=1, ensure_ascii=False), encoding="utf-8")
    checks = sorted({c for per_page in _REPORT.values() for c in per_page})
    lines = ["# The book as a reader meets it", "",
             "Offending elements per page and check (`DESCENT_BOOK_REPORT=1` lists them without failing).", "",
             "| page | " + " | ".join(checks) + " |", "|---|" + "---|" * len(checks)]
    for page_name, per_page in _REPORT.items():
        cells = [per_page.get(c, []) for c in checks]
        lines.append(f"| {page_name} | " + " | ".join(str(c if isinstance(c, int) else len(c)) for c in cells) + " |")
    for page_name, per_page in _REPORT.items():
        for check, items in per_page.items():
            if items and not isinstance(items, int):
                lines += ["", f"## {page_name}: {check}", ""] + [f"- {item}" for item in items]
    (SCREENS / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def verdict(report, page_name: str, check: str, problems: list[str], what: str):
    """Record ``problems`` in the report; fail with all of them unless in report-only mode."""
    report.setdefault(page_name, {})[check] = problems
    if problems and not REPORT_ONLY:
        pytest.fail(f"{page_name}.html: {len(problems)} {what}:\n  " + "\n  ".join(problems), pytrace=False)


def _at(item) -> str:
    return f'in "{item["section"]}" (y = {item["y"]} px)' if item.get("section") else f'(y = {item["y"]} px)'


@pytest.mark.parametrize("width", list(VIEWPORTS.values()), ids=[f"{w}px" for w in VIEWPORTS.values()])
@pytest.mark.parametrize("page_name", PAGES)
def test_page_fits_its_column(page_name, width, html_dir, browser, report):
    """Math, printed output, tables, widgets and flip-books stay inside the text column.
    At 1280 px only a table may scroll (in a box with the cue); at 400 px anything may."""
    data = visit(browser, html_dir, page_name).readings[width]
    problems = []
    for item in data["wide"]:
        allowed = item["what"] == "scrolls (with a cue)" and (width < 1280 or item["kind"] == "table")
        if allowed:
            continue
        sizes = (f'scrollWidth {item["scrollWidth"]} > clientWidth {item["clientWidth"]}' if "scrollWidth" in item
                 else f'right edge {item["right"]} px > column {item["column"]} px (+{item["by"]} px)')
        problems.append(f'{width} px: {item["kind"]} {item["what"]}: {item["element"]} {_at(item)}: {sizes}: «{item["text"]}»')
    if data["pageWide"] > 1:
        problems.append(f'{width} px: the page scrolls sideways by {data["pageWide"]} px, because of: '
                        + "; ".join(data["culprits"] or ["(an element outside the article)"]))
    verdict(report, page_name, f"too wide at {width} px", problems, f"elements wider than the column at {width} px")


@pytest.mark.parametrize("width", list(VIEWPORTS.values()), ids=[f"{w}px" for w in VIEWPORTS.values()])
@pytest.mark.parametrize("page_name", PAGES)
def test_images_have_alt_text_and_density(page_name, width, html_dir, browser, report):
    """Every image says what it shows (an alt text that is not a file name) and has at
    least 1.5 image pixels per CSS pixel as displayed."""
    data = visit(browser, html_dir, page_name).readings[width]
    problems = []
    for img in data["images"]:
        found = []
        if not img["altOk"] and width == 1280:  # the alt text does not depend on the width
            found.append(f'no real alt text (alt="{img["alt"][:60]}")')
        if img["shown"] and img["density"] is not None and img["density"] < 1.5:
            found.append(f'{img["density"]} image px per CSS px (< 1.5: {img["natural"]} px shown {img["css"]} px wide)')
        if found:
            problems.append(f'{width} px: {img["element"]} {_at(img)}, src {img["src"][:40]}…: ' + "; ".join(found))
    verdict(report, page_name, f"images at {width} px", problems, f"images without alt text or below 1.5x density ({width} px)")


@pytest.mark.parametrize("page_name", PAGES)
def test_headings_and_navigation(page_name, html_dir, browser, report):
    """No heading (or table-of-contents entry) numbered twice; every chapter the text
    names is a page of the book, and a chapter's Next button goes to the next page."""
    data = visit(browser, html_dir, page_name).readings[1280]
    problems = [f'heading numbered twice: "{h}"' for h in data["headings"]]
    chapters = {m.group(1): p for p in PAGES if (m := re.match(r"chapters/(\d\d)_", p))}
    for number in data["chapters"]:
        if number not in chapters:
            problems.append(f"the text names Chapter {number}, which the book does not have "
                            f"(Next goes to {data['next']})")
    if page_name in PAGES[:-1]:
        expected = PAGES[PAGES.index(page_name) + 1]
        target = (Path(page_name).parent / (data["next"] or "")).as_posix()
        if not data["next"] or os.path.normpath(target) != os.path.normpath(f"{expected}.html"):
            problems.append(f"Next goes to {data['next']}, the table of contents says {expected}")
    verdict(report, page_name, "headings and navigation", problems, "heading or navigation problems")


@pytest.mark.parametrize("page_name", PAGES)
def test_static_controls_work_or_are_inactive(page_name, html_dir, browser, report):
    """Every slider (range input or ARIA slider) and drop-down of the static page is
    either inactive (disabled) or changes an image or canvas of its output when moved."""
    v = visit(browser, html_dir, page_name)
    problems = []
    for c in v.controls:
        if c["inactive"] or c.get("changed"):
            continue
        why = c.get("error") or "moved, but no image or canvas of its output changed"
        problems.append(f'{c["tag"]} "{c["label"]}" in "{c["section"]}" (y = {c["y"]} px): {why}')
    report.setdefault(page_name, {})["visible code lines"] = v.readings[1280]["visibleCode"]
    verdict(report, page_name, "controls", problems, "enabled controls that change nothing")


# ------------------------------------------------------------------ figure helpers, without a browser

def _plot():
    import matplotlib

    matplotlib.use("Agg")
    from descent import plot

    return plot


def _png_width(data: bytes) -> int:
    import struct

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", data[16:20])[0]


def test_figure_png_has_two_pixels_per_css_pixel():
    plot = _plot()
    fig, (ax,) = plot.figure(size=(4.6, 3.3))
    ax.plot([0, 1], [1, 0])
    data, css = plot.png(fig)
    assert abs(css - 4.6 * 96) <= 1, css  # one inch of figure is one CSS inch
    assert _png_width(data) // 2 == css
    assert data[25] == 3, "not a palette PNG (compact_png)"  # IHDR colour type 3: indexed colour
    assert plot.RC["figure.dpi"] == plot.RC["savefig.dpi"] == 192


def test_a_figure_displays_as_the_books_png_with_its_alt_text():
    """plt.show(), display(fig) and a figure ending a cell all go through
    Figure._ipython_display_: a PNG with its CSS width and alt text in the metadata."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    plot = _plot()
    InteractiveShell.instance()
    fig, (ax,) = plot.figure(alt="A falling line.")
    ax.plot([0, 1], [1, 0])
    with capture_output() as cap:
        display(fig)
    (out,) = cap.outputs
    assert "image/png" in out.data and out.data["text/plain"] == "[figure: A falling line.]"
    meta = out.metadata["image/png"]
    assert meta["alt"] == "A falling line."
    assert meta["width"] == _png_width(out.data["image/png"] if isinstance(out.data["image/png"], bytes)
                                       else __import__("base64").b64decode(out.data["image/png"])) // 2
    img = plot.image(fig, alt="Another sentence.")
    _, md = img._repr_png_()
    assert md == {"width": meta["width"], "alt": "Another sentence.", "descent": {"width_in": 4.6, "text_pt": 14.4}}
    assert meta["descent"] == md["descent"]  # 4.6 in wide, every text at least 14.4 pt


def test_readable_raises_every_text_to_the_body_size_on_a_phone():
    import matplotlib

    plot = _plot()
    fig, (ax,) = plot.figure(size=(6.0, 3.0))
    ax.plot([1, 2, 3], label="a line")
    ax.legend(fontsize=7)
    ax.set_xlabel("x", fontsize=6)
    ax.annotate("note", (1, 1), fontsize=5)
    ax.tick_params(labelsize=6)
    plot.readable(fig)
    fig.canvas.draw()
    least = plot.min_font_pt(6.0)
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert sizes and min(sizes) >= least - 1e-9, (least, sorted(sizes)[:5])
    # the rule: a figure w inches wide is shown min(96 w, 368) px wide on a 400-px screen;
    # its smallest text is then 16 px, the body text's size
    for w in (3.0, 4.6, 6.0, 9.2):
        shown = min(96 * w, plot.COLUMN_PX["narrow"]) / (96 * w)
        assert plot.min_font_pt(w) * 96 / 72 * shown >= plot.BODY_PX - 1e-9
    assert plot.RC["font.size"] >= plot.min_font_pt(plot.WIDTH) - 0.05


def test_readable_keeps_to_what_the_layout_can_hold():
    """Three panels side by side in 11 in would need 34-pt text, which their layout cannot
    hold: readable() settles for the largest size that fits, and drawing warns nothing."""
    import warnings

    plot = _plot()
    fig, axes = plot.figure(ncols=3, size=(3.7, 3.3))
    for ax in axes:
        ax.plot([0.001, 1000], [1e-8, 1e8], label="a rather long legend label")
        ax.set_yscale("log")
        ax.set_xlabel("iteration $t$ of the run")
        ax.set_ylabel(r"$f(x_t) - f^\star$")
        ax.legend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        used = plot.readable(fig)
        plot.png(fig)
    assert plot.min_font_pt(11.1) * 0.3 < used < plot.min_font_pt(11.1), used
    assert plot.text_metadata(fig) == {"width_in": 11.1, "text_pt": round(used, 2)}


def _cvd_lab(hex_color: str, deficiency: str):
    """CIE L*a*b* of a colour as seen with a colour-vision deficiency (Machado, Oliveira
    & Fernandes 2009, severity 1), applied in linear sRGB."""
    import numpy as np

    machado = {
        "normal": np.eye(3),
        "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    }
    import matplotlib.colors as mc

    c = np.array(mc.to_rgb(hex_color))
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    rgb = np.clip(np.asarray(machado[deficiency]) @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    n = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(n > 0.008856, np.cbrt(n), 7.787 * n + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a: str, b: str) -> float:
    import numpy as np

    return min(float(np.linalg.norm(_cvd_lab(a, d) - _cvd_lab(b, d)))
               for d in ("normal", "protanopia", "deuteranopia", "tritanopia"))


def test_every_optimizer_has_one_distinct_colour_blind_safe_look():
    """Two optimizers drawn with the same line style differ in colour by a CIE76 distance
    of at least 15 for normal vision and each simulated dichromacy; every colour stands
    out from the white page and from the level sets it is drawn on."""
    import matplotlib.colors as mc

    plot = _plot()
    looks = plot._LOOKS
    assert len({(lk.color, lk.linestyle) for lk in looks.values()}) == len(looks), "two optimizers look the same"
    for style in {lk.linestyle for lk in looks.values()}:
        markers = [lk.marker for lk in looks.values() if lk.linestyle == style]
        assert len(markers) == len(set(markers)), f"two rules drawn {style!r} share a marker: {markers}"
    close = [(a, b, round(_delta_e(looks[a].color, looks[b].color), 1))
             for i, a in enumerate(looks) for b in list(looks)[i + 1:]
             if looks[a].linestyle == looks[b].linestyle and _delta_e(looks[a].color, looks[b].color) < 15]
    assert not close, f"same line style, colours too close for some colour vision: {close}"
    darkest_level = mc.to_hex(plot.LEVELS(0.0))
    faint = [(n, round(_delta_e(lk.color, bg), 1)) for n, lk in looks.items()
             for bg in ("#ffffff", darkest_level) if _delta_e(lk.color, bg) < 15]
    assert not faint, f"colours that do not stand out from the page or the level sets: {faint}"
    # the first version's interface: style() gives colour and label only
    assert plot.style("adam") == {"color": looks["adam"].color, "label": "Adam"}
    assert set(plot.line("rmsprop", markers=True)) == {"color", "linestyle", "label", "marker"}


@pytest.mark.parametrize("where", ["below", "right", "above"])
def test_legend_sits_outside_the_data(where):
    plot = _plot()
    fig, axes = plot.figure(nrows=2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="one")
        ax.plot([0, 1], [1, 0], label="two")
        ax.set_xlabel("step $t$")
        ax.set_title("a title")
    legends = [plot.legend(axes[0], where), plot.legend(fig, where)]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for lg in legends:
        box = lg.get_window_extent(renderer)
        for ax in axes:
            data = ax.get_window_extent(renderer)
            assert not box.overlaps(data), f"{where}: legend {box} over the data of an axes {data}"
    with pytest.raises(ValueError, match="where must be"):
        plot.legend(axes[0], "inside")


def test_flipbook_has_alt_text_css_width_and_two_pixels_per_css_pixel():
    import base64

    plot = _plot()

    def make():
        fig, (ax,) = plot.figure(size=(4.0, 3.0), alt="A dot moving right.")
        (dot,) = ax.plot([], [], "o")
        ax.set_xlim(0, 3)
        ax.set_ylim(0, 1)
        return fig, lambda t: dot.set_data([t], [0.5])

    fig, draw = make()
    html = plot.flipbook(fig, draw, 3, name="test-flipbook").data
    assert 'alt="A dot moving right."' in html and 'width="384"' in html
    first = re.search(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)", html).group(1)
    assert _png_width(base64.b64decode(first.replace("\\n", "").replace("\\", ""))) == 2 * 384
    assert fig.get_layout_engine() is None  # laid out once, then frozen
    fig2, draw2 = make()
    assert plot.flipbook(fig2, draw2, 3, name="test-flipbook").data == html  # re-running changes no byte


def test_table_prints_html_and_aligned_text():
    import numpy as np

    plot = _plot()
    t = plot.table([["Adam", 0.01, 3.14159, 12], ["AdaDelta", 1.0, np.nan, 7]], ["rule", "$\\eta$", "f", "steps"],
                   formats=[None, ".2g", ".3f", "d"], caption="Two runs")
    assert repr(t) == ("Two runs\n"
                       "rule      $\\eta$      f  steps\n"
                       "--------  ------  -----  -----\n"
                       "Adam        0.01  3.142     12\n"
                       "AdaDelta       1      —      7")
    html = t._repr_html_()
    assert html.startswith('<div class="descent-table"><div class="descent-table-caption">Two runs</div>'
                           '<div class="descent-table-scroll"><table><thead>')
    assert r'<span class="math notranslate nohighlight">\(\eta\)</span>' in html
    assert '<td style="text-align: right">3.142</td>' in html and "<td style=\"text-align: left\">Adam</td>" in html
    g = plot.table([["GD", 0.1, "—"], ["Adam", 0.01, 12]], ["rule", "η", "steps"], formats=[None, ".2g", None],
                   groups=[("", 1), ("Rosenbrock", 2)])
    assert repr(g) == ("       Rosenbrock\n"
                       "rule     η  steps\n"
                       "----  ----  -----\n"
                       "GD     0.1      —\n"
                       "Adam  0.01     12")
    assert '<th colspan="2" class="descent-group">Rosenbrock</th>' in g._repr_html_()
    with pytest.raises(ValueError, match="groups must span the 3 columns"):
        plot.table([[1, 2, 3]], ["a", "b", "c"], groups=[("x", 2)])
    with pytest.raises(ValueError, match=r"rows\[1\] has 2 cells, expected 3"):
        plot.table([[1, 2, 3], [1, 2]], ["a", "b", "c"])
    with pytest.raises(ValueError, match="formats names columns that are not in columns"):
        plot.table([[1]], ["a"], formats={"b": ".2f"})


# ------------------------------------------------------------------ the book's Sphinx extension

def _extension():
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_offline", ROOT / "scripts" / "book_offline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_alt_text_of_an_output_is_found_by_the_image_file_name():
    import base64
    import hashlib

    ext = _extension()
    png = b"\x89PNG\r\n\x1a\n not really a png"
    b64 = base64.b64encode(png).decode()
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {"image/png": b64, "text/plain": "<Image>"},
         "metadata": {"image/png": {"width": 441, "alt": "Loss against step for three rates."}}},
        {"output_type": "display_data", "data": {"image/png": b64[:-4] + "AAAA"}, "metadata": {}}]}]}
    assert ext.output_alt_texts(nb) == {hashlib.sha256(png).hexdigest(): "Loss against step for three rates."}


def test_repository_and_launch_buttons_only_with_a_real_repository():
    from sphinx.errors import ConfigError

    ext = _extension()
    launch = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com"}
    off = ext.repository_buttons({"repository_url": "", "use_repository_button": True, "launch_buttons": launch})
    assert off["use_repository_button"] is False and off["launch_buttons"] == {}
    on = ext.repository_buttons({"repository_url": "https://github.com/someone/descent", "launch_buttons": launch})
    assert on["use_repository_button"] is True and on["launch_buttons"] == launch
    with pytest.raises(ConfigError, match="repository.url in _config.yml must be empty or https://github.com/"):
        ext.repository_buttons({"repository_url": "descent-book/descent"})


def test_author_year_labels():
    from pybtex.database import Entry, Person

    ext = _extension()

    def entry(*authors, year="2000"):
        e = Entry("article", fields={"year": year, "title": "T"})
        e.persons["author"] = [Person(a) for a in authors]
        return e

    assert ext.author_year_label(entry("Robbins, Herbert", "Monro, Sutton", year="1951")) == "Robbins and Monro, 1951"
    assert ext.author_year_label(entry("Duchi, John", "Hazan, Elad", "Singer, Yoram", year="2011")) == "Duchi et al., 2011"
    assert ext.author_year_label(entry("Zeiler, Matthew D.", year="2012")) == "Zeiler, 2012"


def test_citations_and_bibliography_speak_one_style(html_dir):
    """Every author-year citation in the text links to an entry labelled with the same
    words, and the bibliography's titles carry no untypeset $...$."""
    refs = (html_dir / "references.html").read_text(encoding="utf-8")
    labels = dict(re.findall(r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label"><span class="fn-bracket">\['
                             r'</span>([^<]+)<', refs))
    assert labels, "no labelled entries on references.html"
    assert not [v for v in labels.values() if v.isdigit()], f"numbered labels: {labels}"
    entries = re.findall(r'role="doc-biblioentry">(.*?)</div>', refs, flags=re.S)

    raw = [e for e in entries if "$" in re.sub(r'<span class="math[^"]*">.*?</span>', "", e)]
    assert not raw, f"bibliography entries with untypeset $...$: {raw[:2]}"
    cited, mismatched = 0, []
    for page in PAGES:
        text = (html_dir / f"{page}.html").read_text(encoding="utf-8")
        for anchor, words in re.findall(r'href="(?:\.\./)?references\.html#([^"]+)"[^>]*>([^<]+)</a>', text):
            cited += 1
            if labels.get(anchor) != words:
                mismatched.append(f"{page}: «{words}» links to the entry labelled «{labels.get(anchor)}»")
    assert cited, "no citations found in the chapters"
    assert not mismatched, "citations whose words differ from their entry's label:\n  " + "\n  ".join(mismatched)


def test_no_repository_or_launch_button_without_a_repository(html_dir):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url") or ""
    html = (html_dir / "chapters" / "01_sgd.html").read_text(encoding="utf-8")
    buttons = re.findall(r"source-repository-button|launch-buttons|mybinder\.org/v2|colab\.research\.google\.com/github", html)
    if url:
        assert buttons, f"repository.url is {url!r} but the page has no repository or launch button"
    else:
        assert not buttons, f"repository.url is empty but the page shows {sorted(set(buttons))}"


# ------------------------------------------------------------------ figure text, from the notebooks

CHAPTER_PAGES = [p for p in PAGES if p.startswith("chapters/")]
COLUMN = {1280: 688, 400: 368}  # the text column (CSS px) at these widths, as measured (descent.plot.COLUMN_PX)


def figure_outputs(notebook: dict):
    """Every figure a notebook shows, with the section it is in: (section, cell index,
    alt text, width in inches or None, smallest text in pt or None).  Width and text size
    come from descent.plot (a PNG's output metadata ``descent``, a flip-book's
    ``data-width-in`` and ``data-text-pt``); figures drawn otherwise have neither."""
    section = ""
    for index, cell in enumerate(notebook.get("cells", [])):
        text = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            heads = re.findall(r"^#{1,4} (.+)$", text, flags=re.M)
            section = heads[-1].strip() if heads else section
            continue
        for out in cell.get("outputs", []) or []:
            data, meta = out.get("data", {}), out.get("metadata", {})
            if "image/png" in data:
                m = meta.get("image/png") or {}
                d = m.get("descent") or {}
                yield section, index, m.get("alt", ""), d.get("width_in"), d.get("text_pt")
            html = "".join(data.get("text/html", ""))
            for img in re.findall(r"<img id=\"_anim_img[^>]*>", html):
                w, pt, alt = (re.search(rf'{k}="([^"]*)"', img) for k in ("data-width-in", "data-text-pt", "alt"))
                yield (section, index, alt.group(1) if alt else "", float(w.group(1)) if w else None,
                       float(pt.group(1)) if pt else None)


def text_px(pt: float, width_in: float, window: int) -> float:
    """CSS px of ``pt``-point text in a figure ``width_in`` wide, shown at min(its CSS
    width, the column) in a ``window``-px wide browser."""
    return pt * 96 / 72 * min(1.0, COLUMN[window] / (96 * width_in))


@pytest.mark.parametrize("page_name", CHAPTER_PAGES)
def test_figure_text_reads_as_the_body_text(page_name, report):
    """The smallest text of every figure (labels, ticks, legends) is at least the body
    text (16 px) as displayed at 1280 px and at 400 px."""
    import json

    notebook = json.loads((ROOT / f"{page_name}.ipynb").read_text(encoding="utf-8"))
    problems = []
    for section, index, alt, width, pt in figure_outputs(notebook):
        where = f'cell {index} in "{section[:60]}" ({alt[:40] or "no alt text"})'
        if width is None or pt is None:
            problems.append(f"{where}: not drawn by descent.plot (figure(), show() or flipbook()): its text size is unknown")
            continue
        small = {w: text_px(pt, width, w) for w in COLUMN if text_px(pt, width, w) < 16 - 0.05}
        if small:
            problems.append(f"{where}: smallest text {pt:g} pt in a {width:g}-in figure reads as "
                            + ", ".join(f"{px:.1f} px at {w} px" for w, px in small.items()) + " (< 16 px)")
    verdict(report, page_name, "figure text", problems, "figures whose text reads smaller than the body text")


# ------------------------------------------------------------------ the checks themselves

SYNTHETIC = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="descent.css">
<style>body {{ margin: 0; }} article.bd-article {{ width: 600px; padding: 0 20px; }}
div.cell_output pre {{ overflow-x: auto; }} .clip {{ overflow: hidden; display: block; width: 200px; }}</style></head>
<body><article class="bd-article"><section><h2>1.1. 1. A doubled heading</h2>
<div class="cell_output"><pre id="wide-pre">{wide}</pre></div>
<div class="cell_output"><pre id="short-pre">short</pre></div>
<div class="cell_output"><div class="descent-table"><div class="descent-table-scroll">
  <table id="wide-table"><tr>{cells}</tr></table></div></div></div>
<div class="cell_output"><div id="nocue" style="overflow-x: auto"><div style="width: 900px">wide, no cue</div></div></div>
<div class="cell_output"><span class="clip" id="clipped"><span style="display: inline-block; width: 400px">cut</span></span></div>
<div class="cell_output"><div id="overflowing" style="width: 800px">sticks out</div></div>
<div class="cell_output"><img id="hashed" alt="../_images/0123456789abcdef0123.png" width="100" src="{png}"></div>
<div class="cell_output"><img id="good" alt="A red square on white, drawn at twice the density." width="50" src="{png}"></div>
<div class="cell_output"><input id="live" type="range" min="0" max="10" value="2"><canvas id="c" width="20" height="20"></canvas>
<script>document.getElementById('live').addEventListener('input', e => {{
  const g = document.getElementById('c').getContext('2d');
  g.fillStyle = '#f00'; g.fillRect(0, 0, 2 * e.target.value, 20); }});</script></div>
<div class="cell_output"><input id="stale" type="range" min="0" max="10" value="2">
  <img alt="A picture that never changes." src="{png}" width="50"></div>
<div class="cell_output"><input id="off" type="range" min="0" max="10" value="2" disabled>
  <img alt="Another picture that stays." src="{png}" width="50"></div>
</section></article></body></html>"""


def test_the_checks_find_what_they_look_for(browser, tmp_path):
    """A page made to fail every check in a known way: the reading names each offender."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (100, 100), "red").save(buf, format="png")
    png = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    (tmp_path / "descent.css").write_text((ROOT / "assets" / "descent.css").read_text(encoding="utf-8"), encoding="utf-8")
    page_file = tmp_path / "page.html"
    page_file.write_text(SYNTHETIC.format(wide="x" * 300, cells="<td>cell</td>" * 80, png=png), encoding="utf-8")
    context, page, _ = open_page(browser, page_file.as_uri())
    try:
        data = page.evaluate(READ)
        controls = {c["index"]: c for c in _try_controls(page)}
    finally:
        context.close()
    found = {(w["element"].split(".")[0], w["what"]) for w in data["wide"]}
    assert ("pre#wide-pre", "scrolls (with a cue)") in found, found  # the book's CSS gives pre its cue
    assert ("div#nocue", "scrolls (no cue)") in found, found
    assert ("span#clipped", "cut off") in found, found
    assert ("div#overflowing", "overflows the column") in found, found
    assert any(w["kind"] == "table" and w["what"] == "scrolls (with a cue)" for w in data["wide"]), data["wide"]
    assert not any("short-pre" in w["element"] for w in data["wide"])
    images = {i["element"]: i for i in data["images"]}
    assert not images["img#hashed"]["altOk"] and images["img#hashed"]["density"] == 1.0
    assert images["img#good"]["altOk"] and images["img#good"]["density"] == 2.0
    assert data["headings"] == ["1.1. 1. A doubled heading"]
    by_id = {c["index"]: c for c in controls.values()}
    live, stale, off = (by_id[i] for i in sorted(by_id))
    assert live["changed"] and not live["inactive"], live
    assert not stale["changed"] and stale["error"].startswith("moved from 2 to "), stale
    assert off["inactive"] and "changed" not in off, off
