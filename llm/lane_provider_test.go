package llm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/manifest"
)

func TestLaneProviderText(t *testing.T) {
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(p.text("Hello from " + p.name))
			lanes := newLanes(t, p.single(url, manifest.Provider{}))

			reply, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{system("Be brief."), human("hi")})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if reply.Text != "Hello from "+p.name {
				t.Errorf("Text = %q", reply.Text)
			}
			if want := p.name + "/" + p.model; reply.Model != want {
				t.Errorf("Model = %q, want %q", reply.Model, want)
			}
			if reply.Usage.InputTokens == 0 || reply.Usage.OutputTokens == 0 {
				t.Errorf("Usage = %+v, want both counts", reply.Usage)
			}
			if n := len(fake.received()); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
		})
	}
}

func TestLaneToolRoundTrip(t *testing.T) {
	cases := []struct {
		provider provider
		// calls responds with two parallel calls to the given provider
		// names.
		calls func(status, refund string) responseFunc
	}{
		{providers[0], func(status, refund string) responseFunc {
			return openAIToolCalls(
				[3]string{"call_a", status, `{"order":"42"}`},
				[3]string{"call_b", refund, `{}`},
			)
		}},
		{providers[1], func(status, refund string) responseFunc {
			return anthropicResponse("tool_use",
				anthropicText("Let me check."),
				anthropicToolUse("toolu_a", status, map[string]any{"order": "42"}),
				anthropicToolUse("toolu_b", refund, map[string]any{}),
			)
		}},
	}
	for _, tc := range cases {
		p := tc.provider
		t.Run(p.name, func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(tc.calls("shop__order_status", "shop__refund"), p.text("Order 42 has shipped."))
			lanes := newLanes(t, p.single(url, manifest.Provider{}))
			tools := shopTools()
			msgs := []llms.MessageContent{system("You help shoppers."), human("Where is order 42? Also refund it.")}

			reply, err := lanes.Chat.Generate(context.Background(), msgs, llms.WithTools(tools))
			if err != nil {
				t.Fatalf("first Generate: %v", err)
			}
			if len(reply.ToolCalls) != 2 {
				t.Fatalf("ToolCalls = %d, want 2", len(reply.ToolCalls))
			}
			if got := reply.ToolCalls[0].FunctionCall.Name; got != "shop:order_status" {
				t.Errorf("first call name = %q, want shop:order_status", got)
			}
			if got := reply.ToolCalls[1].FunctionCall.Name; got != "shop:refund" {
				t.Errorf("second call name = %q, want shop:refund", got)
			}
			if got := reply.ToolCalls[0].FunctionCall.Arguments; !strings.Contains(got, `"42"`) {
				t.Errorf("first call arguments = %q", got)
			}
			if tools[0].Function.Name != "shop:order_status" {
				t.Errorf("caller's tool renamed to %q", tools[0].Function.Name)
			}

			msgs = append(msgs, ToolCallMessages(reply.ToolCalls[0], `{"status":"shipped"}`)...)
			msgs = append(msgs, ToolCallMessages(reply.ToolCalls[1], "error: refunds are closed")...)
			final, err := lanes.Chat.Generate(context.Background(), msgs, llms.WithTools(tools))
			if err != nil {
				t.Fatalf("second Generate: %v", err)
			}
			if final.Text != "Order 42 has shipped." {
				t.Errorf("final Text = %q", final.Text)
			}

			reqs := fake.received()
			if len(reqs) != 2 {
				t.Fatalf("requests = %d, want 2", len(reqs))
			}
			sent := sentToolNames(reqs[1].body)
			want := []string{"shop__order_status", "shop__refund", "shop__order_status", "shop__refund"}
			if strings.Join(sent, ",") != strings.Join(want, ",") {
				t.Errorf("tool names sent = %v, want %v", sent, want)
			}
		})
	}
}

