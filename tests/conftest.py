"""Shared fixtures: small catalogs on tmp_path, and the CLI run as a user runs it."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelreg.cli.main import main
from tests.git_helpers import isolate_git

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "models.d"

CAPABILITIES = """\
capabilities:
  generation:
    description: Produce content.
    children:
      text-generation:
        description: Chat and completion.
        aliases: [chat]
        children:
          code-generation:
            description: Code.
      text-completion:
        description: Legacy completion.
        deprecated:
          since: "2024-01-04"
          replacement: generation.text-generation
  embedding:
    description: Vectors.
    children:
      text-embedding:
        description: Text vectors.
features:
  tool_calling: Calls tools.
  vision: Sees images.
  streaming: Streams.
  json_mode: Returns JSON.
"""

PROVIDER = """\
name: acme
display_name: Acme AI
api: openai
api_base: https://api.acme.test/v1
api_key_env: ACME_API_KEY
defaults:
  features:
    streaming: true
  limits:
    context_window: 8192
  priority: 50
"""

CHAT = """\
name: acme/chat-large
provider: acme
model_id: chat-large:2024
capabilities: [generation.text-generation]
features:
  tool_calling: true
limits:
  context_window: 128000
priority: 10
"""

EMBED = """\
name: acme/embed-small
provider: acme
capabilities:
  - embedding.text-embedding
"""

def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _outside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from a developer's shell, also when CI runs it inside GitHub Actions,
    where `GITHUB_ACTIONS=true` would switch the default diagnostics format to annotations."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


@pytest.fixture(autouse=True)
def _no_colour_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test inherits the shell's colour settings: output is coloured only where a test asks."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A catalog outside git keeps its per-file cache in a directory of the test's own, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Git in every test reads no user or system config, whatever the machine has."""
    isolate_git(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """A small valid catalog: one provider, three models, every live node served."""
    root = tmp_path / "models.d"
    write(root, "capabilities.yaml", CAPABILITIES)
    write(root, "acme/provider.yaml", PROVIDER)
    write(root, "acme/chat-large.yaml", CHAT)
    write(root, "acme/embed-small.yaml", EMBED)
    coder = CHAT.replace("acme/chat-large", "acme/coder").replace("priority: 10", "priority: 5")
    write(root, "acme/coder.yaml", coder.replace("[generation.text-generation]",
                                                 "[generation.text-generation.code-generation]"))
    return root


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*argv: str) -> Run:
    """Run `modelreg ARGV` in-process and capture its streams."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Run(code, out.getvalue(), err.getvalue())
