"""The model registry: the seed's `ModelRegistry` contract over a catalog whose state is git.

Every registration writes one model file and makes one commit; the work tree is the current
state, so a new `ModelRegistry` on the same repository sees exactly what the last one left. A
definition is checked as a full compile would check it (`modelreg.check.change_check`) before
anything is written.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from modelreg.build.pipeline import checked_catalog
from modelreg.build.registration import stamp_models
from modelreg.build.version import VersionInfo, version_at
from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.directory import DirectorySource, WorktreeReader
from modelreg.catalog.file_size import MAX_FILE_BYTES
from modelreg.catalog.files import CatalogFiles
from modelreg.catalog.model_file import dump_model_file
from modelreg.catalog.paths import DEFAULT_CATALOG, is_model_path, model_path, status_changes_catalog
from modelreg.catalog.revision import GitSource, RevisionReader
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.check.catalog_check import CatalogCheck
from modelreg.check.change_check import check_change
from modelreg.check.file_check import load_document
from modelreg.diagnostics import Diagnostic
from modelreg.errors import CatalogInvalid, StateError, UsageError
from modelreg.git.registration_dates import SHALLOW_HINT, RegistrationDates
from modelreg.git.repository import CatalogRepository, Head, NotInCommit
from modelreg.git.transaction import CatalogWriter, CommitInfo, parse_author
from modelreg.models import Model, ModelDefinition
from modelreg.resolve.pools import CapabilityPool


@dataclass
class Registration:
    """What `register_definition` did: the model as now registered, and its commit (None when
    the catalog already held exactly this file)."""

    model: Model
    commit: CommitInfo | None
    path: Path
    warnings: list[Diagnostic]
    check: CatalogCheck
    """The check of the file and what it depends on (the tree and providers it was resolved with)."""


def _rejected(name: str, check: CatalogCheck, why: str) -> CatalogInvalid:
    return CatalogInvalid(check.diagnostics, f"`{name}` {why}: {len(check.errors)} error(s); nothing written")


def register_definition(writer: CatalogWriter, definition: ModelDefinition, *, message: str | None = None,
                        in_place: bool = False) -> Registration:
    """Write `definition` as `<catalog>/<name>.yaml` in the catalog's style and commit it.

    Rejected before anything is written (CatalogInvalid, with diagnostics) when a full compile
    would reject the file or the models that name it as `replacement`; StateError when the file
    has uncommitted changes of its own (unless `in_place`: the caller is registering that very
    file) or is a symlink, when HEAD is detached or unborn, when git is in the middle of a merge
    (cherry-pick, revert, rebase), or when the commit would depend on uncommitted changes to other
    catalog files.
    """
    rel = model_path(definition.name)
    try:
        text = dump_model_file(definition, rel).encode("utf-8")
        written = load_yaml(rel, text).data
    except (yaml.YAMLError, YamlLoadError, TypeError, ValueError, UnicodeError) as exc:
        raise UsageError(f"cannot write the definition of `{definition.name}` as YAML: {exc}") from None
    if written != definition.to_document():
        raise UsageError(f"the definition of `{definition.name}` holds values YAML cannot keep as they are "
                         "(use strings, numbers, booleans, lists and mappings)")
    repo = writer.repo
    with writer.lock() as head:
        writer.check_writable([rel])
        status = writer.status()
        full = repo.catalog / rel
        current = full.read_bytes() if full.is_file() else None
        if rel in status and current != text and not in_place:
            raise StateError(f"{repo.display}/{rel} has uncommitted changes; commit or discard them first "
                             "(modelreg commits only the files it writes)")
        # The models that name this one as `replacement` are checked too: retiring it breaks them.
        dependents = _dependents(repo, definition.name, rel)
        check = check_change(WorktreeReader(repo.catalog, repo.display), {rel, *dependents}, overlay={rel: text})
        if not check.ok():
            raise _rejected(definition.name, check, "is not registered")
        _check_at_head(repo, head, status, rel, {rel: text}, {rel, *dependents}, definition.name)
        assert head.commit is not None
        # A shallow clone cannot date anything (as in a compile); otherwise replacing a model keeps
        # its date, the time its file was added.
        shallow = repo.is_shallow()
        existed = not shallow and bool(repo.tree_entries(head.commit, [rel]))
        since = RegistrationDates(repo).dates(head.commit, [rel]).get(rel) if existed else None
        info = writer.commit(head, {rel: text}, message or f"register {definition.name}")
    model = check.models[definition.name]
    if not shallow:
        stamp_models([model], {rel: since if since is not None else (info.time if info is not None else None)})
    shown = CatalogFiles(repo.display).display(rel)
    return Registration(model, info, full, [d for d in check.warnings if d.file == shown], check)


def _dependents(repo: CatalogRepository, name: str, rel: str, commit: str | None = None) -> set[str]:
    # Only a model file that mentions the name can name it as its replacement.
    return {r for r in repo.mentions(name, commit) if is_model_path(r) and r != rel}


def _check_at_head(repo: CatalogRepository, head: Head, status: dict[str, str], rel: str,
                   overlay: dict[str, bytes | None], focus: set[str], name: str) -> None:
    # The commit holds HEAD's catalog plus this one file: when other catalog files differ from
    # HEAD, check that state too (with the models that name this one there), so no commit ever
    # holds an invalid catalog.
    if head.commit is None or not status_changes_catalog(status, ignore={rel}):
        return
    reader = RevisionReader(GitSource(repo, head.commit, f"HEAD:{repo.display}"))
    check = check_change(reader, focus | _dependents(repo, name, rel, head.commit), overlay=overlay)
    if not check.ok():
        dirty = ", ".join(sorted(r for r in status if r != rel)[:5])
        raise CatalogInvalid(check.diagnostics,
                             f"`{name}`: the commit would not be valid on its own, it depends on uncommitted "
                             f"changes ({dirty}); commit them first")


def unregister_model(writer: CatalogWriter, name: str, *, message: str | None = None) -> CommitInfo | None:
    """Delete `<catalog>/<name>.yaml` and commit the removal; None (and no commit) when there is
    no such model. A file already deleted from the work tree but still committed (by hand, or by
    an unregister that was killed midway) has its removal committed. CatalogInvalid when other
    models name it as their `replacement`; StateError when the file is a symlink (modelreg does
    not write through symlinks) or has uncommitted changes."""
    rel = model_path(name)
    repo = writer.repo
    with writer.lock() as head:
        writer.check_writable([rel])
        status = writer.status()
        on_disk = (repo.catalog / rel).is_file()
        if not on_disk and not _committed(repo, head, rel):
            return None
        if rel in status and (on_disk or status[rel].strip() != "D"):
            what = "is not committed" if status[rel] == "??" else "has uncommitted changes"
            raise StateError(f"{repo.display}/{rel} {what}; commit or discard them first "
                             "(modelreg commits only the files it writes)")
        dependents = _dependents(repo, name, rel)
        check = check_change(WorktreeReader(repo.catalog, repo.display), dependents, overlay={rel: None})
        if not check.ok():
            raise _rejected(name, check, "cannot be unregistered")
        _check_at_head(repo, head, status, rel, {rel: None}, dependents, name)
        return writer.commit(head, {rel: None}, message or f"unregister {name}")


def _committed(repo: CatalogRepository, head: Head, rel: str) -> bool:
    # Whether HEAD holds the file (a catalog HEAD does not have yet holds none).
    assert head.commit is not None
    try:
        return bool(repo.tree_entries(head.commit, [rel]))
    except NotInCommit:
        return False


def register_file(catalog: str | os.PathLike[str], file: str | os.PathLike[str], *, message: str | None = None,
                  author: str | None = None) -> Registration:
    """Register the model file `file` (anywhere on disk) into `catalog`, as `modelreg register`.

    The file is checked first where it is, so diagnostics point into it; then it is written into
    the catalog in the catalog's style and committed.
    """
    shown = os.fspath(file)
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"model file not found: {shown}")
    with open(path, "rb") as fh:
        raw = fh.read(MAX_FILE_BYTES + 1)
    problems: list[Diagnostic] = []
    doc, _, valid = load_document("model", shown, raw, problems)
    if doc is None or not valid:
        raise CatalogInvalid(problems, f"{shown} is not a valid model file")
    definition = ModelDefinition.from_document(doc.data)
    rel = model_path(definition.name)
    writer = open_writer(catalog, "register a model", author=author)
    repo = writer.repo
    target = repo.catalog / rel
    in_place = target.exists() and path.resolve() == target.resolve()
    check = check_change(WorktreeReader(repo.catalog, repo.display), {rel}, overlay={rel: raw},
                         shown={rel: shown})
    if not check.ok():
        raise _rejected(definition.name, check, "is not registered")
    return register_definition(writer, definition, message=message, in_place=in_place)


def open_writer(catalog: str | os.PathLike[str], action: str, *, author: str | None = None,
                lock_timeout: float = 30.0, must_exist: bool = True) -> CatalogWriter:
    """A writer for a catalog directory in git: UsageError for a malformed `author`, StateError
    outside git (naming `action`), UsageError when the directory does not exist (unless not
    `must_exist`)."""
    if author is not None:
        parse_author(author)  # a bad author is a usage error wherever the catalog is
    writer = CatalogWriter(CatalogRepository.require(catalog, action), author=author, lock_timeout=lock_timeout)
    if must_exist and not writer.repo.catalog.is_dir():
        raise UsageError(f"catalog directory not found: {writer.repo.display}")
    return writer


class ModelRegistry:
    """Pools and capability lookups over a catalog in a git repository; every change is a commit.

    `ModelRegistry(catalog_path)` reads the work tree (CatalogInvalid, with every diagnostic,
    when the catalog is invalid; StateError when it is not in a git repository). Registrations
    by other processes become visible on `refresh()`. Returned models are the registry's own:
    treat them as read-only.
    """

    def __init__(self, catalog_path: str | os.PathLike[str] = DEFAULT_CATALOG, *, author: str | None = None,
                 allow_shallow: bool = False, lock_timeout: float = 30.0) -> None:
        self._writer = open_writer(catalog_path, "open a model registry", author=author, lock_timeout=lock_timeout)
        self._repo = self._writer.repo
        self._allow_shallow = allow_shallow
        self._lock = threading.RLock()
        self._tree = CapabilityTree(nodes={})
        self._providers: dict[str, dict[str, object]] = {}
        self._models: dict[str, Model] = {}
        self._pools: dict[str, CapabilityPool] = {}
        self.warnings: list[Diagnostic] = []
        self.refresh()

    @property
    def catalog(self) -> Path:
        return self._repo.catalog

    @property
    def tree(self) -> CapabilityTree:
        return self._tree

    def refresh(self) -> None:
        """Read the work tree again and recompute every model's pools (after `capabilities.yaml`
        or a provider changed, or another process registered models). On CatalogInvalid the
        registry keeps its previous state."""
        with self._lock:
            head = self._repo.head().commit
            version = version_at(self._repo, head) if head is not None else VersionInfo()
            source = DirectorySource(self._repo.catalog, self._repo.display)
            check = checked_catalog(source.read, version, RegistrationDates(self._repo))
            if version.history == "shallow" and not self._allow_shallow:
                raise StateError(SHALLOW_HINT)
            assert check.tree is not None
            self._tree, self._providers = check.tree, dict(check.providers)
            self._models, self._pools = dict(check.models), dict(check.pools)
            self.warnings = check.warnings

    def register(self, definition: ModelDefinition, *, message: str | None = None) -> Model:
        """Add or replace a model: validated as the compiler validates, written to
        `<catalog>/<name>.yaml`, committed, placed in every matching pool."""
        with self._lock:
            result = register_definition(self._writer, definition, message=message)
            if result.check.tree != self._tree or result.check.providers != self._providers:
                self.refresh()  # capabilities.yaml or a provider changed on disk since the last read
            else:
                self._apply(definition.name, result.model)
            return self._models.get(definition.name, result.model)

    def unregister(self, name: str, *, message: str | None = None) -> bool:
        """Remove a model from every pool and from the catalog (a commit); False when unknown."""
        with self._lock:
            removed = unregister_model(self._writer, name, message=message) is not None
            self._apply(name, None)  # also forgets a model whose file someone else removed
            return removed

    def _apply(self, name: str, model: Model | None) -> None:
        old = self._models.pop(name, None)
        if model is not None:
            self._models[name] = model
        affected = set(old.pools if old else ()) | set(model.pools if model else ())
        for path in affected:
            members = [m for m in self._pools[path] if m.name != name]
            if model is not None and path in model.pools:
                members.append(model)
            self._pools[path] = CapabilityPool(path, members)

    def get_model(self, name: str) -> Model | None:
        """One model, or None."""
        return self._models.get(name)

    def list_models(self) -> list[Model]:
        """Every model, by name."""
        return [self._models[name] for name in sorted(self._models)]

    def find_by_capability(self, path: str) -> list[Model]:
        """The pool of a capability path or alias, in routing order: models registered at the node
        or any node below it (retired ones excluded). UnknownCapability (with suggestions) for a
        path the tree does not know."""
        return list(self._pools[self._tree.resolve(path)].members)

    def find_by_provider(self, provider: str) -> list[Model]:
        """The models of one provider, by name (empty for a provider without models)."""
        return [m for m in self.list_models() if m.provider == provider]

    def find_by_model_id(self, model_id: str) -> list[Model]:
        """The models whose provider calls them `model_id` (`gpt-4o`), by name; one ID may be served
        by several providers."""
        return [m for m in self.list_models() if m.model_id == model_id]
