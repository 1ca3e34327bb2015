package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// peakModel records the largest number of its calls in flight at once.
// Each call waits a little, so calls that may overlap do.
type peakModel struct {
	llms.Model
	mu        sync.Mutex
	inFlight  int
	peak      int
	callCount int
}

func (m *peakModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	m.mu.Lock()
	m.inFlight++
	m.callCount++
	m.peak = max(m.peak, m.inFlight)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()
	time.Sleep(20 * time.Millisecond)
	return m.Model.GenerateContent(ctx, msgs, options...)
}

func TestPolicyMatchingBoundsConcurrency(t *testing.T) {
	var b strings.Builder
	b.WriteString("    policies:\n")
	const policies = 3 * maxConcurrentJudgements
	for i := range policies {
		fmt.Fprintf(&b, "      - {id: p%d, condition: The customer mentions topic %d, action: Help.}\n", i, i)
	}
	eval := &peakModel{Model: scriptedModel(t, "evaluation", `
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)}
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "    policy_batch_size: 1\n", b.String(), chat, eval, nil)

	converse(t, e, st, "hello")

	eval.mu.Lock()
	defer eval.mu.Unlock()
	if eval.callCount < policies {
		t.Errorf("%d evaluation calls, want at least %d: one per policy", eval.callCount, policies)
	}
	if eval.peak > maxConcurrentJudgements {
		t.Errorf("%d evaluation calls in flight at once, want at most %d", eval.peak, maxConcurrentJudgements)
	}
	if eval.peak < 2 {
		t.Errorf("%d evaluation call in flight at most, want the batches to run concurrently", eval.peak)
	}
}
