"""Every relative link and image path in README.md, docs/*.md and benchmarks/README.md resolves: the file exists
and, for ``page.md#anchor``, the page has a heading with that GitHub anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")])

_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_SRC = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    """The page without fenced code blocks and inline code, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (but ``-`` and ``_``), spaces to ``-``."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set:
    found, counts = set(), {}
    for line in _FENCE.sub("", page.read_text()).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = github_anchor(match.group(1))
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def links(page: Path) -> list:
    text = _prose(page.read_text())
    return _MD_LINK.findall(text) + _HTML_SRC.findall(text)


def test_the_pages_exist():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    for name in ("README.md", "benchmarks/README.md", "docs/performance.md", "docs/nerf.md", "docs/reliability.md",
                 "docs/results-images.md", "docs/results-tasks.md", "docs/tasks.md", "docs/theory.md"):
        assert name in names, f"{name} is missing"


def broken_links(page: Path, root: Path = ROOT) -> list:
    """The relative links and image paths of ``page`` that do not resolve inside ``root``, each with the reason."""
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_relative_to(root):
            broken.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: {resolved.relative_to(root)} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor} in {resolved.relative_to(root)}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_images_resolve(page):
    broken = broken_links(page)
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_the_link_check_sees_broken_links(tmp_path):
    (tmp_path / "img.png").write_bytes(b"")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](#title) [bad](missing.md) [anchor](#nowhere) ![pic](img.png) ![gone](gone.png)"
        " [up](../x.md) `[not](a-link.md)` [web](https://example.org)\n\n```\n[x](y.md)\n```\n"
    )
    assert links(page) == ["#title", "missing.md", "#nowhere", "img.png", "gone.png", "../x.md", "https://example.org"]
    assert anchors(page) == {"title"}
    reasons = broken_links(page, root=tmp_path)
    assert [r.split(":")[0] for r in reasons] == ["missing.md", "#nowhere", "gone.png", "../x.md"], reasons


def test_github_anchor():
    assert github_anchor("The authors' STAF on images") == "the-authors-staf-on-images"
    assert github_anchor("Comparing models (`staf-bench`)") == "comparing-models-staf-bench"
    assert github_anchor("Super-resolution x4") == "super-resolution-x4"


def test_readme_is_a_front_door():
    """At most about 250 lines, the two set-up commands `.ci/run` relies on, and the paper cited."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 260
    assert "make demo" in text and "make test" in text and "pip install -e ." in text
    assert "2502.00869" in text and "github.com/AlirezaMorsali/STAF" in text
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