// sentToolNames lists the tool names of a request body: offered tools,
// then the calls in the transcript, in either wire format.
func sentToolNames(body map[string]any) []string {
	var names []string
	for _, tool := range asMaps(body["tools"]) {
		if fn, ok := tool["function"].(map[string]any); ok {
			names = append(names, str(fn, "name"))
		} else {
			names = append(names, str(tool, "name"))
		}
	}
	for _, m := range asMaps(body["messages"]) {
		for _, tc := range asMaps(m["tool_calls"]) {
			fn, _ := tc["function"].(map[string]any)
			names = append(names, str(fn, "name"))
		}
		for _, b := range contentBlocks(m) {
			if str(b, "type") == "tool_use" {
				names = append(names, str(b, "name"))
			}
		}
	}
	return names
}

func TestFakeProviderRejects(t *testing.T) {
	// The fakes must reject what real providers reject, or the round trip
	// tests above prove nothing.
	dangling := []llms.MessageContent{
		human("refund"),
		{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{llms.ToolCall{
			ID: "call_1", Type: "function",
			FunctionCall: &llms.FunctionCall{Name: "shop:refund", Arguments: "{}"},
		}}},
		human("well?"),
	}
	for _, p := range providers {
		t.Run(p.name+"/dangling call", func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(p.text("unreachable"))
			lanes := newLanes(t, p.single(url, manifest.Provider{MaxRetries: intPtr(0)}))
			_, err := lanes.Chat.Generate(context.Background(), dangling)
			if err == nil || !strings.Contains(err.Error(), "400") {
				t.Errorf("err = %v, want a 400 response", err)
			}
		})
		t.Run(p.name+"/invalid tool name", func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(p.text("unreachable"))
			lanes := newLanes(t, p.single(url, manifest.Provider{MaxRetries: intPtr(0)}))
			// Bypass the lane's mapping by calling its model directly.
			model := lanes.Chat.models[0].Model
			_, err := model.GenerateContent(context.Background(), []llms.MessageContent{human("hi")}, llms.WithTools(shopTools()))
			if err == nil || !strings.Contains(err.Error(), "400") {
				t.Errorf("err = %v, want a 400 response", err)
			}
		})
	}
}

func TestLaneRetryAfter(t *testing.T) {
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(fake.statusResponse(http.StatusTooManyRequests, "Retry-After", "1"), p.text("after the wait"))
			lanes := newLanes(t, p.single(url, manifest.Provider{}))

			reply, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if reply.Text != "after the wait" {
				t.Errorf("Text = %q", reply.Text)
			}
			reqs := fake.received()
			if len(reqs) != 2 {
				t.Fatalf("requests = %d, want 2", len(reqs))
			}
			// Retry-After is whole seconds; allow for clock granularity.
			if gap := reqs[1].at.Sub(reqs[0].at); gap < 900*time.Millisecond {
				t.Errorf("retry came %v after the 429, want about 1s", gap)
			}
		})
	}
}

func TestLaneRetries5xx(t *testing.T) {
	for _, p := range providers {
		t.Run(p.name+"/success within retries", func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fail := fake.statusResponse(http.StatusInternalServerError)
			fake.queue(fail, fail, fail, p.text("fourth time lucky"))
			lanes := newLanes(t, p.single(url, manifest.Provider{MaxRetries: intPtr(3)}))

			reply, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if reply.Text != "fourth time lucky" {
				t.Errorf("Text = %q", reply.Text)
			}
			if n := len(fake.received()); n != 4 {
				t.Errorf("requests = %d, want 4", n)
			}
		})
		t.Run(p.name+"/retries exhausted", func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(fake.statusResponse(http.StatusServiceUnavailable))
			lanes := newLanes(t, p.single(url, manifest.Provider{}))

			_, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")})
			if !errors.Is(err, ErrAllModelsFailed) {
				t.Errorf("err = %v, want ErrAllModelsFailed", err)
			}
			if n := len(fake.received()); n != 1+DefaultMaxRetries {
				t.Errorf("requests = %d, want %d", n, 1+DefaultMaxRetries)
			}
		})
	}
}

