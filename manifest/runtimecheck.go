package manifest

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// eventWebhook checks runtime.event_webhook: an http or https URL and an
// optional secret of its own.
func (c *checker) eventWebhook() {
	if s, ptr, ok := c.str("agent_config", "runtime", "event_webhook", "url"); ok {
		if _, err := checkHTTPURL(s); err != nil {
			c.report(ptr, "%v", err)
		}
	}
	if s, ptr, ok := c.str("agent_config", "runtime", "event_webhook", "signing_secret"); ok {
		c.whsec(ptr, s)
	}
}

// outbound checks runtime.outbound.allow_hosts and runtime.outbound_auth.
func (c *checker) outbound() {
	v, ptr, _ := c.t.lookup("agent_config", "runtime", "outbound", "allow_hosts")
	list, _ := v.([]any)
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			continue
		}
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if checkHostPattern(s, true) != nil {
			c.report(ptr+"/"+strconv.Itoa(i), "must be a host name (api.example.com), *. and a host name for its subdomains, an IP address or a CIDR range (10.0.0.0/8)")
		}
	}

	mode, _, _ := c.str("agent_config", "runtime", "outbound_auth", "mode")
	token, tokenPtr, hasToken := c.str("agent_config", "runtime", "outbound_auth", "token")
	_, blockPtr, _ := c.t.lookup("agent_config", "runtime", "outbound_auth")
	switch {
	case mode == OutboundAuthToken && !hasToken:
		c.report(blockPtr, "mode token needs a token: set outbound_auth.token")
	case mode == OutboundAuthToken && strings.TrimSpace(token) == "":
		c.report(tokenPtr, "must not be empty or only whitespace")
	case mode != OutboundAuthToken && hasToken:
		c.report(tokenPtr, "is sent only with mode: token; set mode: token, or remove the token")
	}
}

// delivery checks the bounds of runtime.delivery. The schema checks the
// number of retry_schedule entries and the duration syntax.
func (c *checker) delivery() {
	v, ptr, _ := c.t.lookup("agent_config", "runtime", "delivery", "retry_schedule")
	list, _ := v.([]any)
	for i, item := range list {
		s, _ := item.(string)
		if d, err := time.ParseDuration(s); err == nil && d > MaxRetryDelay {
			c.report(ptr+"/"+strconv.Itoa(i), "must be at most %s", shortDuration(MaxRetryDelay))
		}
	}
	if s, ptr, ok := c.str("agent_config", "runtime", "delivery", "timeout"); ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
		case d <= 0:
			c.report(ptr, "must be more than 0; remove it for the default %s", shortDuration(DefaultDeliveryTimeout))
		case d > MaxDeliveryTimeout:
			c.report(ptr, "must be at most %s", shortDuration(MaxDeliveryTimeout))
		}
	}
}

// leaseTTL checks the bounds of runtime.lease_ttl.
func (c *checker) leaseTTL() {
	s, ptr, ok := c.str("agent_config", "runtime", "lease_ttl")
	if !ok {
		return
	}
	if d, err := time.ParseDuration(s); err == nil && (d < MinLeaseTTL || d > MaxLeaseTTL) {
		c.report(ptr, "must be from %s to %s; remove it for the default %s",
			shortDuration(MinLeaseTTL), shortDuration(MaxLeaseTTL), shortDuration(DefaultLeaseTTL))
	}
}

// shortDuration formats d without zero minutes and seconds: "48h", not
// "48h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s") // "48h0m0s" → "48h0m", "5m0s" → "5m"
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m") // "48h0m" → "48h"
	}
	return s
}
