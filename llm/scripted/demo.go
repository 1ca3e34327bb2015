package scripted

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/internal/toolname"
)

// demoOutput is the reply of scripted/demo. In order:
//   - on the evaluation lane, or when JSON output is requested:
//     {"matches":[]}, the answer of the agent's condition checks that no
//     policy or routine condition holds;
//   - after a tool result: the result in words;
//   - when an offered tool matches the last customer message: a call to
//     that tool;
//   - otherwise a text. It greets on the first reply or after a
//     greeting. It replies to "my name is", "what is my name", "what do
//     you know about me", a request to be reminded of something (see
//     recall) and a short thanks, using the conversation and the
//     variables. It repeats any other message.
//
// demoEvaluation is the demo's reply on the evaluation lane.
const demoEvaluation = `{"matches":[]}`

func demoOutput(c *call) output {
	if c.lane == "evaluation" || c.opts.JSONMode {
		return output{text: demoEvaluation}
	}
	if res, name, ok := c.toolResult(); ok {
		return output{text: describeToolResult(name, res.Content)}
	}
	user, ok := c.lastUser()
	vars := ParseVariables(c.system())
	name := customerName(c, vars)
	if !ok {
		return output{text: greeting(name) + " " + demoIntro}
	}
	lower := strings.ToLower(user)
	words := wordsOf(lower)
	if fn := pickTool(c.opts.Tools, lower, words); fn != nil {
		return output{toolName: fn.Name, toolArgs: demoArguments(fn, user)}
	}

	var parts []string
	greets := isGreeting(words)
	introduced := introducedName(user)
	if greets || !c.hasAIMessage() {
		if introduced != "" {
			// "Nice to meet you, <name>." follows, so the name is not repeated.
			parts = append(parts, greeting(""))
		} else {
			parts = append(parts, greeting(name))
		}
	}
	switch {
	case introduced != "":
		parts = append(parts, fmt.Sprintf("Nice to meet you, %s.", introduced))
	case asksName(lower):
		if name != "" {
			parts = append(parts, fmt.Sprintf("Your name is %s.", name))
		} else {
			parts = append(parts, `I don't know your name yet. Tell me with "my name is ...".`)
		}
	case strings.Contains(lower, "what do you know about me"):
		parts = append(parts, describeVariables(vars))
	case asksRecall(lower):
		parts = append(parts, recall(c, user, vars))
	case greets && len(words) <= 3:
		parts = append(parts, demoIntro)
	case isThanks(words):
		parts = append(parts, thanks(name))
	default:
		parts = append(parts, fmt.Sprintf("You said: %q.", clip(user, 300)))
		if prev, ok := previousUser(c); ok {
			parts = append(parts, fmt.Sprintf("Before that you said: %q.", clip(prev, 300)))
		}
	}
	return output{text: strings.Join(parts, " ")}
}

const demoIntro = "I'm the offline demo assistant. How can I help you today?"

var greetingWords = map[string]bool{
	"hi": true, "hello": true, "hey": true, "hallo": true, "hola": true,
	"bonjour": true, "ciao": true, "moin": true, "servus": true,
	"greetings": true, "howdy": true,
}

// isGreeting reports whether a message starts with a greeting.
func isGreeting(words []string) bool {
	if len(words) == 0 {
		return false
	}
	if greetingWords[words[0]] {
		return true
	}
	if words[0] == "good" && len(words) > 1 {
		switch words[1] {
		case "morning", "afternoon", "evening", "day":
			return true
		}
	}
	return false
}

// isThanks reports whether a message is a short thanks of at most six
// words, such as "Thanks, that's all."
func isThanks(words []string) bool {
	if len(words) > 6 {
		return false
	}
	for i, w := range words {
		switch {
		case w == "thanks" || w == "thx":
			return true
		case w == "thank" && i+1 < len(words) && words[i+1] == "you":
			return true
		}
	}
	return false
}

