package scripted

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tmc/langchaingo/llms"
)

// recallPhrases mark a request to be reminded of an earlier message.
var recallPhrases = []string{
	"remind me", "remember", "what was my", "what were my", "what is my",
	"what's my", "whats my", "did i tell you", "did i mention", "did i say",
}

// asksRecall reports whether a lowercase message is a request to be
// reminded of something.
func asksRecall(lower string) bool {
	for _, p := range recallPhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// recallAnchors precede the thing asked about in a recall request; the
// last anchor in the message counts.
var recallAnchors = []string{"my ", "about ", "the "}

// subjectEndWords end the thing asked about, as "was" does in "what my
// order number was".
var subjectEndWords = map[string]bool{
	"was": true, "is": true, "were": true, "are": true, "again": true,
	"i": true, "you": true, "that": true, "which": true, "please": true,
	"did": true, "do": true, "gave": true, "told": true, "said": true,
	"in": true, "on": true, "at": true, "to": true, "we": true,
	"when": true, "before": true, "earlier": true, "now": true,
}

// recallSubject returns the thing a lowercase recall request asks about:
// up to four words after the last of "my", "about" or "the", ending at
// punctuation or a word such as "was". It returns "" when the message has
// none of those anchors. "Can you remind me what my order number was?"
// asks about "order number".
func recallSubject(lower string) string {
	start := -1
	for _, a := range recallAnchors {
		i := strings.LastIndex(lower, a)
		for i > 0 && isWordRune(lastRune(lower[:i])) {
			i = strings.LastIndex(lower[:i], a)
		}
		if i >= 0 && i+len(a) > start {
			start = i + len(a)
		}
	}
	if start < 0 {
		return ""
	}
	rest := lower[start:]
	if end := strings.IndexAny(rest, ".,!?;:\n"); end >= 0 {
		rest = rest[:end]
	}
	var subject []string
	for _, w := range strings.Fields(rest) {
		if len(subject) == 4 || subjectEndWords[w] {
			break
		}
		subject = append(subject, w)
	}
	return strings.Join(subject, " ")
}

// recall builds the reply to a request to be reminded of something, from
// the conversation and then the variables. In order, it returns:
//   - "Your <subject> is <value>." from an earlier customer message that
//     states "<subject> is <value>" (or "was", ":" or "=");
//   - the earlier customer message that mentions the subject, quoted;
//   - "Your <subject> is <value>." from a variable named like the subject;
//   - the earlier customer message sharing most significant words with
//     the request, quoted;
//   - a statement that nothing was found.
//
// Earlier recall requests are skipped, so the demo does not quote a
// question back as its answer.
func recall(c *call, question string, vars []Variable) string {
	lower := strings.ToLower(question)
	subject := recallSubject(lower)
	earlier := earlierStatements(c)
	if subject != "" {
		var mention string
		for _, msg := range earlier {
			i := indexWordFold(msg, subject)
			if i < 0 {
				continue
			}
			if value := valueAfter(msg[i+len(subject):]); value != "" {
				return fmt.Sprintf("Your %s is %s.", subject, value)
			}
			if mention == "" {
				mention = msg
			}
		}
		if mention != "" {
			return fmt.Sprintf("Earlier you said: %q.", clip(mention, 300))
		}
		for _, v := range vars {
			if variableSubject(v.Name) == subject && v.Value != "" {
				return fmt.Sprintf("Your %s is %s.", subject, v.Value)
			}
		}
	}
	keywords := significantWords(lower)
	if subject != "" {
		keywords = significantWords(subject)
	}
	if msg, ok := maxOverlap(earlier, keywords); ok {
		return fmt.Sprintf("Earlier you said: %q.", clip(msg, 300))
	}
	if subject != "" {
		return fmt.Sprintf("I can't find your %s in our conversation.", subject)
	}
	return "I can't find that in our conversation."
}

// earlierStatements returns the customer messages before the last one,
// newest first, leaving out recall requests.
func earlierStatements(c *call) []string {
	var out []string
	last := true
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Role != llms.ChatMessageTypeHuman {
			continue
		}
		if last {
			last = false
			continue
		}
		text := textOf(c.msgs[i])
		if !asksRecall(strings.ToLower(text)) {
			out = append(out, text)
		}
	}
	return out
}

