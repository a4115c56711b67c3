"""The composite GitHub Action (.github/actions/harden/action.yml), checked and run offline.

Checked against SchemaStore's schema of action metadata (vendored in tests/vendor/schemastore)
and against the rules of GitHub's metadata syntax the schema cannot express: every
`inputs.NAME` an expression reads is declared (GitHub would read an empty string), every
declared input is used, a step's outputs are read only from a step with that id that runs
before, and no script holds a `${{ }}` expression (inputs reach scripts through `env:`, so a
path or an argument cannot inject shell code). A planted broken action shows each check fails.

Then the action runs here, as a runner would run it: each `run:` step with bash, its `env:`
and `if:` expressions evaluated (the few forms the action uses), `GITHUB_OUTPUT` read back
into step outputs, and each `uses:` step (setup-python, upload-sarif) recorded with its inputs
instead of run. The install step installs harden from this checkout
(`$GITHUB_ACTION_PATH/../../..`) into a virtualenv, offline from the wheelhouse .ci/run fills
(about 10 s); the other runs reuse that install.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML
from test_integrations_precommit import CLEAN, DIRTY, wheelhouse

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / ".github" / "actions" / "harden" / "action.yml"
SCHEMA = Path(__file__).resolve().parent / "vendor" / "schemastore" / "github-action.json"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REFERENCE = re.compile(r"\b(inputs|steps)\.([A-Za-z_][\w-]*)")


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(ACTION.read_text())
    return loaded


def strings(value: Any) -> list[str]:
    """Every string in a parsed YAML value (keys of mappings excluded)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def metadata_problems(metadata: dict[str, Any]) -> list[str]:
    """What GitHub's metadata syntax for a composite action forbids, beyond the schema."""
    problems = [f"no {key}" for key in ("name", "description") if not isinstance(metadata.get(key), str)]
    runs = metadata.get("runs") or {}
    if runs.get("using") != "composite":
        problems.append("runs.using is not composite")
    declared = set(metadata.get("inputs") or {})
    used: set[str] = set()
    ids: set[str] = set()
    for number, step in enumerate(runs.get("steps") or [], 1):
        if ("run" in step) == ("uses" in step):
            problems.append(f"step {number} has both or neither of run and uses")
        if "run" in step and "shell" not in step:
            problems.append(f"step {number} has run but no shell")
        if "${{" in step.get("run", ""):
            problems.append(f"step {number} has an expression in its script")
        texts = strings({k: v for k, v in step.items() if k != "run"})
        for kind, name in (m.groups() for text in texts for m in REFERENCE.finditer(text)):
            if kind == "inputs":
                used.add(name)
                if name not in declared:
                    problems.append(f"step {number} reads undeclared input {name}")
            elif name not in ids:
                problems.append(f"step {number} reads outputs of step {name}, which does not run before it")
        if "id" in step:
            ids.add(step["id"])
    problems += [f"input {name} is never used" for name in sorted(declared - used)]
    for name, output in (metadata.get("outputs") or {}).items():
        problems += [
            f"output {name} reads unknown step {s}" for k, s in REFERENCE.findall(output.get("value", "")) if s not in ids
        ]
    return problems


def test_the_action_is_valid_against_schemastore() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(action())] == []
    broken = action()
    del broken["runs"]["steps"][1]["shell"]
    del broken["description"]
    assert len(list(validator.iter_errors(broken))) == 2


def test_the_action_follows_githubs_metadata_rules() -> None:
    metadata = action()
    assert metadata_problems(metadata) == []
    assert set(metadata["inputs"]) == {"paths", "mode", "args", "sarif", "python-version", "token"}


