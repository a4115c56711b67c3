"""Writing never loses data: an edit made while harden runs wins, owner and group are kept, a
hard link or a read-only file is refused, stale temporaries are cleaned, an output never grows
past --max-file-size, and --output never overwrites one copy with another.

Refusals are `path: reason: not written` on standard error, exit 2, the file untouched; the
other files are still written. The owner tests give files another owner, so they need root
(as the suite runs here and in CI).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from test_hostile_files import ROOT_DOCKERFILE, hardened, invoke, write

from harden.engine import convergence
from harden.engine.load import Loaded

EDITED = "FROM debian:bookworm\nCOPY app /srv\n"  # the same size as ROOT_DOCKERFILE
OTHER_UID = 1234


def fix(*paths: Path, options: tuple[str, ...] = ()) -> tuple[int, str]:
    code, _, err = invoke("fix", "--select", "non-root-user", "--unsafe-fixes", *options, *map(str, paths))
    return code, err


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file another owner needs root")


def temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".harden"))


# --- 3. an edit made while harden runs wins -----------------------------------------------


def _same_size_same_mtime(path: Path) -> None:
    status = path.stat()
    path.write_text(EDITED)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))  # only the bytes tell


def _replaced(path: Path) -> None:
    path.unlink()
    path.write_text(EDITED)


@pytest.mark.parametrize("edit", [lambda p: p.write_text(EDITED + "# more\n"), _same_size_same_mtime, _replaced, Path.unlink])
def test_a_file_edited_while_harden_runs_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: object
) -> None:
    edited, other = write(tmp_path / "a" / "Dockerfile"), write(tmp_path / "b" / "Dockerfile")
    before = edited.read_text()
    analyse = convergence.analyse

    def analyse_then_edit(loaded: Loaded, *args: object) -> object:
        result = analyse(loaded, *args)  # type: ignore[arg-type]
        if loaded.result.path.endswith("a/Dockerfile"):
            edit(edited)  # type: ignore[operator]
        return result

    monkeypatch.setattr(convergence, "analyse", analyse_then_edit)
    code, err = fix(tmp_path)
    assert code == 2 and "a/Dockerfile: changed while harden ran" in err and ": not written" in err, err
    assert not edited.exists() or edited.read_text() != before and not hardened(edited)
    assert hardened(other) and temporaries(edited.parent) == []


# --- 4. owner, hard links, read-only files, stale temporaries --------------------------


def test_fix_keeps_owner_and_group(tmp_path: Path) -> None:
    needs_root()
    path = write(tmp_path / "Dockerfile")
    os.chown(path, OTHER_UID, OTHER_UID)
    os.chmod(path, 0o640)
    assert fix(path)[0] == 0
    status = path.stat()
    assert hardened(path) and (status.st_uid, status.st_gid, status.st_mode & 0o7777) == (OTHER_UID, OTHER_UID, 0o640)


def test_an_owner_harden_cannot_keep_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs_root()
    path, other = write(tmp_path / "a" / "Dockerfile"), write(tmp_path / "b" / "Dockerfile")
    os.chown(path, OTHER_UID, OTHER_UID)

    def not_permitted(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", not_permitted)
    code, err = fix(path, other)
    assert code == 2
    assert (
        f"a/Dockerfile: is owned by uid {OTHER_UID}, gid {OTHER_UID}, which harden (uid 0) cannot give the new file: not written"
        in err
    )
    assert path.read_text() == ROOT_DOCKERFILE and path.stat().st_uid == OTHER_UID and temporaries(path.parent) == []
    assert hardened(other)


def test_a_hard_linked_file_is_refused(tmp_path: Path) -> None:
    path, other = write(tmp_path / "a" / "Dockerfile"), write(tmp_path / "b" / "Dockerfile")
    twin = tmp_path / "a" / "Dockerfile.twin"
    os.link(path, twin)
    code, err = fix(path, other)
    assert code == 2
    assert f"{path}: has 2 hard links; harden does not replace it (it would break the link): not written" in err
    assert path.read_text() == ROOT_DOCKERFILE and os.path.samefile(path, twin)
    assert hardened(other)


def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    path, other = write(tmp_path / "a" / "Dockerfile"), write(tmp_path / "b" / "Dockerfile")
    os.chmod(path, 0o444)
    code, err = fix(path, other)
    assert code == 2 and f"{path}: is read-only: not written" in err
    assert path.read_text() == ROOT_DOCKERFILE and path.stat().st_mode & 0o777 == 0o444
    assert hardened(other)


def test_stale_temporaries_of_harden_are_cleaned_and_nothing_else(tmp_path: Path) -> None:
    needs_root()
    path = write(tmp_path / "Dockerfile")
    old = time.time() - 3600
    kept = {
        ".Dockerfile.young123.harden": None,  # a concurrent run may still be writing it
        ".Dockerfile.short.harden": old,  # not tempfile's eight random characters
        ".notes.txt.abcd1234.harden": old,  # not a name harden writes
        ".Dockerfile.Upper123.harden": old,  # tempfile never makes upper case
        ".Dockerfile.theirs12.harden": old,  # another user's
        "x.Dockerfile.abcd1234.harden": old,  # no leading dot
    }
    for name, mtime in {".Dockerfile.abcd1234.harden": old, ".compose.yaml.x_y_z_12.harden": old, **kept}.items():
        write(tmp_path / name, "half a file")
        if mtime is not None:
            os.utime(tmp_path / name, (mtime, mtime))
    os.chown(tmp_path / ".Dockerfile.theirs12.harden", OTHER_UID, OTHER_UID)
    (tmp_path / ".Dockerfile.link1234.harden").symlink_to(tmp_path / "Dockerfile")
    kept[".Dockerfile.link1234.harden"] = None
    from harden.discover import discover

    assert [s.relative for s in discover([str(tmp_path)])[0]] == ["Dockerfile"]  # never discovered
    assert fix(path)[0] == 0
    assert temporaries(tmp_path) == sorted(kept) and hardened(path)


# --- 5. an output over --max-file-size is not written -----------------------------------


def test_an_output_over_the_size_limit_is_not_written(tmp_path: Path) -> None:
    compose = write(tmp_path / "compose.yaml", "services:\n  web:\n    image: nginx:1.27\n")
    size = compose.stat().st_size
    code, _, err = invoke("fix", "--max-file-size", str(size + 10), str(compose))
    assert code == 2 and compose.read_text() == "services:\n  web:\n    image: nginx:1.27\n"
    assert "compose.yaml:1: the hardened file would be " in err and f"over the {size + 10}-byte limit (--max-file-size)" in err
    needed = int(err.split("run with --max-file-size ")[1].split()[0])
    assert needed > size + 10
    code, _, err = invoke("diff", "--max-file-size", str(size + 10), str(compose))
    assert code == 2 and "the hardened file would be" in err
    code, _, err = invoke("fix", "--max-file-size", str(needed), str(compose))
    assert code != 2 and compose.stat().st_size == needed, err
    assert invoke("check", "--max-file-size", str(needed), str(compose))[0] != 2  # harden can read its own output


# --- --output: never one copy over another, and the input itself only with in-place checks


def test_output_never_overwrites_another_files_copy(tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "Dockerfile", "FROM debian:bookworm\n")
    second = write(tmp_path / "b" / "Dockerfile", "FROM alpine:3.20\n")
    out = tmp_path / "OUT"
    code, err = fix(first, second, options=("--output", str(out)))
    assert code == 2
    assert f"{second}: its copy would replace {out}/Dockerfile, the copy of {first} written by this run: not written" in err
    assert (out / "Dockerfile").read_text().startswith("FROM debian:bookworm\n")


def test_output_into_the_input_keeps_the_in_place_checks(tmp_path: Path) -> None:
    path = write(tmp_path / "Dockerfile")
    os.link(path, tmp_path / "twin")
    code, err = fix(tmp_path, options=("--output", str(tmp_path)))
    assert code == 2 and "has 2 hard links" in err
    assert path.read_text() == ROOT_DOCKERFILE and os.path.samefile(path, tmp_path / "twin")


def test_pin_lock_keeps_the_lockfiles_owner(tmp_path: Path) -> None:
    needs_root()
    lockfile = write(tmp_path / "harden.lock", "version = 1\n")
    os.chown(lockfile, OTHER_UID, OTHER_UID)
    write(tmp_path / "Dockerfile", "FROM scratch\n")
    code, _, err = invoke("pin", "--lock", str(tmp_path))
    assert code == 0, err
    assert lockfile.stat().st_uid == OTHER_UID


def test_output_under_a_file_names_the_path_it_cannot_write(tmp_path: Path) -> None:
    path = write(tmp_path / "in" / "Dockerfile")
    (tmp_path / "afile").write_text("not a directory")
    code, err = fix(path, options=("--output", str(tmp_path / "afile" / "sub")))
    assert code == 2 and f"{path}: cannot write {tmp_path}/afile/sub (Not a directory): not written" in err
    assert path.read_text() == ROOT_DOCKERFILE and (tmp_path / "afile").read_text() == "not a directory"
