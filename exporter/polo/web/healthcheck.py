"""`python -m polo.web.healthcheck [URL]`: the container HEALTHCHECK, with no curl in slim images.

Exit 0 when URL (default $POLO_HEALTHCHECK_URL, else the exporter's /healthz on loopback)
answers 200, else 1 with the reason on stderr. A loopback self-check over TLS does not verify
the certificate: it asks the process in its own container, whose name the certificate may not carry.
"""
from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:19881/healthz"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("POLO_HEALTHCHECK_URL", DEFAULT_URL)
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    except (OSError, ValueError) as err:
        print(f"unhealthy: {url}: {err}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
