"""The documentation stays true to itself: citations name pages and headings that exist, links point
at tracked files, and the README stays a front door.

Code and comments cite the docs as `docs/<page>.md#<anchor>`, the anchor being GitHub's slug of a
heading of that page. Everything here reads the files git tracks, so a page that exists only in a
working copy does not count.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250

# The retired citation style: an upper-case reference document name, alone or followed by a
# section number. Spelt with a character class so that this file does not match itself.
RETIRED_WORD = re.compile(r"\bS[P]EC\b")
RETIRED_CITATION = re.compile(r"\bS[P]EC\s*\d+(\.\d+)*")

DOC_REFERENCE = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
# [text](target) and ![alt](target), with an optional "title" after the target.
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
EXTERNAL = ("http://", "https://", "mailto:", "ftp://")


# -- helpers -----------------------------------------------------------------------------------


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: markdown links reduced to their text, lower case,
    every character but letters, digits, spaces, hyphens and underscores dropped, spaces to
    hyphens (not collapsed: "a / b" gives "a--b")."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) of a markdown text's lines that are not inside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings; a repeated slug gets -1, -2, ... as there."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in outside_fences(markdown):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@lru_cache(maxsize=1)
def tracked() -> tuple[str, ...]:
    """Paths git tracks in this repository, relative to its root."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return tuple(name for name in out.decode().split("\0") if name)


def read_text(name: str) -> str | None:
    """A tracked file's text, or None for a binary (or missing) file."""
    try:
        data = (REPO / name).read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@lru_cache(maxsize=1)
def text_files() -> dict[str, str]:
    return {name: text for name in tracked() if (text := read_text(name)) is not None}


def doc_pages() -> list[str]:
    return sorted(name for name in tracked() if re.fullmatch(r"docs/[^/]+\.md", name))


def retired_citations(files: dict[str, str]) -> list[str]:
    """file:line of every line that uses the retired citation style."""
    return [f"{name}:{number}: {line.strip()}" for name, text in files.items()
            for number, line in enumerate(text.splitlines(), 1)
            if RETIRED_WORD.search(line) or RETIRED_CITATION.search(line)]


def bad_doc_references(files: dict[str, str], pages: dict[str, str]) -> list[str]:
    """Every `docs/<page>.md[#anchor]` in `files` whose page is not in `pages` (name -> text) or
    whose anchor is not a heading slug of that page."""
    page_anchors = {name: anchors(text) for name, text in pages.items()}
    bad = []
    for name, text in files.items():
        for number, line in enumerate(text.splitlines(), 1):
            for match in DOC_REFERENCE.finditer(line):
                page, anchor = f"docs/{match.group(1)}", match.group(2)
                if page not in page_anchors:
                    bad.append(f"{name}:{number}: {match.group(0)}: no such page")
                elif anchor is not None and anchor not in page_anchors[page]:
                    bad.append(f"{name}:{number}: {match.group(0)}: no heading of {page} has that slug")
    return bad


def bad_links(name: str, text: str, files: set[str], pages: dict[str, str]) -> list[str]:
    """Relative markdown links and images of one markdown file that do not resolve to a tracked
    file (or folder holding one), or to a heading when they carry an anchor into a page."""
    bad = []
    here = Path(name).parent
    # Fenced blocks and inline code become blanks of the same length, so offsets keep their line.
    lines = dict(outside_fences(text))
    prose = "\n".join(lines.get(n, "") for n in range(1, len(text.splitlines()) + 1))
    prose = INLINE_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose)
    for match in MARKDOWN_LINK.finditer(prose):
        number = prose.count("\n", 0, match.start()) + 1
        target = match.group(1)
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        if path:
            resolved = posixpath.normpath((here / path).as_posix())
        else:
            resolved = name
        if resolved not in files and not any(f.startswith(resolved + "/") for f in files):
            bad.append(f"{name}:{number}: ({target}): no tracked file {resolved}")
        elif anchor and resolved.endswith(".md"):
            page = pages.get(resolved, read_text(resolved) or "")
            if anchor not in anchors(page):
                bad.append(f"{name}:{number}: ({target}): no heading of {resolved} has that slug")
    return bad


