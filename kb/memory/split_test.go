package memory

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentry/agentry/kb"
)

// wantChunk is the expected content and title of one chunk.
type wantChunk struct {
	content string
	title   string
}

func TestSplitDocument(t *testing.T) {
	cases := []struct {
		name     string
		text     string
		markdown bool
		want     []wantChunk
	}{
		{"empty", "", true, nil},
		{"white space", " \n\n\t\n", false, nil},
		{"plain paragraphs", "first paragraph\n\nsecond paragraph\n", false, []wantChunk{
			{"first paragraph\n\nsecond paragraph", ""},
		}},
		{"plain hash is text", "# not a heading\n\ntext", false, []wantChunk{
			{"# not a heading\n\ntext", ""},
		}},
		{"atx headings", "intro\n\n# Billing\n\nInvoices.\n\n## Refunds ##\nTen days.", true, []wantChunk{
			{"intro", ""},
			{"# Billing\n\nInvoices.", "Billing"},
			{"## Refunds ##\n\nTen days.", "Refunds"},
		}},
		{"heading without body", "# Top\n## Empty\n\n### Leaf\nbody", true, []wantChunk{
			{"### Leaf\n\nbody", "Leaf"},
		}},
		{"trailing heading", "# A\ntext\n# B\n", true, []wantChunk{
			{"# A\n\ntext", "A"},
		}},
		{"hashtag is text", "#hashtag and ####### seven\n\n    # indented code", true, []wantChunk{
			{"#hashtag and ####### seven\n\n    # indented code", ""},
		}},
		{"setext headings", "Guide\n=====\n\nRead this.\n\nPart two\nof it\n---\nMore.", true, []wantChunk{
			{"Guide\n=====\n\nRead this.", "Guide"},
			{"Part two\nof it\n---\n\nMore.", "Part two of it"},
		}},
		{"thematic break", "# A\n\ntext\n\n---\n\nafter", true, []wantChunk{
			{"# A\n\ntext\n\n---\n\nafter", "A"},
		}},
		{"list before dashes", "# A\n\n- item\n---", true, []wantChunk{
			{"# A\n\n- item\n---", "A"},
		}},
		{"fenced code", "# Code\n\n```sh\n# comment\n\nrun\n```\nafter", true, []wantChunk{
			{"# Code\n\n```sh\n# comment\n\nrun\n```\n\nafter", "Code"},
		}},
		{"tilde fence", "~~~\n# x\n~~~~\n# Real\nbody", true, []wantChunk{
			{"~~~\n# x\n~~~~", ""},
			{"# Real\n\nbody", "Real"},
		}},
		{"unclosed fence", "```\n# x\n\ny", true, []wantChunk{
			{"```\n# x\n\ny", ""},
		}},
		{"front matter", "---\ntitle: Guide\ntags: [a]\n---\n# Start\nbody", true, []wantChunk{
			{"# Start\n\nbody", "Start"},
		}},
		{"dashes without front matter", "---\nno end", true, []wantChunk{
			{"---\nno end", ""},
		}},
		{"line endings", "\uFEFF# A\r\n\r\nline one\rline two", true, []wantChunk{
			{"# A\n\nline one\nline two", "A"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chunks := SplitDocument(Document{ID: "doc", Text: c.text, Markdown: c.markdown}, 0)
			if len(chunks) != len(c.want) {
				t.Fatalf("got %d chunks %q, want %d", len(chunks), contents(chunks), len(c.want))
			}
			for i, want := range c.want {
				if got := chunks[i].Content; got != want.content {
					t.Errorf("chunk %d content = %q, want %q", i, got, want.content)
				}
				if got := chunks[i].Title(); got != want.title {
					t.Errorf("chunk %d title = %q, want %q", i, got, want.title)
				}
				if got, want := chunks[i].ID, fmt.Sprintf("doc#%d", i); got != want {
					t.Errorf("chunk %d ID = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func contents(chunks []kb.Chunk) []string {
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = c.Content
	}
	return out
}

func TestSplitDocumentMetadata(t *testing.T) {
	metadata := map[string]any{"topic": "billing", "title": "Handbook"}
	doc := Document{ID: "doc", Text: "preface\n\n# Refunds\n\nten days", Markdown: true, Metadata: metadata}
	chunks := SplitDocument(doc, 0)
	if len(chunks) != 2 {
		t.Fatalf("got %d chunks, want 2", len(chunks))
	}
	if got := chunks[0].Title(); got != "Handbook" {
		t.Errorf("chunk before any heading has title %q, want the document's %q", got, "Handbook")
	}
	if got := chunks[1].Title(); got != "Refunds" {
		t.Errorf("chunk under a heading has title %q, want %q", got, "Refunds")
	}
	for i, c := range chunks {
		if c.Metadata["topic"] != "billing" {
			t.Errorf("chunk %d metadata %v lacks the document's topic", i, c.Metadata)
		}
	}
	if metadata["title"] != "Handbook" {
		t.Errorf("SplitDocument changed the document's metadata to %v", metadata)
	}
}

func TestSplitDocumentLong(t *testing.T) {
	paragraph := strings.Repeat("word ", 30) // 150 bytes
	cases := []struct {
		name      string
		text      string
		maxBytes  int
		minChunks int // the minimum number of chunks a correct split makes
	}{
		{"paragraphs", strings.Repeat(paragraph+"\n\n", 10), 400, 4},
		{"one paragraph", strings.Repeat("sentence with words. ", 100), 200, 11},
		{"lines", strings.Repeat("a line of text\n", 100), 100, 15},
		{"no spaces", strings.Repeat("x", 1000), 128, 8},
		{"multibyte", strings.Repeat("日本語", 200), 100, 18},
		{"section", "# Long section\n\n" + strings.Repeat(paragraph+"\n\n", 6), 350, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := Document{ID: "doc", Text: c.text, Markdown: true}
			chunks := SplitDocument(doc, c.maxBytes)
			if len(chunks) < c.minChunks {
				t.Errorf("got %d chunks, want at least %d", len(chunks), c.minChunks)
			}
			for i, chunk := range chunks {
				if len(chunk.Content) > c.maxBytes {
					t.Errorf("chunk %d has %d bytes, more than %d", i, len(chunk.Content), c.maxBytes)
				}
				if !utf8.ValidString(chunk.Content) {
					t.Errorf("chunk %d is not valid UTF-8", i)
				}
				if strings.TrimSpace(chunk.Content) == "" {
					t.Errorf("chunk %d is empty", i)
				}
			}
			// No text is lost or repeated, apart from white space.
			var joined strings.Builder
			for _, chunk := range chunks {
				joined.WriteString(chunk.Content)
			}
			if got, want := squash(joined.String()), squash(c.text); got != want {
				t.Errorf("chunks contain %d non-space bytes, the text %d", len(got), len(want))
			}
		})
	}
}

// squash removes all white space.
func squash(s string) string {
	return strings.Join(strings.Fields(s), "")
}

func TestSplitContinuedTitle(t *testing.T) {
	paragraph := strings.Repeat("detail ", 20)
	doc := Document{ID: "doc", Text: "# Refund policy\n\n" + strings.Repeat(paragraph+"\n\n", 4), Markdown: true}
	pieces := split(doc, 300)
	if len(pieces) < 2 {
		t.Fatalf("got %d pieces, want the section cut in several", len(pieces))
	}
	for i, p := range pieces {
		if p.title != "Refund policy" {
			t.Errorf("piece %d title = %q, want %q", i, p.title, "Refund policy")
		}
		text := embeddingText(p)
		if !strings.Contains(text, "Refund policy") {
			t.Errorf("piece %d embeds %q, which lacks the title", i, text)
		}
		if strings.Count(text, "Refund policy") != 1 {
			t.Errorf("piece %d embeds the title %d times, want once", i, strings.Count(text, "Refund policy"))
		}
	}
}
