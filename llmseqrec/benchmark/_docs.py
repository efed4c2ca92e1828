"""Writing generated sections into the docs pages (``docs/benchmarks/*.md``).

Each section lives between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers and is
regenerated from result files; text outside the markers is left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["write_section"]


def write_section(docs_path, name: str, markdown: str) -> None:
    """Replace (or append) the generated section ``name`` of the Markdown file ``docs_path``."""
    path = Path(docs_path)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n<!-- generated from result files by llmseqrec; do not edit by hand -->\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
