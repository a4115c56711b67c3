"""The engine's seams (issue 9): selectors, sinks, standard input through `run`, streaming and
the process pool (same outputs as one process), and the --output sink's directory handling."""

from __future__ import annotations

import ast
import gc
import io
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harden import compose, dockerfile, engine
from harden.config import Settings
from harden.engine import context, pipeline, pool, select, sinks
from harden.engine.pipeline import Run
from harden.model import FileResult, finding_id
from harden.output import diff

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REDIS = "services:\n  cache:\n    image: redis:7\n"
DOCKERFILE = 'FROM debian:bookworm\nRUN make\nCMD ["app"]\n'


def fixed(text: str, selector: select.Selector, sink: sinks.Sink | None = None) -> FileResult:
    return engine.run_text("compose.yaml", "compose", text.encode(), Settings(offline=True), selector, sink)


def rules(findings: list[Any]) -> list[str]:
    return sorted(f.rule.id for f in findings)


# --- selectors and requirements -----------------------------------------------------------------


def test_check_builds_no_fix_and_fix_builds_the_chosen_ones() -> None:
    checked = fixed(REDIS, select.All(), sinks.Report())
    assert checked.applied == [] and all(f.fix.built is None for f in checked.findings if f.fix)
    applied = fixed(REDIS, select.All())
    assert applied.applied and all(f.fix.built is not None for f in applied.applied if f.fix)


def test_a_selector_of_ids_applies_exactly_those_findings() -> None:
    wanted = finding_id("no-new-privileges", "compose.yaml", "cache")
    result = fixed(REDIS, select.ByIds(frozenset({wanted})))
    assert [f.id for f in result.applied] == [wanted]
    assert "no-new-privileges:true" in result.output and "cap_drop" not in result.output


def test_a_fix_waits_for_the_fix_it_requires() -> None:
    caps = finding_id("cap-drop-all", "compose.yaml", "cache")
    user = finding_id("compose-non-root", "compose.yaml", "cache")
    alone = fixed(REDIS, select.ByIds(frozenset({caps})))
    assert alone.applied == [] and caps in {f.id for f in alone.remaining}  # its capabilities count on user: redis
    both = fixed(REDIS, select.ByIds(frozenset({caps, user})))
    assert {f.id for f in both.applied} == {caps, user} and "user: redis" in both.output and "cap_drop" in both.output


def test_selectors_from_the_command_line_options() -> None:
    assert isinstance(select.from_settings(Settings()), select.WithEvidence)
    assert isinstance(select.from_settings(Settings(unsafe_fixes=True)), select.All)
    safe = fixed(REDIS, select.from_settings(Settings(safe_only=True)))
    assert safe.applied == []  # every fix here is a review fix
    only = fixed(REDIS, select.ByRule(frozenset({"resource-limits"})))
    assert rules(only.applied) == ["resource-limits"]
    ignored = fixed(REDIS, select.ByRule(ignore=frozenset({"resource-limits"})))
    assert "resource-limits" not in rules(ignored.applied) and ignored.applied


# --- sinks and standard input ------------------------------------------------------------------


def test_standard_input_goes_through_run_into_standard_output() -> None:
    out = io.BytesIO()
    settings = Settings(offline=True, stdin_filename="compose.yaml")
    run = engine.run(["-"], settings, select.All(), sinks.Stdout(out), stdin=io.BytesIO(REDIS.encode()))
    [result] = run.results
    assert result.path == "compose.yaml" and result.applied and b"cap_drop:" in out.getvalue()
    assert result.original == result.output == ""  # the sink had them; the run keeps what reports need
    assert result.changed


def test_standard_input_over_the_limit_is_an_input_error() -> None:
    out = io.BytesIO()
    run = engine.run(["-"], Settings(max_file_size=10), select.All(), sinks.Stdout(out), stdin=io.BytesIO(REDIS.encode()))
    assert [(e.kind, e.line) for e in run.results[0].errors] == [("input", 1)] and out.getvalue() == b""


