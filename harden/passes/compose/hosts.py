"""Which host names a value, a command or a proxy configuration names (pure; not a pass).

The service graph (harden.passes.compose.graph) asks where a service connects to. A host is read
only where its form says it is one, never because a word equals a service name:

- a URL's host (`postgres://u:p@db:5432/x`, `redis://cache`, `http://api:8080`; every host of a
  `mongodb://a:27017,b:27017/` list);
- `host:port` (`db:5432`, `mongo:27017/app`) as a whole token;
- a bare name (`db`, `db,cache`) only in a host position: the value of a variable whose name says
  it holds a host (`host_variable`: `*_HOST`, `*_HOSTNAME`, `*_ADDR`, `*_ADDRESS`, `*_SERVER`,
  `*_URL`, `*_URI`, `*_DSN`, `*_ENDPOINT`, `*_BROKERS`, ...), the argument of a host flag
  (`-h db`, `--host=db`, `--redis-host db`), and the address of a proxy directive.

A `${VAR}` that harden cannot resolve is kept as UNKNOWN_MARK in the text given here: a host
containing it is reported as unknown (`Hosts.unknown`), which makes the service unread.
Proxy configuration (`proxy_hosts`): nginx `proxy_pass`, `fastcgi_pass`, `uwsgi_pass`,
`grpc_pass`, `scgi_pass` and `server` (in `upstream` blocks), HAProxy `server NAME ADDRESS`, Caddy
`reverse_proxy` and `php_fastcgi`; `#` comments are skipped. An nginx `$variable` address is
unknown. What might break: a proxy that resolves its upstream another way (a `resolver` with a
variable built from pieces, Lua) is not read.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

UNKNOWN_MARK = "\x00"

_HOST_VARIABLE = re.compile(
    r"(^|_)(HOST|HOSTNAME|HOSTS|ADDR|ADDRESS|SERVER|SERVERS|URL|URI|DSN|ENDPOINT|ENDPOINTS|BROKER|BROKERS|UPSTREAM)$", re.I
)
_HOST_FLAG = re.compile(
    r"^--?([a-z0-9-]*-)?(h|host|hostname|server|addr|address|url|uri|endpoint|broker|brokers|upstream)$", re.I
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<netloc>[^/\s?#\"']*)")
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9_\x00][A-Za-z0-9_.\x00-]*):(?P<port>\d{1,5}|\x00)(/\S*)?$")
_BARE = re.compile(r"^[A-Za-z0-9_\x00][A-Za-z0-9_.\x00-]*$")
_PROXY_LINE = re.compile(
    r"^\s*(?P<directive>proxy_pass|fastcgi_pass|uwsgi_pass|grpc_pass|scgi_pass|reverse_proxy|php_fastcgi)\s+(?P<args>[^;{]*)"
)
_SERVER_LINE = re.compile(r"^\s*server\s+(?P<args>[^;{]*)")


@dataclass
class Hosts:
    """What a text names: hosts (lower-case, in order) and whether some host was unknown."""

    names: list[str] = field(default_factory=list)
    unknown: bool = False

    def add(self, other: Hosts) -> None:
        self.names += [n for n in other.names if n not in self.names]
        self.unknown = self.unknown or other.unknown


def host_variable(name: str) -> bool:
    """Whether a variable's name says its value is a host, an address or a URL."""
    return bool(_HOST_VARIABLE.search(name))


def in_value(value: str, host_position: bool) -> Hosts:
    """The hosts a value names: URLs and host:port anywhere, a bare name only in a host position.
    Tokens are separated by commas, semicolons and white space."""
    found = Hosts()
    for match in _URL.finditer(value):
        found.add(_netloc(match["netloc"]))
    for token in re.split(r"[\s,;]+", _URL.sub(" ", value)):
        found.add(_token(token.strip("'\"()[]"), host_position))
    return found


def in_words(words: list[str]) -> Hosts:
    """The hosts a command's words name: URLs and host:port, `NAME=value` as a variable, the
    argument of a host flag (`-h db`, `--host db`, `--host=db`). A word with spaces (`sh -c "..."`)
    is split too."""
    found = Hosts()
    flat = [w for word in words for w in _split(word)]
    for index, word in enumerate(flat):
        flag, equals, value = word.partition("=")
        if equals and flag.startswith("-"):
            found.add(in_value(value, bool(_HOST_FLAG.match(flag))))
        elif equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", flag):
            found.add(in_value(value, host_variable(flag)))
        else:
            after_flag = index > 0 and bool(_HOST_FLAG.match(flat[index - 1]))
            found.add(in_value(word, after_flag))
    return found


def proxy_hosts(text: str) -> list[tuple[int, str, Hosts]]:
    """(1-based line, the line stripped, hosts) for each proxy directive of a configuration file
    that names a host."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0]
        hosts = Hosts()
        for statement in re.split(r"[;{}]", content):  # nginx: several statements on one line
            match = _PROXY_LINE.match(statement) or _SERVER_LINE.match(statement)
            for word in match["args"].split() if match else ():
                # an nginx variable is resolved per request: a host made of one is unknown
                hosts.add(in_value(re.sub(r"\$\{?\w+\}?", UNKNOWN_MARK, word), host_position=True))
        if hosts.names or hosts.unknown:
            found.append((number, content.strip(), hosts))
    return found


def _split(word: str) -> list[str]:
    if not any(c.isspace() for c in word):
        return [word]
    try:
        return [word, *shlex.split(word, comments=True)]
    except ValueError:
        return [word, *word.split()]


def _netloc(netloc: str) -> Hosts:
    found = Hosts()
    for item in netloc.rpartition("@")[2].split(","):
        if item.startswith("["):
            continue  # an IPv6 address
        host = item.split(":", 1)[0]
        if UNKNOWN_MARK in host:
            found.unknown = True
        elif host:
            found.names.append(host.lower())
    return found


def _token(token: str, host_position: bool) -> Hosts:
    match = _HOST_PORT.match(token)
    host = match["host"] if match else token if host_position and _BARE.match(token) else ""
    if UNKNOWN_MARK in host:
        return Hosts(unknown=True)
    return Hosts([host.lower()] if host and not host.replace(".", "").isdigit() else [])