// twoProviders returns an llms block with the OpenAI fake as the default
// and the Anthropic fake as the fallback.
func twoProviders(t *testing.T, primary manifest.Provider) (*fakeOpenAI, *fakeAnthropic, manifest.LLMs) {
	t.Helper()
	first := newFakeOpenAI(t, "key-openai", "gpt-4o-mini")
	second := newFakeAnthropic(t, "key-anthropic", "claude-test")
	primary.APIKey = "key-openai"
	primary.BaseURL = first.baseURL()
	return first, second, manifest.LLMs{
		Default:  "openai/gpt-4o-mini",
		Fallback: []string{"anthropic/claude-test"},
		Providers: map[string]manifest.Provider{
			"openai":    primary,
			"anthropic": {APIKey: "key-anthropic", BaseURL: second.baseURL()},
		},
	}
}

func TestLaneFallback(t *testing.T) {
	cases := []struct {
		name     string
		primary  manifest.Provider
		failures func(f *fakeProvider) []responseFunc
		requests int // requests the primary gets
	}{
		{"bad request", manifest.Provider{}, func(f *fakeProvider) []responseFunc {
			return []responseFunc{f.statusResponse(http.StatusBadRequest)}
		}, 1},
		{"server errors", manifest.Provider{MaxRetries: intPtr(1)}, func(f *fakeProvider) []responseFunc {
			return []responseFunc{f.statusResponse(http.StatusBadGateway)}
		}, 2},
		{"retry-after too long", manifest.Provider{}, func(f *fakeProvider) []responseFunc {
			return []responseFunc{f.statusResponse(http.StatusTooManyRequests, "Retry-After", "120")}
		}, 1},
		{"retry-after past timeout", manifest.Provider{Timeout: manifest.Duration(2 * time.Second)}, func(f *fakeProvider) []responseFunc {
			return []responseFunc{f.statusResponse(http.StatusTooManyRequests, "Retry-After", "10")}
		}, 1},
		{"timeout", manifest.Provider{Timeout: manifest.Duration(200 * time.Millisecond)}, func(f *fakeProvider) []responseFunc {
			return []responseFunc{hangResponse(make(chan struct{}))}
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolateEnv(t)
			first, second, cfg := twoProviders(t, tc.primary)
			first.queue(tc.failures(first.fakeProvider)...)
			second.queue(anthropicResponse("end_turn", anthropicText("fallback reply")))
			lanes := newLanes(t, cfg)

			start := time.Now()
			reply, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if reply.Model != "anthropic/claude-test" {
				t.Errorf("Model = %q, want the fallback", reply.Model)
			}
			if reply.Text != "fallback reply" {
				t.Errorf("Text = %q", reply.Text)
			}
			if n := len(first.received()); n != tc.requests {
				t.Errorf("primary requests = %d, want %d", n, tc.requests)
			}
			if elapsed := time.Since(start); elapsed > 30*time.Second {
				t.Errorf("fallback took %v", elapsed)
			}
		})
	}
}

func TestLaneContextEndsWithoutFallback(t *testing.T) {
	cases := []struct {
		name string
		want error
		ctx  func(arrived <-chan struct{}) (context.Context, context.CancelFunc)
	}{
		{"canceled", context.Canceled, func(arrived <-chan struct{}) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-arrived
				cancel()
			}()
			return ctx, cancel
		}},
		{"deadline", context.DeadlineExceeded, func(<-chan struct{}) (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolateEnv(t)
			first, second, cfg := twoProviders(t, manifest.Provider{})
			arrived := make(chan struct{})
			first.queue(hangResponse(arrived))
			second.queue(anthropicResponse("end_turn", anthropicText("must not be asked")))
			lanes := newLanes(t, cfg)
			ctx, cancel := tc.ctx(arrived)
			defer cancel()

			_, err := lanes.Chat.Generate(ctx, []llms.MessageContent{human("hi")})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if errors.Is(err, ErrAllModelsFailed) {
				t.Errorf("err = %v: the lane went on to the fallback", err)
			}
			if n := len(second.received()); n != 0 {
				t.Errorf("fallback requests = %d, want 0", n)
			}
		})
	}
}

