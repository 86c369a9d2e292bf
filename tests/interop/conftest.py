"""Catalogs to import into, and LiteLLM's own loader run in a process of its own."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUNDLED, REPO

LITELLM_FILE = REPO / "tests" / "data" / "litellm_model_prices.json"
MODELS_DEV_FILE = REPO / "tests" / "data" / "models_dev_api.json"

_LOADER = r'''
import asyncio, json, logging, os, sys
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
logging.disable(logging.CRITICAL)
import litellm
from litellm.proxy.proxy_server import ProxyConfig

async def main():
    router, _, _ = await ProxyConfig().load_config(router=None, config_file_path=sys.argv[1])
    print(json.dumps({"deployments": sorted(d["model_name"] for d in router.model_list),
                      "fallbacks": router.fallbacks or [],
                      "providers": sorted(str(getattr(p, "value", p)) for p in litellm.provider_list)}))

asyncio.run(main())
'''


def litellm_available() -> bool:
    """Whether LiteLLM and its proxy's dependencies are installed (found, not imported: importing
    LiteLLM takes half a minute); under CI they must be (`.ci/run` installs them)."""
    missing = [name for name in ("litellm", "fastapi", "websockets", "apscheduler")
               if importlib.util.find_spec(name) is None]
    if not missing:
        return True
    if os.environ.get("CI") == "true":
        pytest.fail(f"LiteLLM's proxy is not installed ({', '.join(missing)} missing), and CI must have it")
    return False


def load_with_litellm(config: Path) -> dict[str, Any]:
    """What LiteLLM's proxy config loader makes of a config file: its deployments and fallbacks."""
    if not litellm_available():
        pytest.skip("LiteLLM's proxy is not installed (pip install -e '.[litellm]')")
    result = subprocess.run([sys.executable, "-c", _LOADER, str(config)], capture_output=True, text=True,
                            check=False, timeout=600, cwd=config.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.fixture
def bundled_copy(tmp_path: Path) -> Path:
    """A copy of the bundled catalog, outside git."""
    root = tmp_path / "models.d"
    shutil.copytree(BUNDLED, root)
    return root
