"""Discovery's record of one provider (`<provider>/discovery.json`, `paths.discovery_record_path`):
for each model it follows, the file it writes, whether the last complete listing contained it,
and the value it last wrote to each field it owns. A field that still holds that value follows
the listing; one that holds anything else was changed by a person, and keeps the person's value.

Written deterministically (sorted keys, one layout), so the same state is the same bytes and a
sync that changes nothing writes nothing. `schemas/discovery-record.schema.json` defines it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelreg.errors import StateError
from modelreg.schemas import first_error

RECORD_FORMAT = "modelreg-discovery-record"
RECORD_VERSION = 1
_RESTORE = ("restore it from a commit where it is whole (`git log -- <file>`), or remove it to start the record "
            "again (every field a model file sets then counts as a person's)")


@dataclass
class Followed:
    """One model discovery follows."""

    name: str
    listed: bool = True
    """Whether the last complete listing contained it."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Dotted field -> the value discovery last wrote there."""
    unlisted_since: str | None = None
    """The date of the sync that first found it gone from a complete listing."""
    replaced: dict[str, Any] = field(default_factory=dict)
    """What marking it deprecated replaced (field -> the value before, None for none), put back if
    it is listed again."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "listed": self.listed, "fields": dict(sorted(self.fields.items()))}
        if self.unlisted_since is not None:
            data["unlisted_since"] = self.unlisted_since
        if self.replaced:
            data["replaced"] = dict(sorted(self.replaced.items()))
        return data


@dataclass
class Record:
    """What discovery knows it wrote for one provider."""

    provider: str
    models: dict[str, Followed] = field(default_factory=dict)
    """By the provider's model ID."""

    def dump(self) -> bytes:
        """The record's bytes: the same state is always the same bytes, one line per model, so a
        pull request's diff shows the models whose record changed."""
        head = {"format": RECORD_FORMAT, "version": RECORD_VERSION, "provider": self.provider}
        lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in sorted(head.items())] + ['  "models": {']
        models = [f"    {json.dumps(model_id, ensure_ascii=False)}: "
                  f"{json.dumps(self.models[model_id].to_json(), sort_keys=True, ensure_ascii=False)}"
                  for model_id in sorted(self.models)]
        lines += [",\n".join(models)] if models else []
        lines += ["  }", "}"]
        return ("\n".join(lines) + "\n").encode("utf-8")


def load_record(provider: str, raw: bytes | None, shown: str) -> Record:
    """The record in `raw` (None: there is none yet). StateError naming `shown` (the file) and
    where in it, for a record that is not one: a person's edit that broke it, or a newer format."""
    if raw is None:
        return Record(provider)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StateError(f"{shown}:{exc.lineno}:{exc.colno}: the discovery record is not JSON ({exc.msg}); "
                         f"{_RESTORE}") from None
    except (UnicodeDecodeError, RecursionError):
        raise StateError(f"{shown}: the discovery record is not JSON text; {_RESTORE}") from None
    problem = first_error("discovery-record", data)
    if problem is not None:
        raise StateError(f"{shown}: not a discovery record this version of modelreg reads: {problem}; {_RESTORE}")
    if data["provider"] != provider:
        raise StateError(f"{shown}: the record is of provider `{data['provider']}`, not `{provider}`")
    models = {model_id: Followed(entry["name"], entry["listed"], dict(entry["fields"]), entry.get("unlisted_since"),
                                 dict(entry.get("replaced", {})))
              for model_id, entry in data["models"].items()}
    return Record(provider, models)