def test_copy_makes_each_output_directory_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in "abcdefghij":
        (tmp_path / "in" / "deep" / "er" / name).mkdir(parents=True)
        (tmp_path / "in" / "deep" / "er" / name / "Dockerfile").write_text(DOCKERFILE)
    made: list[Path] = []
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    out = tmp_path / "out"
    run = engine.run([str(tmp_path / "in")], Settings(offline=True), select.All(), sinks.Copy(out))
    assert all(r.written and not r.errors for r in run.results) and len(run.results) == 10
    assert len(made) == len(set(made)) == 3 + 10  # out, deep, er and each leaf directory: once each
    assert (out / "deep" / "er" / "j" / "Dockerfile").read_text().count("USER") == 1


# --- streaming and the pool ---------------------------------------------------------------------


def summary(run: Run) -> list[tuple[Any, ...]]:
    return [
        (
            r.path,
            r.output,
            [(f.id, f.line, f.column, f.message, f.applicability) for f in r.findings],
            [f.id for f in r.applied],
            [f.id for f in r.remaining],
            r.summary,
            r.errors,
            diff.reviewed(r),
        )
        for r in run.results
    ]


def test_the_pool_gives_what_one_process_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(offline=True, search_from=(FIXTURES,))
    together = engine.run([str(FIXTURES)], settings, select.All(), sinks.Preview())
    assert not pipeline.streams(settings, len(together.results))
    assert len(together.results) > 60 and any(r.applied for r in together.results)
    pooled = engine.run([str(FIXTURES)], replace(settings, workers=2), select.All(), sinks.Preview())
    assert summary(pooled) == summary(together)
    assert [e.message for e in pooled.unresolved] == [e.message for e in together.unresolved]
    monkeypatch.setattr(pipeline, "POOL_MIN_FILES", 10)  # one process, streaming: as a run of many files
    streamed = engine.run([str(FIXTURES)], replace(settings, workers=1), select.All(), sinks.Preview())
    assert summary(streamed) == summary(together)


def test_projects_and_extends_stay_in_one_task(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "compose.yaml").write_text(REDIS)
    (tmp_path / "a" / "compose.override.yaml").write_text("services:\n  cache:\n    ports: ['6379:6379']\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "compose.yaml").write_text(
        "services:\n  web:\n    extends:\n      file: ../c/docker-compose.base.yml\n      service: base\n"
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "docker-compose.base.yml").write_text("services:\n  base:\n    image: nginx:1.27\n")
    (tmp_path / "c" / "Dockerfile").write_text(DOCKERFILE)
    items, _ = engine.load.inputs([str(tmp_path)], Settings(), None)
    scanned = pool._scan_task((items, Settings(offline=True)))
    names = [item.source.relative for item in items]
    groups = [[names[i] for i in group] for group in pool.components(items, scanned, Settings())]
    assert groups == [
        ["a/compose.override.yaml", "a/compose.yaml"],
        ["b/compose.yaml", "c/docker-compose.base.yml"],
        ["c/Dockerfile"],
    ]


def test_a_streaming_run_holds_no_document_longer_than_its_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "POOL_MIN_FILES", 100)  # a run of many files, made small
    for index in range(pipeline.POOL_MIN_FILES + 10):
        (tmp_path / f"d{index:03}").mkdir()
        (tmp_path / f"d{index:03}" / "Dockerfile").write_text(DOCKERFILE)
    live: list[int] = []
    hand = Run.hand

    def counting(self: Run, *args: Any, **options: Any) -> None:
        if len(self.processed) % 16 == 0:  # counting objects is slow: every 16th file
            gc.collect()
            live.append(sum(isinstance(o, dockerfile.DockerfileDocument | compose.ComposeDocument) for o in gc.get_objects()))
        hand(self, *args, **options)

    monkeypatch.setattr(Run, "hand", counting)
    run = engine.run([str(tmp_path)], Settings(offline=True, workers=1), select.All(), sinks.Report())
    assert len(run.results) == pipeline.POOL_MIN_FILES + 10 and all(r.findings for r in run.results)
    assert live and max(live) <= pool.TASK_FILES  # never the whole tree (a task frees its documents when it ends)
    assert all(r.original == "" for r in run.results)  # texts are dropped once the sink has the result


def test_a_file_changed_between_scan_and_analysis_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a" / "Dockerfile", tmp_path / "b" / "Dockerfile"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(DOCKERFILE)
    resolve = context.resolve

    def resolve_then_edit(*args: Any) -> context.Resolution:
        first.write_text("FROM alpine:3.20\n")  # after the scan, before the analysis
        return resolve(*args)

    monkeypatch.setattr(context, "resolve", resolve_then_edit)
    run = engine.run([str(tmp_path)], Settings(offline=True, workers=2), select.All(), sinks.InPlace())
    [a, b] = run.results
    assert [(e.kind, e.message) for e in a.errors] == [("input", "changed while harden ran: skipped")]
    assert first.read_text() == "FROM alpine:3.20\n" and b.written and "USER" in second.read_text()


