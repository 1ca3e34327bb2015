package manifest

import "time"

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
	// Name is the URL segment: 1 to 64 letters, digits, '-' and '_',
	// unique among the webhooks.
	Name string `json:"name" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=64"`
	// Routine is the id of the autonomous routine the webhook triggers.
	// Required.
	Routine string `json:"routine"`
	// Secret is the shared signing secret: a whsec_ secret for the
	// standard scheme, any non-blank string for the others. Required.
	Secret string `json:"secret"`
	// Signature is the scheme: standard (default), hmac-sha256 or stripe.
	Signature string `json:"signature,omitempty" jsonschema:"enum=standard,enum=hmac-sha256,enum=stripe"`
	// Header names the header that carries the signature: required for
	// hmac-sha256 (for example X-Hub-Signature-256), optional for stripe
	// (default Stripe-Signature; Persona sends Persona-Signature), and
	// rejected for standard.
	Header string `json:"header,omitempty"`
	// Prefix is stripped from the header value before decoding, for
	// example "sha256=". hmac-sha256 only.
	Prefix string `json:"prefix,omitempty"`
	// Encoding of the hmac-sha256 signature: hex (default for that
	// scheme) or base64. hmac-sha256 only.
	Encoding string `json:"encoding,omitempty" jsonschema:"enum=hex,enum=base64"`
	// Tolerance is how far a signed timestamp may lie from now, in either
	// direction: standard and stripe only, because hmac-sha256 signs no
	// timestamp. More than 0, at most 1h. Default 5m.
	Tolerance Duration `json:"tolerance,omitempty"`
	// Input selects the routine's input: "body" (default) for the whole
	// body, or a JSON pointer (RFC 6901) into it such as "/data/object".
	Input string `json:"input,omitempty"`
	// CallbackURL receives the run's result: an absolute http or https
	// URL whose host the routine's callback_url_allowlist allows, when it
	// has one. Default: the routine's callback_url.
	CallbackURL string `json:"callback_url,omitempty"`
}

// Encodings of the hmac-sha256 signature, as [Webhook.Encoding] names them.
const (
	EncodingHex    = "hex"
	EncodingBase64 = "base64"
)

// InputBody is the [Webhook.Input] that passes the whole body to the
// routine.
const InputBody = "body"

// Bounds of [Webhook.Tolerance].
const (
	// DefaultWebhookTolerance applies to the standard and stripe schemes
	// when tolerance is unset.
	DefaultWebhookTolerance = 5 * time.Minute
	// MaxWebhookTolerance is the largest tolerance a manifest may set.
	MaxWebhookTolerance = time.Hour
)

// Webhook returns the inbound webhook with the given name, compared
// case-sensitively as URL paths are, or nil.
func (m *Manifest) Webhook(name string) *Webhook {
	for i := range m.AgentConfig.Webhooks {
		if m.AgentConfig.Webhooks[i].Name == name {
			return &m.AgentConfig.Webhooks[i]
		}
	}
	return nil
}

// applyDefaults fills the unset fields of w that have a default for its
// scheme.
func (w *Webhook) applyDefaults() {
	if w.Signature == "" {
		w.Signature = SchemeStandard
	}
	if w.Input == "" {
		w.Input = InputBody
	}
	switch w.Signature {
	case SchemeHMACSHA256:
		if w.Encoding == "" {
			w.Encoding = EncodingHex
		}
	case SchemeStandard, SchemeStripe:
		if w.Tolerance == 0 {
			w.Tolerance = Duration(DefaultWebhookTolerance)
		}
	}
}
