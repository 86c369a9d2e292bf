"""`-q/--quiet` on every verb leaves errors and the result itself; colour only on a terminal,
as NO_COLOR and FORCE_COLOR say, and never in what tools read."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg.cli.parser import build_parser
from tests.conftest import REPO, run_cli, write
from tests.git_helpers import commit_all, init_repo

RED, YELLOW, GREEN, STRONG, RESET = "\x1b[1;31m", "\x1b[1;33m", "\x1b[1;32m", "\x1b[1m", "\x1b[0m"
UNKNOWN = "3:16: error[unknown-capability]: unknown capability `nope`"


def _subcommands(parser: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import argparse

    assert isinstance(parser, argparse.ArgumentParser)
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in sorted(action.choices.items()):
                found += _subcommands(sub, (*prefix, name))
    return found


def test_every_verb_takes_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _subcommands(build_parser())
    assert ("import", "litellm") in commands and ("validate",) in commands and len(commands) >= 17
    for command in commands:
        assert run_cli(*command, "--help").code == 0
        assert "-q, --quiet" in capsys.readouterr().out, command


@pytest.fixture
def repo(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = init_repo(catalog.parent)
    commit_all(root, "catalog")
    monkeypatch.chdir(root)
    return root


def both(*argv: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(code, out, err) of `modelreg ARGV`, then of `modelreg ARGV -q`."""
    loud, quiet = run_cli(*argv), run_cli(*argv, "-q")
    return (loud.code, loud.out, loud.err), (quiet.code, quiet.out, quiet.err)


def test_quiet_checks_and_compiles_say_nothing_when_all_is_well(catalog: Path, tmp_path: Path) -> None:
    loud, quiet = both("validate", "--catalog", str(catalog))
    assert loud == (0, "", f"{catalog}: valid (0 error(s), 0 warning(s))\n")
    assert quiet == (0, "", "")
    assert run_cli("-q", "validate", "--catalog", str(catalog)) == run_cli("validate", "-q", "--catalog", str(catalog))
    out = tmp_path / "registry.json"
    loud, quiet = both("compile", "--catalog", str(catalog), "-o", str(out))
    assert loud[1].startswith(f"wrote {out}: 3 models from 1 providers")
    assert quiet == (0, "", "")
    assert json.loads(out.read_text())["models"]["acme/coder"]["priority"] == 5


def test_quiet_keeps_errors_and_warnings_that_fail_the_run(catalog: Path) -> None:
    write(catalog, "acme/embed-small.yaml", "name: acme/embed-small\nprovider: acme\n"
                                            "capabilities: [generation.text-completion]\n")
    deprecated = (f"{catalog}/acme/embed-small.yaml:3:16: warning[deprecated-capability]: capability "
                  "`generation.text-completion` is deprecated; use `generation.text-generation`")
    loud, quiet = both("validate", "--catalog", str(catalog))
    assert deprecated in loud[2].splitlines()
    assert quiet == (0, "", "")
    strict = run_cli("validate", "--catalog", str(catalog), "--strict", "-q")
    # Warnings that --strict turns into a failure are the errors of this run: they stay.
    assert (strict.code, strict.out) == (1, "")
    assert deprecated in strict.err.splitlines() and "invalid" not in strict.err

    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [nope]\n")
    result = run_cli("validate", "--catalog", str(catalog), "-q")
    assert (result.code, result.out) == (1, "")
    assert result.err == f"{catalog}/acme/coder.yaml:{UNKNOWN}\n"
    # A machine format is the result itself: quiet leaves it whole, warnings included.
    report = json.loads(run_cli("validate", "--catalog", str(catalog), "-q", "--format", "json").out)
    assert [d["code"] for d in report["diagnostics"]] == ["unknown-capability", "deprecated-capability"]


