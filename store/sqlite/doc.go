// Package sqlite is a [store.Store] in one SQLite database file, for a
// single process whose restarts must lose nothing. It uses the pure Go
// driver modernc.org/sqlite, so it builds without cgo.
package sqlite

import _ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
