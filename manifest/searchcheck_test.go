package manifest

import (
	"testing"
	"time"
)

// searchYAML is validYAML with a search block whose fields start on
// line 9.
func searchYAML(fields string) string {
	return validYAML + "  search:\n" + fields
}

func TestSearchValid(t *testing.T) {
	cases := []struct {
		name   string
		fields string
	}{
		{"pgvector url", "    type: pgvector\n    url: postgres://u@127.0.0.1/db\n    table: kb.chunks\n"},
		{"pgvector host", "    type: pgvector\n    host: 127.0.0.1\n    port: 5433\n    user: u\n    table: chunks\n    embedding_dimensions: 768\n"},
		{"pgvector filter", "    type: pgvector\n    url: postgres://u@127.0.0.1/db\n    table: chunks\n    metadata_filter: {lang: en}\n    content_key: body\n    top_k: 100\n    timeout: 5m\n"},
		{"external", "    type: external\n    url: https://search.example.com/query\n"},
		{"external key", "    type: external\n    url: http://127.0.0.1:9000/search\n    api_key: k-1\n    timeout: 2s\n    top_k: 1\n"},
		{"memory", "    type: memory\n    documents: [docs, faq.md]\n    embedding_dimensions: 256\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parseOK(t, searchYAML(c.fields))
		})
	}
}

func TestSearchViolations(t *testing.T) {
	cases := []struct {
		name   string
		fields string
		path   string
		line   int
		msg    string
	}{
		{"pgvector no connection", "    type: pgvector\n    table: chunks\n",
			"agent_config.search", 8, "needs url"},
		{"pgvector url and host", "    type: pgvector\n    url: postgres://u@h/db\n    host: h\n    table: chunks\n",
			"agent_config.search.url", 10, "not both"},
		{"pgvector no table", "    type: pgvector\n    url: postgres://u@h/db\n",
			"agent_config.search", 8, "needs table"},
		{"pgvector bad table", "    type: pgvector\n    url: postgres://u@h/db\n    table: a.b.c\n",
			"agent_config.search.table", 11, "schema.table"},
		{"pgvector blank content key", "    type: pgvector\n    url: postgres://u@h/db\n    table: t\n    content_key: \" \"\n",
			"agent_config.search.content_key", 12, "must not be empty"},
		{"pgvector documents", "    type: pgvector\n    url: postgres://u@h/db\n    table: t\n    documents: [docs]\n",
			"agent_config.search.documents", 12, "does not apply to search type pgvector"},
		{"pgvector api key", "    type: pgvector\n    url: postgres://u@h/db\n    table: t\n    api_key: k\n",
			"agent_config.search.api_key", 12, "does not apply"},
		{"external no url", "    type: external\n    api_key: k\n",
			"agent_config.search", 8, "needs url"},
		{"external ftp url", "    type: external\n    url: ftp://search.example.com/\n",
			"agent_config.search.url", 10, "http or https"},
		{"external blank key", "    type: external\n    url: https://s.example.com/\n    api_key: \"\"\n",
			"agent_config.search.api_key", 11, "must not be empty"},
		{"external table", "    type: external\n    url: https://s.example.com/\n    table: t\n",
			"agent_config.search.table", 11, "does not apply to search type external"},
		{"external filter", "    type: external\n    url: https://s.example.com/\n    metadata_filter: {a: b}\n",
			"agent_config.search.metadata_filter", 11, "does not apply"},
		{"memory no documents", "    type: memory\n",
			"agent_config.search", 8, "needs documents"},
		{"memory empty documents", "    type: memory\n    documents: []\n",
			"agent_config.search", 8, "needs documents"},
		{"memory blank document", "    type: memory\n    documents: [docs, \" \"]\n",
			"agent_config.search.documents[1]", 10, "must not be empty"},
		{"memory url", "    type: memory\n    documents: [docs]\n    url: https://s.example.com/\n",
			"agent_config.search.url", 11, "does not apply to search type memory"},
		{"memory timeout", "    type: memory\n    documents: [docs]\n    timeout: 5s\n",
			"agent_config.search.timeout", 11, "does not apply"},
		{"top_k zero", "    type: memory\n    documents: [docs]\n    top_k: 0\n",
			"agent_config.search.top_k", 11, ""},
		{"top_k too large", "    type: memory\n    documents: [docs]\n    top_k: 101\n",
			"agent_config.search.top_k", 11, ""},
		{"timeout zero", "    type: external\n    url: https://s.example.com/\n    timeout: 0s\n",
			"agent_config.search.timeout", 11, "more than 0"},
		{"timeout too long", "    type: external\n    url: https://s.example.com/\n    timeout: 6m\n",
			"agent_config.search.timeout", 11, "at most 5m"},
		{"filter not object", "    type: pgvector\n    url: postgres://u@h/db\n    table: t\n    metadata_filter: [a]\n",
			"agent_config.search.metadata_filter", 12, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantViolation(t, violations(t, searchYAML(c.fields)), c.path, c.line, c.msg)
		})
	}
}

func TestSearchDefaults(t *testing.T) {
	cases := []struct {
		name       string
		fields     string
		contentKey string
		topK       int
		timeout    time.Duration
	}{
		{"pgvector", "    type: pgvector\n    url: postgres://u@h/db\n    table: t\n",
			DefaultSearchContentKey, DefaultSearchTopK, DefaultSearchTimeout},
		{"pgvector set", "    type: pgvector\n    url: postgres://u@h/db\n    table: t\n    content_key: body\n    top_k: 8\n    timeout: 3s\n",
			"body", 8, 3 * time.Second},
		{"external", "    type: external\n    url: https://s.example.com/\n",
			"", DefaultSearchTopK, DefaultSearchTimeout},
		{"memory", "    type: memory\n    documents: [docs]\n",
			"", DefaultSearchTopK, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := parseOK(t, searchYAML(c.fields)).AgentConfig.Search
			if s.ContentKey != c.contentKey {
				t.Errorf("content_key = %q, want %q", s.ContentKey, c.contentKey)
			}
			if s.TopK != c.topK {
				t.Errorf("top_k = %d, want %d", s.TopK, c.topK)
			}
			if got := time.Duration(s.Timeout); got != c.timeout {
				t.Errorf("timeout = %s, want %s", got, c.timeout)
			}
		})
	}
}
