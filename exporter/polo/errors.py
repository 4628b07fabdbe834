"""The one way to name an AWS failure in a label or a log line: the AWS error code, or the kind
of transport failure (ReadTimeout, EndpointConnectionError, ...)."""
from __future__ import annotations

from botocore.exceptions import ClientError


class CodedError(Exception):
    """A failure that already knows its short code (e.g. a role that cannot be assumed)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def error_code(exc: BaseException) -> str:
    """A short, label-safe reason: the AWS error code, or the kind of transport failure."""
    if isinstance(exc, CodedError):
        return exc.code
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") or "ClientError"
    name = type(exc).__name__
    return name.removesuffix("Error") if name.endswith("TimeoutError") else name
