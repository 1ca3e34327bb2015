package agentry

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/sink"
)

// Module provides a *Server to an fx application and ties its Start and
// Shutdown to the application's lifecycle. The application supplies the
// *manifest.Manifest. It may supply a *slog.Logger, and it may swap the
// default in-memory store.Store for its own with fx.Decorate:
//
//	fx.New(
//		fx.Supply(m),
//		agentry.Module,
//		fx.Decorate(func(store.Store) store.Store { return myStore }),
//		fx.Invoke(func(mux *http.ServeMux, s *agentry.Server) {
//			mux.Handle("/agent/", http.StripPrefix("/agent", s))
//		}),
//	)
var Module = fx.Module("agentry",
	fx.Provide(
		fx.Annotate(newMemoryStore, fx.As(new(store.Store))),
		newFxServer,
	),
)

// newMemoryStore provides the default store and closes it when the
// application stops.
func newMemoryStore(lc fx.Lifecycle) *memory.Store {
	s := memory.New()
	lc.Append(fx.StopHook(s.Close))
	return s
}

type serverParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Manifest  *manifest.Manifest
	Store     store.Store
	Logger    *slog.Logger `optional:"true"`
	// Sinks are the values that AsSink constructors provide.
	Sinks []sink.Sink `group:"agentry.sinks"`
}

func newFxServer(p serverParams) (*Server, error) {
	s, err := New(p.Manifest, Options{Store: p.Store, Logger: p.Logger, Sinks: p.Sinks})
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: s.Start,
		OnStop:  func(ctx context.Context) error { return s.Shutdown(ctx) },
	})
	return s, nil
}
