"""Prose words in the book's chapters, per chapter and for the main line.

The main line is every page of ``_toc.yml`` before the first appendix (a page
whose title starts with "Appendix") and before the references. Prose is the
text of Markdown cells (figure captions included), with display equations,
code blocks, HTML tags and directive options left out; an inline equation,
a glued number and a cross-reference count as one word each, a citation as
none.

    python scripts/word_count.py                      # every page, and the main line
    python scripts/word_count.py --exclude conclusions quantum
    python scripts/word_count.py --json

Run it on two commits to compare (``git stash`` or ``git worktree``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F\u0370-\u03FF][\w'\u00C0-\u024F\u0370-\u03FF.,%-]*")


def toc_files(root: Path = ROOT) -> list[str]:
    """The book's sources in reading order (``book/intro``, ...), from ``_toc.yml``."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for entry in toc.get("chapters", []) + [c for part in toc.get("parts", []) for c in part.get("chapters", [])]:
        files.append(entry["file"])
    return files


def markdown_cells(path: Path) -> list[str]:
    """The Markdown of a notebook's Markdown cells, or of a whole ``.md`` page."""
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def prose(markdown: str) -> str:
    """``markdown`` reduced to the words a reader reads."""
    text = re.sub(r"\$\$.*?\$\$(\s*\([^)]*\))?", " ", markdown, flags=re.S)  # display equations and labels
    text = re.sub(r"^```(?!\{)[^\n]*\n.*?^```", " ", text, flags=re.S | re.M)  # code blocks (not directives)
    text = re.sub(r"^(```|:::)\{[^}]*\}[^\n]*$", " ", text, flags=re.M)  # directive openings
    text = re.sub(r"^(```|:::)\s*$", " ", text, flags=re.M)  # directive closings
    text = re.sub(r"^:[\w-]+:.*$", " ", text, flags=re.M)  # directive options
    text = re.sub(r"\{cite(:\w+)?\}`[^`]*`", " ", text)  # citations: no words
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " X ", text)  # glued values, references: one word
    text = re.sub(r"\$[^$\n]+\$", " X ", text)  # inline equations: one word
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags
    text = re.sub(r"`[^`\n]*`", " X ", text)  # inline code: one word
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"^\s*\|?\s*:?-{3,}.*$", " ", text, flags=re.M)  # table rules
    return text


def count_words(markdown: str) -> int:
    return len(WORD.findall(prose(markdown)))


def title(path: Path) -> str:
    for cell in markdown_cells(path):
        m = re.search(r"^#\s+(.+)$", cell, flags=re.M)
        if m:
            return m.group(1).strip()
    return path.stem


def count(root: Path = ROOT, exclude=()) -> dict:
    """``{"pages": [{file, title, words, main}], "main_line": words}``."""
    pages, main = [], True
    for f in toc_files(root):
        path = next((root / (f + ext) for ext in (".ipynb", ".md") if (root / (f + ext)).exists()), None)
        if path is None:
            continue
        t = title(path)
        if t.lower().startswith(("appendix", "references")):
            main = False
        stem = Path(f).name
        words = sum(count_words(c) for c in markdown_cells(path))
        pages.append({"file": f, "title": t, "words": words, "main": main and stem not in exclude})
    return {"pages": pages, "main_line": sum(p["words"] for p in pages if p["main"]),
            "excluded": list(exclude)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exclude", nargs="*", default=[], help="page names left out of the main line")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = count(args.root, tuple(args.exclude))
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for p in result["pages"]:
        mark = "main" if p["main"] else ""
        print(f"{p['words']:6d}  {mark:4s}  {p['file']}  ({p['title']})")
    print(f"{result['main_line']:6d}  main line" + (f" without {', '.join(args.exclude)}" if args.exclude else ""))
    print(f"{sum(p['words'] for p in result['pages']):6d}  all pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
