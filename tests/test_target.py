"""The Redis URL: the forms apps really use, the ways pasted URLs break, and where it comes from.

Cases follow /work/shared/REDIS-FAILURES.md ("Where an application's Redis target comes from",
the platform notes) and redis-py's `parse_url`, which is what the app will do with the URL.
"""

from __future__ import annotations

import pytest

from troubleshooter.target import DEFAULT_URL, Target, parse_target, redact_url, resolve_url

SECRET = "Sup3rSecret"


# -- URLs that work ----------------------------------------------------------------------------
@pytest.mark.parametrize("url, scheme, host, port, db, address", [
    ("redis://localhost:6379/0", "redis", "localhost", 6379, 0, "localhost:6379"),
    ("redis://redis.internal", "redis", "redis.internal", 6379, 0, "redis.internal:6379"),
    ("redis://10.0.0.5:6380/3", "redis", "10.0.0.5", 6380, 3, "10.0.0.5:6380"),
    ("rediss://cache.example.com:6380/1", "rediss", "cache.example.com", 6380, 1,
     "cache.example.com:6380"),
    ("redis://[::1]:6379/2", "redis", "::1", 6379, 2, "[::1]:6379"),
    ("redis://[2001:db8::7]/0", "redis", "2001:db8::7", 6379, 0, "[2001:db8::7]:6379"),
    ("redis://h:6379/", "redis", "h", 6379, 0, "h:6379"),
    ("redis://h?db=4", "redis", "h", 6379, 4, "h:6379"),
    # redis-py lets `?db=` win over the path
    ("redis://h/1?db=5", "redis", "h", 6379, 5, "h:6379"),
])
def test_network_urls(url: str, scheme: str, host: str, port: int, db: int,
                      address: str) -> None:
    t = parse_target(url)
    assert t.problem is None
    assert (t.scheme, t.host, t.port, t.db, t.address) == (scheme, host, port, db, address)
    assert t.tls is (scheme == "rediss") and not t.is_unix


def test_unix_socket_with_db() -> None:
    t = parse_target("unix:///run/redis/redis-server.sock?db=1", "REDIS_URL")
    assert t.problem is None
    assert (t.scheme, t.path, t.db, t.host, t.address, t.source) == (
        "unix", "/run/redis/redis-server.sock", 1, "", "/run/redis/redis-server.sock",
        "REDIS_URL")
    assert t.is_unix and not t.tls


def test_unix_socket_ignores_the_path_for_the_db() -> None:
    t = parse_target("unix:///tmp/redis.sock")
    assert (t.problem, t.path, t.db) == (None, "/tmp/redis.sock", 0)


def test_credentials_are_parsed_and_never_shown() -> None:
    t = parse_target(f"rediss://rqapp:{SECRET}@redis.internal:6380/0", "RQ_REDIS_URL")
    assert (t.username, t.password) == ("rqapp", SECRET)
    assert t.redacted == "rediss://rqapp:***@redis.internal:6380/0"
    assert SECRET not in repr(t)
    assert t.to_dict() == {
        "url": "rediss://rqapp:***@redis.internal:6380/0", "source": "RQ_REDIS_URL",
        "scheme": "rediss", "host": "redis.internal", "port": 6380, "path": "", "db": 0,
        "username": "rqapp", "password_set": True,
    }


def test_percent_encoded_password_is_decoded() -> None:
    t = parse_target("redis://:p%40ss%23w%2Frd%3F@h:6379/0")
    assert t.problem is None
    assert (t.username, t.password, t.host) == (None, "p@ss#w/rd?", "h")
    assert t.redacted == "redis://:***@h:6379/0"


def test_password_only_and_empty_password() -> None:
    assert parse_target(f"redis://:{SECRET}@h").password == SECRET
    t = parse_target("redis://:@h")
    assert (t.problem, t.password, t.username) == (None, None, None)


