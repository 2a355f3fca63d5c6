// Pays a service and queries a balance with Node.js 18 or newer, using only
// its built-in modules.
// Usage: CPS_URL=http://127.0.0.1:4004 CPS_API_KEY=... CPS_API_SECRET=... node pay.mjs
import { createHmac } from "node:crypto";

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`set ${name} (CPS_URL, CPS_API_KEY and CPS_API_SECRET are required)`);
  }
  return value;
}

const baseUrl = requireEnv("CPS_URL");
const apiKey = requireEnv("CPS_API_KEY");
const secret = requireEnv("CPS_API_SECRET");

// Unix time in milliseconds, never repeated within this process.
let lastNonce = 0;
function nextNonce() {
  lastNonce = Math.max(Date.now(), lastNonce + 1);
  return String(lastNonce);
}

function sign(path, nonce, payload) {
  return createHmac("sha384", secret).update(path + nonce + payload).digest("hex");
}

// Sends one signed request. PAYLOAD is the body of a POST, or for a GET the
// query parameters as JSON.stringify writes them.
async function call(method, path, { body, params } = {}) {
  const nonce = nextNonce();
  const payload = body !== undefined ? JSON.stringify(body) : JSON.stringify(params ?? {});
  const query = params ? `?${new URLSearchParams(params)}` : "";
  const headers = {
    "api-key": apiKey,
    "api-nonce": nonce,
    "api-signature": sign(path, nonce, payload),
  };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
  }
  const response = await fetch(baseUrl + path + query, {
    method,
    headers,
    body: body !== undefined ? payload : undefined,
  });
  console.log(`HTTP ${response.status}`);
  console.log(await response.text());
  if (response.status !== 200) {
    process.exitCode = 1;
  }
}

// Pay 10.00 VES of Movistar Prepago. The signature covers the exact string
// sent. The reference is your own id of the payment: keep it, and resend the
// same body with it after a lost response, so the payment is made only once.
const reference = `order-${Date.now()}`;
await call("POST", "/cps/v2/operation/use/pay", {
  body: { numberService: "04243675525", idTypeService: 57, amount: 10, reference },
});

// Ask what a Digitel landline owes. JSON.stringify keeps the parameters in
// URL order and writes 63 as a number; the server accepts that form.
await call("GET", "/cps/v2/operation/get/balance", {
  params: { numberService: "02123457654", idTypeService: 63 },
});
