"""Pays a service and queries a balance with Python 3's standard library.

Usage: CPS_URL=http://127.0.0.1:4004 CPS_API_KEY=... CPS_API_SECRET=... python3 pay.py
"""

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def require_env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"set {name} (CPS_URL, CPS_API_KEY and CPS_API_SECRET are required)")
    return value


BASE_URL = require_env("CPS_URL")
API_KEY = require_env("CPS_API_KEY")
SECRET = require_env("CPS_API_SECRET").encode()

_last_nonce = 0


def next_nonce():
    """Unix time in milliseconds, never repeated within this process."""
    global _last_nonce
    _last_nonce = max(int(time.time() * 1000), _last_nonce + 1)
    return str(_last_nonce)


def to_json(value):
    """JSON as JavaScript's JSON.stringify writes it: no spaces, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def call(method, path, body=None, params=None):
    """Sends one signed request and returns its status.

    The payload is the body bytes of a POST, or for a GET the query
    parameters as a JSON object in URL order.
    """
    nonce = next_nonce()
    payload = to_json(body) if body is not None else to_json(params or {})
    signature = hmac.new(SECRET, path.encode() + nonce.encode() + payload, hashlib.sha384).hexdigest()
    url = BASE_URL + path + ("?" + urllib.parse.urlencode(params) if params else "")
    headers = {"api-key": API_KEY, "api-nonce": nonce, "api-signature": signature}
    if body is not None:
        headers["content-type"] = "application/json"

    request = urllib.request.Request(url, data=payload if body is not None else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    print(f"HTTP {status}")
    print(text)
    return status


# Pay 10.00 VES of Movistar Prepago. The signature covers the exact bytes sent.
# The reference is your own id of the payment: keep it, and resend the same
# body with it after a lost response, so the payment is made only once.
reference = f"order-{int(time.time() * 1000)}"
payment = {"numberService": "04243675525", "idTypeService": 57, "amount": 10, "reference": reference}
paid = call("POST", "/cps/v2/operation/use/pay", body=payment)

# Ask what a Digitel landline owes. The values are strings, as in the URL.
queried = call("GET", "/cps/v2/operation/get/balance", params={"numberService": "02123457654", "idTypeService": "63"})

sys.exit(0 if paid == 200 and queried == 200 else 1)
