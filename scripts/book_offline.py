"""Sphinx extension (loaded from _config.yml): the built book, self-contained and as a
reader meets it.

The pages must work from disk with no network: MathJax comes from
sphinx-mathjax-offline, the widget manager from assets/html-manager/embed.js, and the
flip-books' player buttons are plain glyphs (``descent.plot.flipbook`` drops matplotlib's
Font Awesome link from a CDN).  One thing in the default Jupyter Book 1 stack still
breaks that, and is fixed here:

* Some inline configuration scripts (sphinx-thebe's ``const THEBE_JS_URL = …``,
  sphinx-togglebutton's selector) are emitted twice on every page: Sphinx keeps the
  copy registered at ``builder-inited`` and the copy re-read from its registry as
  distinct assets (``filename`` ``None`` versus ``''``).  A second ``const``
  declaration is a SyntaxError in the browser.  Identical scripts are emitted once.

And four things a reader meets:

* **Alt text.**  ``descent.plot`` stores a figure's alt text in the notebook output's
  metadata (``{"image/png": {"alt": ...}}``, IPython's own key), which myst-nb does not
  read (it takes only ``width``/``height`` from there, and ``alt`` from the cell's
  ``mystnb: image: alt:`` metadata, one text for every image of the cell).  Each
  image output is matched to its ``<img>`` by the SHA-256 of its bytes, the name myst-nb
  gives the file, and the output's alt text wins over the cell's.
* **Repository and launch buttons** only when ``repository.url`` in ``_config.yml`` is a
  real repository: empty (the default) means no repository button and no Binder/Colab
  launch buttons, never a link to a placeholder.  Set the URL and both appear.
* **References in one style.**  The chapters cite author-year ("Kingma and Ba, 2015");
  the bibliography style ``descent`` labels every entry with the same words (instead
  of [1]…[18]), sorted by author and year.
* **Math in references.**  A BibTeX title such as ``... rate {$O(1/k^2)$}`` is printed
  by pybtex as the text ``$O(1/k^2)$``; it becomes a math node, typeset by MathJax.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from docutils import nodes

REPOSITORY = re.compile(r"^https://(github\.com|gitlab\.com|bitbucket\.org)/[\w.-]+/[\w.-]+/?$")
DOLLAR_MATH = re.compile(r"\$([^$]+)\$")


# ------------------------------------------------------------------ offline

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


# ------------------------------------------------------------------ alt text

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


def output_alt_texts(notebook: dict) -> dict[str, str]:
    """SHA-256 of each image output's bytes -> the alt text in its output metadata."""
    found = {}
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data, meta = out.get("data", {}), out.get("metadata", {})
            for mime in IMAGE_TYPES:
                alt = (meta.get(mime) or {}).get("alt") if isinstance(meta.get(mime), dict) else None
                if mime in data and alt:
                    raw = data[mime]
                    raw = "".join(raw) if isinstance(raw, list) else raw
                    found[hashlib.sha256(base64.b64decode(raw)).hexdigest()] = str(alt)
    return found


def apply_alt_texts(app, doctree):
    """Give every notebook image the alt text stored with its output."""
    docname = app.env.docname
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return
    alts = output_alt_texts(json.loads(source.read_text(encoding="utf-8")))
    if not alts:
        return
    for image in doctree.findall(nodes.image):
        digest = Path(image.get("uri", "")).stem
        if digest in alts:
            image["alt"] = alts[digest]


# ------------------------------------------------------------------ repository buttons

def repository_buttons(theme_options: dict) -> dict:
    """The theme options with the repository and launch buttons on only when
    ``repository_url`` names a real repository (https://github.com/owner/repo, or on
    GitLab or Bitbucket); empty: both off.  Anything else is a configuration error."""
    opts = dict(theme_options)
    url = (opts.get("repository_url") or "").strip()
    if not url:
        opts["repository_url"] = ""
        opts["use_repository_button"] = False
        opts["launch_buttons"] = {}
        return opts
    if not REPOSITORY.match(url):
        from sphinx.errors import ConfigError

        raise ConfigError(f"repository.url in _config.yml must be empty or https://github.com/<owner>/<repo> "
                          f"(or GitLab, Bitbucket), got {url!r}")
    opts["use_repository_button"] = True
    return opts


def configure_buttons(app, config):
    config.html_theme_options = repository_buttons(config.html_theme_options or {})


# ------------------------------------------------------------------ bibliography

def _last_names(person) -> str:
    from pybtex.richtext import Text

    return str(Text.from_latex(" ".join(person.prelast_names + person.last_names)))


def author_year_label(entry) -> str:
    """"Robbins and Monro, 1951", "Liu et al., 2020": the words the chapters' author-year
    citations print (sphinxcontrib-bibtex's ``author_year`` reference style)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_names(p) for p in persons]
    who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2
           else f"{names[0]} et al." if names else entry.fields.get("title", entry.key))
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def register_bibliography_style():
    """The pybtex style ``descent``: pybtex's ``plain`` entries with author-year labels."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as Plain
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield author_year_label(entry)

    class Style(Plain):
        default_label_style = "descent_author_year"

    register_plugin("pybtex.style.labels", "descent_author_year", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "descent", Style, force=True)


def bibliography_needs_mathjax(app, doctree):
    """The math of :func:`typeset_reference_math` is made after reading, so Sphinx would
    not load MathJax on the bibliography's page: say it has equations."""
    from sphinxcontrib.bibtex.nodes import bibliography

    if any(doctree.findall(bibliography)):
        app.env.get_domain("math").data["has_equations"][app.env.docname] = True


def typeset_reference_math(app, doctree, docname):
    """``$...$`` left in the text of a bibliography entry becomes inline math."""
    entries = [n for n in doctree.findall(nodes.Element)
               if isinstance(n, nodes.citation) or n.get("role") == "doc-biblioentry"]
    for entry in entries:
        for text in list(entry.findall(nodes.Text)):
            if isinstance(text.parent, (nodes.math, nodes.literal, nodes.raw)) or "$" not in text:
                continue
            parts = DOLLAR_MATH.split(str(text))
            if len(parts) == 1:
                continue
            new = [nodes.math(p, p) if i % 2 else nodes.Text(p) for i, p in enumerate(parts) if p]
            text.parent.replace(text, new)


def setup(app):
    register_bibliography_style()
    app.connect("config-inited", configure_buttons)
    app.connect("doctree-read", apply_alt_texts)
    app.connect("doctree-read", bibliography_needs_mathjax)
    app.connect("doctree-resolved", typeset_reference_math)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.1"}
