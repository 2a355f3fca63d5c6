# Command-line texts (English).

cli-heading-usage = Usage:
cli-heading-commands = Commands:
cli-heading-arguments = Arguments:
cli-heading-options = Options:
cli-help = Print help
cli-lang = Language of messages and help: es (default) or en; LANG is read when absent
cli-json = Print JSON instead of text
cli-database-url = Database URL, such as sqlite://cps.db (created and migrated if missing)
cli-serve = Run the CPS HTTP server
cli-serve-listen = Address and port to listen on
cli-serve-catalog = Service catalog file (TOML) that replaces the built-in catalog
cli-serve-demo = Create a demo client once, credit it 1,000,000.00 VES and print its credentials
cli-serve-nonce-window-secs = How far, in seconds, an api-nonce may be from the server clock
cli-serve-biller-timeout-ms = How long, in milliseconds, to wait for a biller before a payment stays pending
cli-migrate = Create or update the database schema, then exit
cli-client = Manage clients: create, credit, list
cli-client-create = Create a client and print its api-key and secret (shown only once)
cli-client-create-name = Client name, for operators
cli-client-credit = Credit a client's float through the ledger
cli-client-credit-api-key = The client's api-key
cli-client-credit-amount = Amount in VES with at most 2 decimals, such as 1500.50
cli-client-list = List clients with their float and reserved amounts
cli-call = Send a signed request to a CPS server, as an integrator
cli-call-pay = Pay a service: POST /cps/v2/operation/use/pay
cli-call-balance = Query a subscriber's balance: GET /cps/v2/operation/get/balance
cli-call-services = List the services: GET /cps/v2/list/basic_services
cli-call-number = Subscriber number or account (numberService)
cli-call-service = Service id (idTypeService), such as 57 for MOVISTAR_PREPAGO
cli-call-amount = Amount in VES, such as 10 or 10.50
cli-call-reference = Your unique id for this payment, which makes retries safe
cli-call-can-get-balance = List only services whose balance can (true) or cannot be queried
cli-call-url = Base URL of the CPS server
cli-call-api-key = Your api-key
cli-call-api-secret = Your secret, used to sign; it is never sent
cli-ledger = Check the ledger
cli-ledger-check = Verify that balances sum to zero and match the postings
cli-failed = Error: { $cause }
cli-migrated = Database ready: { $url }
cli-serve-listening = CPS listening on { $url } (Ctrl-C stops it)
cli-demo-client =
    Demo client (float { $float } VES):
      CPS_API_KEY={ $apiKey }
      CPS_API_SECRET={ $secret }
cli-client-created =
    Client "{ $name }" created ({ $id }). Save the secret now: it is not shown again.
      api-key: { $apiKey }
      secret:  { $secret }
cli-client-credited = Credited { $amount } VES. Float now: { $float } VES.
cli-invalid-amount = Invalid amount "{ $amount }": use a number greater than zero with at most 2 decimals and a point, such as 1500.50.
cli-unknown-api-key = No client has the api-key { $apiKey }. Run cps client list to see the keys.
cli-client-list-empty = There are no clients yet. Create one with cps client create --name NAME.
cli-enabled = enabled
cli-disabled = disabled
cli-ledger-consistent = Ledger consistent: balances sum to zero and match the postings.
cli-ledger-inconsistent = Ledger INCONSISTENT: balances sum to { $sum }; accounts that differ from their postings: [{ $mismatched }]; negative client accounts: [{ $negative }].
cli-version = Print the version
cli-column-id = id
cli-column-api-key = api-key
cli-column-name = name
cli-column-float = float
cli-column-reserved = reserved
cli-column-state = state
