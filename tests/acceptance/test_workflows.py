"""The GitHub workflows: valid against GitHub's schema, hardened, and running commands that exist."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.cli.parser import build_parser
from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+)*\s*$")
# A proxy nobody listens on: the schema check must not need the network.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def _load(path: Path) -> dict[str, Any]:
    # YAML 1.1 reads the `on:` key as True; map it back so tests can say "on".
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def _workflow(name: str) -> dict[str, Any]:
    return _load(REPO / ".github" / "workflows" / name)


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, files)],
        capture_output=True, text=True, check=False, env={**os.environ, **OFFLINE})


def test_the_five_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["catalog-reusable.yml", "catalog.yml", "publish.yml", "sync.yml",
                                           "tests.yml"]


def test_every_workflow_is_valid_against_githubs_schema() -> None:
    result = _check_jsonschema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text((REPO / ".github" / "workflows" / "tests.yml").read_text(encoding="utf-8")
                      .replace("runs-on:", "runs_on:"), encoding="utf-8")
    result = _check_jsonschema(broken)
    assert result.returncode == 1
    assert "runs_on" in result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_hardened(path: Path) -> None:
    workflow = _load(path)
    # Least privilege: read the repository, nothing else, for every job; the sync job alone pushes
    # its branches and opens their pull requests, and the Pages job alone deploys the site.
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name} has no timeout-minutes"
        allowed = {"contents": "write", "pull-requests": "write"} if path.name == "sync.yml" else {"contents": "read"}
        if (path.name, name) == ("publish.yml", "pages"):
            allowed = {"pages": "write", "id-token": "write"}
        assert "permissions" not in job or job["permissions"] == allowed
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["fetch-depth"] == 0, f"{path.name}: checkout without full history"
                assert step["with"]["persist-credentials"] is False
    # Every action is pinned to a full commit SHA, with the version it is in a comment.
    uses = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert uses
    for line in uses:
        assert PINNED.match(line), f"{path.name}: not pinned to a commit with a version comment: {line.strip()}"


def _modelreg_commands(script: str) -> list[list[str]]:
    """Every `modelreg …` command in a shell script, as argv without the program name."""
    script = re.sub(r"\$\{\{.*?\}\}", "EXPR", script).replace("\\\n", " ")
    commands = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token != "modelreg":
                continue
            argv = []
            for arg in tokens[i + 1:]:
                if set(arg) <= set(";&|<>()"):
                    break
                argv.append(arg)
            commands.append(argv)
    return commands


def _all_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in WORKFLOWS:
        for step in _steps(_load(path)):
            for argv in _modelreg_commands(step.get("run", "")):
                found.append((path.name, argv))
    return found


def test_the_command_extractor_reads_shell_as_the_runner_does() -> None:
    script = ('modelreg diff "origin/$BASE_REF" HEAD --format markdown >> "$GITHUB_STEP_SUMMARY"\n'
              "x=$(modelreg show --snapshot f) && modelreg validate ${{ inputs.dir }}|tee log\n"
              "modelreg compile \\\n  -o out\n")
    assert _modelreg_commands(script) == [
        ["diff", "origin/$BASE_REF", "HEAD", "--format", "markdown"],
        ["show", "--snapshot", "f"],
        ["validate", "EXPR"],
        ["compile", "-o", "out"],
    ]


def test_every_modelreg_command_in_the_workflows_exists_in_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _all_commands()
    assert {argv[0] for _, argv in commands} >= {"validate", "compile", "diff"}
    parser = build_parser()
    for name, argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: `modelreg {shlex.join(argv)}` is not accepted by the CLI: "
                        f"{capsys.readouterr().err}")
        assert isinstance(args, argparse.Namespace)


def test_pull_request_workflow_reviews_the_catalog() -> None:
    workflow = _workflow("catalog.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert {"models.d/**", "schemas/**", "compiler/**"} <= set(workflow["on"]["pull_request"]["paths"])
    runs = [step.get("run", "") for step in _steps(workflow)]
    commands = [argv for run in runs for argv in _modelreg_commands(run)]
    verbs = [argv[0] for argv in commands]
    # Validate before compile, so annotations appear even when compile would stop; then the diff.
    assert verbs.index("validate") < verbs.index("compile") < verbs.index("diff")
    validate = commands[verbs.index("validate")]
    assert validate[validate.index("--format") + 1] == "github"
    # Changing the catalog is what the pull request is for: the diff never fails the job on changes.
    assert all("--exit-code" not in argv for argv in commands)
    markdown = next(run for run in runs if "--format markdown" in run)
    assert '>> "$GITHUB_STEP_SUMMARY"' in markdown
    compile_argv = commands[verbs.index("compile")]
    output = compile_argv[compile_argv.index("--output") + 1]
    upload = next(step for step in _steps(workflow) if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert output in upload["with"]["path"].split()
    assert upload["with"]["if-no-files-found"] == "error"


def test_sync_workflow_opens_one_checked_pull_request_per_provider() -> None:
    workflow = _workflow("sync.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    steps = _steps(workflow)
    commands = [argv for step in steps for argv in _modelreg_commands(step.get("run", ""))]
    assert ["sync", "--all", "--format", "json"] in commands
    verbs = [argv[0] for argv in commands]
    # The pull request it opens triggers no other workflow: it checks the branch and writes the diff itself.
    assert verbs.index("sync") < verbs.index("compile") < verbs.index("diff")
    diff = commands[verbs.index("diff")]
    assert diff[diff.index("--format") + 1] == "markdown" and int(diff[diff.index("--max-bytes") + 1]) <= 65536
    sync_step = next(step for step in steps if step.get("name") == "Sync")
    keys = {name: value for name, value in sync_step["env"].items() if name.endswith("_KEY")}
    providers = [yaml.safe_load(p.read_text()) for p in (REPO / "models.d").glob("*/provider.yaml")]
    bundled = {p["api_key_env"] for p in providers
               if (p.get("discovery") or {}).get("format") not in (None, "bedrock", "ollama")}
    assert set(keys) == bundled
    assert all(value == f"${{{{ secrets.{name} }}}}" for name, value in keys.items())
    # The token is handed to git per command, never written into the clone's config.
    script = "\n".join(step.get("run", "") for step in steps)
    assert "persist-credentials" not in script and "git config" not in script


def test_test_workflow_runs_the_readme_test_command() -> None:
    workflow = _workflow("tests.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert [step["run"] for step in _steps(workflow) if "run" in step] == [".ci/run"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[test,litellm]'" in ci and "python -m pytest" in ci
    assert "pip install -e '.[test]' && python -m pytest" in (REPO / "README.md").read_text(encoding="utf-8")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _simulate(name: str, workspace: Path, contexts: dict[str, str]) -> tuple[list[tuple[str, int, str]], Path]:
    """Run a workflow's shell steps as the runner would, in order, until one fails.

    The install step is skipped (modelreg is installed here already); `${{ … }}` expressions are
    replaced from `contexts`. Returns (step name, exit code, stdout) per step run, and the summary file.
    """
    workflow = _workflow(name)
    summary, outputs = workspace.parent / "summary.md", workspace.parent / "outputs"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(outputs)}

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: contexts[m.group(1)], text)

    ran = []
    github_env = workspace.parent / "github-env"
    env["GITHUB_ENV"] = str(github_env)
    steps = [(job.get("env", {}), step) for job in workflow["jobs"].values() for step in job["steps"]]
    for job_env, step in steps:
        if "run" not in step or "pip install" in step["run"] or not _runs(step.get("if"), contexts):
            continue
        step_env = {key: expand(str(value)) for key, value in {**job_env, **step.get("env", {})}.items()}
        result = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", expand(step["run"])], cwd=workspace,
                                env={**env, **step_env}, capture_output=True, text=True, check=False)
        ran.append((step["name"], result.returncode, result.stdout + result.stderr))
        if result.returncode != 0:
            break
        if github_env.exists():  # what a step exports, the next ones see
            for line in github_env.read_text().splitlines():
                name, sep, value = line.partition("=")
                if sep:
                    env[name] = value
    return ran, summary


def _runs(condition: str | None, contexts: dict[str, str]) -> bool:
    """Whether a step's `if:` holds: no condition, `always()`, or `github.event_name == '<event>'`
    (the event named by contexts, `pull_request` by default); any other condition fails the test
    rather than being taken as true."""
    if condition is None or condition.strip() == "always()":
        return True
    match = re.fullmatch(r"\s*github\.event_name == '(\w+)'\s*", condition)
    if match is None:
        pytest.fail(f"the simulation cannot evaluate `if: {condition}`")
    return contexts.get("github.event_name", "pull_request") == match[1]


def _clone(catalog: Path, tmp_path: Path, *, broken_main: bool = False) -> Path:
    """A clone of a repository whose `main` holds the small catalog (broken, if asked), on a new
    branch `pr`, as actions/checkout leaves it: origin/main fetched."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    catalog.rename(origin / "models.d")
    if broken_main:
        (origin / "models.d" / "acme" / "coder.yaml").write_text(
            "name: acme/coder\nprovider: acme\ncapabilities: [generation.coding]\n", encoding="utf-8")
    _git(origin, "add", "-A")
    _git(origin, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "catalog")
    _git(tmp_path, "clone", "-q", str(origin), "workspace")
    workspace = tmp_path / "workspace"
    _git(workspace, "config", "user.name", "T")
    _git(workspace, "config", "user.email", "t@example.com")
    _git(workspace, "checkout", "-q", "-b", "pr")
    return workspace


