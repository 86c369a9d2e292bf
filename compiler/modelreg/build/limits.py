"""Bounds on what a compile produces, so an oversized catalog fails in seconds with a clear error
instead of taking a minute and a gigabyte: the number of models, and the snapshot's size (checked
on an estimate before the snapshot is built, and exactly after)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelreg.catalog.paths import is_model_path
from modelreg.errors import LimitExceeded

if TYPE_CHECKING:  # the command line reads the defaults without loading the checks
    from modelreg.check.catalog_check import CatalogCheck

DEFAULT_MAX_MODELS = 100_000
# What the runtime loads by default (`modelreg.runtime.snapshot_source.DEFAULT_MAX_BYTES`): a larger
# snapshot would only be refused by every service.
DEFAULT_MAX_SNAPSHOT_BYTES = 128 * 1024 * 1024
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The bounds of one compile."""

    max_models: int = DEFAULT_MAX_MODELS
    max_snapshot_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES

    def check_files(self, paths: Collection[str], where: str) -> None:
        """LimitExceeded when the catalog holds more model files than `max_models` (counted before
        any is parsed)."""
        if len(paths) > self.max_models:  # else not even every file is a model's
            self.check_models(sum(1 for rel in paths if is_model_path(rel)), where, "model files")

    def check_models(self, count: int, where: str, what: str = "models") -> None:
        """LimitExceeded when `count` models are more than `max_models`."""
        if count > self.max_models:
            raise LimitExceeded(f"{where}: {count:,} {what}, over the limit of {self.max_models:,} "
                                "(raise it with --max-models); nothing compiled")

    def check_estimate(self, check: CatalogCheck, where: str) -> None:
        """LimitExceeded when the snapshot of `check` would be over `max_snapshot_bytes`, judged
        before it is built from what grows it most: every model's name in every pool it joins
        (twice: in the pool, and in the model's own list)."""
        size = sum(2 * (len(model.name) + 3) * len(model.pools) for model in check.models.values())
        if size > self.max_snapshot_bytes:
            self._over(size, where, "at least ")

    def check_snapshot(self, size: int, where: str) -> None:
        """LimitExceeded when the built snapshot, `size` bytes, is over `max_snapshot_bytes`."""
        if size > self.max_snapshot_bytes:
            self._over(size, where, "")

    def _over(self, size: int, where: str, bound: str) -> None:
        raise LimitExceeded(f"{where}: the snapshot would be {bound}{size / _MIB:,.1f} MiB, over the limit of "
                            f"{self.max_snapshot_bytes / _MIB:,.1f} MiB (raise it with --max-snapshot-mb); "
                            "nothing written")
