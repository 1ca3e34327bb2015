// Package pgurl turns PostgreSQL connection settings into a pgxpool
// configuration and keeps the password out of error messages. The
// knowledge base (kb/pgvector) and the store (store/postgres) connect the
// same way, so a manifest's url or host fields mean the same in both.
package pgurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPort is the PostgreSQL port used when Settings.Port is 0.
const DefaultPort = 5432

// ErrInvalid is wrapped by errors about settings that cannot be used.
var ErrInvalid = errors.New("invalid PostgreSQL connection settings")

// Settings are a URL, or the host fields that replace it.
type Settings struct {
	// URL is a postgres:// URL or a key/value connection string, with any
	// parameter that pgx accepts.
	URL string
	// Host, Port, User, Password, DBName and SSLMode are used when URL is
	// empty. Port defaults to DefaultPort, SSLMode to pgx's default
	// "prefer", User and DBName to pgx's defaults (PGUSER and PGDATABASE,
	// else the OS user name).
	Host     string
	Port     int
	User     string
	Password string
	DBName   string
	SSLMode  string
}

// PoolConfig parses s into a pool configuration whose connections report
// applicationName (unless the URL sets application_name), and returns a
// Redactor that masks the password. Errors never contain the password.
func (s Settings) PoolConfig(applicationName string) (*pgxpool.Config, *Redactor, error) {
	connString, red, err := s.connString()
	if err != nil {
		return nil, nil, err
	}
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, nil, parseError(s.URL != "", connString, red, err)
	}
	red.add(pc.ConnConfig.Password)
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	return pc, red, nil
}

// ConnString returns URL, or a postgres:// URL built from the host
// fields, for a function that takes a connection string. The result may
// contain the password, so it must not be logged.
func (s Settings) ConnString() (string, error) {
	connString, _, err := s.connString()
	return connString, err
}

// connString returns URL, or a URL built from the host fields.
func (s Settings) connString() (string, *Redactor, error) {
	red := &Redactor{}
	hostSet := s.Host != "" || s.Port != 0 || s.User != "" || s.Password != "" ||
		s.DBName != "" || s.SSLMode != ""
	switch {
	case s.URL != "" && hostSet:
		return "", nil, fmt.Errorf("%w: both url and host fields (host, port, user, password, dbname, sslmode) are set; set only one of them", ErrInvalid)
	case s.URL != "":
		return s.URL, red, nil
	case s.Host == "":
		return "", nil, fmt.Errorf("%w: neither url nor host is set", ErrInvalid)
	case s.Port < 0 || s.Port > 65535:
		return "", nil, fmt.Errorf("%w: port %d is out of range 1..65535", ErrInvalid, s.Port)
	}
	port := s.Port
	if port == 0 {
		port = DefaultPort
	}
	u := url.URL{
		Scheme: "postgres",
		Host:   net.JoinHostPort(s.Host, strconv.Itoa(port)),
		Path:   "/" + s.DBName,
	}
	switch {
	case s.Password != "":
		u.User = url.UserPassword(s.User, s.Password)
	case s.User != "":
		u.User = url.User(s.User)
	}
	if s.SSLMode != "" {
		u.RawQuery = url.Values{"sslmode": {s.SSLMode}}.Encode()
	}
	red.add(s.Password)
	return u.String(), red, nil
}

// parseError returns an error for a connection string that pgx cannot
// parse. pgx masks passwords in such messages only on a best-effort
// basis, so the message is kept only when the password is known and can
// be masked here. The error does not wrap pgx's, whose ConnString field
// contains the password.
func parseError(fromURL bool, connString string, red *Redactor, err error) error {
	if fromURL {
		u, uerr := url.Parse(connString)
		if uerr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("%w: url is not a valid postgres:// URL; the parser's message is left out because it can contain the password", ErrInvalid)
		}
		if pw, ok := u.User.Password(); ok {
			red.add(pw)
		}
		for _, key := range []string{"password", "sslpassword"} {
			red.add(u.Query().Get(key))
		}
	}
	return fmt.Errorf("%w: %s", ErrInvalid, red.Mask(err.Error()))
}

// Describe names the server, database and user of pc for messages, as
// "host 127.0.0.1:5432, database app, user agentry". It never includes
// the password.
func Describe(pc *pgxpool.Config) string {
	cc := pc.ConnConfig
	return fmt.Sprintf("host %s, database %s, user %s",
		net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), cc.Database, cc.User)
}

// passwordMask replaces a password in error messages.
const passwordMask = "xxxxx"

// Redactor masks one connection's password in error messages. The zero
// value masks nothing.
type Redactor struct {
	secrets []string
}

// add records password as written and in the escaped forms that a URL can
// contain.
func (r *Redactor) add(password string) {
	if password == "" {
		return
	}
	r.secrets = append(r.secrets, password, url.QueryEscape(password), url.PathEscape(password))
}

// Mask returns msg with every form of the password replaced.
func (r *Redactor) Mask(msg string) string {
	for _, s := range r.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, passwordMask)
		}
	}
	return msg
}

// Redact returns err unchanged when its message contains no form of the
// password, and otherwise an error with the password masked that matches
// (with errors.Is) only those of sentinels that err matched. The original
// error, which contains the password, cannot be reached through it.
func (r *Redactor) Redact(err error, sentinels ...error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	masked := r.Mask(msg)
	if masked == msg {
		return err
	}
	re := &redactedError{msg: masked}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			re.sentinels = append(re.sentinels, s)
		}
	}
	return re
}

// redactedError is an error whose message had a password masked.
type redactedError struct {
	msg       string
	sentinels []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.sentinels }
