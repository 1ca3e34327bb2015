package manifest

// Signature schemes of inbound webhooks.
const (
	// SchemeStandard is Standard Webhooks: webhook-id, webhook-timestamp
	// and webhook-signature headers, a whsec_ secret.
	SchemeStandard = "standard"
	// SchemeHMACSHA256 is an HMAC-SHA256 of the raw body in one header,
	// hex or base64, with an optional prefix such as "sha256=".
	SchemeHMACSHA256 = "hmac-sha256"
	// SchemeStripe is "t=<unix>,v1=<hex>" over "{t}.{body}".
	SchemeStripe = "stripe"
)

// Webhook is an inbound entry point: POST /webhooks/{name} starts a run of
// an autonomous routine, authenticated by an HMAC signature over the raw
// body.
type Webhook struct {
	// Name is the URL segment: letters, digits, '-' and '_'.
	Name string `json:"name" jsonschema:"pattern=^[A-Za-z0-9_-]{1,64}$"`
	// Routine is the id of the autonomous routine the webhook triggers.
	Routine string `json:"routine"`
	// Secret is the shared signing secret: a whsec_ secret for the
	// standard scheme, any non-empty string for the others.
	Secret string `json:"secret"`
	// Signature is the scheme: standard (default), hmac-sha256 or stripe.
	Signature string `json:"signature,omitempty" jsonschema:"enum=standard,enum=hmac-sha256,enum=stripe"`
	// Header holds the signature of the hmac-sha256 scheme, for example
	// X-Hub-Signature-256. Required for that scheme.
	Header string `json:"header,omitempty"`
	// Prefix is stripped from the header value before decoding, for
	// example "sha256=". hmac-sha256 only.
	Prefix string `json:"prefix,omitempty"`
	// Encoding of the hmac-sha256 signature: hex (default) or base64.
	Encoding string `json:"encoding,omitempty" jsonschema:"enum=hex,enum=base64"`
	// Tolerance is how far a signed timestamp may lie from now, in either
	// direction, for the schemes that sign one. Default 5m.
	Tolerance Duration `json:"tolerance,omitempty"`
	// Input selects the routine's input: "body" (default) for the whole
	// body, or a JSON pointer into it such as "/data/object".
	Input string `json:"input,omitempty"`
	// CallbackURL receives the run's result; default: the routine's
	// callback_url.
	CallbackURL string `json:"callback_url,omitempty"`
}
