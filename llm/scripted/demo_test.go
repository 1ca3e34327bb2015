package scripted

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"
)

const promptWithVariables = "You are a shop assistant.\n\nVariables:\n- name: Ada\n- plan: pro\n\nBe brief."

func TestDemoText(t *testing.T) {
	cases := []struct {
		name    string
		msgs    []llms.MessageContent
		want    []string // substrings of the reply
		notWant []string
	}{
		{"new conversation", nil, []string{"Hello!", "How can I help"}, nil},
		{"greeting", []llms.MessageContent{human("hi")}, []string{"Hello!", "How can I help"}, []string{"You said"}},
		{"greeting later", []llms.MessageContent{human("x"), ai("y"), human("Good morning!")}, []string{"Hello!"}, nil},
		{"greets with the name variable", []llms.MessageContent{system(promptWithVariables), human("hello")}, []string{"Hello, Ada!"}, nil},
		{"first reply greets and echoes", []llms.MessageContent{human("I need a new charger")}, []string{"Hello!", `You said: "I need a new charger".`}, nil},
		{"later reply echoes without greeting", []llms.MessageContent{
			human("first"), ai("ok"), human("second"),
		}, []string{`You said: "second".`, `Before that you said: "first".`}, []string{"Hello"}},
		{"learns the name", []llms.MessageContent{human("hi"), ai("Hello!"), human("My name is Grace Hopper.")}, []string{"Nice to meet you, Grace Hopper."}, nil},
		{"first reply introduces name once", []llms.MessageContent{human("Hi, my name is Ada.")},
			[]string{"Hello! Nice to meet you, Ada."}, []string{"Hello, Ada"}},
		{"name before and", []llms.MessageContent{human("hi"), ai("Hello!"), human("My name is Ada and my order number is 4711.")},
			[]string{"Nice to meet you, Ada."}, []string{"Ada and"}},
		{"thanks with name", []llms.MessageContent{
			human("My name is Ada."), ai("Nice to meet you, Ada."), human("Thanks, that's all."),
		}, []string{"You're welcome, Ada!"}, []string{"You said"}},
		{"thanks without name", []llms.MessageContent{human("x"), ai("y"), human("thank you!")}, []string{"You're welcome!"}, []string{"You said"}},
		{"long message with thanks echoes", []llms.MessageContent{
			human("x"), ai("y"), human("Thanks, but my parcel has still not arrived after two weeks"),
		}, []string{"You said"}, []string{"welcome"}},
		{"recalls the name", []llms.MessageContent{
			human("my name is Bob"), ai("Nice to meet you, Bob."), human("what is my name?"),
		}, []string{"Your name is Bob."}, nil},
		{"name from variables", []llms.MessageContent{system(promptWithVariables), human("x"), ai("y"), human("Who am I?")}, []string{"Your name is Ada."}, nil},
		{"conversation beats variables", []llms.MessageContent{
			system(promptWithVariables), human("call me Lin"), ai("ok"), human("what's my name"),
		}, []string{"Your name is Lin."}, nil},
		{"unknown name", []llms.MessageContent{human("x"), ai("y"), human("what is my name")}, []string{"don't know your name"}, nil},
		{"lists variables", []llms.MessageContent{system(promptWithVariables), human("x"), ai("y"), human("What do you know about me?")},
			[]string{"name: Ada; plan: pro"}, nil},
		{"tool result in words", append([]llms.MessageContent{human("status of order 7?")},
			toolPair("call_1", "shop__order_status", `{"status":"shipped","eta":"2 days"}`)...),
			[]string{"The shop:order_status tool returned: eta: 2 days, status: shipped."}, nil},
		{"plain tool result", append([]llms.MessageContent{human("weather?")},
			toolPair("call_1", "weather", "sunny")...),
			[]string{"The weather tool returned: sunny."}, nil},
	}
	m := mustNew(t, DemoName)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := generate(t, m, tc.msgs)
			if len(c.ToolCalls) != 0 {
				t.Fatalf("tool calls = %+v, want text", c.ToolCalls)
			}
			for _, w := range tc.want {
				if !strings.Contains(c.Content, w) {
					t.Errorf("reply %q lacks %q", c.Content, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(c.Content, w) {
					t.Errorf("reply %q contains %q", c.Content, w)
				}
			}
		})
	}
}

func orderTools() []llms.Tool {
	return []llms.Tool{
		tool("shop__refund", "Refund a purchase.", nil),
		tool("shop__order_status", "Look up the delivery status of an order.", map[string]any{
			"type": "object",
			"properties": map[string]any{
				"order":   map[string]any{"type": "integer"},
				"message": map[string]any{"type": "string"},
				"urgent":  map[string]any{"type": "boolean"},
			},
			"required": []any{"order", "message", "urgent"},
		}),
	}
}

