package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ownkey/ownkey"
)

// changeChannel is the PostgreSQL NOTIFY channel of the change feed.
const changeChannel = "ownkey_invalidate"

// Defaults of FeedOptions.
const (
	DefaultFeedPollInterval = time.Second
	DefaultFeedMinBackoff   = 100 * time.Millisecond
	DefaultFeedMaxBackoff   = 10 * time.Second
	DefaultFeedPingEvery    = 30 * time.Second
	feedConnectTimeout      = 10 * time.Second
)

// FeedOptions tune the change feed. Zero values take the defaults.
type FeedOptions struct {
	// PollInterval (SQLite) is how often the listener checks whether
	// another process wrote to the database file.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff (PostgreSQL) bound the wait between
	// attempts to (re)connect the listener, doubling from min to max.
	MinBackoff, MaxBackoff time.Duration
	// PingEvery (PostgreSQL) is how long the listener waits for a
	// notification before it checks that its connection is alive: a
	// connection that died silently would otherwise hear nothing forever.
	PingEvery time.Duration
	Logger    *slog.Logger
}

// ChangeFeed returns the feed that carries cache invalidations between the
// processes sharing this database.
//
// On PostgreSQL, Publish is a NOTIFY on the ownkey_invalidate channel and
// Listen holds one connection of its own (not from the pool) that LISTENs.
//
// On SQLite, processes share a file, not a server, so there is nothing to
// send: Publish does nothing, and Listen reports ChangeAll whenever another
// process committed to the file (PRAGMA data_version on the connection
// that writes, which changes only for commits made through other
// connections: the CLI, another server), checked every PollInterval.
func (db *DB) ChangeFeed(opts FeedOptions) ownkey.ChangeFeed {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultFeedPollInterval
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultFeedMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultFeedMaxBackoff, opts.MinBackoff)
	}
	if opts.PingEvery <= 0 {
		opts.PingEvery = DefaultFeedPingEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if db.dialect.name() == "postgres" {
		return &postgresFeed{db: db, opts: opts}
	}
	return &sqliteFeed{db: db, opts: opts}
}

// encodeChange is the NOTIFY payload of c: ids and a provider name, never a
// secret.
func encodeChange(c ownkey.Change) string {
	switch c.Kind {
	case ownkey.ChangeAPIKey:
		return string(c.Kind) + ":" + strconv.FormatInt(c.AccountID, 10) + ":" + strconv.FormatInt(c.KeyID, 10)
	case ownkey.ChangeCredential:
		return string(c.Kind) + ":" + strconv.FormatInt(c.AccountID, 10) + ":" + c.Provider
	case ownkey.ChangePrices:
		return string(c.Kind)
	}
	return string(ownkey.ChangeAll)
}

// decodeChange reads a payload; anything it does not understand (a newer
// version's payload, say) is a ChangeAll, which is always safe.
func decodeChange(payload string) ownkey.Change {
	if payload == string(ownkey.ChangePrices) {
		return ownkey.Change{Kind: ownkey.ChangePrices}
	}
	kind, rest, _ := strings.Cut(payload, ":")
	account, detail, _ := strings.Cut(rest, ":")
	id, err := strconv.ParseInt(account, 10, 64)
	if err == nil {
		switch ownkey.ChangeKind(kind) {
		case ownkey.ChangeAPIKey:
			if key, err := strconv.ParseInt(detail, 10, 64); err == nil {
				return ownkey.Change{Kind: ownkey.ChangeAPIKey, AccountID: id, KeyID: key}
			}
		case ownkey.ChangeCredential:
			if detail != "" {
				return ownkey.Change{Kind: ownkey.ChangeCredential, AccountID: id, Provider: detail}
			}
		}
	}
	return ownkey.Change{Kind: ownkey.ChangeAll}
}

type postgresFeed struct {
	db   *DB
	opts FeedOptions
}

// Publish sends c to every listener once the caller's change committed (it
// runs outside the change's transaction: a NOTIFY inside it would wait for
// its commit anyway, but the store's transactions are not the service's).
func (f *postgresFeed) Publish(ctx context.Context, c ownkey.Change) error {
	if _, err := f.db.write.ExecContext(ctx, f.db.q(`SELECT pg_notify(?, ?)`), changeChannel, encodeChange(c)); err != nil {
		return fmt.Errorf("sqlstore: publishing a change: %w", err)
	}
	return nil
}

func (f *postgresFeed) Listen(ctx context.Context, fn func(ownkey.Change)) error {
	backoff := f.opts.MinBackoff
	for {
		err := f.listen(ctx, fn, func() { backoff = f.opts.MinBackoff })
		if ctx.Err() != nil {
			return nil
		}
		f.opts.Logger.Warn("change feed: listener connection lost; caches fall back to their TTL until it is back",
			"err", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, f.opts.MaxBackoff)
	}
}

// listen runs one listening connection until it fails or ctx ends.
func (f *postgresFeed) listen(ctx context.Context, fn func(ownkey.Change), connected func()) error {
	cctx, cancel := context.WithTimeout(ctx, feedConnectTimeout)
	conn, err := pgx.Connect(cctx, f.db.dsn)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return err
	}
	connected()
	// Whatever was published while no connection listened is lost.
	fn(ownkey.Change{Kind: ownkey.ChangeAll})
	for {
		wctx, cancel := context.WithTimeout(ctx, f.opts.PingEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(decodeChange(n.Payload))
		case ctx.Err() != nil:
			return nil
		case pgconn.Timeout(err):
			pctx, cancel := context.WithTimeout(ctx, feedConnectTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}

type sqliteFeed struct {
	db   *DB
	opts FeedOptions
}

func (*sqliteFeed) Publish(context.Context, ownkey.Change) error { return nil }

func (f *sqliteFeed) Listen(ctx context.Context, fn func(ownkey.Change)) error {
	last, err := f.dataVersion(ctx)
	if err != nil && ctx.Err() == nil {
		f.opts.Logger.Warn("change feed: reading SQLite's data_version failed", "err", err.Error())
	}
	fn(ownkey.Change{Kind: ownkey.ChangeAll})
	t := time.NewTicker(f.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		v, err := f.dataVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.opts.Logger.Warn("change feed: reading SQLite's data_version failed", "err", err.Error())
			}
			continue
		}
		if v != last {
			last = v
			fn(ownkey.Change{Kind: ownkey.ChangeAll})
		}
	}
}

// dataVersion asks the writing connection, the only one of this process
// that commits, so that this process's own writes do not count.
func (f *sqliteFeed) dataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := f.db.write.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v)
	return v, err
}
