"""The bot's workflows: the reusable matrix workflow and the README's weekly one, checked offline.

Both are validated against SchemaStore's schema of workflow files (vendored in
tests/vendor/schemastore with its source and license), and against what the schema cannot say:
every `inputs.NAME` and `secrets.NAME` an expression reads is declared (GitHub would read an
empty string), every declared one is used, no script holds a `${{ }}` expression (values reach
scripts through `env:`), and the bot gets what it needs (write permissions, a checkout without
persisted credentials, which would send a second Authorization header beside harden's). A
planted broken workflow shows each check fails.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML
from test_integrations_action import EXPRESSION, strings

ROOT = Path(__file__).resolve().parent.parent
REUSABLE = ROOT / ".github" / "workflows" / "harden-repositories.yml"
SCHEMA = Path(__file__).resolve().parent / "vendor" / "schemastore" / "github-workflow.json"
REFERENCE = re.compile(r"\b(inputs|secrets)\.([A-Za-z_][\w-]*)")


def load(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(text)
    return loaded


def readme_weekly() -> dict[str, Any]:
    """The README's weekly workflow: the YAML block that follows its `harden pr` schedule heading."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Every week, on GitHub Actions") :]
    return load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


def schema_errors(workflow: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    return [error.message for error in validator.iter_errors(workflow)]


def problems(workflow: dict[str, Any]) -> list[str]:
    """What the schema cannot check (module docstring)."""
    trigger = workflow.get("on") or {}
    call = trigger.get("workflow_call") or {} if isinstance(trigger, dict) else {}
    declared = {"inputs": set(call.get("inputs") or {}), "secrets": set(call.get("secrets") or {})}
    used: dict[str, set[str]] = {"inputs": set(), "secrets": set()}
    found: list[str] = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for number, step in enumerate(job.get("steps") or [], 1):
            if "${{" in step.get("run", ""):
                found.append(f"{job_name} step {number} has an expression in its script")
        texts = strings({k: v for k, v in job.items()})
        for kind, name in (m.groups() for text in texts for e in EXPRESSION.finditer(text) for m in REFERENCE.finditer(e[1])):
            used[kind].add(name)
            if call and name not in declared[kind]:
                found.append(f"{job_name} reads undeclared {kind[:-1]} {name}")
    for kind in ("inputs", "secrets"):
        found += [f"{kind[:-1]} {name} is never used" for name in sorted(declared[kind] - used[kind])]
    return found


def test_the_reusable_workflow_is_valid() -> None:
    workflow = load(REUSABLE.read_text())
    assert schema_errors(workflow) == []
    assert problems(workflow) == []
    job = workflow["jobs"]["harden"]
    assert job["strategy"]["fail-fast"] is False  # one repository's failure leaves the others to run
    assert job["strategy"]["matrix"]["repository"] == "${{ fromJSON(inputs.repositories) }}"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    run = next(s for s in job["steps"] if "run" in s)
    assert 'harden" pr --repository "$HARDEN_REPOSITORY"' in run["run"]  # never the caller's GITHUB_REPOSITORY
    assert "HARDEN_TOKEN" in run["env"]


def test_the_readme_weekly_workflow_is_valid() -> None:
    workflow = readme_weekly()
    assert schema_errors(workflow) == []
    assert problems(workflow) == []
    trigger = workflow["on"]
    assert [entry["cron"] for entry in trigger["schedule"]] and "workflow_dispatch" in trigger
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    steps = workflow["jobs"]["harden"]["steps"]
    assert steps[0]["with"]["persist-credentials"] is False
    assert steps[1]["with"]["mode"] == "pr"


def test_a_broken_workflow_is_seen() -> None:
    workflow = load(REUSABLE.read_text())
    broken = copy.deepcopy(workflow)
    job = broken["jobs"]["harden"]
    run = next(s for s in job["steps"] if "run" in s)
    run["run"] += 'echo "${{ inputs.args }}"\n'
    run["env"]["HARDEN_ARGS"] = "${{ inputs.argz }}"
    del broken["on"]["workflow_call"]["secrets"]["app-id"]
    assert problems(broken) == [
        "harden step 4 has an expression in its script",
        "harden reads undeclared secret app-id",
        "harden reads undeclared input argz",
    ]
    del job["runs-on"]
    job["strategy"]["fail-fast"] = "no"
    assert len(schema_errors(broken)) >= 1
