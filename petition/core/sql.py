"""SQL functions both databases answer alike: an address in a network, lower() for all scripts."""

import functools
import ipaddress
import re

from sqlalchemy import Boolean, String, case, cast, false, func
from sqlalchemy.dialects.postgresql import CIDR, INET
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

# --- addresses ---------------------------------------------------------------------------------

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX = "[0-9a-f]{1,4}"
# Exactly the spellings both PostgreSQL's inet and Python's ipaddress read (checked by fuzzing
# both): PostgreSQL has no "try cast" before version 16, and one stored value it cannot read
# would fail the whole search. Anything else (a scope id aside, see below) never matches.
ADDRESS_RE = "^({v4}|{v6})$".format(
    v4=rf"{_OCTET}(\.{_OCTET}){{3}}",
    v6="|".join(
        [
            rf"({_HEX}:){{7}}{_HEX}",
            rf"({_HEX}:){{1,7}}:",
            rf"({_HEX}:){{1,6}}:{_HEX}",
            rf"({_HEX}:){{1,5}}(:{_HEX}){{1,2}}",
            rf"({_HEX}:){{1,4}}(:{_HEX}){{1,3}}",
            rf"({_HEX}:){{1,3}}(:{_HEX}){{1,4}}",
            rf"({_HEX}:){{1,2}}(:{_HEX}){{1,5}}",
            rf"{_HEX}:(:{_HEX}){{1,6}}",
            rf":((:{_HEX}){{1,7}}|:)",
        ]
    ),
)
# A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d; it is searched as a.b.c.d.
MAPPED_RE = r"^::ffff:((\d+\.){3}\d+)$"
_ADDRESS = re.compile(ADDRESS_RE, re.IGNORECASE)
MAPPED = re.compile(MAPPED_RE, re.IGNORECASE)


def _address(text):
    """The stored text as an address the way the SQL reads it, or None."""
    if not text:
        return None
    # A link-local peer comes with its interface ("fe80::1%eth0"); the zone is not searched.
    text = MAPPED.sub(r"\1", text.split("%", 1)[0])
    if not _ADDRESS.match(text):
        return None
    return ipaddress.ip_address(text)


@functools.lru_cache(maxsize=64)
def _network(text):
    return ipaddress.ip_network(text)


def address_in_network(ip, network):
    """1 if the stored address `ip` lies in `network` (CIDR text), else 0: SQLite's function."""
    address = _address(ip)
    if address is None or not network:
        return 0
    try:
        return int(address in _network(network))
    except ValueError:
        return 0


class ip_in_network(GenericFunction):  # noqa: N801  (SQL function names are lower case)
    """ip_in_network(ip, 'cidr'): true when the stored address lies in the range."""

    type = Boolean()
    inherit_cache = True


@compiles(ip_in_network, "postgresql")
def _ip_in_network_postgresql(element, compiler, **kw):
    ip, network = list(element.clauses)
    text = func.regexp_replace(func.split_part(ip, "%", 1), MAPPED_RE, r"\1", "i")
    # CASE evaluates the cast only for rows the pattern let through.
    expression = case(
        (text.op("~*")(ADDRESS_RE), cast(text, INET).op("<<=")(cast(network, CIDR))),
        else_=false(),
    )
    return compiler.process(expression, **kw)


class unicode_lower(GenericFunction):  # noqa: N801
    """lower() for every script: PostgreSQL's own; on SQLite a registered Python function."""

    type = String()
    inherit_cache = True


@compiles(unicode_lower, "postgresql")
def _unicode_lower_postgresql(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


def register_sqlite_functions(dbapi_connection):
    """Give a SQLite connection the Python side of the functions above."""
    dbapi_connection.create_function("ip_in_network", 2, address_in_network, deterministic=True)
    dbapi_connection.create_function(
        "unicode_lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
    )
