package manifest

import (
	"strings"
	"testing"
	"time"
)

// databaseYAML is validYAML with a database block whose fields start on
// line 9.
func databaseYAML(fields string) string {
	return validYAML + "  database:\n" + fields
}

func TestDatabaseValid(t *testing.T) {
	cases := []struct {
		name   string
		fields string
		want   Database
	}{
		{"postgres url", "    url: postgres://u:p@127.0.0.1/agents\n",
			Database{Driver: DatabasePostgres, URL: "postgres://u:p@127.0.0.1/agents", Schema: "public"}},
		{"postgres host fields", "    driver: postgres\n    host: 127.0.0.1\n    port: 5433\n    user: u\n    password: p\n    dbname: agents\n    sslmode: disable\n    schema: agentry\n",
			Database{Driver: DatabasePostgres, Host: "127.0.0.1", Port: 5433, User: "u", Password: "p", DBName: "agents", SSLMode: "disable", Schema: "agentry"}},
		{"sqlite", "    driver: sqlite\n    path: data/agentry.db\n",
			Database{Driver: DatabaseSQLite, Path: "data/agentry.db"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := parseOK(t, databaseYAML(c.fields))
			if m.AgentConfig.Database == nil {
				t.Fatal("Database is nil")
			}
			if got := *m.AgentConfig.Database; got != c.want {
				t.Errorf("Database = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDatabaseOmitted(t *testing.T) {
	m := parseOK(t, validYAML)
	if m.AgentConfig.Database != nil {
		t.Errorf("Database = %+v, want nil (the in-memory store)", m.AgentConfig.Database)
	}
	if got := time.Duration(m.AgentConfig.Runtime.LeaseTTL); got != DefaultLeaseTTL {
		t.Errorf("runtime.lease_ttl = %s, want the default %s", got, DefaultLeaseTTL)
	}
}

func TestDatabaseViolations(t *testing.T) {
	cases := []struct {
		name   string
		fields string
		path   string
		line   int
		msg    string
	}{
		{"no connection", "    schema: app\n",
			"agent_config.database", 8, "needs url"},
		{"url and host", "    url: postgres://u@h/db\n    host: h\n",
			"agent_config.database.url", 9, "not both"},
		{"postgres path", "    url: postgres://u@h/db\n    path: a.db\n",
			"agent_config.database.path", 10, "does not apply to database driver postgres"},
		{"sqlite no path", "    driver: sqlite\n",
			"agent_config.database", 8, "needs path"},
		{"sqlite url", "    driver: sqlite\n    path: a.db\n    url: postgres://u@h/db\n",
			"agent_config.database.url", 11, "does not apply to database driver sqlite"},
		{"blank path", "    driver: sqlite\n    path: \" \"\n",
			"agent_config.database.path", 10, "must not be empty"},
		{"unknown driver", "    driver: mysql\n    url: mysql://h/db\n",
			"agent_config.database.driver", 9, ""},
		{"port out of range", "    host: h\n    port: 70000\n",
			"agent_config.database.port", 10, ""},
		{"mysql url", "    url: mysql://u:p@h/db\n",
			"agent_config.database.url", 9, "must start with postgres://"},
		{"bad escape", "    url: postgres://u:pw%zz@h/db\n",
			"agent_config.database.url", 9, "percent-encode"},
		{"bad url sslmode", "    url: postgres://u@h/db?sslmode=bogus\n",
			"agent_config.database.url", 9, "use one of disable"},
		{"bad sslmode field", "    host: h\n    sslmode: bogus\n",
			"agent_config.database.sslmode", 10, "must be one of disable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantViolation(t, violations(t, databaseYAML(c.fields)), c.path, c.line, c.msg)
		})
	}
}

func TestDatabaseURLMessageHidesPassword(t *testing.T) {
	for _, v := range violations(t, databaseYAML("    url: postgres://u:sEcret%zz@h/db\n")) {
		if strings.Contains(v.Message, "sEcret") {
			t.Errorf("violation %q quotes the password", v.Message)
		}
	}
}

func TestLeaseTTLBounds(t *testing.T) {
	for _, value := range []string{"500ms", "11m"} {
		src := validYAML[:len("id: support\nname: Support agent\nagent_config:\n  runtime:\n")] +
			"    lease_ttl: " + value + "\n" + validYAML[len("id: support\nname: Support agent\nagent_config:\n  runtime:\n"):]
		wantViolation(t, violations(t, src), "agent_config.runtime.lease_ttl", 5, "must be from 1s to 10m")
	}
}
