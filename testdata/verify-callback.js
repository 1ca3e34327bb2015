// Verifies a callback captured by a Go test with the reference
// standardwebhooks package. Reads {secret, headers, body} as JSON on
// stdin and prints "verified" or the library's error.
const { Webhook } = require("standardwebhooks");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { secret, headers, body } = JSON.parse(input);
  try {
    new Webhook(secret).verify(body, headers);
    console.log("verified");
  } catch (err) {
    console.log("rejected: " + err.message);
  }
});
