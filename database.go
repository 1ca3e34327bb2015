package agentry

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/agentry/agentry/internal/pgurl"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/store/postgres"
	"github.com/agentry/agentry/store/sqlite"
)

// OpenStore opens the store that m's database block names: PostgreSQL
// (migrated at open), an SQLite file, or, when the block is omitted, a
// new in-memory store that loses everything when the process exits. The
// caller closes it. [New] calls it when Options.Store is nil.
func OpenStore(ctx context.Context, m *manifest.Manifest, log *slog.Logger) (store.Store, error) {
	if log == nil {
		log = slog.Default()
	}
	db := m.AgentConfig.Database
	if db == nil {
		log.Info("no database block: using the in-memory store, which loses every session and run when the process exits")
		return memory.New(), nil
	}
	switch db.Driver {
	case manifest.DatabaseSQLite:
		path := db.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(m.Dir, path)
		}
		s, err := sqlite.Open(ctx, path, sqlite.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("agent_config.database: %w", err)
		}
		return s, nil
	case manifest.DatabasePostgres, "":
		connString, err := pgurl.Settings{
			URL: db.URL, Host: db.Host, Port: db.Port, User: db.User,
			Password: db.Password, DBName: db.DBName, SSLMode: db.SSLMode,
		}.ConnString()
		if err != nil {
			return nil, fmt.Errorf("agent_config.database: %w", err)
		}
		s, err := postgres.Open(ctx, connString, postgres.WithSchema(db.Schema), postgres.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("agent_config.database: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("agent_config.database.driver %q: use postgres or sqlite", db.Driver)
}
