"""Schemathesis hooks that sign every request as a CPS client would.

The signature is computed by a `requests` auth object, which runs after the
body and URL are final, so it covers the exact bytes sent. Credentials come
from CPS_API_KEY and CPS_API_SECRET, as `cps serve --demo` prints them.
"""

import hashlib
import hmac
import json
import os
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import requests
import schemathesis

API_KEY = os.environ["CPS_API_KEY"]
API_SECRET = os.environ["CPS_API_SECRET"].encode()

_nonce_lock = threading.Lock()
_last_nonce = 0


def next_nonce() -> str:
    """Unix milliseconds, strictly increasing, so no two requests share a nonce."""
    global _last_nonce
    with _nonce_lock:
        _last_nonce = max(int(time.time() * 1000), _last_nonce + 1)
        return str(_last_nonce)


def query_payload(query: str) -> str:
    """Return the query as JSON.stringify writes an object of strings, in URL order."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    return json.dumps(params, separators=(",", ":"), ensure_ascii=False)


class CpsSignature(requests.auth.AuthBase):
    """Adds api-key, api-nonce and api-signature to a prepared request."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url)
        nonce = next_nonce()
        if request.method in ("GET", "HEAD"):
            payload = query_payload(url.query).encode()
        elif isinstance(request.body, str):
            payload = request.body.encode()
        else:
            payload = request.body or b""
        string_to_sign = url.path.encode() + nonce.encode() + payload
        signature = hmac.new(API_SECRET, string_to_sign, hashlib.sha384).hexdigest()
        request.headers["api-key"] = API_KEY
        request.headers["api-nonce"] = nonce
        request.headers["api-signature"] = signature
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = CpsSignature()
