"""Every Python block of the README and the docs runs (issue 25), page by page: the blocks
of a page run in order in one namespace (a page reads top to bottom), in a scratch folder,
with a data home that holds MovieLens 100K when ../shared/data has it (so ``fetch_movielens``
reads it without the network). A block may carry a directive in the HTML comment right above
it: ``<!-- docs-test: slow -->`` runs it only with ``-m slow`` (LLM fine-tuning, the full
Beauty catalogue), ``<!-- docs-test: skip: <reason> -->`` never runs it and says why on the
page (a hosted API that needs a key). The docs site is built with ``mkdocs build --strict``."""

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(
    r"(?:<!-- docs-test: (?P<directive>[^>]*?) -->\s*\n)?(?P<indent>[ ]*)```python\n(?P<code>.*?)^(?P=indent)```",
    re.S | re.M,
)


def blocks(page: Path) -> list[tuple[str, str]]:
    """``(directive, code)`` of each Python block, indentation removed."""
    out = []
    for m in BLOCK.finditer(page.read_text()):
        indent = len(m["indent"])
        code = "".join(line[indent:] for line in m["code"].splitlines(keepends=True))
        out.append(((m["directive"] or "").strip(), code))
    return out


PAGES_WITH_CODE = [p for p in PAGES if blocks(p)]


def test_every_directive_is_known_and_a_skip_says_why():
    for page in PAGES_WITH_CODE:
        for directive, _ in blocks(page):
            assert directive in ("", "slow") or re.fullmatch(r"skip: .{10,}", directive), (
                f"{page.name}: unknown docs-test directive {directive!r}"
            )


def _data_home(tmp_path: Path) -> Path:
    home = tmp_path / "data-home"
    mirror = home / "movielens" / "ml-100k-atomic"
    if (SHARED / "ml-100k" / "ml-100k.item").exists():
        mirror.mkdir(parents=True)
        shutil.copy(SHARED / "ml-100k" / "ml-100k.item", mirror)
        with gzip.open(SHARED / "ml-100k" / "ml-100k.inter.gz", "rb") as src:
            (mirror / "ml-100k.inter").write_bytes(src.read())
    home.mkdir(exist_ok=True)
    return home


def _run_page(page: Path, tmp_path: Path, monkeypatch, include_slow: bool) -> int:
    home = _data_home(tmp_path)
    needs_movielens = "fetch_movielens" in page.read_text()
    if needs_movielens and not (home / "movielens").exists():
        pytest.skip(f"{page.name} reads MovieLens 100K: ../shared/data/ml-100k is absent")
    monkeypatch.setenv("LLMSEQREC_DATA", str(home))
    if (SHARED / "beauty").exists():
        monkeypatch.setenv("BEAUTY_DIR", str(SHARED / "beauty"))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for i, (directive, code) in enumerate(blocks(page), start=1):
        if directive.startswith("skip") or (directive == "slow" and not include_slow):
            continue
        if directive == "slow" and "BEAUTY_DIR" in code and "BEAUTY_DIR" not in os.environ:
            pytest.skip(
                f"{page.name} block {i} reads Amazon Beauty: ../shared/data/beauty is absent"
            )
        try:
            exec(compile(code, f"{page.relative_to(ROOT)} (block {i})", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(
                f"{page.relative_to(ROOT)}, Python block {i} failed: {exc!r}"
            ) from exc
        ran += 1
    return ran


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pages_python_blocks_run(page, tmp_path, monkeypatch):
    _run_page(page, tmp_path, monkeypatch, include_slow=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    "page",
    [p for p in PAGES_WITH_CODE if any(d == "slow" for d, _ in blocks(p))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_the_pages_slow_python_blocks_run(page, tmp_path, monkeypatch):
    _run_page(page, tmp_path, monkeypatch, include_slow=True)


def test_the_docs_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "models" / "index.html").exists()
