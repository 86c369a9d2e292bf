"""Write the conformance suite's fixtures: `python -m tests.conformance.generate [--out DIR]`.

Both runtimes, Python and TypeScript, are checked against the files this writes into
`tests/conformance/fixtures/` (the default `--out`):

- `catalog.snapshot.json`: the frozen catalog in `tests/conformance/catalog/` compiled by the
  compiler in a git repository of fixed commits (one per provider, at fixed dates), so its commit
  ids and every `registered_at` are the same on every machine;
- `catalog.answers.json`: what every lookup on it must answer (every node, alias, provider and
  model ID, unknown names with their suggestions, candidates and explanations under filters),
  worked out here from the document by the contract's rules, not by asking a runtime;
- `snapshot-files/*.json` and `snapshot-files.json`: files each loader must refuse, one per check
  it makes, with the error kind (and, for a document that contradicts itself, the words), and
  files it must accept;
- `seeded.json`: the seed of a 10,000-model snapshot that each test suite generates at test time
  (`tests/conformance/seeded.py` and its TypeScript port), its digest, and hashed answers.

`classification.json`, `failover.json` and `http.json` are written by hand: they are the
specification that the runtimes' failure classification, circuit breaker, routed calls and
snapshot fetching are held to, not something derived.

The generator lives with the tests because it is their data: `tests/conformance/test_fixtures.py`
runs it into a temporary directory and fails while a checked-in file differs from what it writes.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.build.compile import compile_catalog
from modelreg.capability_tree import CapabilityTree
from modelreg.errors import did_you_mean
from modelreg.snapshot_format import canonical_json, encode
from tests.conformance.seeded import seeded_snapshot

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "catalog"
FIXTURES = HERE / "fixtures"
# Written by hand; the generator leaves them alone and the currency check skips them.
HAND_WRITTEN = ("classification.json", "failover.json", "http.json")
SEED = 20240101
SEEDED_MODELS = 10_000
_FIRST_DATE = "2024-01-01T00:00:00+00:00"
_ROUTABLE = ("active", "preview", "deprecated")
_AUTHOR = ("Conformance Catalog", "conformance@example.com")


def write_json(path: Path, data: Any) -> None:
    """A fixture as readable, stable JSON: sorted keys, one-space indent, a final newline."""
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


# -- the frozen catalog, compiled at fixed commits --------------------------------------------


def _git(cwd: Path, home: Path, *args: str, date: str | None = None) -> None:
    # No configuration of the machine's (signing, hooks, templates) may change a commit's bytes.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME=_AUTHOR[0], GIT_AUTHOR_EMAIL=_AUTHOR[1],
               GIT_COMMITTER_NAME=_AUTHOR[0], GIT_COMMITTER_EMAIL=_AUTHOR[1])
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def compile_frozen(workdir: Path) -> bytes:
    """The frozen catalog's snapshot: committed as tree and providers first, then one provider's
    models a day, and compiled from that work tree."""
    repo = workdir / "repo"
    catalog = repo / "models.d"
    shutil.copytree(CATALOG, catalog)
    home = workdir / "home"
    home.mkdir()
    _git(repo, home, "init", "-q", "-b", "main", "--template=")
    providers = sorted(p.name for p in catalog.iterdir() if p.is_dir())
    _git(repo, home, "add", "models.d/capabilities.yaml", *[f"models.d/{p}/provider.yaml" for p in providers])
    _git(repo, home, "commit", "-q", "--no-verify", "-m", "the tree and the providers", date=_FIRST_DATE)
    for day, provider in enumerate(providers, start=2):
        _git(repo, home, "add", f"models.d/{provider}")
        _git(repo, home, "commit", "-q", "--no-verify", "-m", f"{provider}'s models",
             date=f"2024-01-{day:02d}T12:00:00+00:00")
    return compile_catalog(catalog).raw


# -- expected answers, by the contract's rules ------------------------------------------------


def _names(value: Any) -> set[str]:
    """A filter's names: a string is one name."""
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


@dataclass
class _Request:
    want: set[str]
    refuse: set[str]
    min_context: int
    min_output: int
    inputs: set[str]
    outputs: set[str]
    allow: set[str] | None
    deny: set[str]
    deny_models: set[str]
    statuses: set[str]


class LookupError_(Exception):
    """An expected error, as the fixtures record it."""

    def __init__(self, error: str, name: str, suggestions: list[str]) -> None:
        super().__init__(error)
        kind = {"UnknownCapability": "capability", "UnknownProvider": "provider", "UnknownFeature": "feature"}[error]
        self.record = {"error": error, "name": name, "suggestions": suggestions,
                       "message": f"unknown {kind} `{name}`{did_you_mean(suggestions)}"}


