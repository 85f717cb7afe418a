"""Validation of everything a procedure puts into a remote command line: IP addresses, interface names,
resource and host names, MySQL binlog coordinates, option-file paths.

Commands are argv lists and get quoted by the runner, but values are still checked against strict patterns
before they reach a plan, so that a typo in hosts.yaml or an argument is refused with a clear message
instead of becoming an odd command on a production host.
"""

from __future__ import annotations

import ipaddress
import re

INTERFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$")
RESOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
BINLOG_FILE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
PATH_RE = re.compile(r"^/[A-Za-z0-9_./@+-]{0,255}$")
SQL_IDENT_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class ValidationError(ValueError):
    """A value that may not go into a command; the message names the value and the rule."""


def _match(pattern: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value) or ".." in value:
        raise ValidationError(f"{what} {value!r} is not valid (allowed: {pattern.pattern})")
    return value


def interface_name(value: object) -> str:
    return _match(INTERFACE_RE, value, "interface name")


def resource_name(value: object) -> str:
    return _match(RESOURCE_RE, value, "resource name")


def host_name(value: object) -> str:
    return _match(HOST_NAME_RE, value, "host name")


def binlog_file(value: object) -> str:
    return _match(BINLOG_FILE_RE, value, "binlog file name")


def absolute_path(value: object) -> str:
    return _match(PATH_RE, value, "path")


def sql_identifier(value: object) -> str:
    return _match(SQL_IDENT_RE, value, "SQL identifier")


def binlog_position(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or len(text) > 20:
        raise ValidationError(f"binlog position {value!r} is not a non-negative integer")
    return int(text)


def ip_address(value: object) -> str:
    """An IPv4 or IPv6 address without prefix length, normalised."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError as exc:
        raise ValidationError(f"IP address {value!r} is not valid: {exc}") from None


def ip_address_with_optional_prefix(value: object) -> str:
    """'10.0.0.100' or '10.0.0.100/24' → the address alone (the VIP in hosts.yaml may carry a prefix)."""
    text = str(value).strip()
    try:
        return str(ipaddress.ip_interface(text).ip)
    except ValueError as exc:
        raise ValidationError(f"IP address {value!r} is not valid: {exc}") from None