def test_quiet_answers_keep_their_answer_and_drop_the_notes(catalog: Path, tmp_path: Path) -> None:
    loud, quiet = both("show", "--catalog", str(catalog))
    assert loud[0] == 0 and quiet == loud
    loud, quiet = both("route", "chat", "--catalog", str(catalog))
    assert loud[2].startswith(f"snapshot: {catalog} (compiled), version unversioned (sha256:")
    assert quiet == (0, loud[1], "")
    export = tmp_path / "config.yaml"
    loud, quiet = both("export", "litellm", "--catalog", str(catalog), "-o", str(export))
    assert loud[1] == f"wrote {export}: 3 models, 5 pool entries, 2 fallback chains\n"
    assert quiet == (0, "", "")
    loud, quiet = both("export", "models-dev", "--catalog", str(catalog))
    assert quiet == (0, loud[1], "") and json.loads(quiet[1])


def test_quiet_drops_the_warning_of_a_stale_snapshot(repo: Path, catalog: Path) -> None:
    assert run_cli("compile").code == 0
    snapshot = repo / "build" / "registry.json"
    os.utime(snapshot, (1_000_000_000, 1_000_000_000))  # older than every catalog file
    loud, quiet = both("route", "chat")
    assert loud[2].splitlines()[0].startswith("modelreg: warning: build/registry.json is older than models.d")
    assert quiet == (0, loud[1], "")