class Reference:
    """The contract's answers for one snapshot document, worked out plainly from its records."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.models: dict[str, Any] = document["models"]
        self.tree = CapabilityTree.from_snapshot(document["capabilities"], document["aliases"], document["features"])
        # A runtime filters on every feature a model has, in the vocabulary or not.
        self.known_features = set(document["features"]) | {
            name for record in self.models.values() for name, on in record["features"].items() if on}

    def resolve(self, capability: str) -> str:
        if capability in self.document["capabilities"]:
            return capability
        if capability in self.document["aliases"]:
            target: str = self.document["aliases"][capability]
            return target
        raise LookupError_("UnknownCapability", capability, self.tree.suggest(capability))

    def provider_suggestions(self, name: str) -> list[str]:
        return difflib.get_close_matches(name, list(self.document["providers"]))

    def request(self, filters: dict[str, Any]) -> _Request:
        features = filters.get("features")
        if isinstance(features, dict):
            want = {name for name, on in features.items() if on}
            refuse = {name for name, on in features.items() if not on}
        else:
            want, refuse = _names(features), set()
        allow = None if filters.get("providers") is None else _names(filters["providers"])
        deny = _names(filters.get("exclude_providers"))
        for name in sorted((allow or set()) | deny):
            if name not in self.document["providers"]:
                raise LookupError_("UnknownProvider", name, self.provider_suggestions(name))
        for name in sorted(want) + sorted(refuse):
            if name not in self.known_features:
                raise LookupError_("UnknownFeature", name,
                                   difflib.get_close_matches(name, list(self.document["features"]), n=3, cutoff=0.6))
        statuses = set(_ROUTABLE)
        if not filters.get("include_deprecated", True):
            statuses.discard("deprecated")
        if not filters.get("include_preview", True):
            statuses.discard("preview")
        return _Request(want, refuse, filters.get("min_context") or 0, filters.get("min_output_tokens") or 0,
                        _names(filters.get("input_modalities")), _names(filters.get("output_modalities")),
                        allow, deny, _names(filters.get("exclude_models")), statuses)

    def reason(self, name: str, request: _Request) -> str | None:
        """Why the model is out of a request's candidates, in the runtimes' words; None if it is in."""
        record = self.models[name]
        status = record["lifecycle"].get("status", "active")
        if status not in request.statuses:
            return "retired" if status == "retired" else f"{status} models are excluded"
        has = {feature for feature, on in record["features"].items() if on}
        if request.want - has:
            return "lacks feature " + ", ".join(f"`{f}`" for f in sorted(request.want - has))
        if request.refuse & has:
            return "has unwanted feature " + ", ".join(f"`{f}`" for f in sorted(request.refuse & has))
        for key, floor, words in (("context_window", request.min_context, "context window"),
                                  ("max_output_tokens", request.min_output, "max output tokens")):
            have = record["limits"].get(key)
            if floor and (have or 0) < floor:
                return f"{words} {'unknown' if have is None else f'{have:,}'} < {floor:,}"
        for key, wanted in (("input", request.inputs), ("output", request.outputs)):
            lacking = wanted - set(record["modalities"].get(key, []))
            if lacking:
                return f"no {key} modality {', '.join(sorted(lacking))}"
        provider = record["provider"]
        if request.allow is not None and provider not in request.allow:
            return f"provider `{provider}` is not in the allow list"
        if provider in request.deny:
            return f"provider `{provider}` is excluded"
        if name in request.deny_models:
            return "excluded by name"
        return None

    def route(self, capability: str, filters: dict[str, Any]) -> tuple[str, list[str], list[list[str]]]:
        """The canonical path, the ordered candidates (deprecated models last) and every other
        pool member with its reason."""
        path = self.resolve(capability)
        request = self.request(filters)
        first, late, excluded = [], [], []
        for name in self.document["pools"][path]:
            why = self.reason(name, request)
            if why is not None:
                excluded.append([name, why])
            elif self.models[name]["lifecycle"].get("status", "active") == "deprecated":
                late.append(name)
            else:
                first.append(name)
        return path, first + late, excluded

    def summary(self, name: str) -> dict[str, Any]:
        """What a runtime's model object says of one model."""
        record = self.models[name]
        return {
            "provider": record["provider"], "model_id": record["model_id"],
            "capabilities": record["capabilities"], "pools": record["pools"],
            "features": sorted(f for f, on in record["features"].items() if on),
            "context_window": record["limits"].get("context_window"),
            "max_output_tokens": record["limits"].get("max_output_tokens"),
            "input_modalities": sorted(record["modalities"].get("input", [])),
            "output_modalities": sorted(record["modalities"].get("output", [])),
            "status": record["lifecycle"].get("status", "active"), "priority": record["priority"],
            "delivery": record["delivery"], "batch": record["batch"],
            "display_name": record.get("display_name"), "registered_at": record.get("registered_at"),
        }

    def by_provider(self, provider: str) -> list[str]:
        return [name for name, record in self.models.items() if record["provider"] == provider]

    def by_model_id(self, model_id: str) -> list[str]:
        return [name for name, record in self.models.items() if record["model_id"] == model_id]


