package scripted

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/internal/toolname"
)

// pickTool returns the offered tool that the customer's message requests
// most clearly, or nil. A tool scores two points when its name (without
// namespace, '_' and '-' read as spaces) occurs in the message, and one
// point for each keyword of its name or description that is a word of
// the message. The highest score wins; ties go to the tool offered first.
func pickTool(tools []llms.Tool, lower string, words []string) *llms.FunctionDefinition {
	var best *llms.FunctionDefinition
	bestScore := 0
	for _, t := range tools {
		if t.Function == nil {
			continue
		}
		kw := keywordsOf(t.Function)
		score := 0
		if kw.phrase != "" && strings.Contains(lower, kw.phrase) {
			score += 2
		}
		for _, k := range kw.words {
			if containsWord(words, k) {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = t.Function, score
		}
	}
	return best
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// toolKeywords are the words that make the demo call a tool.
type toolKeywords struct {
	phrase string
	words  []string
}

// keywordCache keeps the keywords of tools seen before, so a call does not
// split the same descriptions again. It stops growing at maxCachedTools.
var (
	keywordCache   sync.Map // name + "\x00" + description → toolKeywords
	keywordEntries atomic.Int64
)

const maxCachedTools = 4096

func keywordsOf(fn *llms.FunctionDefinition) toolKeywords {
	key := fn.Name + "\x00" + fn.Description
	if v, ok := keywordCache.Load(key); ok {
		return v.(toolKeywords)
	}
	kw := computeKeywords(fn)
	if keywordEntries.Load() < maxCachedTools {
		if _, loaded := keywordCache.LoadOrStore(key, kw); !loaded {
			keywordEntries.Add(1)
		}
	}
	return kw
}

func computeKeywords(fn *llms.FunctionDefinition) toolKeywords {
	bare := toolname.FromProvider(fn.Name)
	if i := strings.LastIndexByte(bare, ':'); i >= 0 {
		bare = bare[i+1:]
	}
	bare = strings.ToLower(splitCamel(bare))
	phrase := strings.Join(strings.FieldsFunc(bare, isNameSeparator), " ")
	kw := toolKeywords{phrase: phrase}
	for _, w := range strings.Fields(phrase) {
		if len(w) >= 3 && !nameStopWords[w] && !containsWord(kw.words, w) {
			kw.words = append(kw.words, w)
		}
	}
	for _, w := range wordsOf(strings.ToLower(fn.Description)) {
		if len(w) >= 5 && !descriptionStopWords[w] && !containsWord(kw.words, w) {
			kw.words = append(kw.words, w)
		}
	}
	return kw
}

func isNameSeparator(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }

// splitCamel puts a space before each upper-case letter that follows a
// lower-case one, so "getOrderStatus" reads as "get Order Status".
func splitCamel(s string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range s {
		if unicode.IsUpper(r) && prevLower {
			b.WriteByte(' ')
		}
		prevLower = unicode.IsLower(r)
		b.WriteRune(r)
	}
	return b.String()
}

var nameStopWords = map[string]bool{
	"get": true, "set": true, "the": true, "and": true, "for": true,
	"with": true, "tool": true, "from": true,
}

var descriptionStopWords = map[string]bool{
	"about": true, "after": true, "before": true, "their": true, "there": true,
	"these": true, "those": true, "which": true, "while": true, "where": true,
	"return": true, "returns": true, "given": true, "using": true,
	"should": true, "would": true, "could": true, "other": true,
	"value": true, "values": true, "field": true, "fields": true,
	"string": true, "number": true, "object": true, "optional": true,
	"required": true, "current": true, "specified": true, "provided": true,
	"tools": true, "function": true,
}

// demoArguments fills the tool's required parameters from the message:
// strings get the whole message, integers and numbers its first number.
// Other parameters are left out. The JSON has its keys in order.
func demoArguments(fn *llms.FunctionDefinition, message string) string {
	schema := schemaMap(fn.Parameters)
	if schema == nil {
		return "{}"
	}
	props, _ := schema["properties"].(map[string]any)
	args := map[string]any{}
	for _, name := range requiredNames(schema["required"]) {
		prop, _ := props[name].(map[string]any)
		switch prop["type"] {
		case "string":
			args[name] = message
		case "integer", "number":
			if n, ok := firstNumber(message); ok {
				args[name] = n
			}
		}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// schemaMap returns a JSON Schema given as a map, JSON text or any value
// that encodes to a JSON object.
func schemaMap(params any) map[string]any {
	switch p := params.(type) {
	case nil:
		return nil
	case map[string]any:
		return p
	case json.RawMessage:
		return decodeMap(p)
	case []byte:
		return decodeMap(p)
	case string:
		return decodeMap([]byte(p))
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil
	}
	return decodeMap(b)
}

func decodeMap(b []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func requiredNames(v any) []string {
	switch r := v.(type) {
	case []string:
		return r
	case []any:
		names := make([]string, 0, len(r))
		for _, x := range r {
			if s, ok := x.(string); ok {
				names = append(names, s)
			}
		}
		return names
	}
	return nil
}

func firstNumber(s string) (int64, bool) {
	start := strings.IndexFunc(s, unicode.IsDigit)
	if start < 0 {
		return 0, false
	}
	end := start
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[start:end], 10, 64)
	return n, err == nil
}
