package agent

import (
	"regexp"
	"strings"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
)

// glossaryTerm is a glossary entry with the pattern that finds its name
// or a synonym in text.
type glossaryTerm struct {
	term    manifest.Term
	pattern *regexp.Regexp
}

// newGlossary compiles one pattern per term. A pattern matches the name
// or a synonym in any case, as whole words: the characters around it
// must not be letters, digits or '_'. Go's \b treats only ASCII letters
// as word characters, so the pattern spells the boundary out.
func newGlossary(terms []manifest.Term) []glossaryTerm {
	out := make([]glossaryTerm, 0, len(terms))
	for _, t := range terms {
		var words []string
		for _, w := range append([]string{t.Name}, t.Synonyms...) {
			if w = strings.TrimSpace(w); w != "" {
				words = append(words, regexp.QuoteMeta(w))
			}
		}
		if len(words) == 0 {
			continue
		}
		expr := `(?i)(?:^|[^\p{L}\p{N}_])(?:` + strings.Join(words, "|") + `)(?:$|[^\p{L}\p{N}_])`
		out = append(out, glossaryTerm{term: t, pattern: regexp.MustCompile(expr)})
	}
	return out
}

// glossarySection lists the terms whose name or a synonym occurs in a
// customer or agent message of history, in glossary order, for the
// system message. It returns "" when none occurs.
func glossarySection(terms []glossaryTerm, history []store.Event) string {
	if len(terms) == 0 {
		return ""
	}
	var text strings.Builder
	for _, ev := range history {
		if ev.Kind != KindUserMessage && ev.Kind != KindAgentMessage {
			continue
		}
		p, err := DecodePayload(ev)
		if err != nil {
			continue
		}
		text.WriteString(p.Text)
		text.WriteByte('\n')
	}
	conversation := text.String()

	var b strings.Builder
	for _, t := range terms {
		if !t.pattern.MatchString(conversation) {
			continue
		}
		b.WriteString("- " + t.term.Name)
		if len(t.term.Synonyms) > 0 {
			b.WriteString(" (also: " + strings.Join(t.term.Synonyms, ", ") + ")")
		}
		b.WriteString(": " + strings.TrimSpace(t.term.Description) + "\n")
	}
	if b.Len() == 0 {
		return ""
	}
	return "Glossary of terms used in this conversation:\n" + strings.TrimRight(b.String(), "\n")
}
