"""P4: what the widget weighs on the wire, gzipped, before and after it is opened.

"Before" is what ``{% chatwidget %}`` makes a page load (its ``<script>``/``<link>`` tags,
every file the entry script names, since it runs at page load and imports the core and UI
modules with ``import()`` so that it also works as a classic script, plus the modules
those import statically). "After" adds every other visitor-side file the
loaded scripts name (dynamic ``import()``, a stylesheet injected on open). "Whole widget"
is every visitor-side file in static/chatwidget/ (the agent inbox excluded), the upper
bound the 25 KB goal is checked against. Sizes are ``gzip -9`` of the files as shipped.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "chatwidget" / "static"
APP_DIR = STATIC / "chatwidget"

_TAG_REF = re.compile(r"""(?:src|href|data-css)\s*=\s*["']([^"']+\.(?:js|css))(?:\?[^"']*)?["']""")
_STATIC_IMPORT = re.compile(
    r"""(?:^|;|\n)\s*(?:import|export)\s+(?:[^'"();]*?\s+from\s+)?["']([^"']+\.js)["']""")
_ANY_REF = re.compile(r"""["'`]([^"'`\s]*?[\w.-]+\.(?:js|css))(?:\?[^"'`]*)?["'`]""")


def _is_visitor_file(path: Path) -> bool:
    """The agent inbox (inbox.* and the inbox/ modules) is not part of the visitor widget."""
    inbox = path.name.startswith("inbox") or "inbox" in path.relative_to(APP_DIR).parts[:-1]
    return path.suffix in {".js", ".css"} and not inbox


def _resolve(reference: str, relative_to: Path | None = None) -> Path | None:
    """A static URL or a relative import, as a file under static/chatwidget/ (or None)."""
    if "/static/" in reference:
        candidate = STATIC / reference.split("/static/", 1)[1]
    elif relative_to is not None and reference.startswith("."):
        candidate = (relative_to.parent / reference).resolve()
    else:
        candidate = APP_DIR / Path(reference).name
    try:
        candidate.relative_to(APP_DIR)
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def _closure(roots: set[Path], pattern: re.Pattern[str]) -> set[Path]:
    seen: set[Path] = set()
    todo = list(roots)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix != ".js":
            continue
        for reference in pattern.findall(path.read_text(errors="replace")):
            target = _resolve(reference, path)
            if target is not None and _is_visitor_file(target) and target not in seen:
                todo.append(target)
    return seen


def _sizes(paths: set[Path]) -> dict[str, Any]:
    files = {}
    for path in sorted(paths):
        data = path.read_bytes()
        files[str(path.relative_to(STATIC))] = {
            "bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9, mtime=0))}
    return {
        "files": files,
        "bytes": sum(f["bytes"] for f in files.values()),
        "gzip_bytes": sum(f["gzip_bytes"] for f in files.values()),
    }


def measure(widget_html: dict[str, Any] | None) -> dict[str, Any]:
    """Sizes before/after opening and for the whole widget; notes say what was assumed."""
    notes = []
    all_files = {p for p in APP_DIR.glob("**/*") if p.is_file() and _is_visitor_file(p)}
    if not all_files:
        return {"available": False, "notes": ["no visitor JS/CSS in chatwidget/static/ yet"]}
    html = (widget_html or {}).get("html")
    if html:
        roots = {p for ref in _TAG_REF.findall(html) if (p := _resolve(ref)) is not None}
    else:
        error = (widget_html or {}).get("error") or "not rendered"
        notes.append(f"{{% chatwidget %}} could not be rendered ({error}); assumed it loads "
                     "chatwidget.js and chatwidget.css")
        roots = {p for p in (APP_DIR / "chatwidget.js", APP_DIR / "chatwidget.css")
                 if p.is_file()}
    entry = {target for root in roots if root.suffix == ".js"
             for ref in _ANY_REF.findall(root.read_text(errors="replace"))
             if (target := _resolve(ref, root)) is not None and _is_visitor_file(target)}
    before = _closure(roots | entry, _STATIC_IMPORT)
    after = _closure(before, _ANY_REF)
    return {
        "available": True,
        "before_open": _sizes(before),
        "after_open": _sizes(after),
        "whole_widget": _sizes(all_files),
        "notes": notes,
    }
