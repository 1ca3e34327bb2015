package agentry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/webhook"
)

// sinkGroup is the fx value group whose sinks Module passes to the server.
const sinkGroup = `group:"agentry.sinks"`

// AsSink annotates a constructor of a [sink.Sink] for fx, so that the
// server of [Module] delivers every session's events to the sink, in
// addition to the built-in webhook:
//
//	fx.New(
//		fx.Supply(m),
//		agentry.Module,
//		fx.Provide(agentry.AsSink(newQueueSink)),
//	)
func AsSink(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(sink.Sink)), fx.ResultTags(sinkGroup))
}

// eventParts push session events to the webhook sink and the
// application's sinks.
type eventParts struct {
	deliverer *transport.EventDeliverer
	// checkURL applies the outbound guard to a session's webhook_url.
	checkURL func(ctx context.Context, rawURL string) error
}

// newEventParts builds the webhook sink from the manifest's runtime block
// and the deliverer of every sink.
func newEventParts(m *manifest.Manifest, st store.Store, extra []sink.Sink, owner string, log *slog.Logger, tel *telemetry.Telemetry) (eventParts, error) {
	rt := m.AgentConfig.Runtime
	timeout := rt.Delivery.Timeout.Or(outbound.DefaultTimeout)
	clientConfig := outbound.Config{
		AllowPrivateNetworks: rt.Outbound.AllowPrivateNetworks,
		AllowHosts:           rt.Outbound.AllowHosts,
		Timeout:              timeout,
	}
	guarded, err := outbound.NewClient(clientConfig)
	if err != nil {
		return eventParts{}, fmt.Errorf("runtime.outbound: %w", err)
	}
	keys, err := signingKeys(rt.SigningSecret, rt.PreviousSigningSecrets)
	if err != nil {
		return eventParts{}, err
	}
	defaultURL, defaultKeys := "", keys
	if ew := rt.EventWebhook; ew != nil {
		defaultURL = ew.URL
		if ew.SigningSecret != "" {
			key, err := webhook.ParseSecret(ew.SigningSecret)
			if err != nil {
				return eventParts{}, fmt.Errorf("runtime.event_webhook.signing_secret: %w", err)
			}
			defaultKeys = [][]byte{key}
		}
	}
	hook, err := sink.NewWebhook(sink.WebhookConfig{
		Client:             guarded,
		Trusted:            outbound.NewTrusted(clientConfig),
		BearerToken:        outboundToken(rt),
		SigningKeys:        keys,
		DefaultSigningKeys: defaultKeys,
	})
	if err != nil {
		return eventParts{}, err
	}

	schedule := retrySchedule(rt)
	deliverer, err := transport.NewEventDeliverer(transport.EventDelivererConfig{
		Store:          st,
		Sinks:          append([]sink.Sink{hook}, extra...),
		DefaultURL:     defaultURL,
		Schedule:       &schedule,
		AttemptTimeout: timeout,
		LeaseTTL:       timeout + rt.LeaseTTL.Or(manifest.DefaultLeaseTTL),
		Owner:          owner,
		Logger:         log,
		Telemetry:      tel,
	})
	if err != nil {
		return eventParts{}, fmt.Errorf("Options.Sinks: %w", err)
	}
	return eventParts{deliverer: deliverer, checkURL: guarded.CheckURL}, nil
}

// retrySchedule returns the delivery schedule of callbacks and event
// webhooks: runtime.delivery.retry_schedule, or the default one.
func retrySchedule(rt manifest.Runtime) outbound.Schedule {
	schedule := outbound.DefaultSchedule()
	if len(rt.Delivery.RetrySchedule) > 0 {
		schedule.Delays = make([]time.Duration, len(rt.Delivery.RetrySchedule))
		for i, d := range rt.Delivery.RetrySchedule {
			schedule.Delays[i] = time.Duration(d)
		}
	}
	return schedule
}