func thanks(name string) string {
	if name == "" {
		return "You're welcome!"
	}
	return "You're welcome, " + name + "!"
}

func greeting(name string) string {
	if name == "" {
		return "Hello!"
	}
	return "Hello, " + name + "!"
}

// customerName returns the name the customer gave most recently in the
// conversation, or else the variable name, first_name or customer_name.
func customerName(c *call, vars []Variable) string {
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Role != llms.ChatMessageTypeHuman {
			continue
		}
		if n := introducedName(textOf(c.msgs[i])); n != "" {
			return n
		}
	}
	for _, key := range []string{"name", "first_name", "customer_name"} {
		for _, v := range vars {
			if strings.EqualFold(v.Name, key) && v.Value != "" {
				return v.Value
			}
		}
	}
	return ""
}

// introducedName returns X from "my name is X" or "call me X". X ends at
// punctuation, at a linking word such as "and", after three words, and,
// when it starts with a capital letter, at the first word that does not.
// After "call me" the name must be capitalised, so "call me tomorrow" is
// not an introduction.
func introducedName(text string) string {
	lower := strings.ToLower(text)
	for _, phrase := range []string{"my name is ", "call me "} {
		i := strings.LastIndex(lower, phrase)
		if i < 0 {
			continue
		}
		rest := text[i+len(phrase):]
		if end := strings.IndexAny(rest, ".,!?;:\n"); end >= 0 {
			rest = rest[:end]
		}
		var name []string
		for _, f := range strings.Fields(rest) {
			if len(name) == 3 || nameEndWords[strings.ToLower(f)] {
				break
			}
			if len(name) > 0 && isCapitalised(name[0]) && !isCapitalised(f) {
				break
			}
			name = append(name, f)
		}
		if len(name) > 0 && phrase == "call me " && !isCapitalised(name[0]) {
			return ""
		}
		return strings.Join(name, " ")
	}
	return ""
}

// nameEndWords end a name given after "my name is" or "call me".
var nameEndWords = map[string]bool{
	"and": true, "but": true, "or": true, "so": true, "because": true,
	"my": true, "i": true, "i'm": true, "im": true, "please": true,
	"from": true, "with": true, "here": true,
}

func isCapitalised(word string) bool {
	r, _ := utf8.DecodeRuneInString(word)
	return unicode.IsUpper(r)
}

func asksName(lower string) bool {
	for _, q := range []string{"what is my name", "what's my name", "whats my name", "who am i", "do you know my name"} {
		if strings.Contains(lower, q) {
			return true
		}
	}
	return false
}

func describeVariables(vars []Variable) string {
	if len(vars) == 0 {
		return "I don't know anything about you yet."
	}
	items := make([]string, len(vars))
	for i, v := range vars {
		items[i] = v.Name + ": " + v.Value
	}
	return "Here is what I know about you: " + strings.Join(items, "; ") + "."
}

// previousUser returns the customer message before the last one.
func previousUser(c *call) (string, bool) {
	seen := false
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Role != llms.ChatMessageTypeHuman {
			continue
		}
		if seen {
			return textOf(c.msgs[i]), true
		}
		seen = true
	}
	return "", false
}

// describeToolResult puts a tool result into words. A JSON object is
// listed as "key: value" pairs in key order.
func describeToolResult(name, content string) string {
	display := toolname.FromProvider(name)
	if display == "" {
		display = "the"
	}
	content = strings.TrimSpace(content)
	var obj map[string]any
	if strings.HasPrefix(content, "{") && json.Unmarshal([]byte(content), &obj) == nil {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + ": " + valueText(obj[k])
		}
		content = strings.Join(pairs, ", ")
	}
	if content == "" {
		return fmt.Sprintf("The %s tool returned nothing.", display)
	}
	return fmt.Sprintf("The %s tool returned: %s.", display, clip(content, 300))
}

func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// wordsOf splits lowercase text into words of letters and digits.
func wordsOf(lower string) []string {
	return strings.FieldsFunc(lower, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
}
