"""The one way to name an AWS failure in a label or a log line: the AWS error code, or the kind
of transport failure (ReadTimeout, EndpointConnectionError, ...). It reads botocore's
ClientError by its parsed `response`, so the pure core can use it without importing botocore."""
from __future__ import annotations


class CodedError(Exception):
    """A failure that already knows its short code (e.g. a role that cannot be assumed)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def error_code(exc: BaseException) -> str:
    """A short, label-safe reason: the AWS error code, or the kind of transport failure."""
    if isinstance(exc, CodedError):
        return exc.code
    response = getattr(exc, "response", None)  # botocore's ClientError: the parsed error reply
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code") or type(exc).__name__
    name = type(exc).__name__
    return name.removesuffix("Error") if name.endswith("TimeoutError") else name