func TestLaneCancelDuringRetryWait(t *testing.T) {
	isolateEnv(t)
	p := providers[0]
	fake, url := p.start(t, "key-openai", p.model)
	fake.queue(fake.statusResponse(http.StatusTooManyRequests, "Retry-After", "30"), p.text("too late"))
	lanes := newLanes(t, p.single(url, manifest.Provider{}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(fake.received()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()

	_, err := lanes.Chat.Generate(ctx, []llms.MessageContent{human("hi")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := len(fake.received()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestLaneNormalizesArguments(t *testing.T) {
	cases := []struct {
		provider provider
		response responseFunc
	}{
		{providers[0], openAIToolCalls(
			[3]string{"call_a", "shop__refund", ""},
			[3]string{"call_b", "shop__refund", "null"},
		)},
		{providers[1], anthropicResponse("tool_use",
			anthropicToolUse("toolu_a", "shop__refund", nil),
			map[string]any{"type": "tool_use", "id": "toolu_b", "name": "shop__refund"},
		)},
	}
	for _, tc := range cases {
		p := tc.provider
		t.Run(p.name, func(t *testing.T) {
			isolateEnv(t)
			fake, url := p.start(t, "key-"+p.name, p.model)
			fake.queue(tc.response, p.text("done"))
			lanes := newLanes(t, p.single(url, manifest.Provider{}))
			msgs := []llms.MessageContent{human("refund twice")}

			reply, err := lanes.Chat.Generate(context.Background(), msgs, llms.WithTools(shopTools()))
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if len(reply.ToolCalls) != 2 {
				t.Fatalf("ToolCalls = %d, want 2", len(reply.ToolCalls))
			}
			for i, call := range reply.ToolCalls {
				if call.FunctionCall.Arguments != "{}" {
					t.Errorf("call %d arguments = %q, want {}", i, call.FunctionCall.Arguments)
				}
			}
			for _, call := range reply.ToolCalls {
				msgs = append(msgs, ToolCallMessages(call, "refunded")...)
			}
			if _, err := lanes.Chat.Generate(context.Background(), msgs, llms.WithTools(shopTools())); err != nil {
				t.Errorf("replaying the normalized calls: %v", err)
			}
		})
	}
}

func TestLaneOllama(t *testing.T) {
	isolateEnv(t)
	fake := newFakeOpenAI(t, "ollama", "llama3.2")
	fake.queue(openAIText("hello from ollama"))
	lanes := newLanes(t, manifest.LLMs{
		Default:   "ollama/llama3.2",
		Providers: map[string]manifest.Provider{"ollama": {BaseURL: fake.baseURL()}},
	})

	reply, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if reply.Text != "hello from ollama" {
		t.Errorf("Text = %q", reply.Text)
	}
}

func TestLanePlaceholderToken(t *testing.T) {
	isolateEnv(t)
	fake := newFakeOpenAI(t, placeholderToken, "local-model")
	fake.queue(openAIText("no key needed"))
	lanes := newLanes(t, manifest.LLMs{
		Default:   "openai/local-model",
		Providers: map[string]manifest.Provider{"openai": {BaseURL: fake.baseURL()}},
	})

	if _, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")}); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if got := fake.received()[0].header.Get("Authorization"); got != "Bearer "+placeholderToken {
		t.Errorf("Authorization = %q, want the placeholder", got)
	}
}

func TestLaneMapsToolChoice(t *testing.T) {
	isolateEnv(t)
	p := providers[0]
	fake, url := p.start(t, "key-openai", p.model)
	fake.queue(openAIToolCalls([3]string{"call_a", "shop__refund", "{}"}))
	lanes := newLanes(t, p.single(url, manifest.Provider{}))
	choice := llms.ToolChoice{Type: "function", Function: &llms.FunctionReference{Name: "shop:refund"}}

	reply, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("refund")},
		llms.WithTools(shopTools()), llms.WithToolChoice(&choice))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if reply.ToolCalls[0].FunctionCall.Name != "shop:refund" {
		t.Errorf("call name = %q", reply.ToolCalls[0].FunctionCall.Name)
	}
	sent, _ := fake.received()[0].body["tool_choice"].(map[string]any)
	fn, _ := sent["function"].(map[string]any)
	if got := str(fn, "name"); got != "shop__refund" {
		t.Errorf("tool_choice function sent = %q, want shop__refund", got)
	}
	if choice.Function.Name != "shop:refund" {
		t.Errorf("caller's tool choice renamed to %q", choice.Function.Name)
	}
}