@pytest.fixture
def pull_request(catalog: Path, tmp_path: Path) -> Path:
    """A pull-request checkout on a branch `pr` of a repository whose `main` holds the small catalog."""
    return _clone(catalog, tmp_path)


PR_CONTEXTS = {"github.base_ref": "main", "github.event.pull_request.number": "7"}


@pytest.mark.slow
def test_pull_request_job_passes_a_changing_catalog_and_writes_the_pool_diff(pull_request: Path) -> None:
    (pull_request / "models.d" / "acme" / "chat-xl.yaml").write_text(
        "name: acme/chat-xl\nprovider: acme\ncapabilities: [chat]\npriority: 1\n", encoding="utf-8")
    _git(pull_request, "add", "-A")
    _git(pull_request, "commit", "-q", "-m", "add acme/chat-xl")

    ran, summary = _simulate("catalog.yml", pull_request, PR_CONTEXTS)
    assert [(name, code) for name, code, _ in ran] == [
        ("Validate", 0), ("Compile", 0), ("Pool diff against the base branch", 0)], ran
    assert ran[0][2] == "models.d: valid (0 error(s), 0 warning(s))\n"
    text = summary.read_text(encoding="utf-8")
    assert "**1 model added; 2 pools changed**" in text
    assert "`acme/chat-xl`" in text
    upload = next(s for s in _steps(_workflow("catalog.yml")) if s.get("uses", "").startswith("actions/upload"))
    for path in upload["with"]["path"].split():
        assert (pull_request / path).is_file(), f"the artifact's {path} was not written"