// valueAfter returns the value stated right after a subject in rest, as
// "4711" in " is 4711, thanks", or "" when rest does not start with "is",
// "was", "are", "were", ":" or "=". The value ends at a line break, at
// punctuation followed by a space or the end (so "a@b.example" and "4.5"
// stay whole), or at "and", "but" or "so".
func valueAfter(rest string) string {
	rest = strings.TrimLeft(rest, " \t")
	linked := false
	if strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "=") {
		rest, linked = rest[1:], true
	} else {
		for _, verb := range []string{"is ", "was ", "are ", "were "} {
			if len(rest) >= len(verb) && strings.EqualFold(rest[:len(verb)], verb) {
				rest, linked = rest[len(verb):], true
				break
			}
		}
	}
	if !linked {
		return ""
	}
	end := len(rest)
	for i, r := range rest {
		if r == '\n' {
			end = i
			break
		}
		if strings.ContainsRune(".,;!?", r) {
			next, _ := utf8.DecodeRuneInString(rest[i+1:])
			if i+1 == len(rest) || unicode.IsSpace(next) {
				end = i
				break
			}
		}
	}
	var value []string
	for _, w := range strings.Fields(rest[:end]) {
		switch strings.ToLower(w) {
		case "and", "but", "so":
			return clip(strings.Join(value, " "), 100)
		}
		value = append(value, w)
	}
	return clip(strings.Join(value, " "), 100)
}

// indexWordFold returns the byte index in s of the first case-insensitive
// match of phrase that starts and ends at word boundaries, or -1.
func indexWordFold(s, phrase string) int {
	n := len(phrase)
	for i := range s {
		if i+n > len(s) {
			break
		}
		if !strings.EqualFold(s[i:i+n], phrase) {
			continue
		}
		if i > 0 && isWordRune(lastRune(s[:i])) {
			continue
		}
		if next, _ := utf8.DecodeRuneInString(s[i+n:]); i+n < len(s) && isWordRune(next) {
			continue
		}
		return i
	}
	return -1
}

// variableSubject spells a variable name as a subject: "order_number"
// becomes "order number".
func variableSubject(name string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(name), isNameSeparator), " ")
}

// recallStopWords are words of a recall request that do not name the
// thing asked about.
var recallStopWords = map[string]bool{
	"the": true, "and": true, "you": true, "your": true, "what": true,
	"was": true, "were": true, "are": true, "can": true, "could": true,
	"would": true, "remind": true, "remember": true, "please": true,
	"again": true, "did": true, "tell": true, "told": true, "said": true,
	"say": true, "mention": true, "mentioned": true, "that": true,
	"this": true, "with": true, "for": true, "about": true, "from": true,
	"have": true, "has": true, "had": true, "who": true, "how": true,
	"when": true, "where": true, "which": true, "earlier": true,
	"before": true,
}

// significantWords returns the words of lowercase text that are three
// letters or longer and not recall stop words.
func significantWords(lower string) []string {
	var out []string
	for _, w := range wordsOf(lower) {
		if len(w) >= 3 && !recallStopWords[w] && !containsWord(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// maxOverlap returns the message, of msgs in order of preference, that
// contains the most of keywords, and false when none contains any.
func maxOverlap(msgs []string, keywords []string) (string, bool) {
	best, bestScore := "", 0
	for _, msg := range msgs {
		words := wordsOf(strings.ToLower(msg))
		score := 0
		for _, k := range keywords {
			if containsWord(words, k) {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = msg, score
		}
	}
	return best, bestScore > 0
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}
