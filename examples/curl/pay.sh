#!/bin/sh
# Pays a service and queries a balance with curl and openssl.
# Usage: CPS_URL=http://127.0.0.1:4004 CPS_API_KEY=... CPS_API_SECRET=... sh pay.sh
set -eu

: "${CPS_URL:?set CPS_URL to the API base URL, such as http://127.0.0.1:4004}"
: "${CPS_API_KEY:?set CPS_API_KEY to your api-key}"
: "${CPS_API_SECRET:?set CPS_API_SECRET to your secret}"

# Lowercase hex HMAC-SHA384 of $1, keyed with the secret. openssl prints
# "SHA2-384(stdin)= HEX" (3.x) or "(stdin)= HEX" (1.1); keep only HEX.
sign() {
    printf '%s' "$1" | openssl dgst -sha384 -hmac "$CPS_API_SECRET" | sed 's/^.*= //'
}

# Unix time in milliseconds. GNU date prints them with %3N; BSD and macOS
# date print a literal "3N" instead, so they fall back to whole seconds.
nonce() {
    milliseconds=$(date +%s%3N)
    case $milliseconds in
        *N) echo "$(date +%s)000" ;;
        *) echo "$milliseconds" ;;
    esac
}

# Sends one signed request: METHOD PATH QUERY PAYLOAD, where PAYLOAD is the
# body of a POST or the query as a JSON object for a GET. Prints the status
# and the body; fails unless the status is 200.
call() {
    method=$1 path=$2 query=$3 payload=$4
    request_nonce=$(nonce)
    signature=$(sign "$path$request_nonce$payload")
    url="$CPS_URL$path${query:+?$query}"
    if [ "$method" = POST ]; then
        set -- --data-binary "$payload" -H 'content-type: application/json'
    else
        set --
    fi
    # The status goes on a last line of its own, after the body.
    output=$(curl -sS -w '\n%{http_code}' -X "$method" "$url" \
        -H "api-key: $CPS_API_KEY" \
        -H "api-nonce: $request_nonce" \
        -H "api-signature: $signature" \
        "$@")
    status=$(printf '%s\n' "$output" | tail -n 1)
    echo "HTTP $status"
    printf '%s\n' "$output" | sed '$d'
    [ "$status" = 200 ]
}

# Pay 10.00 VES of Movistar Prepago. The body is signed exactly as sent. The
# reference is your own id of the payment: keep it, and resend the same body
# with it after a lost response, so the payment is made only once.
reference="order-$(date +%s)"
call POST /cps/v2/operation/use/pay "" \
    '{"numberService":"04243675525","idTypeService":57,"amount":10,"reference":"'"$reference"'"}'

# Ask what a Digitel landline owes. The query is signed as a JSON object
# with the parameters in URL order.
call GET /cps/v2/operation/get/balance "numberService=02123457654&idTypeService=63" \
    '{"numberService":"02123457654","idTypeService":"63"}'