# --- import rules (ARCH.md) ---------------------------------------------------------------------


def imports(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[path.relative_to(ROOT).as_posix()] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("output", ("click", "harden.engine", "harden.registry", "harden.cli")),
        ("engine", ("click", "harden.cli", "harden.output")),
        ("passes", ("harden.engine", "harden.cli", "harden.output", "click", "harden.files", "harden.discover")),
    ],
)
def test_import_rules(package: str, forbidden: tuple[str, ...]) -> None:
    for module, names in imports(ROOT / "harden" / package).items():
        bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
        assert bad == [], module


def test_the_coloured_diff_is_what_click_style_made() -> None:
    import click

    result = engine.run_text("compose.yaml", "compose", REDIS.encode(), Settings(offline=True))
    plain = diff.reviewed(result)
    styles = [("#", {"fg": "cyan"}), (("+++", "---", "diff --git"), {"bold": True}), ("@@", {"fg": "magenta"})]
    styles += [("+", {"fg": "green"}), ("-", {"fg": "red"})]
    expected = []
    for line in plain.splitlines(keepends=True):
        style = next((s for prefix, s in styles if line.startswith(prefix)), None)
        expected.append(click.style(line, **style) if style else line)  # type: ignore[arg-type]
    assert diff.reviewed(result, color=True) == "".join(expected) != plain


def test_the_corpus_through_the_pool_gives_the_recorded_outputs(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus (fewer files than a pool needs by default) through two workers: every output
    and reviewed diff is byte for byte what one process gives (tests/corpus_outputs.sha256)."""
    from test_corpus_outputs import current, recorded

    monkeypatch.setenv("HARDEN_WORKERS", "2")
    now, before = current(corpus), recorded()
    assert len(now) > 200 and now.keys() == before.keys() and {k for k in now if now[k] != before[k]} == set()


def test_plain_names_are_shown_as_they_are_and_odd_ones_quoted() -> None:
    """discover.display_name's fast path for printable ASCII names quotes exactly what git quotes."""
    from harden.discover import display_name

    for code in range(32, 127):
        char = chr(code)
        assert display_name(f"a{char}b") == (f'"a\\{char}b"' if char in '"\\' else f"a{char}b")
    for code in [*range(32), 127]:
        assert display_name(f"a{chr(code)}b").startswith('"a\\'), code
    assert display_name("é\u2028") == '"é\\342\\200\\250"'  # not ASCII: the careful path


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_workers_write_what_one_process_writes(tmp_path: Path) -> None:
    """In place and under --output, the pool's workers write the files they analysed: the same
    bytes, the same results and reports as one process."""
    runs = {}
    for workers in (None, 2):
        copy = tmp_path / f"in-{workers}"
        shutil.copytree(FIXTURES, copy)
        settings = Settings(offline=True, workers=workers)
        out = tmp_path / f"out-{workers}"
        copied = engine.run([str(copy)], settings, select.All(), sinks.Copy(out, keeps_findings=False))
        in_place = engine.run([str(copy)], settings, select.All(), sinks.InPlace())
        results = [(r.written, r.errors, r.applied_rules) for r in (*copied.results, *in_place.results)]
        runs[workers] = (tree(copy), tree(out), results)
    assert runs[None] == runs[2] and any(written for written, _, _ in runs[2][2])


def test_one_output_target_is_written_once_whatever_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "TASK_FILES", 1)  # a task per file, unless they must share one
    first, second = tmp_path / "a" / "Dockerfile", tmp_path / "b" / "Dockerfile"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(DOCKERFILE)
    for workers in (None, 2):
        out = tmp_path / f"out-{workers}"
        run = engine.run([str(first), str(second)], Settings(offline=True, workers=workers), select.All(), sinks.Copy(out))
        [a, b] = run.results
        assert a.written and not b.written
        assert [e.message for e in b.errors] == [
            f"its copy would replace {out}/Dockerfile, the copy of {first} written by this run: not written"
        ]
