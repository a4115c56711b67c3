"""tmpfs-exec: a tmpfs is mounted with `exec` or `suid`.

What: reports each `tmpfs:` entry (a string or a list, on the service or merged from an
anchor) whose mount options (`PATH:OPTIONS`, e.g. `/tmp:rw,exec,size=64m`) include `exec`, and
says so when `suid` is there too. Docker and Podman mount a `tmpfs:` entry `noexec,nosuid,nodev`
and then apply the options given, so only an explicit `exec` lets programs run from it; `suid`
without `exec` changes nothing that can run, and is not reported. The long syntax of
`volumes:` (`type: tmpfs`) takes only `size` and `mode` in the Compose Specification, no mount
flags, so it has nothing to report.

Why: a writable directory where programs may run (and set-user-id programs keep their
privileges) is where an attacker who can write a file, through an upload or a path traversal,
turns it into code execution: a dropped binary, or a set-user-id copy of a shell that runs as
root (CIS Docker Benchmark v1.6.0 5.13 recommends a read-only root filesystem for the same
reason; noexec keeps its writable holes from undoing it).

Fix safety: display (no fix). A fix that removes `exec` would break a service that runs
programs from its tmpfs: Java libraries (Netty, Snappy, SQLite JDBC) extract native `.so`
files into the temporary directory and load them, build tools and some entrypoints run
scripts they write there, and harden cannot see whether this service does. `suid` matters
only where programs run, so it is named with `exec`, not alone.

The safer alternative: remove `exec` and `suid` where the service does not run programs from
the tmpfs (test it: a Java service that fails with "failed to map segment from shared
object" needs exec, or `-Djava.io.tmpdir` pointed at a directory of its own with exec).

Example (fixtures/tmpfs-exec/display):

    services:
      app:
        image: example/app
        tmpfs:
          - /tmp:rw,exec,size=64m
          - /run:suid
          - /srv:exec,suid
          - /var/cache:noexec,nosuid
      worker:
        image: example/worker
        tmpfs: /tmp:size=16m

reports /tmp and /srv of app (`/run:suid` stays noexec), and nothing of worker.
"""

from __future__ import annotations

from harden.compose import ComposeDocument
from harden.model import Applicability, Finding, Rule, Severity
from harden.passes import Context
from harden.passes.compose.layers import services, written_here
from harden.passes.compose.reading import as_list

RULE = Rule(
    id="tmpfs-exec",
    title="tmpfs mounts keep noexec and nosuid",
    control="CIS 5.13",
    applicability=Applicability.DISPLAY,
    kinds=("compose",),
)
RATIONALE = (
    "A writable directory where programs may run (or keep set-user-id privileges) turns any file an attacker can "
    "write into code execution, or into root."
)
_OPENED = ("exec", "suid")


def check(document: ComposeDocument, context: Context) -> list[Finding]:
    findings = []
    for service in services(document, context):
        value = written_here(service, "tmpfs")
        entries = [value] if isinstance(value, str) else as_list(value) or []
        for index, entry in enumerate(entries):
            if not isinstance(entry, str):
                continue
            path, _, options = entry.strip().partition(":")
            opened = [option for option in _OPENED if option in {o.strip() for o in options.split(",")}]
            if "exec" not in opened:
                continue
            line, column = document.service_position(service, "tmpfs", None if isinstance(value, str) else index)
            flags = " and ".join(opened)
            setuid = " (with suid, a set-user-id copy of a shell runs as its owner)" if "suid" in opened else ""
            message = (
                f"tmpfs {path} is mounted with {flags}: a program an attacker writes there can be run{setuid}. "
                f"harden does not change it; remove {flags} unless the service runs programs from {path} (a Java "
                "service that loads native libraries from its temporary directory does)"
            )
            about = f"tmpfs {path}"
            findings.append(Finding(RULE, message, line, column, Severity.WARNING, RATIONALE, None, service.name, about))
    return findings
