package manifest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Defaults and limits of the search block, applied by
// [Manifest.ApplyDefaults] and checked by [Parse].
const (
	// DefaultSearchContentKey is search.content_key of a pgvector search
	// block when it is unset.
	DefaultSearchContentKey = "content"
	// DefaultSearchTopK is search.top_k when it is unset.
	DefaultSearchTopK = 5
	// MaxSearchTopK is the largest search.top_k.
	MaxSearchTopK = 100
	// DefaultSearchTimeout is search.timeout of a pgvector or external
	// search block when it is unset.
	DefaultSearchTimeout = 10 * time.Second
	// MaxSearchTimeout is the largest search.timeout.
	MaxSearchTimeout = 5 * time.Minute
)

// searchKeys lists, per search type, the keys other than type and top_k
// that the type reads.
var searchKeys = map[string][]string{
	SearchPgvector: {"url", "host", "port", "user", "password", "dbname", "sslmode",
		"table", "content_key", "metadata_filter", "embedding_dimensions", "timeout"},
	SearchExternal: {"url", "api_key", "timeout"},
	SearchMemory:   {"documents", "embedding_dimensions"},
}

// pgvectorHostKeys are the connection keys of a pgvector block that
// replace url.
var pgvectorHostKeys = []string{"host", "port", "user", "password", "dbname", "sslmode"}

// search checks agent_config.search against the keys its type needs and
// accepts. The schema checks the types of the values and the type enum.
func (c *checker) search() {
	v, ptr, _ := c.t.lookup("agent_config", "search")
	block, ok := v.(map[string]any)
	if !ok {
		return
	}
	kind, _ := block["type"].(string)
	allowed, known := searchKeys[kind]
	if !known {
		return
	}
	has := func(key string) bool { _, ok := block[key]; return ok }

	accepted := map[string]bool{"type": true, "top_k": true}
	for _, key := range allowed {
		accepted[key] = true
	}
	for _, key := range sortedKeys(block) {
		// The schema reports keys that no search type reads.
		if !accepted[key] && searchKeyKnown(key) {
			c.report(ptr+"/"+escapePointer(key), "does not apply to search type %s, which reads %s; remove it",
				kind, strings.Join(append([]string{"type", "top_k"}, allowed...), ", "))
		}
	}

	switch kind {
	case SearchPgvector:
		c.pgvectorSearch(ptr, block, has)
	case SearchExternal:
		if !has("url") {
			c.report(ptr, "search type external needs url: the http or https address of the search endpoint")
		}
		if s, ok := block["url"].(string); ok {
			if _, err := checkHTTPURL(s); err != nil {
				c.report(ptr+"/url", "%v", err)
			}
		}
		c.nonBlank("agent_config", "search", "api_key")
		c.token("agent_config", "search", "api_key")
	case SearchMemory:
		list, isList := block["documents"].([]any)
		if !has("documents") || (isList && len(list) == 0) {
			c.report(ptr, "search type memory needs documents: a list of Markdown or text files or directories, relative to the manifest")
		}
		for i, item := range list {
			if s, ok := item.(string); ok && strings.TrimSpace(s) == "" {
				c.report(ptr+"/documents/"+strconv.Itoa(i), "must not be empty or only whitespace")
			}
		}
	}
	c.searchTopK(ptr+"/top_k", block["top_k"])
	c.searchTimeout(ptr+"/timeout", block["timeout"])
}

// pgvectorSearch checks the connection and table keys of a pgvector
// search block.
func (c *checker) pgvectorSearch(ptr string, block map[string]any, has func(string) bool) {
	c.postgresConnection(ptr, has, "search type pgvector needs url")
	if s, ok := block["url"].(string); ok && strings.TrimSpace(s) == "" {
		c.report(ptr+"/url", "must not be empty or only whitespace")
	}
	if s, ok := block["host"].(string); ok && strings.TrimSpace(s) == "" {
		c.report(ptr+"/host", "must not be empty or only whitespace")
	}
	table, isString := block["table"].(string)
	switch {
	case !has("table"):
		c.report(ptr, "search type pgvector needs table: the table name, or schema.table")
	case isString && !validTableName(table):
		c.report(ptr+"/table", "must be a table name or schema.table, with no empty part and at most one dot")
	}
	if s, ok := block["content_key"].(string); ok && strings.TrimSpace(s) == "" {
		c.report(ptr+"/content_key", "must not be empty or only whitespace; remove it for the default %q", DefaultSearchContentKey)
	}
}

// postgresConnection checks that a block connecting to PostgreSQL sets
// url or host, and not both url and a host field. missing starts the
// message for a block that sets neither.
func (c *checker) postgresConnection(ptr string, has func(string) bool, missing string) {
	hostSet := false
	for _, key := range pgvectorHostKeys {
		hostSet = hostSet || has(key)
	}
	switch {
	case has("url") && hostSet:
		c.report(ptr+"/url", "set either url or the host fields (%s), not both", strings.Join(pgvectorHostKeys, ", "))
	case !has("url") && !has("host"):
		c.report(ptr, "%s, such as postgres://user:password@host:5432/dbname, or host and the other connection fields", missing)
	}
}

// searchKeyKnown reports whether some search type reads key.
func searchKeyKnown(key string) bool {
	for _, keys := range searchKeys {
		for _, k := range keys {
			if k == key {
				return true
			}
		}
	}
	return false
}

// validTableName reports whether name is "table" or "schema.table" with
// non-blank parts.
func validTableName(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			return false
		}
	}
	return true
}

func (c *checker) searchTopK(ptr string, v any) {
	num, ok := v.(json.Number)
	if !ok {
		return
	}
	n, err := num.Float64()
	if err == nil && (n < 1 || n > MaxSearchTopK) {
		c.report(ptr, "must be between 1 and %d; remove it for the default %d", MaxSearchTopK, DefaultSearchTopK)
	}
}

func (c *checker) searchTimeout(ptr string, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
	case d <= 0:
		c.report(ptr, "must be more than 0; remove it for the default %s", shortDuration(DefaultSearchTimeout))
	case d > MaxSearchTimeout:
		c.report(ptr, "must be at most %s", shortDuration(MaxSearchTimeout))
	}
}

// applyDefaults fills the unset fields that the block's type reads.
func (s *Search) applyDefaults() {
	if s.TopK == 0 {
		s.TopK = DefaultSearchTopK
	}
	if s.Type == SearchMemory {
		return
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultSearchTimeout)
	}
	if s.Type == SearchPgvector && s.ContentKey == "" {
		s.ContentKey = DefaultSearchContentKey
	}
}