def test_a_broken_action_is_seen() -> None:
    broken = action()
    steps = broken["runs"]["steps"]
    del steps[1]["shell"]
    steps[2]["env"]["HARDEN_MODE"] = "${{ inputs.modus }}"
    steps[2]["run"] += 'echo "${{ inputs.paths }}"\n'
    steps.insert(0, {"run": "true", "shell": "bash", "env": {"X": "${{ steps.harden.outputs.exit_code }}"}})
    del broken["inputs"]["sarif"]
    broken["runs"]["using"] = "node20"
    assert metadata_problems(broken) == [
        "runs.using is not composite",
        "step 1 reads outputs of step harden, which does not run before it",
        "step 3 has run but no shell",
        "step 4 has an expression in its script",
        "step 4 reads undeclared input modus",
        "step 4 reads undeclared input sarif",
        "step 5 reads undeclared input sarif",
        "input mode is never used",
    ]


class Runner:
    """Runs the action's steps as a runner would (see the module docstring)."""

    def __init__(self, inputs: dict[str, str], workspace: Path, temp: Path, preset: dict[str, dict[str, str]]) -> None:
        metadata = action()
        self.steps: list[dict[str, Any]] = metadata["runs"]["steps"]
        self.inputs = {name: str(spec.get("default", "")) for name, spec in metadata["inputs"].items()} | inputs
        self.workspace, self.temp = workspace, temp
        self.outputs = dict(preset)  # step id -> its outputs; a preset step is not run again
        self.uses: list[tuple[str, dict[str, str]]] = []
        self.log = ""

    def value(self, term: str) -> str:
        if term.startswith("'") and term.endswith("'"):
            return term[1:-1]
        if term == "github.action_path":
            return str(ACTION.parent)
        kind, name, *rest = term.split(".")
        if kind == "inputs":
            return self.inputs[name]
        assert kind == "steps" and rest[0] == "outputs", term
        return self.outputs.get(name, {}).get(rest[1], "")

    def condition(self, text: str) -> bool:
        for clause in text.split("&&"):
            found = re.fullmatch(r"\s*(\S+)\s*(==|!=)\s*(\S+)\s*", clause)
            assert found, f"an if: this runner cannot evaluate: {text}"
            left, operator, right = found.groups()
            if (self.value(left) == self.value(right)) != (operator == "=="):
                return False
        return True

    def expand(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def run(self) -> int:
        """The action's status: the first failing step's, else 0."""
        for step in self.steps:
            if step.get("id") in self.outputs or ("if" in step and not self.condition(step["if"])):
                continue
            if "uses" in step:
                self.uses.append((step["uses"], {k: self.expand(str(v)) for k, v in step.get("with", {}).items()}))
                continue
            output = self.temp / "github-output"
            output.write_text("")
            env = dict(os.environ, GITHUB_OUTPUT=str(output), RUNNER_TEMP=str(self.temp), GITHUB_ACTION_PATH=str(ACTION.parent))
            env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse()))
            env.update({k: self.expand(str(v)) for k, v in step.get("env", {}).items()})
            command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
            ran = subprocess.run(command, cwd=self.workspace, env=env, capture_output=True, text=True, timeout=300)
            self.log += ran.stdout + ran.stderr
            if "id" in step:
                self.outputs[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines())
            if ran.returncode:
                return ran.returncode
        return 0


