package manifest

import (
	"net/url"
	"strings"
)

// traces checks agent_config.traces. The schema checks the types and the
// api_key_scheme enum.
func (c *checker) traces() {
	v, ptr, _ := c.t.lookup("agent_config", "traces")
	if _, ok := v.(map[string]any); !ok {
		return
	}
	c.nonBlank("agent_config", "traces", "deployment_environment")
	c.token("agent_config", "traces", "api_key")
	if key, keyPtr, ok := c.str("agent_config", "traces", "api_key"); ok && strings.TrimSpace(key) == "" {
		c.report(keyPtr, "must not be empty or only whitespace; remove api_key when the backend needs no credentials")
	}
	raw, urlPtr, ok := c.str("agent_config", "traces", "backend", "url")
	if !ok {
		if _, _, set := c.str("agent_config", "traces", "api_key"); set {
			c.report(ptr, "api_key is set but backend.url is missing: name the OTLP/HTTP traces endpoint, such as http://127.0.0.1:4318/v1/traces")
		}
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.report(urlPtr, "must be an http or https URL with a host, such as http://127.0.0.1:4318/v1/traces")
	case u.User != nil:
		c.report(urlPtr, "must not contain credentials; set api_key and api_key_scheme instead")
	}
}
