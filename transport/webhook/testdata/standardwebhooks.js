// Signs and verifies with the standardwebhooks npm package, as an
// independent implementation for the Go tests. It reads a JSON request
// from stdin:
//   {"secret": "whsec_...", "cases": [
//     {"op": "sign", "id": "...", "timestamp": 1700000000, "body": "<base64>"},
//     {"op": "verify", "id": "...", "timestamp": "1700000000",
//      "signature": "v1,...", "body": "<base64>"}]}
// and writes one JSON result per case to stdout:
//   {"signature": "v1,..."} for sign, {"ok": true} or
//   {"ok": false, "error": "..."} for verify.
"use strict";
const { Webhook } = require("standardwebhooks");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const webhook = new Webhook(request.secret);
  const results = request.cases.map((c) => {
    const body = Buffer.from(c.body, "base64");
    if (c.op === "sign") {
      return { signature: webhook.sign(c.id, new Date(c.timestamp * 1000), body) };
    }
    try {
      webhook.verify(
        body,
        {
          "webhook-id": c.id,
          "webhook-timestamp": c.timestamp,
          "webhook-signature": c.signature,
        },
        { jsonParse: false },
      );
      return { ok: true };
    } catch (err) {
      return { ok: false, error: String(err.message) };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
