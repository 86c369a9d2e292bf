"""`modelreg init`: a new catalog repository, valid with `--strict` as written.

It holds, beside its README:
- `modelreg.toml`, which says where the catalog is (`models.d/`) for every command, the pre-commit
  hook and the workflow;
- `models.d/capabilities.yaml`: the bundled tree, or a small one;
- an example provider, `models.d/acme/`, with one example model per top-level area of the tree
  that serves every node of its area, so that no pool is empty (`acme/generation`, ...; the small
  tree has one area, so one model);
- `schemas/`: copies of the schemas the files' `$schema` comments name (`catalog.schema_copies`);
- `.pre-commit-config.yaml` and `.github/workflows/catalog.yml`, which use modelreg's hook and its
  reusable workflow at this release, by the repository URL of modelreg's metadata;
- `.gitignore`, for `build/`.

Everything is written into a directory beside the target first and checked as `validate --strict`
checks it; only then does it take the target's place, so a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from modelreg.build.compile import validate_catalog
from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.location import CONFIG_FILE
from modelreg.catalog.model_file import schema_comment
from modelreg.catalog.paths import CAPABILITIES_FILE, DEFAULT_CATALOG, SCHEMA_DIR
from modelreg.catalog.schema_copies import CATALOG_SCHEMAS, copy_text
from modelreg.catalog.yaml_loader import load_yaml
from modelreg.data_files import bundled_tree
from modelreg.errors import CatalogInvalid, UsageError
from modelreg.project import github_repository, release_tag, repository_url
from modelreg.scaffold import new_model, new_provider
from modelreg.schema_bundle import SUFFIX

EXAMPLE_PROVIDER = "acme"
REUSABLE_WORKFLOW = ".github/workflows/catalog-reusable.yml"
WORKFLOW = ".github/workflows/catalog.yml"
# What a target directory may already hold: a fresh `git init` or an empty clone.
ALLOWED = frozenset({".git"})

SMALL_TREE = """\
# The capability tree: what a model can be asked to do. A node's path is its names joined by dots
# (generation.text-generation); a model at a node is in the pool of that node and of every ancestor.
capabilities:
  generation:
    description: Produce new content from a prompt.
    children:
      text-generation:
        description: Generate text in a conversation or from a prompt.
        aliases: [chat]

# The feature vocabulary: flags a model file may set under `features`.
features:
  tool_calling: Calls functions the caller declares (function calling).
  streaming: Streams the response as it is generated.
"""


@dataclass(frozen=True)
class Starter:
    """What `init_repository` wrote: the repository's directory and its files, relative, sorted."""

    root: Path
    files: list[str]


