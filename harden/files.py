"""Reading and writing project files so that hostile input cannot hang harden or lose data.

Reading (`read_regular`, `open_regular`): only regular files are opened. The path is stat'ed
first (a FIFO, socket or device is refused before open(), which would block on a FIFO and can
have side effects on a device), opened with O_NONBLOCK (a file swapped for a FIFO after the
stat still cannot block the open), and the opened descriptor is fstat'ed (what was opened is
what is read). Reads are bounded by the size limit. A `Snapshot` records what was read.

Writing: a temporary file beside the target, then a rename (readers and an interrupted harden
never see half a file; no fsync: durability across power loss is not claimed, as with black and
ruff). Replacing an existing file (`replace`) keeps its mode, owner and group, and refuses,
writing nothing, when:

- the target is a symbolic link or not a regular file;
- it has more than one hard link: the rename would give this name a new inode and leave the
  other names with the old content, silently splitting what the user linked (black writes in
  place, `open(src, "w")`, which keeps the link but gives up atomicity: a crash midway leaves a
  truncated file; harden keeps atomicity and leaves the choice to the user);
- it is read-only: no owner write bit, or not writable by this user (vim refuses to write
  such a file without `:w!`, even for root, to whom access() would say yes);
- its owner or group cannot be kept (fchown not permitted): harden does not silently make the
  file its own;
- it is no longer what was read (device, inode, size, mtime and SHA-256 of the bytes are
  compared just before the rename): the user edited it while harden ran, and their edit wins.

A check and the rename cannot be one atomic step; an edit in the microseconds between them
is not detected.

Temporaries are named `.NAME.XXXXXXXX.harden` (tempfile.mkstemp's eight random characters).
An interrupted run can leave one behind; `clean_stale_temporaries` removes them before harden
writes into a directory again (see its docstring for exactly which).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harden import clock

TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.harden")
LINK = "is a symbolic link (harden never writes through one)"
STALE_AFTER_SECONDS = 60  # a running harden writes, checks and renames its temporary in far less


class Refused(Exception):
    """harden will not read or write this file; the message says why (it follows `path: `)."""


class NotRegular(Refused):
    """A FIFO, socket, device or directory where a file was expected."""


@dataclass(frozen=True)
class Snapshot:
    """What harden read: compared with the file again just before it is replaced."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    sha256: str


def file_type(mode: int) -> str:
    """A file type's name, for messages: `not a regular file (FIFO)`."""
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
    ):
        if test(mode):
            return name
    return "special file"


def not_regular(mode: int) -> str:
    return f"not a regular file ({file_type(mode)})"


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """(descriptor, its fstat) of a regular file, opened without blocking; Refused otherwise.

    The path may be a symbolic link to a regular file (discovery decides which links are read).
    """
    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        raise NotRegular(not_regular(status.st_mode))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise NotRegular(not_regular(opened.st_mode))
        yield fd, opened
    finally:
        os.close(fd)


def read_bounded(fd: int, limit: int) -> bytes:
    """At most `limit` bytes from the descriptor (fewer at its end)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_regular(path: Path, limit: int) -> tuple[bytes, Snapshot]:
    """A regular file's bytes and snapshot; Refused for anything else or over `limit` bytes."""
    with open_regular(path) as (fd, opened):
        if opened.st_size > limit:
            raise Refused(over_limit(opened.st_size, limit))
        data = read_bounded(fd, limit + 1)
    if len(data) > limit:  # it grew after the fstat
        raise Refused(over_limit(len(data), limit))
    digest = hashlib.sha256(data).hexdigest()
    return data, Snapshot(opened.st_dev, opened.st_ino, len(data), opened.st_mtime_ns, digest)


def over_limit(size: int, limit: int) -> str:
    return f"file is {size} bytes, over the {limit}-byte limit (--max-file-size)"


