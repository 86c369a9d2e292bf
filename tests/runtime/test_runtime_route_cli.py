"""`modelreg route`: the ordered candidates and the reasons for the others, from a snapshot or a catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelreg.atomic_files import write_atomic
from tests.conftest import run_cli
from tests.runtime.conftest import model, snapshot_bytes

MODELS = [
    model("acme/a", features=["tool_calling", "vision"], context=128_000, priority=10, model_id="a-2024"),
    model("acme/b", features=["tool_calling"], context=8_192, priority=20),
    model("beta/d", features=["vision"], context=1_000_000, status="deprecated", priority=1),
]


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "registry.json"
    write_atomic(path, snapshot_bytes(MODELS, label="5.gfeed"))
    return path


def test_route_prints_candidates_in_order_and_why_others_are_out(snapshot: Path) -> None:
    result = run_cli("route", "chat", "--feature", "vision", "--min-context", "100000", "--snapshot", str(snapshot))
    assert result.code == 0
    assert result.out == (
        "generation.text-generation (alias `chat`): 2 of 3 model(s) can serve, in routing order\n"
        "#  MODEL   PROVIDER  STATUS      PRIORITY  CONTEXT    MODEL ID\n"
        "1  acme/a  acme      active      10        128,000    a-2024\n"
        "2  beta/d  beta      deprecated  1         1,000,000  d\n"
        "\n"
        "excluded (1):\n"
        "MODEL   REASON\n"
        "acme/b  lacks feature `vision`\n")
    assert result.err.startswith(f"snapshot: {snapshot}, version 5.gfeed (sha256:")


def test_route_with_provider_lists_and_no_deprecated(snapshot: Path) -> None:
    result = run_cli("route", "generation", "--provider", "beta", "--no-deprecated", "--snapshot", str(snapshot))
    assert result.code == 0
    assert result.out == (
        "generation: 0 of 3 model(s) can serve, in routing order\n"
        "no model can serve this request\n"
        "\n"
        "excluded (3):\n"
        "MODEL   REASON\n"
        "acme/a  provider `acme` is not in the allow list\n"
        "acme/b  provider `acme` is not in the allow list\n"
        "beta/d  deprecated models are excluded\n")


def test_route_compiles_the_catalog_when_there_is_no_snapshot(
        catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(catalog.parent)
    result = run_cli("route", "chat", "--feature", "tool_calling")
    assert result.code == 0, result.err
    assert result.out.splitlines()[:4] == [
        "generation.text-generation (alias `chat`): 2 of 2 model(s) can serve, in routing order",
        "#  MODEL            PROVIDER  STATUS  PRIORITY  CONTEXT  MODEL ID",
        "1  acme/coder       acme      active  5         128,000  chat-large:2024",
        "2  acme/chat-large  acme      active  10        128,000  chat-large:2024",
    ]
    assert result.err.startswith("snapshot: models.d (compiled), version ")
    # Once compiled, build/registry.json is what services load, and what `route` reads by default.
    assert run_cli("compile").code == 0
    fresh = run_cli("route", "chat")
    assert "warning" not in fresh.err
    (catalog / "acme" / "coder.yaml").unlink()
    built = (catalog.parent / "build" / "registry.json").stat().st_mtime
    os.utime(catalog / "acme", (built + 5, built + 5))  # the removal, seconds after the compile
    code = "generation.text-generation.code-generation"
    stale = run_cli("route", code)
    assert stale.out.startswith("generation.text-generation.code-generation: 1 of 1 model(s)")
    assert stale.err.startswith("modelreg: warning: build/registry.json is older than models.d/acme: it may not "
                                "hold the catalog as it is now; run `modelreg compile`, or route on the catalog "
                                "itself with `--catalog models.d`\n")
    assert run_cli("route", code, "--catalog", "models.d").out.startswith(
        "generation.text-generation.code-generation: 0 of 0 model(s)")


@pytest.mark.parametrize(("argv", "message"), [
    (["chta"], "modelreg: error: unknown capability `chta`; did you mean `generation.text-generation`?\n"),
    (["chat", "--feature", "visoin"], "modelreg: error: unknown feature `visoin`; did you mean `vision`?\n"),
    (["chat", "--exclude-provider", "acne"], "modelreg: error: unknown provider `acne`; did you mean `acme`?\n"),
    (["chat", "--input", "imag"], "modelreg: error: unknown input modality `imag`; did you mean `image`? (one of "
                                  "text, image, audio, video, pdf, embedding)\n"),
])
def test_unknown_names_are_usage_errors(snapshot: Path, argv: list[str], message: str) -> None:
    result = run_cli("route", *argv, "--snapshot", str(snapshot))
    assert (result.code, result.out, result.err) == (2, "", message)


def test_a_corrupt_snapshot_is_refused(snapshot: Path) -> None:
    snapshot.write_bytes(snapshot.read_bytes()[:-20])
    result = run_cli("route", "chat", "--snapshot", str(snapshot))
    assert result.code == 1
    assert result.err.startswith(f"modelreg: error: {snapshot}: not a JSON snapshot (truncated or corrupt?)")


@pytest.mark.parametrize("value", ["-5", "0", "many"])
def test_a_min_context_that_is_not_a_positive_number_is_a_usage_error(snapshot: Path, value: str) -> None:
    result = run_cli("route", "chat", "--min-context", value, "--snapshot", str(snapshot))
    assert result.code == 2 and result.out == ""