def test_query_options_are_kept() -> None:
    t = parse_target("rediss://h:6380/0?ssl_cert_reqs=none&ssl_ca_certs=/etc/ca.pem")
    assert dict(t.query) == {"ssl_cert_reqs": "none", "ssl_ca_certs": "/etc/ca.pem"}


# -- URLs that break ---------------------------------------------------------------------------
MALFORMED = "config.malformed_url"
PREFIX_FIX = "the URL must begin with redis://, rediss:// or unix://"


@pytest.mark.parametrize("url, message", [
    # invisible characters: the platform's pasted REDIS_URL carried a U+2028
    # at the end only where redis-py misreads it (here: in the port; see tests/rq/test_url_ends)
    ("redis://h:6379\u2028", "the URL contains an invisible character U+2028 (LINE SEPARATOR) "
                             "at position 14"),
    ("\u2028redis://h:6379/0", "the URL contains an invisible character U+2028 (LINE SEPARATOR) "
                               "at position 0"),
    ("redis://h\u200b:6379/0", "the URL contains an invisible character U+200B (ZERO WIDTH "
                               "SPACE) at position 9"),
    ("\ufeffredis://h", "the URL contains an invisible character U+FEFF (ZERO WIDTH NO-BREAK "
                        "SPACE) at position 0"),
    ("redis://h:6379\u00a0", "the URL contains an invisible character U+00A0 (NO-BREAK SPACE) "
                             "at position 14"),
    ("redis://h\t:6379", "the URL contains an invisible character U+0009 (TAB) at position 9"),
    ("redis://h\x07", "the URL contains an invisible character U+0007 (a control character) at "
                      "position 9"),
    # whitespace
    (" redis://h:6379/0", "the URL has leading or trailing whitespace"),
    ("redis://my host:6379/0", "the URL contains a space"),
    # pasted prefixes and quotes
    ("REDIS_URL=redis://h:6379/0", f"the value starts with a pasted `REDIS_URL=`: remove it, "
                                   f"{PREFIX_FIX}"),
    ("REDIS_URL = redis://h", f"the value starts with a pasted `REDIS_URL =`: remove it, "
                              f"{PREFIX_FIX}"),
    ("export REDIS_URL=redis://h", f"the value starts with a pasted `export REDIS_URL=`: remove "
                                   f"it, {PREFIX_FIX}"),
    ("redis_url=redis://h", f"the value starts with a pasted `redis_url=`: remove it, "
                            f"{PREFIX_FIX}"),
    ("redis-cli -u redis://h:6379/0", f"the value starts with a pasted `redis-cli -u`: remove "
                                      f"it, {PREFIX_FIX}"),
    ("redis-cli redis://h", f"the value starts with a pasted `redis-cli`: remove it, "
                            f"{PREFIX_FIX}"),
    ('"redis://h:6379/0"', "the URL is wrapped in quotes that became part of the value: "
                           "remove them"),
    ("'redis://h:6379/0'", "the URL is wrapped in quotes that became part of the value: "
                           "remove them"),
    # passwords that were not percent-encoded
    ("redis://:p@ss#x@h:6379/0", "the password contains `/`, `?` or `#`, which cut the URL "
                                 "short: percent-encode them (%2F, %3F, %23)"),
    ("redis://:pa#ss@h:6379/0", "the password contains `/`, `?` or `#`, which cut the URL "
                                "short: percent-encode them (%2F, %3F, %23)"),
    ("redis://:pa/ss@h:6379/0", "the password contains `/`, `?` or `#`, which cut the URL "
                                "short: percent-encode them (%2F, %3F, %23)"),
    ("redis://h:6379/0#primary", "the URL ends in a `#...` fragment, which Redis URLs do not "
                                 "have: remove it"),
    # db and port
    ("redis://h:6379/notanint", "the database index 'notanint' is not a non-negative integer "
                                "(redis-py would silently use db 0)"),
    ("redis://h:6379/-1", "the database index '-1' is not a non-negative integer (redis-py "
                          "would silently use db 0)"),
    ("redis://h:6379/0/1", "the database index '0/1' is not a non-negative integer (redis-py "
                           "would silently use db 0)"),
    ("redis://h?db=one", "the database index 'one' is not a non-negative integer (redis-py "
                         "refuses the URL)"),
    ("unix:///run/redis.sock?db=x", "the database index 'x' is not a non-negative integer "
                                    "(redis-py refuses the URL)"),
    ("redis://h:99999/0", "the port is not a number between 1 and 65535"),
    ("redis://h:65536", "the port is not a number between 1 and 65535"),
    ("redis://h:0/0", "the port is not a number between 1 and 65535"),
    ("redis://h:port/0", "the port is not a number between 1 and 65535"),
    ("redis://h:-1/0", "the port is not a number between 1 and 65535"),
    # scheme and shape
    ("localhost:6379", f"no scheme: {PREFIX_FIX.replace('begin', 'start')}"),
    ("redis.internal", f"no scheme: {PREFIX_FIX.replace('begin', 'start')}"),
    ("tcp://h:6379", f"`tcp://`: {PREFIX_FIX.replace('begin', 'start')}"),
    ("REDIS://h:6379/0", "`REDIS://` must be lower case: redis-py accepts only redis://, "
                         "rediss:// and unix://"),
    ("Rediss://h:6379/0", "`Rediss://` must be lower case: redis-py accepts only redis://, "
                          "rediss:// and unix://"),
    ("redis:/h:6379/0", "the URL must start with redis:// (with two slashes)"),
    ("unix:/tmp/redis.sock", "the URL must start with unix:// (with two slashes)"),
    ("unix://", "a unix:// URL needs a socket path"),
    ("redis://", "the URL has no host name"),
    ("redis://:pw@:6379/0", "the URL has no host name"),
    ("redis://[::1:6379/0", "the URL does not parse: Invalid IPv6 URL"),
])
def test_malformed_urls(url: str, message: str) -> None:
    t = parse_target(url, "REDIS_URL")
    assert t.problem is not None
    assert (t.problem.code, t.problem.message) == (MALFORMED, message)
    assert t.source == "REDIS_URL"