def _typos(word: str) -> list[str]:
    """A few misspellings of `word`: its last letter dropped, two letters swapped, one doubled."""
    middle = len(word) // 2
    out = [word[:-1], word[:middle] + word[middle + 1] + word[middle] + word[middle + 2:] if len(word) > 2 else word,
           word[:middle] + word[middle] + word[middle:]]
    return [t for t in dict.fromkeys(out) if t != word]


def _requests(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], int | None]]:
    """Requests that exercise every filter, on the pools big enough to tell filters apart."""
    pools = document["pools"]
    busy = [path for path in sorted(pools) if len(pools[path]) >= 3]
    aliases = sorted(a for a, target in document["aliases"].items() if len(pools[target]) >= 3)
    variants: list[tuple[dict[str, Any], int | None]] = [
        ({"features": ["tool_calling"]}, None),
        ({"features": "vision"}, None),
        ({"features": ["tool_calling", "streaming"]}, None),
        ({"features": {"vision": False}}, None),
        ({"features": {"tool_calling": True, "json_mode": False}}, None),
        ({"min_context": 100_000}, None),
        ({"min_context": 1_000_000}, None),
        ({"min_output_tokens": 32_000}, None),
        ({"input_modalities": ["image"]}, None),
        ({"input_modalities": "audio"}, None),
        ({"output_modalities": ["text"]}, None),
        ({"providers": ["openai", "anthropic"]}, None),
        ({"providers": "google"}, None),
        ({"providers": []}, None),
        ({"exclude_providers": ["openai"]}, None),
        ({"exclude_providers": "azure"}, None),
        ({"include_deprecated": False}, None),
        ({"include_preview": False}, None),
        ({"include_deprecated": False, "include_preview": False}, None),
        ({"features": ["tool_calling"], "min_context": 128_000, "exclude_providers": "azure"}, None),
        ({"features": ["streaming"], "input_modalities": ["image", "text"], "min_output_tokens": 8000}, None),
        ({"features": ["tool_calling", "streaming"]}, 1),
        ({}, 1),
        ({}, 3),
    ]
    requests: list[tuple[str, dict[str, Any], int | None]] = []
    for path in sorted(document["capabilities"]) + sorted(document["aliases"]):
        requests.append((path, {}, None))
    for path in busy + aliases[:3]:
        for filters, limit in variants:
            requests.append((path, filters, limit))
    for path in busy[:2]:
        requests.append((path, {"exclude_models": pools[path][:2]}, None))
        requests.append((path, {"exclude_models": pools[path][0]}, None))
    return requests


_ERROR_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("generaton.text-generation", {}),
    ("chat", {"features": ["tool_call"]}),
    ("chat", {"features": {"visoin": False}}),
    ("chat", {"features": "streamin"}),
    ("chat", {"providers": ["openia"]}),
    ("chat", {"exclude_providers": "antropic"}),
    ("chat", {"providers": ["zzzz"]}),
]


def _route_answer(reference: Reference, capability: str, filters: dict[str, Any], limit: int | None,
                  *, explain: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"capability": capability, "filters": filters, "limit": limit}
    try:
        path, candidates, excluded = reference.route(capability, filters)
    except LookupError_ as error:
        answer["error"] = error.record
        return answer
    answer["candidates"] = candidates if limit is None else candidates[:limit]
    if explain:
        answer["path"] = path
        answer["excluded"] = excluded
        answer["pool_size"] = len(reference.document["pools"][path])
    return answer