def init_repository(target: str | os.PathLike[str], *, empty: bool = False) -> Starter:
    """Start a catalog repository in `target` (created, or an empty directory, `.git` allowed).

    `empty` starts from a small tree instead of the bundled one. Raises UsageError when the target
    holds anything else or its parent does not exist; nothing is written then, nor on any failure.
    """
    root = Path(target)
    _check_target(root)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.absolute().name}.modelreg-init-", dir=root.absolute().parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would become the repository's mode
        _write(staging, empty)
        check = validate_catalog(staging / DEFAULT_CATALOG)
        if not check.ok(strict=True):
            raise CatalogInvalid(check.diagnostics, "the starter catalog does not validate; nothing was written")
        files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        _move_into(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Starter(root, files)


def _check_target(root: Path) -> None:
    if not root.absolute().parent.is_dir():
        raise UsageError(f"{root.absolute().parent} does not exist; create it first, or choose another directory")
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise UsageError(f"{root} exists and is not a directory; choose a new or empty directory")
    if root.is_dir():
        held = sorted(name for name in os.listdir(root) if name not in ALLOWED)
        if held:
            shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            raise UsageError(f"{root} is not empty (it holds {shown}); init starts a catalog repository in a new or "
                             "empty directory")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into(staging: Path, root: Path) -> None:
    if not root.exists() or not os.listdir(root):
        os.rename(staging, root)  # one step: the directory appears whole
        return
    # Beside a `.git`: entry by entry, each whole; a failure takes back what had moved.
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            os.rename(entry, root / entry.name)
            moved.append(entry)
    except BaseException:
        for entry in reversed(moved):
            os.rename(root / entry.name, entry)
        raise


def _write(root: Path, empty: bool) -> None:
    catalog = root / DEFAULT_CATALOG
    catalog.mkdir()
    if empty:
        tree_text = schema_comment(CAPABILITIES_FILE, f"capabilities{SUFFIX}") + "\n" + SMALL_TREE
    else:
        tree_text = bundled_tree().read_text(encoding="utf-8")
    (catalog / CAPABILITIES_FILE).write_text(tree_text, encoding="utf-8")
    new_provider(catalog, EXAMPLE_PROVIDER)
    tree = CapabilityTree.from_mapping(load_yaml(CAPABILITIES_FILE, tree_text.encode("utf-8")).data)
    for area, capabilities in _areas(tree):
        new_model(catalog, f"{EXAMPLE_PROVIDER}/{area}", capabilities)
    schemas = root / SCHEMA_DIR
    schemas.mkdir()
    for name in CATALOG_SCHEMAS:
        (schemas / f"{name}{SUFFIX}").write_text(copy_text(name), encoding="utf-8")
    tag = release_tag()
    texts = {
        CONFIG_FILE: "# Where this repository's catalog is: every modelreg command, the pre-commit hook and the\n"
                     f"# workflow read it.\ncatalog = \"{DEFAULT_CATALOG}\"\n",
        ".pre-commit-config.yaml": _pre_commit_config(tag),
        WORKFLOW: _workflow(tag),
        ".gitignore": "# What `modelreg compile` writes.\n/build/\n",
        "README.md": _readme(),
    }
    for rel, text in texts.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _areas(tree: CapabilityTree) -> Iterator[tuple[str, list[str]]]:
    """Each live top-level node's name, with the live nodes of its area that no live node is below
    (a model at all of them is in every pool of the area)."""
    for root in tree.roots():
        if root.deprecated is not None:
            continue
        live = [p for p in tree.descendants(root.path) if _live(tree, p)]
        ends = [p for p in live if not any(c for c in tree.nodes[p].children if _live(tree, c))]
        yield root.name, ends or [root.path]


def _live(tree: CapabilityTree, path: str) -> bool:
    return all(tree.nodes[p].deprecated is None for p in [path, *tree.ancestors(path)])


def _pre_commit_config(tag: str) -> str:
    return (
        "# Checks the catalog before each commit (https://pre-commit.com): `pre-commit install` once.\n"
        "repos:\n"
        f"  - repo: {repository_url()}\n"
        f"    rev: {tag}\n"
        "    hooks:\n"
        "      - id: modelreg-validate\n"
    )


def _workflow(tag: str) -> str:
    return (
        "# Every pull request's catalog checked: annotations on the lines at fault, the pool diff in the job\n"
        "# summary, the snapshot as an artifact; on main, the snapshot alone. modelreg's reusable workflow\n"
        "# does the work, at the release the pre-commit hook uses too.\n"
        "name: catalog\n"
        "\n"
        "on:\n"
        "  pull_request:\n"
        "  push:\n"
        "    branches: [main]\n"
        "\n"
        "permissions:\n"
        "  contents: read\n"
        "\n"
        "jobs:\n"
        "  catalog:\n"
        f"    uses: {github_repository()}/{REUSABLE_WORKFLOW}@{tag}\n"
        "    with:\n"
        f"      modelreg-version: {tag}\n"
    )


def _readme() -> str:
    return f"""\
# Model catalog

A catalog of AI models for [modelreg]({repository_url()}): one YAML file per model in
`{DEFAULT_CATALOG}/`, compiled into one snapshot (`build/registry.json`) with an ordered pool of
models for every capability, which routers load.

- `{DEFAULT_CATALOG}/{CAPABILITIES_FILE}` is the capability tree; `{DEFAULT_CATALOG}/<provider>/provider.yaml` a
  provider, `{DEFAULT_CATALOG}/<provider>/<model>.yaml` a model.
- `{DEFAULT_CATALOG}/{EXAMPLE_PROVIDER}/` is an example, there so that every pool has a model: add your
  providers (`modelreg new --provider NAME`) and models (`modelreg new NAME/MODEL --capability
  chat`), then delete it.
- `modelreg validate` checks every file (pre-commit runs it before each commit, and the `catalog`
  workflow on every pull request, with the pool diff); `modelreg compile` writes the snapshot;
  `modelreg diff` shows what a change does to each pool.
- `{CONFIG_FILE}` says where the catalog is. `{SCHEMA_DIR}/` holds the schemas that the files'
  `$schema` comments name, for your editor; `modelreg validate` keeps them current.
"""