@pytest.mark.parametrize("url", [
    "https://eu1-fine-cat-12345.upstash.io",
    "https://default:AXXXtoken@eu1-fine-cat-12345.upstash.io",
    "HTTPS://h",
    "http://localhost:8080/redis",
])
def test_rest_urls_are_not_redis_urls(url: str) -> None:
    scheme = url.split(":", 1)[0].lower()
    problem = parse_target(url).problem
    assert problem is not None
    assert (problem.code, problem.message) == (
        "config.not_redis_url",
        f"{scheme}:// is an HTTP (REST) endpoint; redis-py and RQ need redis:// or rediss://")


@pytest.mark.parametrize("url", ["", "   "])
def test_empty_url_is_missing(url: str) -> None:
    problem = parse_target(url, "REDIS_URL").problem
    assert problem is not None
    assert (problem.code, problem.message) == (
        "config.missing", "the Redis URL from REDIS_URL is empty")


@pytest.mark.parametrize("url", [
    f"redis://:{SECRET}@h:6379\u2028/0",
    f"REDIS_URL=redis://:{SECRET}@h:6379/0",
    f"redis-cli -u redis://:{SECRET}@h:6379/0",
    f"'redis://:{SECRET}@h:6379/0'",
    f"redis://:{SECRET}#2@h:6379/0",
    f"redis://u:{SECRET}@h:99999/0",
    f"redis://u:{SECRET}@h/x",
    f"https://u:{SECRET}@h",
])
def test_a_problem_never_shows_the_password(url: str) -> None:
    t = parse_target(url)
    assert t.problem is not None
    assert SECRET not in t.problem.message
    assert SECRET not in t.redacted
    assert SECRET not in repr(t)
    assert SECRET not in str(t.to_dict())


