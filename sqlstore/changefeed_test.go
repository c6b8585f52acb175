package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/sqlstore"
	"github.com/ownkey/ownkey/sqlstore/sqltest"
)

// listen runs feed.Listen until the test ends and returns what it hears.
func listen(t *testing.T, feed ownkey.ChangeFeed) <-chan ownkey.Change {
	t.Helper()
	heard := make(chan ownkey.Change, 100)
	lctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = feed.Listen(lctx, func(c ownkey.Change) { heard <- c })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return heard
}

// next returns the next change heard, failing the test after a generous
// bound (this is not a timing test: changes normally arrive in ms).
func next(t *testing.T, heard <-chan ownkey.Change, what string) ownkey.Change {
	t.Helper()
	select {
	case c := <-heard:
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("no change heard: %s", what)
		return ownkey.Change{}
	}
}

func TestFeedDefaults(t *testing.T) {
	if sqlstore.DefaultFeedPollInterval > time.Second {
		t.Errorf("SQLite poll interval %v exceeds the 1s the issue allows", sqlstore.DefaultFeedPollInterval)
	}
	if sqlstore.DefaultFeedMinBackoff > time.Second || sqlstore.DefaultFeedMaxBackoff > 30*time.Second {
		t.Errorf("reconnect backoff %v..%v too slow", sqlstore.DefaultFeedMinBackoff, sqlstore.DefaultFeedMaxBackoff)
	}
	if sqlstore.DefaultFeedPingEvery > time.Minute {
		t.Errorf("listener liveness check every %v", sqlstore.DefaultFeedPingEvery)
	}
}

// TestPostgresChangeFeed: a change published through one handle reaches a
// listener on another; a listener whose connection is killed reconnects,
// reports ChangeAll (it may have missed changes) and hears changes again.
func TestPostgresChangeFeed(t *testing.T) {
	dsn := sqltest.NewPostgresDSN(t)
	dbs := openHandles(t, dsn, 2, true)
	a, b := dbs[0], dbs[1]
	pub := a.ChangeFeed(sqlstore.FeedOptions{})
	heard := listen(t, b.ChangeFeed(sqlstore.FeedOptions{MinBackoff: 10 * time.Millisecond}))
	if c := next(t, heard, "on connect"); c.Kind != ownkey.ChangeAll {
		t.Fatalf("first change %+v, want ChangeAll on connect", c)
	}
	for _, c := range []ownkey.Change{
		{Kind: ownkey.ChangeAPIKey, AccountID: 7, KeyID: 42},
		{Kind: ownkey.ChangeCredential, AccountID: 7, Provider: "azure-openai"},
	} {
		if err := pub.Publish(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got := next(t, heard, "published change"); got != c {
			t.Fatalf("heard %+v, want %+v", got, c)
		}
	}

	// Kill the listener's connection.
	var killed int
	if err := a.SQL().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the listener: killed %d, err %v", killed, err)
	}
	if c := next(t, heard, "after reconnecting"); c.Kind != ownkey.ChangeAll {
		t.Fatalf("after reconnecting heard %+v, want ChangeAll", c)
	}
	c := ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: 1, KeyID: 2}
	if err := pub.Publish(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := next(t, heard, "after reconnecting"); got != c {
		t.Fatalf("heard %+v, want %+v", got, c)
	}
}

// TestSQLiteChangeFeed: on SQLite a commit by another handle on the file
// (the CLI) is reported as ChangeAll within the poll interval; the
// listening handle's own writes are not.
func TestSQLiteChangeFeed(t *testing.T) {
	dbs := openHandles(t, sqltest.NewSQLiteDSN(t), 2, true)
	server, cli := dbs[0], dbs[1]
	heard := listen(t, server.ChangeFeed(sqlstore.FeedOptions{PollInterval: 5 * time.Millisecond}))
	if c := next(t, heard, "on start"); c.Kind != ownkey.ChangeAll {
		t.Fatalf("first change %+v, want ChangeAll", c)
	}
	if err := cli.ChangeFeed(sqlstore.FeedOptions{}).Publish(ctx, ownkey.Change{Kind: ownkey.ChangeAPIKey, KeyID: 1}); err != nil {
		t.Fatalf("SQLite Publish: %v", err)
	}
	acct := createAccount(t, server, "own write")
	select {
	case c := <-heard:
		t.Fatalf("the listener's own write was reported: %+v", c)
	case <-time.After(100 * time.Millisecond): // 20 polls
	}
	k := createKey(t, server, acct.ID, "k")
	if err := cli.RevokeAPIKey(ctx, acct.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if c := next(t, heard, "after another handle's commit"); c.Kind != ownkey.ChangeAll {
		t.Fatalf("heard %+v, want ChangeAll", c)
	}
}
