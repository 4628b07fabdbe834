"""Command-line settings shared by the relay and the digest: secrets from the environment or a
file (never from flags, which show in `ps`), and the logging set-up that keeps them out of logs."""
from __future__ import annotations

import logging
import os
import sys

EXIT_CONFIG = 2


class SettingError(Exception):
    """A setting is missing or unusable: the program exits 2 with this one line."""


def read_secret(name: str) -> str:
    """The secret in env `name`, else in the file named by env `name`_FILE (trailing newline
    stripped). The message of a SettingError names the variable, never the value."""
    value = os.environ.get(name)
    file_var = f"{name}_FILE"
    if value:
        return value.strip()
    path = os.environ.get(file_var)
    if not path:
        raise SettingError(f"{name}: not set (set {name} or {file_var})")
    try:
        with open(path, encoding="utf-8") as file:
            value = file.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise SettingError(f"{file_var}={path}: cannot read: {reason}") from None
    if not value:
        raise SettingError(f"{file_var}={path}: file is empty")
    return value


def setup_logging(level: str) -> None:
    """Our loggers and slack-sdk's at `level`; the root logger keeps its own level so other
    libraries' DEBUG output (urllib, botocore) is never switched on by us."""
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("polo", "slack_sdk"):
        logging.getLogger(name).setLevel(level.upper())


def fail(program: str, message: str) -> int:
    print(f"{program}: config error: {message}", file=sys.stderr)
    return EXIT_CONFIG