# -- known answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("heading, slug", [
    ("The held-out domain (`ood`)", "the-held-out-domain-ood"),
    ("PCK@0.05 / 0.1 / 0.2", "pck005--01--02"),
    ("The thesis' 24-run grid", "the-thesis-24-run-grid"),
    ("On a GPU: built, not yet measured", "on-a-gpu-built-not-yet-measured"),
    ("Public pose datasets for pretraining (`pretrain.sources`)", "public-pose-datasets-for-pretraining-pretrainsources"),
    ("Depthwise Conv3D (`conv3d_depthwise`)", "depthwise-conv3d-conv3d_depthwise"),
    ("See [the guide](user-guide.md) first", "see-the-guide-first"),
])
def test_github_slug_known_answers(heading, slug):
    assert github_slug(heading) == slug


def test_anchors_skip_code_blocks_and_number_repeats():
    page = "# Title\n\n## Part\n\n```sh\n# a shell comment, not a heading\n```\n\n## Part\n### Part\n"
    assert anchors(page) == {"title", "part", "part-1", "part-2"}


def test_the_checks_find_what_they_are_for():
    """Each checker reports a planted defect, so a passing suite means the defect is absent."""
    word = "S" + "PEC"
    assert retired_citations({"a.py": f"# see {word} 1.4\n", "b.py": f"x = 1  # the {word} says\n"}) == [
        f"a.py:1: # see {word} 1.4", f"b.py:1: x = 1  # the {word} says"]
    assert retired_citations({"c.py": "class NoiseSpec: ...  # a spec of noise\n"}) == []

    # A made-up page; its name is assembled so that this file cites no page itself.
    page = "docs" + "/a.md"
    pages = {page: "# A\n\n## Some part\n"}
    assert bad_doc_references({"x.py": f"# {page}#some-part and {page}\n"}, pages) == []
    assert len(bad_doc_references({"x.py": f"# {page}#no-part\n"}, pages)) == 1
    assert len(bad_doc_references({"x.py": "# docs" + "/b.md\n"}, pages)) == 1

    files = {"README.md", page, "reports/p.png"}
    assert bad_links("README.md", f"![p](reports/p.png) [a]({page}#some-part) [w](https://x.org)\n",
                     files, pages) == []
    assert bad_links(page, "[up](../README.md) [self](#some-part)\n[two\nlines](a.md)\n", files, pages) == []
    assert len(bad_links("README.md", "![p](reports/q.png)\n", files, pages)) == 1
    assert len(bad_links("README.md", f"[a]({page}#nope)\n", files, pages)) == 1
    assert len(bad_links(page, "[a](a.md#nope) [b](README.md) [c](../../x.md)\n", files, pages)) == 3
    assert bad_links("README.md", "```\n[not](a/link)\n```\n`[x](y)`\n", files, pages) == []


# -- the repository ----------------------------------------------------------------------------


def test_no_retired_citations():
    assert retired_citations(text_files()) == []


def test_doc_references_name_pages_and_headings():
    files = text_files()
    pages = {name: files[name] for name in doc_pages()}
    assert pages, "no docs/*.md page is tracked"
    assert bad_doc_references(files, pages) == []


def test_markdown_links_resolve():
    files = text_files()
    pages = {name: files[name] for name in doc_pages()}
    names = set(tracked())
    bad = []
    for name in ["README.md", *pages]:
        bad += bad_links(name, files[name], names, pages)
    assert bad == []


def test_readme_is_a_front_door():
    readme = text_files()["README.md"]
    assert len(readme.splitlines()) <= README_MAX_LINES
    linked = {(Path(match.group(1).partition("#")[0])).as_posix() for match in MARKDOWN_LINK.finditer(readme)}
    assert set(doc_pages()) <= linked, "every docs page is listed in the README"


def test_the_documented_exp_show_filter_is_the_tested_one():
    """tests/test_dvc_workflows.py runs `dvc exp show` with the filter the docs give users."""
    source = (REPO / "tests" / "test_dvc_workflows.py").read_text()
    keep = re.search(r'^KEEP = "(.+)"$', source, re.MULTILINE).group(1)
    for name in ("README.md", "docs/user-guide.md"):
        assert f"--keep '{keep}'" in text_files()[name], name
