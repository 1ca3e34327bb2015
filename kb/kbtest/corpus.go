package kbtest

// Doc is one document of the corpus. It is short enough to become a
// single chunk.
type Doc struct {
	// ID names the document. Options.DocID maps a returned chunk back to
	// it.
	ID string
	// Content is plain text without headings.
	Content string
	// Metadata is JSON-compatible: strings, numbers, booleans, []any and
	// map[string]any.
	Metadata map[string]any
}

// Corpus returns the documents that Run loads, a new copy on each call.
func Corpus() []Doc {
	return []Doc{
		{
			ID: "billing-invoices",
			Content: "Invoices for your account are issued on the first day of each month. " +
				"Pay an invoice by card or by bank transfer.",
			Metadata: map[string]any{
				"topic": "billing", "version": 2, "tags": []any{"payments", "invoices"},
				"owner": map[string]any{"team": "payments", "region": "eu"},
			},
		},
		{
			ID:      "billing-refunds",
			Content: "Refunds are credited to the account that paid, within ten business days of approval.",
			Metadata: map[string]any{
				"topic": "billing", "version": 1, "tags": []any{"payments"},
				"owner": map[string]any{"team": "payments", "region": "eu"},
			},
		},
		{
			ID: "security-password",
			Content: "To reset your account password, open the sign-in page, choose forgot password " +
				"and follow the emailed link.",
			Metadata: map[string]any{
				"topic": "security", "version": 2, "tags": []any{"login"},
				"owner": map[string]any{"team": "identity", "region": "us"},
			},
		},
		{
			ID: "security-two-factor",
			Content: "Two-factor authentication protects your account with a one-time code " +
				"from an authenticator app.",
			Metadata: map[string]any{
				"topic": "security", "version": 1, "tags": []any{"login", "mfa"},
				"owner": map[string]any{"team": "identity", "region": "us"},
			},
		},
		{
			ID: "data-export",
			Content: "Export the data of an account as a CSV archive from the settings page. " +
				"Large exports arrive by email.",
			Metadata: map[string]any{
				"topic": "data", "version": 1, "tags": []any{"export"}, "beta": true,
			},
		},
		{
			ID: "data-deletion",
			Content: "Deleting an account removes every project permanently after a thirty-day " +
				"grace period.",
			Metadata: map[string]any{
				"topic": "data", "version": 1, "tags": []any{"privacy"}, "beta": false,
			},
		},
		{
			ID: "developer-api-keys",
			Content: "Create API keys for an account under developer settings. Revoke a key at any " +
				"time, and requests signed with it fail from then on.",
			Metadata: map[string]any{
				"topic": "developers", "version": 3, "tags": []any{"api"},
			},
		},
		{
			ID: "developer-webhooks",
			Content: "Webhooks notify your server when an account changes. Each delivery is signed " +
				"and retried with exponential backoff.",
			Metadata: map[string]any{
				"topic": "developers", "version": 3, "tags": []any{"api", "events"},
			},
		},
	}
}

// sharedQuery matches every document of the corpus.
const sharedQuery = "account"

// rankingCases are queries that clearly match one document.
var rankingCases = []struct {
	query string
	want  string
}{
	{"How do I reset my forgotten password?", "security-password"},
	{"pay an invoice by bank transfer", "billing-invoices"},
	{"when are refunds credited", "billing-refunds"},
	{"one-time code from an authenticator app", "security-two-factor"},
	{"export data as a CSV archive", "data-export"},
	{"grace period before a project is removed permanently", "data-deletion"},
	{"revoke an API key", "developer-api-keys"},
	{"webhook delivery retried with backoff", "developer-webhooks"},
}

// filterCases are metadata filters and the documents that match them.
var filterCases = []struct {
	name   string
	filter map[string]any
	want   []string
}{
	{"empty", map[string]any{}, []string{
		"billing-invoices", "billing-refunds", "security-password", "security-two-factor",
		"data-export", "data-deletion", "developer-api-keys", "developer-webhooks",
	}},
	{"string", map[string]any{"topic": "billing"}, []string{"billing-invoices", "billing-refunds"}},
	{"number", map[string]any{"version": 3}, []string{"developer-api-keys", "developer-webhooks"}},
	{"bool", map[string]any{"beta": false}, []string{"data-deletion"}},
	{"two keys", map[string]any{"topic": "security", "version": 2}, []string{"security-password"}},
	{"array element", map[string]any{"tags": []any{"login"}}, []string{
		"security-password", "security-two-factor",
	}},
	{"array subset", map[string]any{"tags": []any{"invoices", "payments"}}, []string{"billing-invoices"}},
	{"nested object", map[string]any{"owner": map[string]any{"region": "us"}}, []string{
		"security-password", "security-two-factor",
	}},
}

// emptyFilterCases are filters that no document matches.
var emptyFilterCases = []struct {
	name   string
	filter map[string]any
}{
	{"value", map[string]any{"topic": "marketing"}},
	{"missing key", map[string]any{"language": "en"}},
	{"two keys", map[string]any{"topic": "billing", "version": 3}},
	{"array element", map[string]any{"tags": []any{"payments", "login"}}},
	{"type", map[string]any{"version": "2"}},
	{"nested object", map[string]any{"owner": map[string]any{"team": "identity", "region": "eu"}}},
}
