"""Sphinx extension (loaded from _config.yml): keep the built book self-contained.

The pages must work from disk with no network: MathJax comes from
sphinx-mathjax-offline, the widget manager from assets/html-manager/embed.js.  Two
things in the default Jupyter Book 1 stack still break that, and are fixed here:

* matplotlib's ``to_jshtml`` player (the flip-books) starts with
  ``<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/...">``
  for its button icons.  Offline that request fails (a console error).  The theme
  already ships Font Awesome 6 as JavaScript, which draws the same ``fa fa-play`` …
  icons, so the link is dropped from every raw-HTML output.
* Some inline configuration scripts (sphinx-thebe's ``const THEBE_JS_URL = …``,
  sphinx-togglebutton's selector) are emitted twice on every page: Sphinx keeps the
  copy registered at ``builder-inited`` and the copy re-read from its registry as
  distinct assets (``filename`` ``None`` versus ``''``).  A second ``const``
  declaration is a SyntaxError in the browser.  Identical scripts are emitted once.
"""

from __future__ import annotations

import re

from docutils import nodes

CDN_STYLESHEET = re.compile(r'<link\b[^>]*\bhref="https?://[^"]*font-awesome[^"]*"[^>]*>[ \t]*\n?')


def drop_cdn_stylesheets(app, doctree, docname):
    """Remove CDN Font Awesome links from raw HTML outputs (flip-books)."""
    for node in list(doctree.findall(nodes.raw)):
        if "html" not in node.get("format", "").split():
            continue
        text = node.astext()
        if CDN_STYLESHEET.search(text):
            node.children = [nodes.Text(CDN_STYLESHEET.sub("", text))]


def dedupe_scripts(app, pagename, templatename, context, doctree):
    """Emit each script (same source, same attributes, same inline body) once."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    app.connect("doctree-resolved", drop_cdn_stylesheets)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
