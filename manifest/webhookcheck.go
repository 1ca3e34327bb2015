package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// routineInfo is the part of one routine that the webhook checks read.
type routineInfo struct {
	// autonomous is the routine's autonomous block, or nil.
	autonomous map[string]any
	// conversational is true when the routine has no autonomous key. It is
	// false for an autonomous key of the wrong type, which the schema
	// reports.
	conversational bool
}

// routineIndex maps the routine ids of context.routines to what the
// webhook checks need. The first routine with an id wins, because a
// duplicate id is reported by the routine checks. The second result is
// false when an entry is not a routine, such as a routine file that
// failed to load, so an id missing from the index may still exist.
func (c *checker) routineIndex() (map[string]routineInfo, bool) {
	v, _, _ := c.t.lookup("agent_config", "context", "routines")
	list, _ := v.([]any)
	index := map[string]routineInfo{}
	complete := true
	for _, item := range list {
		r, ok := item.(map[string]any)
		if !ok {
			complete = false
			continue
		}
		id, ok := r["id"].(string)
		if !ok {
			complete = false
			continue
		}
		if _, seen := index[id]; seen {
			continue
		}
		auto, hasAuto := r["autonomous"]
		block, _ := auto.(map[string]any)
		index[id] = routineInfo{autonomous: block, conversational: !hasAuto}
	}
	return index, complete
}

// webhooks checks agent_config.webhooks: unique names, then each entry.
func (c *checker) webhooks() {
	v, ptr, _ := c.t.lookup("agent_config", "webhooks")
	list, _ := v.([]any)
	if len(list) == 0 {
		return
	}
	routines, complete := c.routineIndex()
	firstName := map[string]string{} // webhook name → pointer of its first use
	for i, item := range list {
		w, ok := item.(map[string]any)
		if !ok {
			continue
		}
		itemPtr := ptr + "/" + strconv.Itoa(i)
		if name, ok := w["name"].(string); ok {
			if prev, dup := firstName[name]; dup {
				c.report(itemPtr+"/name", "duplicate webhook name %q (first declared at %s)", name, c.where(prev))
			} else {
				firstName[name] = itemPtr + "/name"
			}
		}
		c.webhook(itemPtr, w, routines, complete)
	}
}

// webhook checks one entry of agent_config.webhooks at ptr.
func (c *checker) webhook(ptr string, w map[string]any, routines map[string]routineInfo, complete bool) {
	var auto map[string]any
	routineID, hasRoutine := w["routine"].(string)
	if hasRoutine {
		auto = c.webhookRoutine(ptr+"/routine", routineID, routines, complete)
	}

	// The schema reports an unknown scheme, so the checks that depend on
	// the scheme skip it.
	scheme := SchemeStandard
	if s, ok := w["signature"]; ok {
		scheme, _ = s.(string)
	}
	known := scheme == SchemeStandard || scheme == SchemeHMACSHA256 || scheme == SchemeStripe

	if s, ok := w["secret"].(string); ok {
		switch {
		case strings.TrimSpace(s) == "":
			c.report(ptr+"/secret", "must not be empty or only whitespace")
		case scheme == SchemeStandard:
			c.whsec(ptr+"/secret", s)
		}
	}
	switch {
	case scheme == SchemeHMACSHA256:
		c.hmacKeys(ptr, w)
	case known:
		// The stripe scheme reads its header from a configurable name
		// (Stripe-Signature by default, Persona-Signature for Persona).
		keys := []string{"prefix", "encoding"}
		if scheme != SchemeStripe {
			keys = append(keys, "header")
		} else if h, ok := w["header"].(string); ok && !validHeaderName(h) {
			c.report(ptr+"/header", "is not a valid HTTP header name")
		}
		for _, key := range keys {
			if _, ok := w[key]; ok {
				c.report(ptr+"/"+key, "applies only to signature hmac-sha256; remove it, or set signature: hmac-sha256")
			}
		}
	}
	if known {
		c.tolerance(ptr, w, scheme)
	}

	if s, ok := w["input"].(string); ok && s != InputBody {
		if msg := jsonPointerProblem(s); msg != "" {
			c.report(ptr+"/input", "%s", msg)
		}
	}

	raw, ok := w["callback_url"].(string)
	switch {
	case !ok:
	case auto != nil:
		c.callbackURL(ptr+"/callback_url", raw, auto, fmt.Sprintf("the callback_url_allowlist of routine %q", routineID))
	default:
		if _, err := checkHTTPURL(raw); err != nil {
			c.report(ptr+"/callback_url", "%v", err)
		}
	}
}

