"""`modelreg site`: what the site holds, the history it reads from git, escaping, and writing the
directory whole or not at all."""

from __future__ import annotations

import html
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from modelreg.site.pages import LIST_LIMIT
from tests.conftest import BUNDLED, REPO, run_cli, write
from tests.git.test_crash_safety import killed_at, leftovers
from tests.git_helpers import commit_all, git, init_repo
from tests.site.conftest import (
    FIRST,
    HOSTILE_DESCRIPTION,
    HOSTILE_SUBJECT,
    SECOND,
    epoch,
    files_of,
    models_of,
    payload,
)

FILES = [".modelreg-site", "api.json", "changes.html", "data.js", "index.html", "model.html", "models.html",
         "pools.html", "site.css", "site.js"]


def site(catalog: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    run = run_cli("site", "--catalog", str(catalog), "-o", str(out), *extra)
    return run.code, run.out, run.err


def no_diff_note(out: Path) -> str:
    match = re.search(r"<p class=note id=no-diff>(.*?)</p>", (out / "changes.html").read_text(encoding="utf-8"))
    assert match, "the changes page has no note"
    return html.unescape(match[1])


def test_a_site_outside_git_holds_every_page_and_the_snapshot_and_says_there_is_no_history(
        catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    code, stdout, stderr = site(catalog, out)
    assert code == 0, stderr
    assert sorted(files_of(out)) == FILES
    note = f"{catalog} is not in a git repository: no history to show"
    assert stderr == f"modelreg: note: {note}\n"
    assert stdout.startswith(f"wrote {out}: 3 models, 6 pools; 9 files, ")
    assert stdout.endswith(" of api.json\nlast change: no pool diff\n")
    snapshot = tmp_path / "registry.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(snapshot)).code == 0
    assert (out / "api.json").read_bytes() == snapshot.read_bytes()
    assert no_diff_note(out) == f"no previous revision: {note}"
    data = payload(out)
    assert data["history_note"] == note
    assert data["capabilities"] == ["generation", "generation.text-generation",
                                    "generation.text-generation.code-generation", "generation.text-completion",
                                    "embedding", "embedding.text-embedding"]
    models = models_of(data)
    assert sorted(models) == ["acme/chat-large", "acme/coder", "acme/embed-small"]
    coder = models["acme/coder"]
    assert (coder["registered_at"], coder["last_commit"], coder["commits"]) == (None, None, None)
    assert (coder["context_window"], coder["priority"], coder["status"]) == (128000, 5, "active")
    assert [data["capabilities"][c] for c in coder["capabilities"]] == ["generation.text-generation.code-generation"]
    assert [data["features"][f] for f in coder["features"]] == ["streaming", "tool_calling"]
    names = [row[0] for row in data["models"]]
    assert [[names[i] for i in pool] for pool in data["pools"]] == [
        ["acme/coder", "acme/chat-large"], ["acme/coder", "acme/chat-large"], ["acme/coder"], [],
        ["acme/embed-small"], ["acme/embed-small"]]


def test_a_site_in_git_shows_each_models_last_change_and_the_pool_diff_of_the_last_commit(
        catalog: Path, history: tuple[str, str], tmp_path: Path) -> None:
    first, second = history
    out = tmp_path / "site"
    code, stdout, stderr = site(catalog, out)
    assert (code, stderr) == (0, "")
    assert stdout.endswith("\nlast change: 1 model added, 1 changed; 2 pools changed\n")
    data = payload(out)
    assert data["history_note"] is None
    assert data["snapshot"]["commit"] == second and data["snapshot"]["label"] == f"2.g{second[:12]}"
    models = models_of(data)
    commits = data["commits"]
    summary = {name: (m["registered_at"], commits[m["last_commit"]], m["last_change"], m["commits"])
               for name, m in models.items()}
    assert summary == {
        "acme/chat-large": (epoch(FIRST), [second, epoch(SECOND), "Test Author", HOSTILE_SUBJECT], "modified", 2),
        "acme/chat-xl": (epoch(SECOND), [second, epoch(SECOND), "Test Author", HOSTILE_SUBJECT], "added", 1),
        "acme/coder": (epoch(FIRST), [first, epoch(FIRST), "Test Author", "catalog"], "added", 1),
        "acme/embed-small": (epoch(FIRST), [first, epoch(FIRST), "Test Author", "catalog"], "added", 1),
    }
    assert models["acme/chat-large"]["description"] == HOSTILE_DESCRIPTION
    changes = (out / "changes.html").read_text(encoding="utf-8")
    assert (f"What commit <code>{second[:12]}</code> (<code>2.g{second[:12]}</code>) did to each pool, against its "
            f"previous revision <code>{first[:12]}</code> (<code>1.g{first[:12]}</code>).") in changes
    assert "<p class=summary><strong>1 model added, 1 changed; 2 pools changed</strong></p>" in changes
    pool = changes.split("<h3><code>generation.text-generation</code></h3>\n", 1)[1].split("</ul>", 1)[0]
    assert pool == ('<ul><li>entered <a href="model.html#acme%2Fchat-xl">acme/chat-xl</a> at #3</li>'
                    '<li>moved <a href="model.html#acme%2Fchat-large">acme/chat-large</a> #2 → #1</li>')
    assert ("<td><code>priority</code></td><td>10</td><td>1</td>" in changes)


def test_catalog_strings_are_text_on_every_page_and_in_the_data(catalog: Path, history: tuple[str, str],
                                                                 tmp_path: Path) -> None:
    tree = catalog / "capabilities.yaml"
    tree.write_text(tree.read_text(encoding="utf-8").replace(
        "description: Vectors.", "description: '<script>window.pwned = 3</script> & \"vectors\"'"), encoding="utf-8")
    provider = catalog / "acme" / "provider.yaml"
    provider.write_text(provider.read_text(encoding="utf-8").replace("Acme AI", "Acme <i>AI</i>"), encoding="utf-8")
    commit_all(catalog.parent, "markup everywhere")
    out = tmp_path / "site"
    assert site(catalog, out)[0] == 0
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;window.pwned = 3&lt;/script&gt; &amp; &quot;vectors&quot;" in index
    for name in ("index.html", "pools.html", "models.html", "model.html", "changes.html"):
        page = (out / name).read_text(encoding="utf-8")
        # The pages' own two scripts, or none: no catalog string became an element.
        assert re.findall(r"<script[^>]*>", page) in ([], ['<script src="data.js">', '<script src="site.js">'])
        assert "<i>" not in page and "<img" not in page and "<b id" not in page
    data = (out / "data.js").read_text(encoding="ascii")
    # Not one `<` left for a parser to take as markup, wherever the text lands.
    assert "<" not in data and ">" not in data and "&" not in data
    assert payload(out)["providers"] == [["acme", "Acme <i>AI</i>"]]


def test_the_first_commit_has_no_previous_revision(catalog: Path, tmp_path: Path) -> None:
    root = init_repo(catalog.parent)
    first = commit_all(root, "catalog", date=FIRST)
    out = tmp_path / "site"
    code, stdout, stderr = site(catalog, out)
    note = f"no previous revision: {first[:12]} is the repository's first commit"
    assert (code, stderr) == (0, f"modelreg: note: {note}\n")
    assert stdout.endswith("\nlast change: no pool diff\n")
    assert no_diff_note(out) == note
    assert {m["last_change"] for m in models_of(payload(out)).values()} == {"added"}


def test_a_catalog_new_in_the_last_commit_and_an_invalid_previous_catalog_are_said(catalog: Path,
                                                                                 tmp_path: Path) -> None:
    root = init_repo(catalog.parent)
    moved = tmp_path / "later"
    catalog.rename(moved)
    write(root, "README.md", "a repository before its catalog\n")
    commit_all(root, "readme")
    moved.rename(catalog)
    added = commit_all(root, "catalog")
    out = tmp_path / "site"
    assert site(catalog, out)[0] == 0
    assert no_diff_note(out) == f"no previous revision of the catalog: it is new in {added[:12]}"

    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [generation.coding]\n")
    broken = commit_all(root, "break acme/coder")
    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(root, "fix acme/coder")
    code, _, stderr = site(catalog, out)
    note = f"the catalog at the previous revision ({broken[:12]}) does not compile: no pool diff to show"
    assert (code, stderr) == (0, f"modelreg: note: {note}\n")
    assert no_diff_note(out) == note


def test_a_site_of_an_older_snapshot_tells_that_snapshots_history(catalog: Path, tmp_path: Path) -> None:
    root = init_repo(catalog.parent)
    first = commit_all(root, "catalog", date=FIRST)
    snapshot = tmp_path / "old.json"
    assert run_cli("compile", "--catalog", str(catalog), "-o", str(snapshot)).code == 0
    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [chat]\npriority: 2\n")
    commit_all(root, "later", date=SECOND)
    out = tmp_path / "site"
    code, _, stderr = site(catalog, out, "--snapshot", str(snapshot))
    assert (code, stderr) == (0, f"modelreg: note: no previous revision: {first[:12]} is the repository's first "
                                 "commit\n")
    data = payload(out)
    assert data["snapshot"]["commit"] == first
    coder = models_of(data)["acme/coder"]
    assert (data["commits"][coder["last_commit"]][0], coder["commits"]) == (first, 1)
    assert (out / "api.json").read_bytes() == snapshot.read_bytes()


def test_a_snapshot_from_elsewhere_and_a_shallow_clone_show_no_history(catalog: Path, history: tuple[str, str],
                                                                     tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(catalog, other / "models.d")
    init_repo(other)
    elsewhere = commit_all(other, "elsewhere")
    snapshot = tmp_path / "elsewhere.json"
    assert run_cli("compile", "--catalog", str(other / "models.d"), "-o", str(snapshot)).code == 0
    code, _, stderr = site(catalog, tmp_path / "a", "--snapshot", str(snapshot))
    assert (code, stderr) == (0, f"modelreg: note: the snapshot's commit {elsewhere[:12]} is not in the repository "
                                 f"of {catalog}\n")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{catalog.parent}", str(clone))
    shallow = clone / "models.d"
    run = run_cli("site", "--catalog", str(shallow), "-o", str(tmp_path / "b"))
    assert run.code == 1 and "shallow clone" in run.err and "--allow-shallow" in run.err
    code, _, stderr = site(shallow, tmp_path / "b", "--allow-shallow")
    assert (code, stderr) == (0, "modelreg: note: a shallow clone holds only part of the history: run `git fetch "
                                 "--unshallow` (in GitHub Actions, check out with `fetch-depth: 0`)\n")
    assert {m["last_commit"] for m in models_of(payload(tmp_path / "b")).values()} == {None}


def test_a_directory_that_is_not_a_site_is_never_replaced(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    write(out, "notes.txt", "mine\n")
    run = run_cli("site", "--catalog", str(catalog), "-o", str(out))
    assert (run.code, run.err) == (2, f"modelreg: error: {out} exists and is not a site that modelreg wrote; give a "
                                      "new or empty directory\n")
    assert files_of(out) == {"notes.txt": b"mine\n"}
    run = run_cli("site", "--catalog", str(catalog), "-o", str(out / "notes.txt"))
    assert run.code == 2 and "is not a site that modelreg wrote" in run.err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert site(catalog, empty)[0] == 0
    assert sorted(files_of(empty)) == FILES


def test_a_rebuild_replaces_the_whole_site(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert site(catalog, out)[0] == 0
    write(out, "stale.html", "from an older build\n")
    write(catalog, "acme/chat-xl.yaml", "name: acme/chat-xl\nprovider: acme\ncapabilities: [chat]\n")
    assert site(catalog, out)[0] == 0
    assert sorted(files_of(out)) == FILES
    assert "acme/chat-xl" in models_of(payload(out))
    assert leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("step", ["write-tree:written", "write-tree:moved-aside"])
def test_a_site_build_killed_before_its_rename_leaves_no_half_site_and_the_next_one_cleans_up(
        catalog: Path, tmp_path: Path, step: str) -> None:
    out = tmp_path / "site"
    assert site(catalog, out)[0] == 0
    old = files_of(out)
    write(catalog, "acme/chat-xl.yaml", "name: acme/chat-xl\nprovider: acme\ncapabilities: [chat]\n")
    killed_at(step, tmp_path, "site", "--catalog", str(catalog), "-o", str(out))
    if step == "write-tree:written":
        assert files_of(out) == old
        assert len(leftovers(tmp_path)) == 1
    else:  # between the two renames: the old site moved aside, the new one not yet in place
        assert not out.exists()
        assert len(leftovers(tmp_path)) == 2
    assert site(catalog, out)[0] == 0
    assert leftovers(tmp_path) == []
    assert "acme/chat-xl" in models_of(payload(out))


def test_a_huge_change_is_cut_on_its_page(catalog: Path, tmp_path: Path) -> None:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog")
    count = LIST_LIMIT + 5
    for i in range(count):
        write(catalog, f"acme/bulk-{i:03d}.yaml", f"name: acme/bulk-{i:03d}\nprovider: acme\ncapabilities: [chat]\n")
    commit_all(root, "bulk")
    out = tmp_path / "site"
    code, stdout, _ = site(catalog, out)
    assert code == 0
    assert stdout.endswith(f"\nlast change: {count} models added; 2 pools changed\n")
    changes = (out / "changes.html").read_text(encoding="utf-8")
    assert changes.count("<li>entered ") == 2 * LIST_LIMIT
    assert changes.count("<li class=more>… and 5 more</li>") == 3  # two pools and the added models
    assert f"Cut short: {3 * 5} more changes." in changes


def test_the_readmes_browsing_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Browsing the catalog\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the section has no sh example"
    work = init_repo(tmp_path / "work")
    shutil.copytree(BUNDLED, work / "models.d")
    commit_all(work, "the bundled catalog")
    monkeypatch.chdir(work)
    commands = [shlex.split(line.split("#", 1)[0]) for line in block[1].splitlines() if line.strip()]
    assert [argv[:2] for argv in commands] == [["modelreg", "site"], ["modelreg", "compile"], ["modelreg", "site"]]
    for argv in commands:
        run = run_cli(*argv[1:])
        assert run.code == 0, run.err
    built = work / "build" / "site"
    assert sorted(files_of(built)) == FILES
    assert (built / "api.json").read_bytes() == (work / "build" / "registry.json").read_bytes()
    assert sorted(models_of(payload(built))) == sorted(json.loads((built / "api.json").read_bytes())["models"])


def test_the_sites_script_is_valid_javascript() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the script's syntax is checked by the browser test alone")
    script = REPO / "compiler" / "modelreg" / "site" / "static" / "site.js"
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
