"""DSNs (SQLAlchemy URLs) carry passwords: build them encoded, check them, keep them out of errors.

A password with ``@``, ``:``, ``/`` or ``%`` in it, written into a URL as is, is split by the URL
parser, and the drivers then quote the pieces in their errors ("failed to resolve host 'ss'").
So :func:`url` URL-encodes the user and password, :func:`problem` says what is wrong with a
DSN without repeating it, and :func:`redact` removes a DSN and its password from a driver's
message before anything shows it.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

#: Shown instead of a DSN or a password.
MASK = "***"


def url(scheme: str, user: str, password: str, host: str, port: int, database: str) -> str:
    """``scheme://user:password@host:port/database`` with user and password URL-encoded."""
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{database}"


def problem(dsn: str) -> str | None:
    """Why ``dsn`` is not a usable URL (never quoting it), or None."""
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError:
        return "not a valid URL (URL-encode @ : / % in the password)"
    if not parts.scheme or not parts.hostname:
        return "not a URL of the form scheme://user:password@host:port/database"
    userinfo = parts.netloc.rpartition("@")[0]
    if "@" in userinfo or userinfo.count(":") > 1:
        # Python reads it up to the last @, SQLAlchemy and libpq up to the first: ambiguous.
        return "the user or password holds @ or : (URL-encode them: %40, %3A)"
    if port is None and parts.netloc.endswith(":"):
        return "no port after the colon"
    return None


def password(dsn: str) -> str | None:
    """The password part of ``dsn`` as written (still encoded), read without a URL parser."""
    _, sep, rest = dsn.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    if not sep or not at:
        return None
    _, colon, secret = userinfo.partition(":")
    return secret if colon and secret else None


def redact(text: str, *dsns: str) -> str:
    """``text`` with each DSN and its password (encoded and decoded) replaced by :data:`MASK`."""
    secrets = set()
    for dsn in dsns:
        if not dsn:
            continue
        secrets.add(dsn)
        written = password(dsn)
        if written:
            secrets.update({written, unquote(written)})
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
