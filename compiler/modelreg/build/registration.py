"""`registered_at`, the one place it is given: to the models of a check, and to the records of a
snapshot document derived from another one.

A model's registration date is when its file was added on the branch (`RegistrationDates`). A
document derived from a nearby commit's keeps the dates that cannot differ and reads only the
history in between for the others.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelreg.models import Model

if TYPE_CHECKING:
    from modelreg.git.registration_dates import RegistrationDates


def stamp_models(models: Iterable[Model], dates: Mapping[str, datetime | None]) -> None:
    """Give each model the registration date of its file (`dates`: catalog path -> date); None
    for a file that has none (not committed yet, or no history to read)."""
    for model in models:
        model.registered_at = dates.get(model.source)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def dated_record(record: dict[str, Any], stamp: str | None) -> dict[str, Any]:
    """A snapshot record with `registered_at` = `stamp`: the record itself when it already says
    so (documents share their records and are read-only), else a copy."""
    return record if record["registered_at"] == stamp else {**record, "registered_at": stamp}


def derived_stamps(dates: RegistrationDates, base_version: Mapping[str, Any], base_dates: Mapping[str, str | None],
                   base_commit: str, commit: str, present: Collection[str]) -> dict[str, str | None]:
    """`registered_at` of `commit`'s files (`present`), given those of the snapshot of
    `base_commit` (`base_dates` by file, its `version`).

    The base's dates hold but for files added or removed between the two commits, when one is on
    the other's first-parent line: then only the history in between is read, and for an older
    commit, the history of those of its files alone. Otherwise, the whole history.
    """
    between = dates.between(base_commit, commit) if base_version["history"] == "full" else None
    if between is None:
        return {rel: _iso(when) for rel, when in dates.dates(commit).items()}
    older, changes = between
    stamps = dict(base_dates)
    if older == commit:
        changes = dict.fromkeys(changes, None) | dates.dates(commit, [rel for rel in changes if rel in present])
    stamps.update((rel, _iso(when)) for rel, when in changes.items())
    return stamps


def worktree_stamps(dates: RegistrationDates, base_version: Mapping[str, Any], base_dates: Mapping[str, str | None],
                    commit: str, present: Collection[str]) -> dict[str, str | None]:
    """`registered_at` of the work tree's files (`present`) at HEAD `commit`, given those of the
    work tree's last compile (`base_dates` by file, its `version`). A path keeps its date, whatever
    its content now: at the same commit the base's dates hold, at another those `derived_stamps`
    gives (the whole history, when the base had no commit). Either way the files the base did not
    have are looked up: a work tree's base may lack a committed file (removed from the work tree
    then), which no change between the two commits names."""
    if base_version["commit"] is None:
        return {rel: _iso(when) for rel, when in dates.dates(commit).items()}
    if base_version["commit"] == commit and base_version["history"] == "full":
        stamps = dict(base_dates)
    else:
        stamps = derived_stamps(dates, base_version, base_dates, base_version["commit"], commit, present)
    new = [rel for rel in present if rel not in stamps]
    stamps.update((rel, _iso(when)) for rel, when in dates.dates(commit, new).items())
    return stamps


def fill_registration_dates(dates: RegistrationDates, sides: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Give two documents of commits, compiled or derived without dates, the `registered_at` that
    can differ between them: those of the files added or removed in between (the others are the
    same on both sides, so a comparison needs none). Reads only the history in between when one
    commit is on the other's first-parent line, else each commit's whole history. Replaces the
    records it dates (documents share records)."""
    (one, _), (other, _) = sides
    between = dates.between(one, other)
    for commit, document in sides:
        if between is None:
            dated: Mapping[str, datetime | None] = dates.dates(commit)
        else:
            older, changes = between
            if commit == older:  # only its own files have a date there
                present = {rec["source"] for rec in document["models"].values()}
                dated = dates.dates(commit, [rel for rel in changes if rel in present])
            else:
                dated = changes
            dated = {rel: dated.get(rel) for rel in changes}
        models = document["models"]
        for name, rec in list(models.items()):
            if rec["source"] in dated:
                models[name] = dated_record(rec, _iso(dated[rec["source"]]))
