package agentry

import (
	"context"
	"fmt"
	"log/slog"

	"go.uber.org/fx"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/sink"
)

// Module provides a *Server to an fx application and ties its Start and
// Shutdown to the application's lifecycle. The application supplies the
// *manifest.Manifest. It may supply a *slog.Logger. The store.Store is
// the one the manifest's database block names (see [OpenStore]), closed
// when the application stops; an application wraps or replaces it with
// fx.Decorate:
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
		newFxStore,
		newFxServer,
	),
)

type storeParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Manifest  *manifest.Manifest
	Logger    *slog.Logger `optional:"true"`
}

// newFxStore opens the manifest's store and closes it when the
// application stops.
func newFxStore(p storeParams) (store.Store, error) {
	s, err := OpenStore(context.Background(), p.Manifest, p.Logger)
	if err != nil {
		return nil, fmt.Errorf("agentry: %w", err)
	}
	p.Lifecycle.Append(fx.StopHook(s.Close))
	return s, nil
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
