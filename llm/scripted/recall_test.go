package scripted

import (
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"
)

func TestDemoRecall(t *testing.T) {
	const introduction = "My name is Ada and my order number is 4711."
	cases := []struct {
		name    string
		msgs    []llms.MessageContent
		want    string // the whole reply
		notWant string // a substring the reply must not contain; "" skips
	}{
		{"order number", []llms.MessageContent{
			human("Hello!"), ai("Hello!"), human(introduction), ai("Nice to meet you, Ada."),
			human("Can you remind me what my order number was?"),
		}, "Your order number is 4711.", ""},
		{"what was my", []llms.MessageContent{
			human("my email is ada@example.com, thanks"), ai("ok"), human("What was my email again?"),
		}, "Your email is ada@example.com.", ""},
		{"colon", []llms.MessageContent{
			human("Booking reference: QX-77"), ai("ok"), human("Remind me of the booking reference"),
		}, "Your booking reference is QX-77.", ""},
		{"decimal value", []llms.MessageContent{
			human("My shoe size is 4.5 and I like red."), ai("ok"), human("do you remember my shoe size?"),
		}, "Your shoe size is 4.5.", ""},
		{"newest statement wins", []llms.MessageContent{
			human("My order number is 1."), ai("ok"), human("Sorry, my order number is 2."), ai("ok"),
			human("what was my order number"),
		}, "Your order number is 2.", ""},
		{"mention without value", []llms.MessageContent{
			human("I lost the order number you sent me yesterday"), ai("ok"), human("Remind me what my order number was"),
		}, `Earlier you said: "I lost the order number you sent me yesterday".`, ""},
		{"shared words", []llms.MessageContent{
			human("The blue lamp I ordered arrived broken"), ai("ok"), human("Do you remember what I said about the lamp?"),
		}, `Earlier you said: "The blue lamp I ordered arrived broken".`, ""},
		{"word boundary", []llms.MessageContent{
			human("My reorder is 9"), ai("ok"), human("what was my order?"),
		}, "I can't find your order in our conversation.", "9"},
		{"variable", []llms.MessageContent{
			system("Variables:\n- support_plan: premium\n"), human("x"), ai("y"), human("What is my support plan?"),
		}, "Your support plan is premium.", ""},
		{"conversation beats variable", []llms.MessageContent{
			system("Variables:\n- plan: basic\n"), human("My plan is premium now."), ai("ok"), human("what's my plan?"),
		}, "Your plan is premium now.", "basic"},
		{"earlier question not quoted", []llms.MessageContent{
			human("what was my order number?"), ai("I can't find it."), human("Can you remind me of my order number?"),
		}, "I can't find your order number in our conversation.", "Earlier"},
		{"nothing found", []llms.MessageContent{
			human("x"), ai("y"), human("Do you remember?"),
		}, "I can't find that in our conversation.", ""},
	}
	m := mustNew(t, DemoName)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := generate(t, m, tc.msgs)
			if c.Content != tc.want {
				t.Errorf("reply = %q, want %q", c.Content, tc.want)
			}
			if tc.notWant != "" && strings.Contains(c.Content, tc.notWant) {
				t.Errorf("reply %q contains %q", c.Content, tc.notWant)
			}
		})
	}
}

func TestRecallSubject(t *testing.T) {
	cases := []struct {
		name, lower, want string
	}{
		{"my", "can you remind me what my order number was?", "order number"},
		{"the", "do you remember the order number i gave you?", "order number"},
		{"about", "what did i tell you about delivery dates", "delivery dates"},
		{"last anchor", "remind me about my flight", "flight"},
		{"at most four words", "what was my very long and detailed thing", "very long and detailed"},
		{"anchor inside a word", "remind me, army", ""},
		{"none", "remind me", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := recallSubject(tc.lower); got != tc.want {
				t.Errorf("recallSubject(%q) = %q, want %q", tc.lower, got, tc.want)
			}
		})
	}
}

func TestValueAfter(t *testing.T) {
	cases := []struct {
		name, rest, want string
	}{
		{"is", " is 4711.", "4711"},
		{"was", " was QX-7, I think", "QX-7"},
		{"colon", ": 42", "42"},
		{"equals", "=abc", "abc"},
		{"ends at and", " is 4711 and it is late", "4711"},
		{"keeps inner dots", " is ada@example.com.", "ada@example.com"},
		{"ends at line break", " is 12\nmore", "12"},
		{"no link", " 4711", ""},
		{"linked but empty", " is .", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := valueAfter(tc.rest); got != tc.want {
				t.Errorf("valueAfter(%q) = %q, want %q", tc.rest, got, tc.want)
			}
		})
	}
}