def catalog_answers(raw: bytes) -> dict[str, Any]:
    """Every answer the conformance suite checks on the catalog snapshot."""
    document = json.loads(raw)
    reference = Reference(document)
    valid = set(document["capabilities"]) | set(document["aliases"])
    typos = [t for word in sorted(valid) for t in _typos(word)]
    typos += [p.rsplit(".", 1)[-1] for p in sorted(document["capabilities"])]
    typos += ["", "zzz", "generation.", "GENERATION", "Chat", "text_generation", "embeddings.text"]
    unknown_capabilities = {}
    for typo in dict.fromkeys(typos):
        if typo not in valid:
            suggestions = reference.tree.suggest(typo)
            unknown_capabilities[typo] = LookupError_("UnknownCapability", typo, suggestions).record
    providers = sorted(document["providers"])
    provider_typos = [t for p in providers for t in _typos(p)] + ["zzz", "OpenAI", ""]
    unknown_providers = {
        typo: LookupError_("UnknownProvider", typo, reference.provider_suggestions(typo)).record
        for typo in dict.fromkeys(provider_typos) if typo not in document["providers"]}
    model_ids = sorted({record["model_id"] for record in document["models"].values()})
    requests = _requests(document)
    return {
        "snapshot": "catalog.snapshot.json",
        "digest": document["$digest"],
        "version": {**document["version"], "format_minor": document["format"]["minor"]},
        "list_models": list(document["models"]),
        "models": {name: reference.summary(name) for name in document["models"]},
        "missing_models": ["openai/gpt-99", "", "OPENAI/GPT-4O", "gpt-4o"],
        "capabilities": {path: {"path": reference.resolve(path), "pool": document["pools"][reference.resolve(path)]}
                         for path in sorted(valid)},
        "unknown_capabilities": unknown_capabilities,
        "providers": {provider: reference.by_provider(provider) for provider in providers},
        "unknown_providers": unknown_providers,
        "model_ids": {model_id: reference.by_model_id(model_id) for model_id in [*model_ids, "no-such-model", ""]},
        "candidates": [_route_answer(reference, c, f, limit, explain=False) for c, f, limit in requests]
        + [_route_answer(reference, c, f, None, explain=False) for c, f in _ERROR_REQUESTS],
        "explain": [_route_answer(reference, c, f, None, explain=True) for c, f, limit in requests
                    if limit is None and f][:40]
        + [_route_answer(reference, c, f, None, explain=True) for c, f in _ERROR_REQUESTS[:2]],
    }


# -- the 10,000-model snapshot from a seed ----------------------------------------------------