// webhookRoutine checks that id names an autonomous routine and returns
// its autonomous block, or nil.
func (c *checker) webhookRoutine(ptr, id string, routines map[string]routineInfo, complete bool) map[string]any {
	if strings.TrimSpace(id) == "" {
		c.report(ptr, "must not be empty or only whitespace")
		return nil
	}
	info, found := routines[id]
	switch {
	case !found && complete:
		var auto []string
		for _, rid := range sortedKeys(routines) {
			if routines[rid].autonomous != nil {
				auto = append(auto, rid)
			}
		}
		if len(auto) == 0 {
			c.report(ptr, "no routine with id %q in context.routines; add an autonomous routine for the webhook to start", id)
		} else {
			c.report(ptr, "no routine with id %q in context.routines; name an autonomous routine: %s", id, strings.Join(auto, ", "))
		}
	case info.conversational:
		c.report(ptr, "routine %q is conversational (it has no autonomous block), but a webhook starts autonomous runs; name an autonomous routine, or add an autonomous block to %q", id, id)
	}
	return info.autonomous
}

// hmacKeys checks the keys that only the hmac-sha256 scheme reads:
// header is required, prefix must survive in a header value.
func (c *checker) hmacKeys(ptr string, w map[string]any) {
	header, ok := w["header"]
	if !ok {
		c.report(ptr+"/signature", "hmac-sha256 needs header: set the name of the header that carries the signature, such as X-Hub-Signature-256")
	}
	if s, ok := header.(string); ok && !validHeaderName(s) {
		c.report(ptr+"/header", "must be an HTTP header name such as X-Hub-Signature-256: letters, digits and any of !#$%%&'*+-.^_`|~, without spaces or ':'")
	}

	prefix, _ := w["prefix"].(string)
	switch {
	case strings.ContainsFunc(prefix, isControl):
		c.report(ptr+"/prefix", "must not contain control characters")
	case strings.TrimLeft(prefix, " \t") != prefix:
		// HTTP removes the whitespace around a header value (RFC 9110,
		// section 5.5), so such a prefix would never match.
		c.report(ptr+"/prefix", "must not start with whitespace, which is never part of a header value")
	}
}

func isControl(r rune) bool {
	return r < ' ' || r == 0x7f
}

// validHeaderName reports whether s is an HTTP field name: one or more
// token characters (RFC 9110, section 5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		ok := b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// tolerance checks the tolerance of a webhook with a known scheme. The
// schema checks the duration syntax.
func (c *checker) tolerance(ptr string, w map[string]any, scheme string) {
	v, ok := w["tolerance"]
	if !ok {
		return
	}
	ptr += "/tolerance"
	if scheme == SchemeHMACSHA256 {
		c.report(ptr, "hmac-sha256 signs no timestamp, so there is nothing to check against a tolerance; remove it")
		return
	}
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
	case d <= 0:
		c.report(ptr, "must be more than 0; remove it for the default %s", shortDuration(DefaultWebhookTolerance))
	case d > MaxWebhookTolerance:
		c.report(ptr, "must be at most %s", shortDuration(MaxWebhookTolerance))
	}
}

// jsonPointerProblem returns why s is not a JSON pointer (RFC 6901), or
// "" when it is one. The empty pointer selects the whole document.
func jsonPointerProblem(s string) string {
	if s != "" && s[0] != '/' {
		return `must be "body" for the whole body, or a JSON pointer that starts with '/', such as "/data/object"`
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '~' {
			continue
		}
		if i+1 == len(s) || s[i+1] != '0' && s[i+1] != '1' {
			return `is not a valid JSON pointer: '~' must be followed by 0 or 1; write '~' in a key as ~0 and '/' as ~1`
		}
		i++
	}
	return ""
}