# -- redaction of URLs in text -----------------------------------------------------------------
@pytest.mark.parametrize("text, redacted", [
    ("redis://u:secret@h:1/0", "redis://u:***@h:1/0"),
    ("rediss://:pw@h", "rediss://:***@h"),
    ("redis://h:6379/0", "redis://h:6379/0"),
    ("redis://user@h", "redis://user@h"),
    ("redis://u:@h", "redis://u:@h"),
    ("Error connecting to redis://:pw@h:6379/0. Connection refused.",
     "Error connecting to redis://:***@h:6379/0. Connection refused."),
    ("a redis://:pw@h b rediss://:pw2@h2 c", "a redis://:***@h b rediss://:***@h2 c"),
    # unencoded `@` / `#`: the whole password is masked, not just its head
    ("redis://:p@ss@h:6379/0", "redis://:***@h:6379/0"),
    ("redis://:p@ss#x@h:6379/0", "redis://:***@h:6379/0"),
    ("see redis://u:p@ss@h/0 now", "see redis://u:***@h/0 now"),
    ("['redis://:pw@h', 'redis://:pw2@h2']", "['redis://:***@h', 'redis://:***@h2']"),
    ("http://user:token@host/x", "http://user:***@host/x"),
])
def test_redact_url(text: str, redacted: str) -> None:
    assert redact_url(text) == redacted


# -- where the URL comes from ------------------------------------------------------------------
@pytest.mark.parametrize("cli, env, expected", [
    ("redis://cli", {"RQ_REDIS_URL": "redis://rq", "REDIS_URL": "redis://app"},
     ("redis://cli", "--url")),
    (None, {"RQ_REDIS_URL": "redis://rq", "REDIS_URL": "redis://app"},
     ("redis://rq", "RQ_REDIS_URL")),
    (None, {"REDIS_URL": "redis://app"}, ("redis://app", "REDIS_URL")),
    (None, {"RQ_REDIS_URL": "", "REDIS_URL": "redis://app"}, ("redis://app", "REDIS_URL")),
    (None, {}, (DEFAULT_URL, "default")),
    (None, {"REDIS_HOST": "h"}, (DEFAULT_URL, "default")),
    # an explicit --url "" is what the operator typed: it is diagnosed (config.missing)
    ("", {"REDIS_URL": "redis://app"}, ("", "--url")),
])
def test_resolve_url_precedence(cli: str | None, env: dict[str, str],
                                expected: tuple[str, str]) -> None:
    assert resolve_url(cli, env) == expected


def test_default_url() -> None:
    t = parse_target(*resolve_url(None, {}))
    assert (t.problem, t.host, t.port, t.db, t.source) == (None, "localhost", 6379, 0, "default")


def test_target_is_frozen() -> None:
    t = parse_target("redis://h")
    with pytest.raises(AttributeError):
        t.host = "other"  # type: ignore[misc]
    assert isinstance(t, Target)


def test_an_unencoded_at_in_the_password_is_read_as_redis_py_reads_it() -> None:
    # redis-py (and so RQ) splits the user info at the last `@`: the URL works in the app.
    t = parse_target(f"redis://:{SECRET}@2@h:6379/0")
    assert t.problem is None
    assert (t.password, t.host) == (f"{SECRET}@2", "h")
    assert SECRET not in t.redacted


@pytest.mark.parametrize("password", ["p@ss:w/rd#1", "Xq@Zk9/Yw", "a/b@c", "x@y?z=1@w"])
def test_an_unencoded_password_is_masked_whole_wherever_it_cuts_the_url(password: str) -> None:
    url = f"redis://sp:{password}@127.0.0.1:6379/0"
    t = parse_target(url)
    shown = t.redacted + " " + redact_url(f"from {url} and more")
    # Not the password, nor any 4 characters of it past its first `@`.
    tail = password.split("@", 1)[1]
    assert all(tail[i:i + 4] not in shown for i in range(max(1, len(tail) - 3))), shown
    assert password in t.secrets


def test_a_password_with_a_space_is_masked_although_the_url_is_malformed() -> None:
    t = parse_target(f"redis://:{SECRET} x@h:6379/0")
    assert t.problem is not None
    assert SECRET not in t.redacted
    assert f"{SECRET} x" in t.secrets
