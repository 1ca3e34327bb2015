package manifest

import (
	"strconv"
	"strings"
)

// Term is one glossary entry: a word or phrase of the business and what
// it means.
type Term struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Synonyms are other spellings or words that mean the term.
	Synonyms []string `json:"synonyms,omitempty"`
}

// glossary checks context.glossary: non-blank names, descriptions and
// synonyms, and no name or synonym used by two terms, in any case.
func (c *checker) glossary() {
	v, ptr, _ := c.t.lookup("agent_config", "context", "glossary")
	list, _ := v.([]any)
	first := map[string]string{} // lower-cased name or synonym → pointer of its first use
	claim := func(wordPtr, word string) {
		key := strings.ToLower(strings.TrimSpace(word))
		if key == "" {
			return
		}
		if prev, dup := first[key]; dup {
			c.report(wordPtr, "%q is already a glossary name or synonym at %s; each word may belong to one term", word, c.where(prev))
			return
		}
		first[key] = wordPtr
	}
	for i, item := range list {
		term, ok := item.(map[string]any)
		if !ok {
			continue
		}
		itemPtr := ptr + "/" + strconv.Itoa(i)
		c.nonBlankAt(itemPtr + "/name")
		c.nonBlankAt(itemPtr + "/description")
		if name, ok := term["name"].(string); ok {
			claim(itemPtr+"/name", name)
		}
		synonyms, _ := term["synonyms"].([]any)
		for k, s := range synonyms {
			synPtr := itemPtr + "/synonyms/" + strconv.Itoa(k)
			c.nonBlankAt(synPtr)
			if word, ok := s.(string); ok {
				claim(synPtr, word)
			}
		}
	}
}
