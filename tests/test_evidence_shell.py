"""harden.evidence.shell: what start-up shell text does, with lines (one fixture per behaviour)."""

from __future__ import annotations

from harden.evidence.shell import Observation, scan, scan_argv, scan_compose

GOSU = """#!/bin/sh
set -e
# step down from root
if [ "$(id -u)" = '0' ]; then
    exec gosu app "$0" "$@"
fi
exec "$@"
"""


def found(observations: list[Observation]) -> list[tuple[str, str, str, int]]:
    return [(o.kind, o.command, o.path, o.line) for o in observations]


def test_gosu_step_down_is_a_user_switch_on_its_line() -> None:
    observations = scan(GOSU, "docker-entrypoint.sh")
    assert found(observations) == [("user", "gosu", "", 5)]
    assert observations[0].detail == "app"
    assert observations[0].where == "docker-entrypoint.sh:5"
    assert observations[0].text == 'exec gosu app "$0" "$@"'


def test_chown_recursive_with_a_continuation_and_chain() -> None:
    text = "mkdir -p /data && \\\n  chown -R app /data; chmod 700 /data\n"
    assert found(scan(text)) == [
        ("write", "mkdir", "/data", 1),
        ("owner", "chown", "/data", 2),
        ("mode", "chmod", "/data", 2),
    ]


def test_find_exec_chown_acts_on_the_start_paths() -> None:
    observations = scan("find /var/lib/app \\! -user app -exec chown app '{}' +\n")
    assert found(observations) == [("owner", "chown", "/var/lib/app", 1)]
    assert observations[0].detail == "app"


def test_setcap() -> None:
    observations = scan("echo start\nsetcap CAP_NET_BIND_SERVICE+eip /usr/bin/app || exit 1\n")
    assert found(observations) == [("capability", "setcap", "/usr/bin/app", 2)]
    assert observations[0].detail == "CAP_NET_BIND_SERVICE+eip"


def test_envsubst_redirected_into_etc() -> None:
    observations = scan("envsubst '$PORT' < /t/default.conf.template > /etc/nginx/conf.d/default.conf\n")
    assert found(observations) == [("write", ">", "/etc/nginx/conf.d/default.conf", 1)]
    assert observations[0].detail == "envsubst"


def test_sed_in_place_on_an_etc_file_with_variable_from_env() -> None:
    text = 'sed -i -e "s/^port .*/port $PORT/" \\\n   "$CONF"\nsed -e s/a/b/ /etc/untouched\n'
    assert found(scan(text, env={"CONF": "/etc/redis/redis.conf"})) == [("write", "sed -i", "/etc/redis/redis.conf", 2)]


def test_unknown_variable_is_kept_with_its_name() -> None:
    (observation,) = scan('echo x > "$PGDATA/postgresql.auto.conf"\n')
    assert observation.path == "${PGDATA}/postgresql.auto.conf"
    assert observation.unknown == ("PGDATA",)


def test_default_of_the_script_is_used_when_the_variable_is_unset() -> None:
    assert found(scan('touch "${PIDDIR:-/run/app}/pid"\n')) == [("write", "touch", "/run/app/pid", 1)]


def test_writes_to_run_and_tmp_not_to_devices_or_fd_duplications() -> None:
    text = "echo $$ > /run/app.pid\necho hi >/dev/null 2>&1\nprintf x | tee -a /tmp/log >&2\n"
    assert found(scan(text)) == [("write", ">", "/run/app.pid", 1), ("write", "tee", "/tmp/log", 3)]


def test_heredoc_body_and_comments_are_not_commands() -> None:
    text = "cat > /etc/app.ini <<EOF\nchown root /nope\nEOF\n# chown root /also-not\nln -s /a /usr/local/bin/b\n"
    assert found(scan(text)) == [("write", ">", "/etc/app.ini", 1), ("write", "ln", "/usr/local/bin/b", 5)]


def test_quoted_operators_stay_inside_words() -> None:
    assert found(scan("echo 'a > /etc/x; chown b /y'\n")) == []


def test_sh_c_command_override_writing_under_home() -> None:
    value = "sh -c 'memcached -u memcache -P /home/memcache/memcached.pid >> /home/memcache/log'"
    assert found(scan_compose(value, "compose.yaml", 7)) == [("write", ">>", "/home/memcache/log", 7)]


def test_sh_c_multi_line_string_counts_lines_from_the_word() -> None:
    observations = scan_compose(["bash", "-c", "set -e\nchown -R redis /data\nexec redis-server"], "compose.yaml", 3)
    assert found(observations) == [("owner", "chown", "/data", 4)]


def test_exec_form_init_is_s6_overlay() -> None:
    assert found(scan_argv(["/init"], "Dockerfile", 9)) == [("supervisor", "/init", "", 9)]


def test_eval_is_reported_as_opaque() -> None:
    assert [o.kind for o in scan('eval "$CMD"\n')] == ["opaque"]


def test_wrapped_command_after_su_exec_is_read() -> None:
    assert found(scan("su-exec redis chown redis /data\n")) == [("user", "su-exec", "", 1), ("owner", "chown", "/data", 1)]
