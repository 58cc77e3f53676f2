"""The Korean documents (docs/ko/) keep their English twins' section structure.

The hospital's team reads Korean: each translated document must have the same headings, at the
same levels and in the same order, as the English one, so a section added in English without its
translation fails here. Headings inside fenced code blocks are not headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
KO = ROOT / "docs" / "ko"
# Korean document -> its English twin.
TWINS = {
    KO / "README.md": ROOT / "README.md",
    KO / "deploy.md": ROOT / "docs" / "deploy.md",
    KO / "ARCHITECTURE.md": ROOT / "docs" / "ARCHITECTURE.md",
}
_HEADING = re.compile(r"^(#{1,6})\s+\S")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every Markdown heading outside fenced code blocks."""
    found, fenced = [], False
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = _HEADING.match(line)
        if match and not fenced:
            found.append((len(match.group(1)), line[len(match.group(1)) :].strip()))
    return found


def test_every_korean_document_has_an_english_twin() -> None:
    assert sorted(KO.glob("*.md")) == sorted(TWINS)


@pytest.mark.parametrize("korean", sorted(TWINS), ids=lambda p: p.name)
def test_same_sections_in_the_same_order(korean: Path) -> None:
    english = TWINS[korean]
    assert [level for level, _ in headings(korean)] == [level for level, _ in headings(english)]


@pytest.mark.parametrize("korean", sorted(TWINS), ids=lambda p: p.name)
def test_headings_are_translated(korean: Path) -> None:
    """Every heading carries Hangul (a copied English heading is not a translation)."""
    untranslated = [text for _, text in headings(korean) if not _HANGUL.search(text)]
    assert untranslated == []


def test_the_structure_check_sees_a_missing_section(tmp_path: Path) -> None:
    english = tmp_path / "en.md"
    english.write_text("# A\n\n## B\n\n```\n# not a heading\n```\n\n## C\n")
    korean = tmp_path / "ko.md"
    korean.write_text("# 가\n\n## 나\n")
    assert [lvl for lvl, _ in headings(english)] == [1, 2, 2]
    assert [lvl for lvl, _ in headings(korean)] != [lvl for lvl, _ in headings(english)]