def test_quiet_writes_say_nothing_or_only_the_path(repo: Path, catalog: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text("name: acme/fresh\nprovider: acme\ncapabilities: [chat]\n", encoding="utf-8")
    assert run_cli("register", str(fresh), "-q") == run_cli("unregister", "acme/fresh", "-q")
    assert run_cli("register", str(fresh), "-q").__dict__ == {"code": 0, "out": "", "err": ""}
    loud, quiet = both("history", "acme/fresh")
    assert loud[1].endswith("    register acme/fresh\n    added acme/fresh\n") and quiet == loud
    loud, quiet = both("diff", "HEAD~1", "HEAD")
    assert loud[1].startswith("diff ") and quiet == loud
    assert run_cli("unregister", "acme/fresh", "-q").__dict__ == {"code": 0, "out": "", "err": ""}
    assert not (catalog / "acme/fresh.yaml").exists()

    new = run_cli("new", "acme/next", "--capability", "chat", "-q")
    assert (new.code, new.out, new.err) == (0, "models.d/acme/next.yaml\n", "")
    again = run_cli("new", "acme/next", "-q")  # an error is still said
    assert again.code != 0 and again.err.startswith("modelreg: error: ")
    provider = run_cli("new", "--provider", "zeta", "-q")
    assert (provider.code, provider.out, provider.err) == (0, "models.d/zeta/provider.yaml\n", "")

    started = run_cli("init", str(tmp_path / "team"), "-q")
    assert (started.code, started.out, started.err) == (0, "", "")
    assert (tmp_path / "team" / "models.d" / "capabilities.yaml").is_file()
    site = run_cli("site", "-o", str(tmp_path / "site"), "--catalog", str(catalog), "-q")
    assert (site.code, site.out, site.err) == (0, "", "")
    assert (tmp_path / "site" / "api.json").is_file()


def test_quiet_import_keeps_a_dry_runs_summary(repo: Path, catalog: Path) -> None:
    source = str(REPO / "tests" / "data" / "models_dev_api.json")
    dry = run_cli("import", "models-dev", source, "--dry-run", "-q")
    assert dry.code == 0 and dry.out.startswith(f"import {source}: ") and dry.out.endswith("dry run: nothing written\n")
    wrote = run_cli("import", "models-dev", source, "-q")
    assert (wrote.code, wrote.out, wrote.err) == (0, "", "")
    assert sorted(path.name for path in catalog.iterdir() if path.is_dir()) == ["acme", "anthropic", "google",
                                                                                "moonshotai"]


def test_colour_is_forced_or_refused_by_the_environment(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [nope]\n")
    plain = run_cli("validate", "--catalog", str(catalog))
    monkeypatch.setenv("FORCE_COLOR", "1")
    forced = run_cli("validate", "--catalog", str(catalog))
    place = f"{catalog}/acme/coder.yaml:3:16"
    assert forced.err.splitlines() == [
        f"{STRONG}{place}{RESET}: {RED}error[unknown-capability]{RESET}: unknown capability `nope`",
        f"{catalog}: {RED}invalid{RESET} (1 error(s), 0 warning(s))",
    ]
    assert run_cli("show", "--capability", "nope", "--catalog", str(catalog)).err.startswith(
        f"{STRONG}{place}{RESET}: {RED}error")
    # What tools read is never coloured.
    assert "\x1b" not in run_cli("validate", "--catalog", str(catalog), "--format", "json").out
    assert "\x1b" not in run_cli("validate", "--catalog", str(catalog), "--format", "github").out
    monkeypatch.setenv("NO_COLOR", "1")  # wins over FORCE_COLOR
    assert run_cli("validate", "--catalog", str(catalog)).err == plain.err
    monkeypatch.setenv("NO_COLOR", "")  # empty: as if unset
    assert run_cli("validate", "--catalog", str(catalog)).err == forced.err


def _run_on(stderr_tty: bool, env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    """`modelreg ARGV` as a process: stdout a pipe, stderr a pseudo-terminal or a pipe."""
    environ = {**{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}, **env}
    command = [sys.executable, "-m", "modelreg", *argv]
    if not stderr_tty:
        done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, env=environ) as proc:
        os.close(follower)
        assert proc.stdout is not None
        out = proc.stdout.read()
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        code = proc.wait()
    # A terminal turns each newline into CR LF.
    return code, out.decode(), b"".join(chunks).decode().replace("\r\n", "\n")


def test_colour_on_a_terminal_only(catalog: Path) -> None:
    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [nope]\n")
    argv = ("validate", "--catalog", str(catalog))
    place = f"{catalog}/acme/coder.yaml:3:16"
    coloured = (f"{STRONG}{place}{RESET}: {RED}error[unknown-capability]{RESET}: unknown capability `nope`\n"
                f"{catalog}: {RED}invalid{RESET} (1 error(s), 0 warning(s))\n")
    plain = (f"{place}: error[unknown-capability]: unknown capability `nope`\n"
             f"{catalog}: invalid (1 error(s), 0 warning(s))\n")
    assert _run_on(True, {"TERM": "xterm"}, *argv) == (1, "", coloured)
    assert _run_on(True, {"TERM": "xterm", "NO_COLOR": "1"}, *argv) == (1, "", plain)
    assert _run_on(True, {"TERM": "dumb"}, *argv) == (1, "", plain)
    assert _run_on(False, {}, *argv) == (1, "", plain)
    assert _run_on(False, {"FORCE_COLOR": "1"}, *argv) == (1, "", coloured)
    # A warning in yellow, a valid catalog's verdict in green; JSON on stdout stays plain beside them.
    write(catalog, "acme/coder.yaml", "name: acme/coder\nprovider: acme\ncapabilities: [chat]\n")
    assert _run_on(True, {"TERM": "xterm"}, *argv) == (0, "", (
        f"{STRONG}{catalog}/capabilities.yaml:9:11{RESET}: {YELLOW}warning[empty-pool]{RESET}: no model serves "
        f"`generation.text-generation.code-generation`; add one or remove the node\n"
        f"{catalog}: {GREEN}valid{RESET} (0 error(s), 1 warning(s))\n"))
    code, out, err = _run_on(True, {"TERM": "xterm", "FORCE_COLOR": "1"}, "show", "--format", "json", "--catalog",
                             str(catalog))
    assert (code, err) == (0, "") and "\x1b" not in out and json.loads(out)["view"] == "tree"
    # Quiet on a terminal: the answer alone, without the line naming the snapshot.
    code, out, err = _run_on(True, {"TERM": "xterm"}, "route", "chat", "--catalog", str(catalog), "-q")
    assert (code, err) == (0, "") and out.startswith("generation.text-generation (alias `chat`): 2 of 2")
