"""What the package installs beside its code: the JSON Schemas and the bundled capability tree.

In a checkout they sit beside the source root (`schemas/`, `models.d/capabilities.yaml`); a wheel
installs them as data files under `share/modelreg/` of the install scheme.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def data_path(checkout: str, installed: str) -> Path:
    """The file or directory at `checkout` in a checkout, else `share/modelreg/<installed>` where
    the package was installed. FileNotFoundError when neither exists."""
    here = _CHECKOUT / checkout
    if here.exists():
        return here
    bases = [sys.prefix, sysconfig.get_path("data"), sysconfig.get_path("data", f"{os.name}_user")]
    for base in bases:
        candidate = Path(base) / "share" / "modelreg" / installed
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"modelreg's {installed} is not installed (looked beside the package and in "
                            f"{', '.join(bases)} under share/modelreg)")


def bundled_tree() -> Path:
    """The bundled capability tree, `capabilities.yaml` of the project's own catalog."""
    return data_path("models.d/capabilities.yaml", "catalog/capabilities.yaml")