func TestDemoToolCall(t *testing.T) {
	cases := []struct {
		name     string
		message  string
		tools    []llms.Tool
		wantTool string // "" means a text reply
		wantArgs string
	}{
		{"name mentioned", "What is the order status of 42?", orderTools(), "shop__order_status",
			`{"message":"What is the order status of 42?","order":42}`},
		{"description keyword", "Where is my delivery?", orderTools(), "shop__order_status",
			`{"message":"Where is my delivery?"}`},
		{"other tool", "I want a refund", orderTools(), "shop__refund", "{}"},
		{"namespaced name as offered", "refund it", []llms.Tool{tool("shop:refund", "", nil)}, "shop:refund", "{}"},
		{"camel case name", "check the weather in Paris", []llms.Tool{tool("getWeather", "", nil)}, "getWeather", "{}"},
		{"not asked", "Tell me a joke", orderTools(), "", ""},
		{"asked but not offered", "I want a refund", nil, "", ""},
	}
	m := mustNew(t, DemoName)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := generate(t, m, []llms.MessageContent{human(tc.message)}, llms.WithTools(tc.tools))
			if tc.wantTool == "" {
				if len(c.ToolCalls) != 0 {
					t.Errorf("tool calls = %+v, want text", c.ToolCalls[0].FunctionCall)
				}
				return
			}
			if len(c.ToolCalls) != 1 {
				t.Fatalf("tool calls = %d, want 1 (reply %q)", len(c.ToolCalls), c.Content)
			}
			fc := c.ToolCalls[0].FunctionCall
			if fc.Name != tc.wantTool {
				t.Errorf("tool = %q, want %q", fc.Name, tc.wantTool)
			}
			if fc.Arguments != tc.wantArgs {
				t.Errorf("arguments = %s, want %s", fc.Arguments, tc.wantArgs)
			}
			if c.Content != "" {
				t.Errorf("content = %q beside a tool call, want none", c.Content)
			}
			if c.ToolCalls[0].ID == "" || c.ToolCalls[0].Type != "function" {
				t.Errorf("call = %+v, want an ID and type function", c.ToolCalls[0])
			}
		})
	}
}

func TestDemoToolCallIDsAdvance(t *testing.T) {
	m := mustNew(t, DemoName)
	msgs := []llms.MessageContent{human("refund please")}
	first := generate(t, m, msgs, llms.WithTools(orderTools())).ToolCalls[0]
	msgs = append(msgs, toolPair(first.ID, first.FunctionCall.Name, "refunded")...)
	msgs = append(msgs, ai("Refunded."), human("refund the other one too"))
	second := generate(t, m, msgs, llms.WithTools(orderTools())).ToolCalls[0]
	if first.ID == second.ID {
		t.Errorf("both calls have ID %q", first.ID)
	}
}

func TestDemoDeterministic(t *testing.T) {
	m := mustNew(t, DemoName)
	inputs := [][]llms.MessageContent{
		{system(promptWithVariables), human("hello there")},
		{human("where is my order 5")},
		append([]llms.MessageContent{human("x")}, toolPair("c", "t", `{"b":1,"a":[2],"c":"z"}`)...),
	}
	for i, msgs := range inputs {
		first := generate(t, m, msgs, llms.WithTools(orderTools()))
		for range 5 {
			again := generate(t, m, msgs, llms.WithTools(orderTools()))
			if !reflect.DeepEqual(first, again) {
				t.Fatalf("input %d: replies differ: %+v vs %+v", i, first, again)
			}
		}
	}
}

func TestDemoStructuredOutput(t *testing.T) {
	cases := []struct {
		name string
		m    *Model
		opts []llms.CallOption
	}{
		{"evaluation lane", mustNew(t, DemoName, WithLane("evaluation")), nil},
		{"json mode", mustNew(t, DemoName), []llms.CallOption{llms.WithJSONMode()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := generate(t, tc.m, []llms.MessageContent{human("hi")}, tc.opts...)
			if c.Content != demoEvaluation {
				t.Errorf("reply = %q, want %s", c.Content, demoEvaluation)
			}
		})
	}
}

func TestParseVariables(t *testing.T) {
	cases := []struct {
		name   string
		system string
		want   []Variable
	}{
		{"none", "Be nice.", nil},
		{"section", promptWithVariables, []Variable{{"name", "Ada"}, {"plan", "pro"}}},
		{"value with colon", "Variables:\n- url: https://x.test/a\n", []Variable{{"url", "https://x.test/a"}}},
		{"ends at other line", "Variables:\n- a: 1\nNot a variable\n- b: 2\n", []Variable{{"a", "1"}}},
		{"indented header", "  Variables:  \n  - a: 1", []Variable{{"a", "1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseVariables(tc.system); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseVariables = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIntroducedName(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"alone", "My name is Ada.", "Ada"},
		{"full name", "my name is Grace Hopper, hi", "Grace Hopper"},
		{"ends at and", "My name is Ada and my order number is 4711.", "Ada"},
		{"ends at lowercase word", "My name is Ada tell me more", "Ada"},
		{"lowercase name", "my name is ada lovelace", "ada lovelace"},
		{"at most three words", "My name is A B C D", "A B C"},
		{"call me", "Please call me Lin.", "Lin"},
		{"call me lowercase", "can you call me tomorrow?", ""},
		{"none", "I need help", ""},
		{"nothing after", "my name is ", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := introducedName(tc.text); got != tc.want {
				t.Errorf("introducedName(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}
