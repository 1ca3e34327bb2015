package manifest

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// sslModes are the sslmode values that libpq and pgx accept.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// databaseKeys lists, per driver, the keys other than driver that the
// driver reads.
var databaseKeys = map[string][]string{
	DatabasePostgres: {"url", "host", "port", "user", "password", "dbname", "sslmode", "schema"},
	DatabaseSQLite:   {"path"},
}

// database checks agent_config.database against the keys its driver
// reads. The schema checks the types of the values and the driver enum.
func (c *checker) database() {
	v, ptr, _ := c.t.lookup("agent_config", "database")
	block, ok := v.(map[string]any)
	if !ok {
		return
	}
	driver, _ := block["driver"].(string)
	if _, set := block["driver"]; !set {
		driver = DatabasePostgres
	}
	allowed, known := databaseKeys[driver]
	if !known {
		return
	}
	has := func(key string) bool { _, ok := block[key]; return ok }
	accepted := map[string]bool{"driver": true}
	for _, key := range allowed {
		accepted[key] = true
	}
	for _, key := range sortedKeys(block) {
		if !accepted[key] {
			c.report(ptr+"/"+escapePointer(key), "does not apply to database driver %s, which reads %s; remove it",
				driver, strings.Join(append([]string{"driver"}, allowed...), ", "))
		}
	}
	for _, key := range []string{"url", "host", "schema", "path"} {
		if s, ok := block[key].(string); ok && strings.TrimSpace(s) == "" {
			c.report(ptr+"/"+key, "must not be empty or only whitespace")
		}
	}

	switch driver {
	case DatabasePostgres:
		c.postgresConnection(ptr, has, "database driver postgres (the default; for an embedded file set driver: sqlite and path) needs url")
		if raw, ok := block["url"].(string); ok && strings.TrimSpace(raw) != "" {
			c.databaseURL(ptr+"/url", raw)
		}
		if mode, ok := block["sslmode"].(string); ok && !slices.Contains(sslModes, mode) {
			c.report(ptr+"/sslmode", "must be one of %s", strings.Join(sslModes, ", "))
		}
	case DatabaseSQLite:
		if !has("path") {
			c.report(ptr, "database driver sqlite needs path: the database file, relative to the manifest")
		}
	}
}

// databaseURL checks that raw is a postgres:// URL with a valid sslmode.
// Messages never quote the URL, which may contain a password.
func (c *checker) databaseURL(ptr, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		reason := "it cannot be parsed"
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		c.report(ptr, "is not a valid URL (%s); use postgres://user:password@host:5432/dbname and percent-encode special characters in the password", reason)
		return
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		c.report(ptr, "must start with postgres:// or postgresql://; for an embedded file set driver: sqlite and path")
		return
	}
	if mode := u.Query().Get("sslmode"); mode != "" && !slices.Contains(sslModes, mode) {
		c.report(ptr, "has sslmode %q; use one of %s", mode, strings.Join(sslModes, ", "))
	}
}

// applyDefaults fills the unset fields of the block.
func (d *Database) applyDefaults() {
	if d.Driver == "" {
		d.Driver = DatabasePostgres
	}
	if d.Driver == DatabasePostgres && d.Schema == "" {
		d.Schema = "public"
	}
}