def workspace(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The whole action run once on clean files, installing harden; its install step's outputs."""
    temp = tmp_path_factory.mktemp("runner-temp")
    runner = Runner({}, workspace(temp / "workspace", CLEAN), temp, {})
    assert runner.run() == 0, runner.log
    assert runner.uses == [("actions/setup-python@v6", {"python-version": "3.12"})]
    assert runner.outputs["harden"] == {"exit_code": "0"}
    harden = Path(runner.outputs["install"]["harden"])
    assert harden.is_relative_to(temp) and harden.is_file()
    return {"install": runner.outputs["install"]}


def run_action(tmp_path: Path, files: dict[str, str], installed: dict[str, dict[str, str]], **inputs: str) -> tuple[int, Runner]:
    runner = Runner(inputs, workspace(tmp_path / "workspace", files), tmp_path, installed)
    return runner.run(), runner


def test_check_fails_on_findings(tmp_path: Path, installed: dict[str, dict[str, str]]) -> None:
    status, runner = run_action(tmp_path, DIRTY, installed, mode="check")
    assert status == 1 and runner.outputs["harden"]["exit_code"] == "1"
    assert "compose.yaml:2:3: no-new-privileges app" in runner.log
    assert (tmp_path / "workspace" / "compose.yaml").read_text() == DIRTY["compose.yaml"]


def test_args_reach_harden(tmp_path: Path, installed: dict[str, dict[str, str]]) -> None:
    args = "--exit-zero  --select no-new-privileges"
    status, runner = run_action(tmp_path, DIRTY, installed, args=args, paths=" compose.yaml\n")
    assert status == 0, runner.log
    assert "no-new-privileges app" in runner.log and "cap-drop-all" not in runner.log


def test_paths_are_not_globs(tmp_path: Path, installed: dict[str, dict[str, str]]) -> None:
    status, runner = run_action(tmp_path, DIRTY, installed, paths="compose.*")
    assert status == 2  # a glob would have found compose.yaml, and findings: 1
    assert "compose.*: no such file or directory" in runner.log


def test_fix_changes_the_workspace(tmp_path: Path, installed: dict[str, dict[str, str]]) -> None:
    status, runner = run_action(tmp_path, DIRTY, installed, mode="fix", **{"python-version": ""})
    assert status == 1, runner.log
    assert runner.uses == []  # no setup-python without a version
    assert "no-new-privileges:true" in (tmp_path / "workspace" / "compose.yaml").read_text()
    assert "hardened compose.yaml" in runner.log


def test_sarif_is_written_and_uploaded(tmp_path: Path, installed: dict[str, dict[str, str]]) -> None:
    status, runner = run_action(tmp_path, DIRTY, installed, sarif="true")
    assert status == 1, runner.log
    sarif = Path(runner.outputs["harden"]["sarif_file"])
    assert runner.uses[-1] == ("github/codeql-action/upload-sarif@v4", {"sarif_file": str(sarif), "category": "harden"})
    assert sarif.parent == tmp_path and not (tmp_path / "workspace" / sarif.name).exists()
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0"
    located = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert located == {"Dockerfile", "compose.yaml"}


def test_an_unknown_mode_is_an_error(tmp_path: Path, installed: dict[str, dict[str, str]]) -> None:
    status, runner = run_action(tmp_path, DIRTY, installed, mode="review", sarif="true")
    assert status == 2
    assert "::error title=harden::mode must be check, fix or pr, not 'review'" in runner.log
    assert runner.outputs["harden"] == {} and runner.uses[-1][0] == "actions/setup-python@v6"  # nothing uploaded


def test_pr_mode_opens_a_pull_request_with_the_token_it_is_given(
    tmp_path: Path,
    installed: dict[str, dict[str, str]],
    git_server: Any,
    github_fake: Any,
    git_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """mode: pr runs `harden pr` in the workspace (a clone) against a real git server and the
    GitHub fake (tests/test_bot_pr.py covers the bot itself); the token reaches harden only
    through the environment, and the log never shows it."""
    from forges.plugin import TOKEN
    from gitserver import USER, basic_auth, clone, seed

    git_server.users[USER] = TOKEN
    url = seed(git_server, git_env, "acme/app.git", DIRTY)
    work = clone(git_env, url, tmp_path / "workspace", basic_auth(USER, TOKEN))
    monkeypatch.setenv("HARDEN_WHEELHOUSE", str(wheelhouse()))  # found before HOME moves
    for name, value in git_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    args = f"--api-url {github_fake.url} --offline --topic hardening"
    runner = Runner({"mode": "pr", "token": TOKEN, "args": args}, work, tmp_path, installed)
    assert runner.run() == 0, runner.log
    assert "hardening: opened #1" in runner.log
    assert github_fake.pulls[1].head == "harden/hardening"
    assert TOKEN not in runner.log
    no_token = Runner({"mode": "pr", "token": "", "args": args}, work, tmp_path, installed)
    assert no_token.run() == 2  # and the step fails when harden pr does
    assert "GITHUB_TOKEN" in no_token.log
