"""`modelreg sync`: fetch a provider's listing, plan what it changes, check the changed catalog as
a pull request is checked, and commit it, by default on the branch `sync/<provider>` (the work
tree, the index and HEAD untouched), with `commit_here` on the current branch, or not at all
(`dry_run`). A listing that is not whole, or a result that is not valid, changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.capability_tree import CapabilityTree
from modelreg.catalog.directory import DirectorySource, WorktreeReader
from modelreg.catalog.files import CatalogFiles, FileReader
from modelreg.catalog.model_file import CatalogModel
from modelreg.catalog.paths import (
    CAPABILITIES_FILE,
    DEFAULT_CATALOG,
    PROVIDER_FILE,
    discovery_record_path,
    model_rel,
    status_changes_catalog,
)
from modelreg.catalog.revision import GitSource, RevisionReader
from modelreg.catalog.yaml_loader import YamlLoadError, load_yaml
from modelreg.check.file_check import check_discovery_rules
from modelreg.check.schema_errors import schema_diagnostics
from modelreg.clock import today
from modelreg.diff.proposed import diff_proposed
from modelreg.diff.report import Diff
from modelreg.errors import (
    BusyError,
    CatalogInvalid,
    ListingError,
    ModelregError,
    StateError,
    UsageError,
)
from modelreg.git.repository import CatalogRepository
from modelreg.git.transaction import CatalogWriter, CommitInfo
from modelreg.pause import pause_at
from modelreg.registry import open_writer
from modelreg.sync.config import Discovery, discovery_of, require_format
from modelreg.sync.formats import fetch_listing, load_format, read_saved
from modelreg.sync.http import Limits, ListingClient, check_key, parse_json
from modelreg.sync.listing import Listed
from modelreg.sync.plan import Plan, plan_sync
from modelreg.sync.record import load_record

BRANCH_PREFIX = "sync/"


@dataclass
class SyncOptions:
    """How to sync: `dry_run` writes nothing; `commit_here` commits on the current branch
    instead of `sync/<provider>`; `listing` reads a saved listing instead of the network;
    `today` (YYYY-MM-DD) dates deprecations (default: `SOURCE_DATE_EPOCH`, else the UTC date)."""

    dry_run: bool = False
    commit_here: bool = False
    listing: Path | None = None
    today: str | None = None
    author: str | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass
class SyncResult:
    """What the sync of one provider did."""

    provider: str
    mode: str
    """`branch`, `commit` or `dry-run`."""
    branch: str | None = None
    plan: Plan | None = None
    diff: Diff | None = None
    commit: CommitInfo | None = None
    error: ModelregError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def sync_providers(catalog: str | os.PathLike[str] = DEFAULT_CATALOG, providers: Sequence[str] | None = None,
                   options: SyncOptions | None = None, *,
                   progress: Callable[[SyncResult], None] | None = None) -> list[SyncResult]:
    """Sync `providers` (None: every provider whose discovery is enabled and has a network
    format), one after another; a provider that fails leaves the others to run. UsageError for
    a provider the catalog does not have, or `--listing` with more than one provider."""
    options = options or SyncOptions()
    repo = CatalogRepository.find(catalog)
    if repo is None and not options.dry_run:
        raise StateError(f"{os.fspath(catalog)} is not in a git repository: a sync is a commit; "
                         "use --dry-run to see what it would change")
    root = repo.catalog if repo is not None else Path(catalog)
    display = repo.display if repo is not None else os.fspath(catalog)
    if not root.is_dir():
        raise UsageError(f"catalog directory not found: {display}")
    configs = _discovery_settings(WorktreeReader(root, display))
    if providers is None:
        names = [name for name, config in sorted(configs.items()) if config.enabled and config.networked]
        if options.listing is not None:
            raise UsageError("--listing reads one provider's listing: name the provider")
    else:
        names = list(dict.fromkeys(providers))
        unknown = [name for name in names if name not in configs]
        if unknown:
            raise UsageError(f"unknown provider `{unknown[0]}` (the catalog has {', '.join(sorted(configs))})")
        if options.listing is not None and len(names) != 1:
            raise UsageError("--listing reads one provider's listing: name exactly one provider")
    writer = open_writer(catalog, "sync", author=options.author) if repo is not None and not options.dry_run \
        else None
    results = []
    for name in names:
        result = _sync_one(repo, root, display, writer, name, options)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _discovery_settings(reader: FileReader) -> dict[str, Discovery]:
    # Which providers the work tree has, and which `--all` takes; each sync then reads its
    # provider's settings from the state it syncs (a broken file is the check's to report).
    files = reader.read(reader.providers())  # the providers' files
    found = {}
    for rel, raw in files.contents.items():
        provider = rel.split("/")[0]
        try:
            data = load_yaml(files.display(rel), raw).data
        except YamlLoadError:
            data = {}
        found[provider] = discovery_of(provider, data if isinstance(data, dict) else {})
    return found


@dataclass
class _State:
    """The state of the catalog a sync compares with: chosen files, or all of them."""

    reader: FileReader
    read_all: Callable[[], CatalogFiles]


def _at_commit(repo: CatalogRepository, commit: str, display: str) -> _State:
    source = GitSource(repo, commit, display)
    return _State(RevisionReader(source), source.read)


def _settings(state: _State, provider: str) -> Discovery:
    # The provider's discovery settings as the synced state has them, so the listing is read and
    # placed by the rules the commit holds.
    rel = f"{provider}/{PROVIDER_FILE}"
    files = state.reader.read([rel])
    doc = _load(files, rel)
    if doc is None:
        raise UsageError(f"provider `{provider}` is not in {files.display(rel)} of the state being synced")
    return discovery_of(provider, doc.data)


def _sync_one(repo: CatalogRepository | None, root: Path, display: str, writer: CatalogWriter | None,
              provider: str, options: SyncOptions) -> SyncResult:
    mode = "dry-run" if options.dry_run else "commit" if options.commit_here else "branch"
    result = SyncResult(provider, mode, branch=f"{BRANCH_PREFIX}{provider}" if mode != "commit" else None)
    try:
        if mode == "commit":
            assert repo is not None and writer is not None
            # Planned from HEAD, so the commit holds HEAD's catalog and this change, whatever else
            # the work tree holds; a killed sync's files are taken for what they are.
            head = repo.head().commit
            if head is None:
                raise StateError("the repository has no commits yet; commit the catalog first")
            state = _at_commit(repo, head, display)
            config = _settings(state, provider)
            listing = _listing(config, options)  # no lock is held while the network answers
            pause_at("sync:listing-fetched")
            with writer.lock() as locked:
                assert locked.commit is not None
                result.branch = locked.branch.removeprefix("refs/heads/") if locked.branch else None
                if locked.commit != head:
                    state = _at_commit(repo, locked.commit, display)
                    if _settings(state, provider) != config:
                        raise BusyError(f"busy, retry: HEAD moved while the listing was read, and {provider}'s "
                                        "discovery settings with it")
                _plan_and_check(result, config, listing, state, options)
                if result.plan is not None and not result.plan.nothing_to_do:
                    _refuse_other_changes(writer.status(), result.plan.writes, root, display)
                    result.commit = writer.commit(locked, result.plan.writes, _message(result.plan))
            return result
        if mode == "dry-run":
            # What the catalog as it is on disk would get: the way to try settings out.
            state, base, tip = _State(WorktreeReader(root, display), DirectorySource(root, display).read), None, None
        else:
            assert repo is not None
            base, tip = _branch_base(repo, result.branch, provider)
            state = _at_commit(repo, base, display)
        config = _settings(state, provider)
        listing = _listing(config, options)
        pause_at("sync:listing-fetched")
        _plan_and_check(result, config, listing, state, options)
        if mode == "dry-run" or result.plan is None or result.plan.nothing_to_do:
            return result
        assert writer is not None and base is not None and result.branch is not None
        with writer.hold():
            result.commit = writer.commit_to_branch(result.branch, base, result.plan.writes,
                                                    _message(result.plan), expected=tip)
    except ModelregError as exc:
        result.error = exc
    return result


def _refuse_other_changes(status: dict[str, str], writes: dict[str, bytes], root: Path, display: str) -> None:
    # What a killed sync wrote (exactly the content this one writes) is no one's edit.
    left = {rel for rel in status
            if rel in writes and (root / rel).is_file() and (root / rel).read_bytes() == writes[rel]}
    others = {rel: code for rel, code in status.items() if rel not in left}
    if status_changes_catalog(others) or any(rel in writes for rel in others):
        dirty = ", ".join(sorted(others)[:5])
        raise StateError(f"{display} has uncommitted changes ({dirty}); commit or stash them first "
                         "(a sync commits the catalog as it checked it)")


def _branch_base(repo: CatalogRepository, branch: str | None, provider: str) -> tuple[str, str | None]:
    """(the commit to sync on top of, the branch's tip now or None). The branch's tip while its
    pull request is open (it is updated, not opened again); HEAD when there is no branch yet, or
    when HEAD already holds what it holds (merged, squashed or not: the next sync starts from
    what was merged)."""
    assert branch is not None
    head = repo.head().commit
    if head is None:
        raise StateError("the repository has no commits yet; commit the catalog first")
    tip = repo.git.text("rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}", ok=(0, 1)) or None
    if tip is None:
        return head, None
    if repo.git.text("merge-base", tip, head, ok=(0, 1)) == tip:
        return head, tip
    where = repo.path(provider)
    trees = repo.git.text("rev-parse", "-q", f"{tip}:{where}", f"{head}:{where}", ok=(0, 1, 128)).split("\n")
    return (head if len(trees) == 2 and trees[0] == trees[1] else tip), tip


def _listing(config: Discovery, options: SyncOptions) -> list[Listed]:
    fmt = load_format(require_format(config, saved=options.listing is not None))
    if options.listing is not None:
        shown = os.fspath(options.listing)
        cap = options.limits.max_listing_bytes
        try:
            with open(options.listing, "rb") as fh:
                raw = fh.read(cap + 1)
        except FileNotFoundError:
            raise UsageError(f"listing file not found: {shown}") from None
        except OSError as exc:
            raise UsageError(f"cannot read the listing file {shown}: {exc.strerror or exc}") from None
        if len(raw) > cap:
            raise ListingError(f"{shown}: the listing is over the limit of {cap:,} bytes")
        return read_saved(fmt, parse_json(raw, shown), shown)
    key = check_key(os.environ.get(config.api_key_env, ""), config.api_key_env) if config.api_key_env else ""
    if config.api_key_env and not key and fmt.auth is not None and config.format != "openrouter":
        raise ListingError(f"{config.api_key_env} is not set; the listing of {config.provider} needs the API key")
    assert config.url is not None
    client = ListingClient(options.limits, secret=key or None)
    return fetch_listing(fmt, client, config.url, key or None)


def _plan_and_check(result: SyncResult, config: Discovery, listing: list[Listed], state: _State,
                    options: SyncOptions) -> None:
    provider = config.provider
    reader, read_all = state.reader, state.read_all
    rels = [model_rel(n) for n in reader.model_names() if n.startswith(f"{provider}/")]
    record_rel = discovery_record_path(provider)
    files = reader.read([CAPABILITIES_FILE, f"{provider}/{PROVIDER_FILE}", *rels])
    tree = _tree(files)
    provider_doc = _load(files, f"{provider}/{PROVIDER_FILE}")
    if provider_doc is None:
        raise UsageError(f"unknown provider `{provider}`")
    _check_rules(provider_doc, tree)
    models = {}
    for rel in rels:
        doc = _load(files, rel)
        if doc is not None and isinstance(doc.data.get("name"), str):
            models[doc.data["name"]] = CatalogModel(doc.data["name"], rel, doc.data)
    record_raw = _read_record(reader, record_rel)
    record = load_record(provider, record_raw, files.display(record_rel))
    plan = plan_sync(config, listing, tree, models, record, record_raw, options.today or today(),
                     provider_doc.data.get("defaults") or {})
    result.plan = plan
    if plan.nothing_to_do:
        return
    writes = {rel: raw for rel, raw in plan.writes.items() if rel != record_rel}  # the record is not read
    result.diff = diff_proposed(read_all, writes, base_ref=result.branch or "catalog", head_ref=f"sync {provider}",
                                what=f"the sync of {provider}")


def _read_record(reader: FileReader, rel: str) -> bytes | None:
    # The record is not YAML: the readers' catalog rules do not list it, so it is read directly.
    if isinstance(reader, RevisionReader):
        source = reader.source
        entries = source.repo.tree_entries(source.commit, [rel])
        entry = entries.get(rel)
        if entry is None or entry.kind != "blob":
            return None
        return source.repo.blobs([entry.sha])[entry.sha]
    assert isinstance(reader, WorktreeReader)
    path = reader.root / rel
    if path.is_symlink():
        raise StateError(f"{reader.display_root}/{rel} is a symlink; the discovery record is a plain file")
    return path.read_bytes() if path.is_file() else None


def _tree(files: CatalogFiles) -> CapabilityTree:
    doc = _load(files, CAPABILITIES_FILE)
    if doc is None:
        raise CatalogInvalid([], f"{files.display(CAPABILITIES_FILE)} is missing or invalid; run `modelreg validate`")
    return CapabilityTree.from_mapping(doc.data)


def _load(files: CatalogFiles, rel: str) -> Any:
    raw = files.contents.get(rel)
    if raw is None:
        return None
    try:
        doc = load_yaml(files.display(rel), raw)
    except YamlLoadError as exc:
        raise CatalogInvalid(exc.diagnostics) from None
    kind = "capabilities" if rel == CAPABILITIES_FILE else "provider" if rel.endswith(f"/{PROVIDER_FILE}") else "model"
    problems = schema_diagnostics(kind, doc)
    if problems:
        raise CatalogInvalid(problems)
    return doc


def _check_rules(doc: Any, tree: CapabilityTree) -> None:
    # Before anything is fetched into files: a rule naming what the tree lacks is the rule's error.
    problems = check_discovery_rules(doc, tree)
    if any(d.is_error for d in problems):
        raise CatalogInvalid(problems)


def _message(plan: Plan) -> str:
    counts = [f"{len(plan.added)} added", f"{len(plan.updated)} changed", f"{len(plan.deprecated)} deprecated"]
    lines = [f"sync {plan.provider}: {', '.join(counts)}", ""]
    lines += [f"added {name}" for name in plan.added]
    lines += [f"changed {name}: {', '.join(fields)}" for name, fields in sorted(plan.updated.items())]
    lines += [f"deprecated {name} (gone from the listing)" for name in plan.deprecated]
    lines += [f"kept {c.name} {c.field} (a person's edit; the listing says {json.dumps(c.listing)})"
              for c in plan.conflicts]
    return "\n".join(lines).rstrip() + "\n"