@pytest.mark.slow
def test_pull_request_job_fails_on_an_invalid_catalog_with_an_annotation(pull_request: Path) -> None:
    (pull_request / "models.d" / "acme" / "chat-xl.yaml").write_text(
        "name: acme/chat-xl\nprovider: acme\ncapabilities: [chatt]\n", encoding="utf-8")
    _git(pull_request, "add", "-A")
    _git(pull_request, "commit", "-q", "-m", "add acme/chat-xl")

    ran, summary = _simulate("catalog.yml", pull_request, PR_CONTEXTS)
    assert [(name, code) for name, code, _ in ran] == [("Validate", 1)]
    assert ran[0][2].startswith(
        "::error file=models.d/acme/chat-xl.yaml,line=3,col=16,title=modelreg unknown-capability::"
        "unknown capability `chatt`")
    assert not summary.exists()


@pytest.mark.slow
def test_push_workflow_publishes_the_snapshot_named_by_its_version(pull_request: Path) -> None:
    workflow = _workflow("publish.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    upload = next(s for s in _steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "registry-${{ steps.version.outputs.label }}"

    ran, summary = _simulate("publish.yml", pull_request, {})
    assert [(name, code) for name, code, _ in ran] == [
        ("Compile", 0), ("Read the snapshot's version", 0), ("Build the site", 0)], ran
    snapshot = json.loads((pull_request / upload["with"]["path"]).read_text(encoding="utf-8"))
    label = snapshot["version"]["label"]
    assert label == "1.g" + _git(pull_request, "rev-parse", "HEAD").strip()[:12]
    assert (pull_request.parent / "outputs").read_text(encoding="utf-8") == f"label={label}\n"
    assert summary.read_text(encoding="utf-8") == f"Published snapshot `registry-{label}`.\n"


@pytest.mark.slow
def test_push_workflow_deploys_the_site_with_the_snapshot_to_github_pages(pull_request: Path) -> None:
    workflow = _workflow("publish.yml")
    steps = workflow["jobs"]["snapshot"]["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    # The site is built after the snapshot it shows, and uploaded as the Pages artifact.
    site = next(i for i, step in enumerate(steps) if step.get("name") == "Build the site")
    assert uses.index("actions/upload-artifact") < site < uses.index("actions/upload-pages-artifact")
    (argv,) = _modelreg_commands(steps[site]["run"])
    output = argv[argv.index("--output") + 1]
    assert steps[uses.index("actions/upload-pages-artifact")]["with"] == {"path": output}
    pages = workflow["jobs"]["pages"]
    assert pages["needs"] == "snapshot"
    assert pages["environment"] == {"name": "github-pages", "url": "${{ steps.deployment.outputs.page_url }}"}
    assert [step["uses"].split("@")[0] for step in pages["steps"]] == ["actions/deploy-pages"]
    assert pages["steps"][0]["id"] == "deployment"

    ran, _ = _simulate("publish.yml", pull_request, {})
    assert ran[-1][:2] == ("Build the site", 0), ran
    built = pull_request / output
    # The snapshot at its stable path, and no hidden file (the Pages artifact leaves those out).
    assert (built / "api.json").read_bytes() == (pull_request / "build" / "registry.json").read_bytes()
    assert sorted(p.name for p in built.iterdir() if not p.name.startswith(".")) == [
        "api.json", "changes.html", "data.js", "index.html", "model.html", "models.html", "pools.html", "site.css",
        "site.js"]
    assert "no previous revision" in (built / "changes.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_pull_request_fixing_a_broken_base_passes_with_a_note_instead_of_a_diff(catalog: Path, tmp_path: Path) -> None:
    workspace = _clone(catalog, tmp_path, broken_main=True)
    (workspace / "models.d" / "acme" / "coder.yaml").write_text(
        "name: acme/coder\nprovider: acme\ncapabilities: [generation.text-generation.code-generation]\n",
        encoding="utf-8")
    _git(workspace, "commit", "-q", "-am", "fix acme/coder")

    ran, summary = _simulate("catalog.yml", workspace, PR_CONTEXTS)
    assert [(name, code) for name, code, _ in ran] == [
        ("Validate", 0), ("Compile", 0), ("Pool diff against the base branch", 0)], ran
    assert "::warning title=modelreg diff::no pool diff against main; see the log of this step" in ran[2][2]
    assert summary.read_text(encoding="utf-8") == (
        "No pool diff: `modelreg diff` against `main` failed; see the log of the pool diff step.\n")


FAKE_GH = """#!/usr/bin/env bash
# `gh` as the sync workflow calls it: no pull request is open yet; every call is recorded.
echo "$*" >> "$GH_LOG"
[ "$1 $2" = "pr view" ] && exit 1
exit 0
"""


@pytest.mark.slow
def test_sync_job_pushes_a_branch_and_opens_its_pull_request(catalog: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.sync.listing_server import ListingServer

    server = ListingServer("openai", [{"id": "chat-large:2024"}, {"id": "new-model"}], key=None)
    try:
        provider = catalog / "acme" / "provider.yaml"
        provider.write_text(provider.read_text().replace("defaults:", (
            f"discovery:\n  format: openai\n  url: {server.url}\n  rules:\n    - match: \"*\"\n"
            "      capabilities: [chat]\ndefaults:")))
        workspace = _clone(catalog, tmp_path)
        _git(workspace, "checkout", "-q", "main")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "gh").write_text(FAKE_GH)
        (bin_dir / "gh").chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("GH_LOG", str(tmp_path / "gh.log"))
        monkeypatch.setenv("ACME_API_KEY", "sk-acme")
        contexts = {"github.token": "ghs_token", "inputs.provider": "",
                    "github.event.repository.default_branch": "main", "github.run_id": "1",
                    **{f"secrets.{name}": "" for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY",
                                                          "MISTRAL_API_KEY", "CO_API_KEY", "DEEPSEEK_API_KEY",
                                                          "GROQ_API_KEY", "XAI_API_KEY", "TOGETHER_API_KEY")}}
        ran, summary = _simulate("sync.yml", workspace, contexts)
    finally:
        server.close()
    assert [(name, code) for name, code, _ in ran] == [
        ("Fetch the open sync branches", 0), ("Sync", 0), ("Check, push and open or update the pull requests", 0)], ran
    origin = tmp_path / "origin"
    subject = _git(origin, "log", "-1", "--format=%s", "sync/acme").strip()
    assert subject == "sync acme: 1 added, 0 changed, 0 deprecated"
    assert _git(origin, "rev-parse", "main").strip() == _git(workspace, "rev-parse", "HEAD").strip()
    calls = (tmp_path / "gh.log").read_text().splitlines()
    assert calls == ["pr view sync/acme --json state --jq .state",
                     "pr create --base main --head sync/acme --title sync acme --body-file build/acme.md"]
    body = (workspace / "build" / "acme.md").read_text()
    assert "**1 model added; 2 pools changed**" in body and "`acme/new-model`" in body
    assert summary.read_text().startswith("sync acme: 2 listed; 1 added, 0 changed, 0 deprecated; committed ")
