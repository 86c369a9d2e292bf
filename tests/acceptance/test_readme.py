"""The README's Python examples run as written, in order, on a copy of the bundled catalog in git,
with every provider served by a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelreg.catalog.yaml_loader import load_yaml
from tests.conftest import BUNDLED, REPO
from tests.git_helpers import commit_all, init_repo
from tests.runtime.fake_provider import FakeProvider

FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_examples(text: str) -> list[tuple[int, str]]:
    """Each ```python block of a markdown text, with the line it starts on."""
    return [(text.count("\n", 0, match.start()) + 2, match.group(1)) for match in FENCE.finditer(text)]


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.close()


def test_the_readme_has_python_examples() -> None:
    examples = python_examples((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(examples) >= 5
    assert all(code.strip() for _, code in examples)


def test_every_python_example_in_the_readme_runs(tmp_path: Path, provider: FakeProvider,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    work = init_repo(tmp_path / "work")
    catalog = work / "models.d"
    shutil.copytree(BUNDLED, catalog)
    for path in sorted(catalog.glob("*/provider.yaml")):
        data = load_yaml(path.name, path.read_bytes()).data
        if data.get("api_key_env"):
            monkeypatch.setenv(data["api_key_env"], "test-key")
        # Every provider on loopback: the examples call providers for real.
        text = re.sub(r"^api_base: .*$", f"api_base: {provider.url}", path.read_text(encoding="utf-8"),
                      flags=re.MULTILINE)
        path.write_text(text, encoding="utf-8")
    commit_all(work, "the bundled catalog")
    monkeypatch.chdir(work)
    namespace: dict[str, Any] = {"__name__": "readme"}
    for line, code in python_examples((REPO / "README.md").read_text(encoding="utf-8")):
        exec(compile(code, f"README.md:{line}", "exec"), namespace)
    # What the examples did, seen from outside.
    assert (work / "build" / "registry.json").is_file()
    assert namespace["model"].name == "openai/gpt-next"
    assert namespace["registry"].get_model("openai/gpt-4o") is not None
    assert namespace["reply"]["choices"][0]["message"]["content"] == "hello"
    sent = [seen for seen in provider.seen if seen.method == "POST"]
    # The SDK examples (openai, anthropic, httpx), then OpenAIClient's completion and stream.
    assert [(seen.path, seen.body.get("stream", False)) for seen in sent] == [
        ("/v1/chat/completions", False), ("/v1/messages", False), ("/v1/chat/completions", False),
        ("/v1/chat/completions", False), ("/v1/chat/completions", True)]
    assert [seen.body["model"] for seen in sent[:3]] == [namespace["raw"]["model"], namespace["claude"].model,
                                                         namespace["raw"]["model"]]
    headers = [{name.lower(): value for name, value in seen.headers.items()} for seen in sent]
    # Each with the key of its provider's `api_key_env` (the Anthropic SDK's header varies by release).
    assert all(h.get("authorization") == "Bearer test-key" or h.get("x-api-key") == "test-key" for h in headers)
    assert namespace["claude"].content[0].text == "hello"
    namespace["watcher"].stop()