def replace(target: Path, data: bytes, expected: Snapshot | None, names: Callable[[str], bool], clean: bool = True) -> None:
    """Replace an existing regular file atomically, keeping mode, owner and group; Refused (and
    nothing written) in the cases the module docstring lists. `expected`: what was read (None:
    no check, for a lockfile harden wrote itself). `names`: see clean_stale_temporaries; `clean`
    False: the caller already cleaned the directory in this run."""
    try:
        status = os.lstat(target)
    except FileNotFoundError:
        raise Refused("changed while harden ran (it was removed)") from None
    if stat.S_ISLNK(status.st_mode):
        raise Refused(LINK)
    if not stat.S_ISREG(status.st_mode):
        raise Refused(not_regular(status.st_mode))
    if status.st_nlink > 1:
        raise Refused(f"has {status.st_nlink} hard links; harden does not replace it (it would break the link)")
    if not status.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise Refused("is read-only")

    def unchanged() -> None:
        if expected is not None and _snapshot(target, expected.size) != expected:
            raise Refused("changed while harden ran")

    _write(target, data, stat.S_IMODE(status.st_mode), (status.st_uid, status.st_gid), unchanged, names if clean else None)


def create(target: Path, data: bytes, mode: int, names: Callable[[str], bool], clean: bool = True) -> None:
    """Write a file atomically that harden owns (a copy under --output, a new lockfile): any
    file there before is replaced, unless it is a symbolic link or a directory. `clean`: as
    for `replace`."""
    with contextlib.suppress(FileNotFoundError):
        status = os.lstat(target)
        if stat.S_ISLNK(status.st_mode):
            raise Refused(LINK)
        if stat.S_ISDIR(status.st_mode):
            raise Refused(not_regular(status.st_mode))
    _write(target, data, stat.S_IMODE(mode), None, None, names if clean else None)


def create_new(target: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet (one a fix creates) atomically: a temporary beside
    it, then a hard link to its name, which fails when anything is there, even a dangling link
    (harden never replaces a file with a new one): Refused then. Needs a file system with hard
    links, as every Linux and macOS one has; elsewhere the OSError is the file's write error."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".harden")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), stat.S_IMODE(mode))
        os.link(temporary, target)
    except FileExistsError:
        raise Refused(f"{target.name} exists already: harden never replaces a file with a new one") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _snapshot(path: Path, size: int) -> Snapshot | None:
    try:
        return read_regular(path, size)[1]
    except (Refused, OSError):
        return None  # gone, replaced by something else, or grown: not what was read


def _write(
    target: Path,
    data: bytes,
    mode: int,
    owner: tuple[int, int] | None,
    check: Callable[[], None] | None,
    names: Callable[[str], bool] | None,
) -> None:
    if names is not None:
        clean_stale_temporaries(target.parent, names)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".harden")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if owner is not None:
                _keep_owner(handle.fileno(), *owner)
            os.fchmod(handle.fileno(), mode)  # after fchown, which clears set-user-ID bits
        if check is not None:
            check()
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _keep_owner(fd: int, uid: int, gid: int) -> None:
    status = os.fstat(fd)
    if (status.st_uid, status.st_gid) == (uid, gid):
        return
    try:
        os.fchown(fd, uid, gid)
    except PermissionError:
        raise Refused(f"is owned by uid {uid}, gid {gid}, which harden (uid {os.geteuid()}) cannot give the new file") from None


def clean_stale_temporaries(directory: Path, names: Callable[[str], bool]) -> list[str]:
    """Remove the temporaries an interrupted harden left in `directory`; the names removed.

    Removed are exactly the entries that are all of: named `.NAME.XXXXXXXX.harden`, where
    XXXXXXXX are eight of tempfile's random characters (a-z, 0-9, _) and `names(NAME)` is true
    (NAME is a file harden writes: a Dockerfile, a Compose file, harden.lock); a regular file,
    not a link; owned by the user harden runs as; last modified more than STALE_AFTER_SECONDS
    ago (a concurrent harden is done with its temporary by then). Nothing else is touched, and a
    temporary that cannot be removed is left where it is.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed  # the write that follows reports the directory's problem
    oldest = clock.now().timestamp() - STALE_AFTER_SECONDS
    for entry in entries:
        match = TEMPORARY.fullmatch(entry.name)
        if match is None or not names(match.group("name")):
            continue
        try:
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid() and status.st_mtime < oldest:
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed
