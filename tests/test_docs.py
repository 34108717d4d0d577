"""The repository's Markdown: every relative link resolves inside the repository, and the Python
examples of docs/python-api.md run as they are written."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]

#: [text](target) links and <a href> are what GitHub renders; reference-style [text]: target too.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def tracked_markdown():
    try:
        out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail(f"cannot list the tracked Markdown files with git: {e}")
    return sorted(ROOT / p for p in out.split())


def links(text):
    text = FENCE.sub("", text)                       # code blocks hold no links
    return [a or b for a, b in LINK.findall(text)]


def test_markdown_files_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in tracked_markdown()}
    assert {"README.md", "docs/README.md", "docs/counters.md", "bitstreams/verilog/README.md"} <= names


#: A file named in a code span (`docs/toolchain.md`, `../shared/docs/semantics.md`): a reference too.
CODE_PATH = re.compile(r"`([\w./-]+\.md)(?:#[\w-]*)?`")


def broken(md, text):
    """The links and file references of ``text`` (the contents of ``md``) that do not resolve inside
    the repository, each with the reason."""
    bad = []
    for target in links(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue                                 # https:, mailto:, an anchor in the same page
        resolved = (md.parent / target.split("#", 1)[0]).resolve()
        if ROOT.resolve() not in (resolved, *resolved.parents):
            bad.append(f"{target} (leaves the repository)")
        elif not resolved.exists():
            bad.append(f"{target} (no such file)")
    for name in CODE_PATH.findall(FENCE.sub("", text)):
        # a file named in prose may be relative to the page or to the repository root
        here, top = (md.parent / name).resolve(), (ROOT / name).resolve()
        places = [here, top]
        if ROOT.resolve() not in (here, *here.parents):
            bad.append(f"`{name}` (leaves the repository)")
        elif not any(p.exists() for p in places):
            bad.append(f"`{name}` (no such file)")
    return bad


@pytest.mark.parametrize("md", tracked_markdown(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(md):
    bad = broken(md, md.read_text())
    assert not bad, f"{md.relative_to(ROOT)}: broken links: {', '.join(bad)}"


def test_link_check_catches_broken_links():
    assert links("see [a](docs/x.md) and [b](../shared/y.md#z)\n```\n[c](not/a/link)\n```\n[d]: e.md") == \
        ["docs/x.md", "../shared/y.md#z", "e.md"]
    readme = ROOT / "README.md"
    assert broken(readme, "[ok](docs/cli.md#exit) [gone](docs/nosuch.md) [out](../shared/docs/semantics.md)") \
        == ["docs/nosuch.md (no such file)", "../shared/docs/semantics.md (leaves the repository)"]
    assert broken(readme, "The rules are in `../shared/docs/semantics.md`; see `docs/toolchain.md`.") == \
        ["`../shared/docs/semantics.md` (leaves the repository)"]
    assert broken(ROOT / "bitstreams" / "verilog" / "README.md", "see `docs/nosuch.md`") == \
        ["`docs/nosuch.md` (no such file)"]


def python_blocks(md):
    return re.findall(r"^```python\n(.*?)^```", md.read_text(), re.M | re.S)


@pytest.mark.parametrize("i", range(len(python_blocks(ROOT / "docs" / "python-api.md"))))
def test_python_api_examples_run(tmp_path, i):
    code = python_blocks(ROOT / "docs" / "python-api.md")[i]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip(), "the example printed nothing"


def test_python_api_has_examples():
    assert len(python_blocks(ROOT / "docs" / "python-api.md")) >= 2