def _digest_of(names: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def _hashed(names: list[str]) -> dict[str, Any]:
    return {"count": len(names), "first": names[:3], "sha256": _digest_of(names)}


def seeded_answers(base: dict[str, Any]) -> dict[str, Any]:
    """The seed's recorded digest and answers, hashed so that the fixture stays small."""
    snapshot = seeded_snapshot(SEED, SEEDED_MODELS, base)
    document = json.loads(snapshot.raw)  # in the file's order, as a runtime reads it
    reference = Reference(document)
    requests: list[tuple[str, dict[str, Any], int | None]] = [
        ("generation.text-generation", {"features": ["tool_calling", "streaming"]}, 1),
        ("generation.text-generation", {"features": ["tool_calling", "streaming"]}, None),
        ("chat", {"features": {"vision": True, "reasoning": False}, "min_context": 128_000}, None),
        ("generation", {"input_modalities": ["audio"], "exclude_providers": ["p00", "p01"]}, None),
        ("generation", {"providers": "p07", "include_deprecated": False}, None),
        ("understanding", {"min_output_tokens": 16_384, "include_preview": False}, 5),
        ("embedding", {"output_modalities": "image"}, None),
    ]
    candidates = []
    for capability, filters, limit in requests:
        _, chosen, _ = reference.route(capability, filters)
        chosen = chosen if limit is None else chosen[:limit]
        candidates.append({"capability": capability, "filters": filters, "limit": limit, **_hashed(chosen)})
    model_ids = sorted({record["model_id"] for record in document["models"].values()})
    return {
        "seed": SEED, "models": SEEDED_MODELS, "digest": snapshot.digest, "bytes": len(snapshot.raw),
        "list_models": _hashed(list(document["models"])),
        "pools": {path: _hashed(reference.document["pools"][reference.resolve(path)])
                  for path in sorted(document["capabilities"]) + sorted(document["aliases"])},
        "providers": {provider: _hashed(reference.by_provider(provider)) for provider in sorted(document["providers"])},
        "model_ids": {model_id: reference.by_model_id(model_id) for model_id in model_ids[::97]},
        "models_sample": {name: reference.summary(name) for name in list(document["models"])[::1013]},
        "candidates": candidates,
    }


# -- files the loaders must refuse, one per check ---------------------------------------------


def small_document(document: dict[str, Any]) -> dict[str, Any]:
    """The catalog's document cut to a few models of two providers and the part of the tree they
    serve in, consistent and unsealed: the base every refused file is made from."""
    keep = [name for provider, count in (("anthropic", 1), ("openai", 2))
            for name in [n for n in document["models"] if n.startswith(provider + "/")][:count]]
    small = {key: copy.deepcopy(value) for key, value in document.items() if key != "$digest"}
    small["providers"] = {name: small["providers"][name] for name in ("anthropic", "openai")}
    small["models"] = {name: small["models"][name] for name in keep}
    nodes = {path for name in keep for path in small["models"][name]["pools"]}
    small["capabilities"] = {path: {**record, "children": [c for c in record["children"] if c in nodes]}
                             for path, record in small["capabilities"].items() if path in nodes}
    small["aliases"] = {alias: target for alias, target in small["aliases"].items() if target in nodes}
    small["pools"] = {path: [n for n in names if n in small["models"]] for path, names in small["pools"].items()
                      if path in nodes}
    return small


Mutation = Callable[[dict[str, Any]], None]


def _set(*keys: str, value: Any = None, delete: bool = False) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target = document
        for key in keys[:-1]:
            target = target[key]
        if delete:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return mutate


def snapshot_files(document: dict[str, Any]) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """The refused and accepted files, by name, and the manifest that says what each must give."""
    base = small_document(document)
    raw, digest = encode(base)
    model = next(iter(base["models"]))
    feature = next(f for f in base["models"][model]["features"])
    leaf = next(p for p, n in base["capabilities"].items() if n["parent"] is not None and not n["children"])
    parent = base["capabilities"][leaf]["parent"]
    roots = [p for p, n in base["capabilities"].items() if n["parent"] is None and n["children"]]
    shared_child = base["capabilities"][roots[0]]["children"][0]
    pool = next(p for p, names in base["pools"].items() if names)
    files: dict[str, bytes] = {}
    manifest: list[dict[str, Any]] = []

    def add(name: str, data: bytes, kind: str | None, detail: str | None = None, *, why: str,
            max_bytes: int | None = None, runtimes: list[str] | None = None) -> None:
        files[f"{name}.json"] = data
        entry: dict[str, Any] = {"file": f"snapshot-files/{name}.json", "kind": kind, "why": why}
        if detail is not None:
            entry["detail"] = detail
        if max_bytes is not None:
            entry["max_bytes"] = max_bytes
        if runtimes is not None:
            entry["runtimes"] = runtimes
        manifest.append(entry)

    def sealed(*mutations: Mutation) -> bytes:
        changed = copy.deepcopy(base)
        for mutate in mutations:
            mutate(changed)
        return encode(changed)[0]

    def invalid(name: str, detail: str, *mutations: Mutation, why: str) -> None:
        add(name, sealed(*mutations), "invalid", detail, why=why)

    add("ok", raw, None, why="the base every other file is made from")

    def unknown_fields(d: dict[str, Any]) -> None:
        d["format"]["minor"] = 7
        d["x-future"] = {"anything": [1, 2]}
        d["models"][model]["x-team"] = "search"
        d["models"][model]["future_field"] = True
        d["providers"]["openai"]["future_field"] = 1
        d["capabilities"][leaf]["future_field"] = None
    add("ok-unknown-fields", sealed(unknown_fields), None, why="a newer minor version: unknown fields are ignored")
    add("ok-flags-one-zero", sealed(_set("models", model, "features", feature, value=1)), None,
        why="a feature flag of 1 or 0 means true or false")
    add("too-large", raw, "too-large", max_bytes=len(raw) - 1, why="over the byte limit, refused before reading")

    cut = raw.index(b'"providers"')
    add("truncated-half", raw[: len(raw) // 2], "not-json", why="cut in half")
    add("truncated-last-byte", raw[:-1], "not-json", why="the last byte missing")
    add("empty", b"", "not-json", why="an empty file")
    add("garbage", b"\x89PNG\r\n\x1a\n\x00\x00", "not-json", why="not text at all")
    add("invalid-utf8", raw[:cut] + b'"\xff' + raw[cut + 1:], "not-json", why="a byte that is not UTF-8")
    add("top-level-array", b"[]", "not-snapshot", why="JSON, but not an object")
    add("top-level-null", b"null", "not-snapshot", why="JSON, but not an object")
    add("no-format", sealed(_set("format", delete=True)), "not-snapshot", why="no format marker")
    add("format-other-name", sealed(_set("format", "name", value="other-registry")), "not-snapshot",
        why="another program's format")
    add("format-not-object", sealed(_set("format", value="modelreg-registry")), "not-snapshot",
        why="a format marker that is not an object")
    add("major-2", sealed(_set("format", "major", value=2)), "unsupported-major", why="a newer major version")
    add("major-0", sealed(_set("format", "major", value=0)), "unsupported-major", why="an older major version")
    add("major-string", sealed(_set("format", "major", value="1")), "unsupported-major", why="a major that is a string")
    add("major-true", sealed(_set("format", "major", value=True)), "unsupported-major", why="a major that is true")
    add("major-missing", sealed(_set("format", "major", delete=True)), "unsupported-major", why="no major version")
    add("major-float", sealed(_set("format", "major", value=1.0)), "unsupported-major",
        why="a major of 1.0 is not the integer 1; JSON.parse cannot tell them apart", runtimes=["python"])
    major_2 = sealed(_set("format", "major", value=2))
    add("major-2-tampered", major_2.replace(b'"display_name":"', b'"display_name":"X', 1), "unsupported-major",
        why="a newer major is reported before its digest is checked: it may seal itself differently")
    major_2_doc = json.loads(major_2)
    add("major-2-pretty", json.dumps(major_2_doc, indent=2).encode(), "unsupported-major",
        why="a newer major is reported before the canonical form is checked")
    sealed_doc = json.loads(raw)
    add("pretty-printed", json.dumps(sealed_doc, indent=2, sort_keys=True).encode(), "not-canonical",
        why="a good document, re-serialised: the digest no longer starts the file")
    add("no-digest", canonical_json(base), "not-canonical", why="no `$digest` field")
    add("digest-spaced", raw.replace(b'{"$digest":"', b'{"$digest": "', 1), "not-canonical",
        why="a space after the digest's colon")
    add("digest-short", canonical_json({"$digest": "sha256:abc", **base}), "not-canonical",
        why="a digest too short to be a sha256")
    tampered = raw.replace(b'"display_name":"', b'"display_name":"X', 1)
    add("tampered-value", tampered, "digest-mismatch", why="one value changed after sealing")
    flipped = "0" if digest[-1] != "0" else "1"
    add("tampered-digest", raw.replace(digest.encode(), (digest[:-1] + flipped).encode(), 1), "digest-mismatch",
        why="the digest itself changed")
    add("digest-uppercase", raw.replace(digest.encode(), digest.upper().replace("SHA256:", "sha256:").encode(), 1),
        "digest-mismatch", why="the digest in capitals")
    add("appended-space", raw + b" ", "digest-mismatch", why="a byte appended")
    add("appended-newline", raw + b"\n", "digest-mismatch", why="a newline appended by an editor")

    invalid("version-missing", "`version` is missing", _set("version", delete=True), why="no version")
    invalid("version-not-object", '`version` must be an object, not "1"', _set("version", value="1"),
            why="a version that is a string")
    invalid("version-label-missing", "`version`: `label` is missing", _set("version", "label", delete=True),
            why="no version label")
    invalid("version-label-type", "`version`: `label` must be a string, not 5", _set("version", "label", value=5),
            why="a label that is a number")
    invalid("version-commit-type", "`version`: `commit` must be a string or null, not 5",
            _set("version", "commit", value=5), why="a commit that is a number")
    invalid("version-dirty-type", '`version`: `dirty` must be a boolean or null, not "yes"',
            _set("version", "dirty", value="yes"), why="dirty as a string")
    invalid("version-number-type", "`version`: `number` must be an integer or null, not true",
            _set("version", "number", value=True), why="a version number that is true")
    invalid("version-history-type", "`version`: `history` must be a string, not 5",
            _set("version", "history", value=5), why="a history that is a number")
    invalid("format-minor-type", '`format`: `minor` must be an integer, not "0"', _set("format", "minor", value="0"),
            why="a minor that is a string")
    invalid("capabilities-missing", "`capabilities` is missing", _set("capabilities", delete=True),
            why="no capability tree")
    invalid("capabilities-type", "`capabilities` must be an object, not []", _set("capabilities", value=[]),
            why="a tree that is an array")
    invalid("aliases-missing", "`aliases` is missing", _set("aliases", delete=True), why="no aliases")
    invalid("features-type", '`features` must be an object, not ["vision"]', _set("features", value=["vision"]),
            why="a vocabulary that is an array")
    invalid("node-type", f"capability `{leaf}` must be an object, not 5", _set("capabilities", leaf, value=5),
            why="a node that is a number")
    invalid("node-parent-missing", f"capability `{leaf}`: `parent` is missing",
            _set("capabilities", leaf, "parent", delete=True), why="a node without its parent")
    invalid("node-parent-type", f"capability `{leaf}`: `parent` must be a string or null, not 5",
            _set("capabilities", leaf, "parent", value=5), why="a parent that is a number")
    invalid("node-children-type", f'capability `{leaf}`: `children` must be an array, not "x"',
            _set("capabilities", leaf, "children", value="x"), why="children that are a string")
    invalid("node-children-items", f"capability `{leaf}`: `children` must hold strings, not 5",
            _set("capabilities", leaf, "children", value=[5]), why="a child that is a number")
    invalid("node-aliases-items", f"capability `{leaf}`: `aliases` must hold strings, not null",
            _set("capabilities", leaf, "aliases", value=[None]), why="an alias that is null")
    invalid("node-description-type", f"capability `{leaf}`: `description` must be a string or null, not 5",
            _set("capabilities", leaf, "description", value=5), why="a description that is a number")
    invalid("node-deprecated-type", f'capability `{leaf}`: `deprecated` must be an object or null, not "soon"',
            _set("capabilities", leaf, "deprecated", value="soon"), why="a deprecation that is a string")
    invalid("node-parent-unknown", f"capability `{leaf}`: its parent `nowhere` is not in the tree",
            _set("capabilities", leaf, "parent", value="nowhere"), why="a parent the tree lacks")
    invalid("node-child-unknown", f"capability `{parent}`: its child `nowhere` is not in the tree",
            _set("capabilities", parent, "children", value=[*base["capabilities"][parent]["children"], "nowhere"]),
            why="a child the tree lacks")
    invalid("node-not-listed", f"capability `{leaf}`: its parent `{parent}` does not list it as a child",
            _set("capabilities", parent, "children",
                 value=[c for c in base["capabilities"][parent]["children"] if c != leaf]),
            why="a parent that does not list its child")
    invalid("node-other-parent", f'capability `{roots[1]}`: its child `{shared_child}` names another parent, '
            f'"{roots[0]}"',
            _set("capabilities", roots[1], "children",
                 value=[*base["capabilities"][roots[1]]["children"], shared_child]),
            why="a child listed by two parents")

    def cycle(d: dict[str, Any]) -> None:
        for path, other in (("zz-a", "zz-b"), ("zz-b", "zz-a")):
            d["capabilities"][path] = {"path": path, "parent": other, "children": [other], "aliases": [],
                                       "description": "", "deprecated": None}
            d["pools"][path] = []
    invalid("node-cycle", "capability `zz-a`: its ancestors form a cycle", cycle, why="ancestors in a loop")
    invalid("alias-unknown", 'alias `bogus` points to "nowhere", which is not in the tree',
            _set("aliases", "bogus", value="nowhere"), why="an alias to a path the tree lacks")
    invalid("alias-type", "alias `bogus` points to 5, which is not in the tree", _set("aliases", "bogus", value=5),
            why="an alias to a number")
    invalid("providers-missing", "`providers` is missing", _set("providers", delete=True), why="no providers")
    invalid("provider-type", 'provider `openai` must be an object, not "x"', _set("providers", "openai", value="x"),
            why="a provider that is a string")
    invalid("provider-display-name-type", "provider `openai`: `display_name` must be a string, not 5",
            _set("providers", "openai", "display_name", value=5), why="a display name that is a number")
    wrong: tuple[tuple[str, Any, str], ...] = (("api", 5, "5"), ("api_base", [], "[]"), ("api_key_env", False, "false"))
    for key, value, shown in wrong:
        invalid(f"provider-{key.replace('_', '-')}-type",
                f"provider `openai`: `{key}` must be a string or null, not {shown}",
                _set("providers", "openai", key, value=value), why=f"a provider's {key} of the wrong type")
    invalid("models-missing", "`models` is missing", _set("models", delete=True), why="no models")
    invalid("models-type", "`models` must be an object, not []", _set("models", value=[]), why="models as an array")
    invalid("model-type", f"model `{model}`: the record must be an object, not 5", _set("models", model, value=5),
            why="a model that is a number")
    for key in ("provider", "model_id", "capabilities", "features", "limits", "modalities", "lifecycle",
                "priority", "pools", "delivery", "batch"):
        invalid(f"model-{key.replace('_', '-')}-missing", f"model `{model}`: `{key}` is missing",
                _set("models", model, key, delete=True), why=f"a model without `{key}`")
    mistyped: tuple[tuple[str, Any, str], ...] = (
            ("provider", 5, "a string, not 5"), ("model_id", 5, "a string, not 5"),
            ("capabilities", "chat", 'an array, not "chat"'), ("features", [], "an object, not []"),
            ("limits", [], "an object, not []"), ("modalities", "text", 'an object, not "text"'),
            ("lifecycle", "active", 'an object, not "active"'), ("priority", "10", 'an integer, not "10"'),
            ("pools", "chat", 'an array, not "chat"'), ("delivery", 5, "a string, not 5"),
            ("batch", "yes", 'a boolean, not "yes"'), ("display_name", 5, "a string or null, not 5"),
            ("registered_at", 5, "a string or null, not 5"))
    for key, value, words in mistyped:
        invalid(f"model-{key.replace('_', '-')}-type", f"model `{model}`: `{key}` must be {words}",
                _set("models", model, key, value=value), why=f"a model's `{key}` of the wrong type")
    invalid("model-priority-true", f"model `{model}`: `priority` must be an integer, not true",
            _set("models", model, "priority", value=True), why="a priority that is true")
    invalid("model-priority-fraction", f"model `{model}`: `priority` must be an integer, not 1.5",
            _set("models", model, "priority", value=1.5), why="a priority with a fraction")
    invalid("model-provider-unknown", f"model `{model}`: its provider `nobody` is not in `providers`",
            _set("models", model, "provider", value="nobody"), why="a model of a provider the snapshot lacks")
    nested: tuple[tuple[str, str, Any, str], ...] = (
            ("limits", "context_window", "128k", 'an integer or null, not "128k"'),
            ("limits", "max_output_tokens", 1.5, "an integer or null, not 1.5"),
            ("modalities", "input", "text", 'an array, not "text"'),
            ("modalities", "output", 5, "an array, not 5"),
            ("lifecycle", "status", 5, "a string, not 5"))
    for outer, key, value, words in nested:
        invalid(f"model-{outer}-{key.replace('_', '-')}-type", f"model `{model}`: `{outer}.{key}` must be {words}",
                _set("models", model, outer, key, value=value), why=f"a model's `{outer}.{key}` of the wrong type")
    flags: tuple[tuple[str, Any, str], ...] = (("string", "yes", '"yes"'), ("array", ["x"], '["x"]'), ("two", 2, "2"))
    for suffix, value, shown in flags:
        invalid(f"model-feature-{suffix}", f"model `{model}`: `features.{feature}` must be true or false, not {shown}",
                _set("models", model, "features", feature, value=value), why="a feature flag that is not a flag")
    for key, outer, inner in (("capabilities", "capabilities", None), ("pools", "pools", None),
                              ("modalities.input", "modalities", "input")):
        keys = (outer,) if inner is None else (outer, inner)
        invalid(f"model-{key.replace('.', '-')}-items", f"model `{model}`: `{key}` must hold strings, not 5",
                _set("models", model, *keys, value=[5]), why=f"a model's `{key}` holding a number")
    invalid("model-modalities-input-nested", f'model `{model}`: `modalities.input` must hold strings, not ["x"]',
            _set("models", model, "modalities", "input", value=[["x"]]), why="a modality that is an array")
    invalid("pools-missing", "`pools` is missing", _set("pools", delete=True), why="no pools")
    invalid("pools-type", "`pools` must be an object, not []", _set("pools", value=[]), why="pools as an array")
    invalid("pool-missing", f"no pool for capability `{leaf}`", _set("pools", leaf, delete=True),
            why="a node without its pool")
    invalid("pools-missing-two", f"no pool for capabilities {', '.join(f'`{p}`' for p in sorted((leaf, parent)))}",
            _set("pools", leaf, delete=True), _set("pools", parent, delete=True), why="two nodes without pools")
    invalid("pool-extra", "pool for `nowhere`, which is not in the capability tree", _set("pools", "nowhere", value=[]),
            why="a pool for a node the tree lacks")
    invalid("pool-type", f'pool `{pool}` must be an array, not "x"', _set("pools", pool, value="x"),
            why="a pool that is a string")
    invalid("pool-unknown-model", f'pool `{pool}` names "nobody/x", which is not in `models`',
            _set("pools", pool, value=[*base["pools"][pool], "nobody/x"]),
            why="a pool naming a model the snapshot lacks")
    invalid("pool-number", f"pool `{pool}` names 5, which is not in `models`", _set("pools", pool, value=[5]),
            why="a pool naming a number")
    return files, manifest


# -- the command ------------------------------------------------------------------------------


def generate(out: Path) -> list[Path]:
    """Write every generated fixture into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = compile_frozen(Path(tmp))
    (out / "catalog.snapshot.json").write_bytes(raw)
    written.append(out / "catalog.snapshot.json")
    document = json.loads(raw)
    write_json(out / "catalog.answers.json", catalog_answers(raw))
    written.append(out / "catalog.answers.json")
    files, manifest = snapshot_files(document)
    folder = out / "snapshot-files"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
        written.append(folder / name)
    write_json(out / "snapshot-files.json", manifest)
    written.append(out / "snapshot-files.json")
    write_json(out / "seeded.json", seeded_answers(document))
    written.append(out / "seeded.json")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    written = generate(args.out)
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
