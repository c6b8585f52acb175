package sqlstore

import (
	"strings"
	"testing"
)

func TestResolveDSN(t *testing.T) {
	for _, c := range []struct{ in, dialect, out string }{
		{"postgres://u:p@h:5432/db?sslmode=disable", "postgres", "postgres://u:p@h:5432/db?sslmode=disable"},
		{"postgresql://u@h/db", "postgres", "postgresql://u@h/db"},
		{"POSTGRES://u@h/db", "postgres", "postgres://u@h/db"},
		{"sqlite:./ownkey.db", "sqlite", "./ownkey.db"},
		{"sqlite:///var/lib/ownkey/ownkey.db", "sqlite", "/var/lib/ownkey/ownkey.db"},
		{"sqlite://rel.db", "sqlite", "rel.db"},
		{"sqlite3:x.db", "sqlite", "x.db"},
		{"file:x.db?mode=memory", "sqlite", "file:x.db?mode=memory"},
		{":memory:", "sqlite", ":memory:"},
		{"./ownkey-data/ownkey.db", "sqlite", "./ownkey-data/ownkey.db"},
		{"/abs/path.db", "sqlite", "/abs/path.db"},
		{"./name:with:colon.db", "sqlite", "./name:with:colon.db"},
		{`C:\data\ownkey.db`, "sqlite", `C:\data\ownkey.db`},
	} {
		d, out, err := ResolveDSN(c.in)
		if err != nil || d != c.dialect || out != c.out {
			t.Errorf("ResolveDSN(%q) = %q, %q, %v; want %q, %q", c.in, d, out, err, c.dialect, c.out)
		}
	}
	for _, in := range []string{"", "mysql://root:hunter2@h/db", "postgres:hunter2@h", "sqlite:", "sqlite://", "redis:6379", "mongodb+srv://x", "http://x"} {
		if _, _, err := ResolveDSN(in); err == nil {
			t.Errorf("ResolveDSN(%q) accepted", in)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ResolveDSN(%q): the error shows the password: %v", in, err)
		}
	}
}
