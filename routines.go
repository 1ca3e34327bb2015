package agentry

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/routine"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/webhook"
)

// resolveTools checks every native tool that the manifest's routines name
// against the registry and reports the unknown ones in the manifest's
// error format.
func resolveTools(m *manifest.Manifest, tools *tool.Registry) error {
	var problems []manifest.Violation
	for _, ref := range m.ToolReferences() {
		if m.MCP(ref.Namespace()) != nil {
			// An MCP server's tools are known once it connects; loading
			// already checked the reference against its allow-list.
			continue
		}
		if _, ok := tools.Get(ref.Name); !ok {
			problems = append(problems, ref.Violation("unknown tool %q: register it through Options.Tools or configure its MCP server", ref.Name))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return manifest.NewValidationError("", problems)
}

// routineParts are the pieces that run autonomous routines.
type routineParts struct {
	runner    *routine.Runner
	deliverer *routine.Deliverer
}

// newRoutineParts compiles the manifest's routines and builds the run
// workers and the callback deliverer.
func newRoutineParts(m *manifest.Manifest, st store.Store, chat, evaluation llms.Model, tools *tool.Registry, owner string, log *slog.Logger, tel *telemetry.Telemetry) (routineParts, error) {
	rt := m.AgentConfig.Runtime
	var compiled []*routine.Routine
	for _, def := range m.AgentConfig.Context.Routines {
		r, err := routine.Compile(def, tools)
		if err != nil {
			return routineParts{}, err
		}
		compiled = append(compiled, r)
	}

	client, err := outbound.NewClient(outbound.Config{
		AllowPrivateNetworks: rt.Outbound.AllowPrivateNetworks,
		AllowHosts:           rt.Outbound.AllowHosts,
		Timeout:              rt.Delivery.Timeout.Or(outbound.DefaultTimeout),
	})
	if err != nil {
		return routineParts{}, fmt.Errorf("runtime.outbound: %w", err)
	}
	keys, err := signingKeys(rt.SigningSecret, rt.PreviousSigningSecrets)
	if err != nil {
		return routineParts{}, err
	}
	schedule := retrySchedule(rt)

	deliverer, err := routine.NewDeliverer(routine.DelivererConfig{
		Store:       st,
		Client:      client,
		SigningKeys: keys,
		BearerToken: outboundToken(rt),
		Schedule:    &schedule,
		Owner:       owner,
		Logger:      log,
		LeaseTTL:    rt.Delivery.Timeout.Or(outbound.DefaultTimeout) + rt.LeaseTTL.Or(manifest.DefaultLeaseTTL),
		Telemetry:   tel,
	})
	if err != nil {
		return routineParts{}, err
	}
	executor := &routine.Executor{
		Chat:          chat,
		Evaluation:    evaluation,
		Tools:         tools,
		MaxIterations: rt.MaxEngineIterations,
		Logger:        log,
		Telemetry:     tel,
	}
	if sp := m.AgentConfig.Context.SystemPrompt; sp != nil {
		executor.SystemPrompt = sp.Text
	}
	runner, err := routine.NewRunner(routine.RunnerConfig{
		Store:    st,
		Executor: executor,
		Routines: compiled,
		CheckCallback: func(ctx context.Context, raw string) string {
			if err := client.CheckURL(ctx, raw); err != nil {
				return err.Error()
			}
			return ""
		},
		Owner:     owner,
		Logger:    log,
		LeaseTTL:  rt.LeaseTTL.Or(manifest.DefaultLeaseTTL),
		OnEnded:   func(store.Run) { deliverer.Wake() },
		Telemetry: tel,
	})
	if err != nil {
		return routineParts{}, err
	}
	return routineParts{runner: runner, deliverer: deliverer}, nil
}

// signingKeys decodes the current signing secret and the previous ones,
// the current first. No secret means unsigned POSTs.
func signingKeys(current string, previous []string) ([][]byte, error) {
	var keys [][]byte
	for i, s := range append([]string{current}, previous...) {
		if s == "" {
			continue
		}
		k, err := webhook.ParseSecret(s)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("runtime.signing_secret: %w", err)
			}
			return nil, fmt.Errorf("runtime.previous_signing_secrets[%d]: %w", i-1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// outboundToken returns the bearer token of callbacks and event webhooks
// per runtime.outbound_auth, or "" for none.
func outboundToken(rt manifest.Runtime) string {
	switch rt.OutboundAuth.Mode {
	case manifest.OutboundAuthSignatureOnly:
		return ""
	case manifest.OutboundAuthToken:
		return rt.OutboundAuth.Token
	default:
		return rt.APIKey
	}
}
