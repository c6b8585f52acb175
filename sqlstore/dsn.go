package sqlstore

import (
	"fmt"
	"strings"
)

// ResolveDSN says which database dsn names and returns what OpenWith opens
// for it. postgres://… and postgresql://… are PostgreSQL; sqlite:PATH
// (also written sqlite://PATH, sqlite:///absolute/path), a file: URI,
// :memory: and a plain file path are SQLite. Anything else that starts like
// a URL, a scheme and a colon (mysql://host/db), is refused rather than
// taken for a SQLite file of that name; a file whose name holds a colon is
// written ./name:with:colon. A one-letter scheme is a Windows drive (C:\…),
// a path. The error names the scheme only, never the rest, which may hold a
// password.
func ResolveDSN(dsn string) (dialect, resolved string, err error) {
	if dsn == "" {
		return "", "", fmt.Errorf("empty database URL")
	}
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || len(scheme) < 2 || !isScheme(scheme) {
		return "sqlite", dsn, nil // a path, or :memory:
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if !strings.HasPrefix(rest, "//") {
			return "", "", fmt.Errorf("a PostgreSQL URL is postgres://user:password@host:5432/database")
		}
		// pgx reads the scheme in lower case only.
		return "postgres", strings.ToLower(scheme) + ":" + rest, nil
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return "", "", fmt.Errorf("sqlite: needs a file path (sqlite:./ownkey.db, sqlite:///var/lib/ownkey/ownkey.db)")
		}
		return "sqlite", path, nil
	case "file":
		return "sqlite", dsn, nil
	}
	return "", "", fmt.Errorf("%q is not a database ownkey speaks: use postgres://… or postgresql://… for PostgreSQL, "+
		"or sqlite:PATH or a file path for SQLite (a file whose name has a colon: ./NAME)", scheme+":")
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, '+', '-', '.').
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
