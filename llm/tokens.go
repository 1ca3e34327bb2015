package llm

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/tmc/langchaingo/llms"
)

// Constants of the token estimate.
const (
	// messageOverhead is the estimated cost of a message's role and
	// framing.
	messageOverhead = 4
	// replyOverhead is the estimated cost of priming the reply.
	replyOverhead = 3
	// imageTokens is the estimated cost of one image part.
	imageTokens = 1000
)

// EstimateTokens estimates the tokens msgs take in a model's context:
// four tokens per message, one token per four ASCII bytes of text, tool
// names and arguments, one token per non-ASCII character, and 1000 per
// image, plus three for the reply. It is an estimate for trimming history
// to a lane's context window, not a tokenizer; it works offline, unlike
// llms.CountTokens, which downloads tokenizer files.
func EstimateTokens(msgs []llms.MessageContent) int {
	total := replyOverhead
	for _, m := range msgs {
		total += messageOverhead
		for _, p := range m.Parts {
			total += partTokens(p)
		}
	}
	return total
}

// EstimateToolTokens estimates the tokens the definitions of tools take,
// in the same way as [EstimateTokens].
func EstimateToolTokens(tools []llms.Tool) int {
	total := 0
	for _, t := range tools {
		if t.Function == nil {
			continue
		}
		total += messageOverhead + textTokens(t.Function.Name) + textTokens(t.Function.Description)
		if t.Function.Parameters != nil {
			if b, err := json.Marshal(t.Function.Parameters); err == nil {
				total += textTokens(string(b))
			}
		}
	}
	return total
}

func partTokens(p llms.ContentPart) int {
	switch v := p.(type) {
	case llms.TextContent:
		return textTokens(v.Text)
	case llms.ToolCall:
		if v.FunctionCall == nil {
			return 0
		}
		return textTokens(v.ID) + textTokens(v.FunctionCall.Name) + textTokens(v.FunctionCall.Arguments)
	case llms.ToolCallResponse:
		return textTokens(v.ToolCallID) + textTokens(v.Name) + textTokens(v.Content)
	case llms.ImageURLContent, llms.BinaryContent:
		return imageTokens
	}
	return 0
}

// textTokens counts one token per four ASCII bytes, rounded up, and one
// per non-ASCII character, since those often take a token or more each.
func textTokens(s string) int {
	ascii, other := 0, 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		other++
		i += size
	}
	return (ascii+3)/4 + other
}
