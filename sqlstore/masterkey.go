package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/internal/flock"
)

// MasterKeyChecks returns the check value recorded for each master key
// version, and whether it is retired.
func (db *DB) MasterKeyChecks(ctx context.Context) (map[uint32]ownkey.MasterKeyCheck, error) {
	return queryMasterKeyChecks(ctx, db.read)
}

// rowsQuerier is a *sql.DB or *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryMasterKeyChecks(ctx context.Context, q rowsQuerier) (map[uint32]ownkey.MasterKeyCheck, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, check_value, retired_at IS NOT NULL FROM master_key_checks`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: master key checks: %w", err)
	}
	defer rows.Close()
	checks := map[uint32]ownkey.MasterKeyCheck{}
	for rows.Next() {
		var version int64
		var c ownkey.MasterKeyCheck
		if err := rows.Scan(&version, &c.Check, &c.Retired); err != nil {
			return nil, fmt.Errorf("sqlstore: master key checks: %w", err)
		}
		checks[uint32(version)] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: master key checks: %w", err)
	}
	return checks, nil
}

// PutMasterKeyChecks records the check values of the versions that have
// none. A version that already has another value is a conflict and nothing
// is recorded: the first value stays, so a wrong key presented later (a
// replica started with another key file) cannot replace the proof of the
// right one, and learns that it is wrong. The lock (PostgreSQL) or the write
// transaction (SQLite) makes read-compare-insert atomic across processes.
func (db *DB) PutMasterKeyChecks(ctx context.Context, checks map[uint32][]byte) error {
	for v, c := range checks {
		if len(c) == 0 {
			return ownkey.FieldError("check", "check value of master key version %d is required", v)
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.dialect.advisoryLock(ctx, tx, masterKeyCheckLockID); err != nil {
			return err
		}
		stored, err := queryMasterKeyChecks(ctx, tx)
		if err != nil {
			return err
		}
		versions := slices.Sorted(maps.Keys(checks))
		for _, v := range versions {
			if s, ok := stored[v]; ok && !bytes.Equal(s.Check, checks[v]) {
				return ownkey.Errorf(ownkey.ECONFLICT, "master key version %d is not the key whose check value the database recorded", v)
			}
		}
		for _, v := range versions {
			if _, ok := stored[v]; ok {
				continue
			}
			_, err := tx.ExecContext(ctx, db.q(`INSERT INTO master_key_checks (version, check_value, created_at) VALUES (?, ?, ?)`),
				int64(v), checks[v], db.at(ownkey.Now()))
			if err != nil {
				return fmt.Errorf("sqlstore: put master key check: %w", err)
			}
		}
		return nil
	})
	return err
}

// RetireMasterKey marks version retired. Its UPDATE takes the row's lock,
// which PutCredential holds (FOR SHARE on PostgreSQL; SQLite serialises
// whole write transactions) while it stores a row under that version: so a
// PutCredential either committed before this returns, and its row is visible
// to whoever looks next, or it sees the version retired and refuses.
func (db *DB) RetireMasterKey(ctx context.Context, version uint32) error {
	res, err := db.write.ExecContext(ctx, db.q(`
		UPDATE master_key_checks SET retired_at = COALESCE(retired_at, ?) WHERE version = ?`),
		db.at(ownkey.Now()), int64(version))
	return updatedOne(res, err, "retire master key", "master key version "+strconv.FormatUint(uint64(version), 10))
}

// keyVersionRetired reports, inside a write transaction, whether version is
// retired, and holds the check row's lock until tx ends (see
// RetireMasterKey). A version without a check row is not retired.
func (db *DB) keyVersionRetired(ctx context.Context, tx *sql.Tx, version uint32) (bool, error) {
	var retired bool
	err := tx.QueryRowContext(ctx, db.q(`SELECT retired_at IS NOT NULL FROM master_key_checks WHERE version = ?`+db.dialect.forShare()),
		int64(version)).Scan(&retired)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return retired, err
}

// LockMasterKeys takes the master key lock. On PostgreSQL it is a session
// advisory lock on a connection of its own, which the server drops if this
// process dies. On SQLite it is a flock on a file next to the database,
// which the kernel drops likewise; an in-memory database, which no other
// process can open, has a lock in this DB only.
func (db *DB) LockMasterKeys(ctx context.Context) (func(), error) {
	switch {
	case db.dialect.name() == "postgres":
		return db.lockMasterKeysPostgres(ctx)
	case db.lockFile != "":
		return flock.Lock(ctx, db.lockFile)
	}
	select {
	case db.memLock <- struct{}{}:
		return func() { <-db.memLock }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("sqlstore: waiting for the master key lock: %w", ctx.Err())
	}
}

func (db *DB) lockMasterKeysPostgres(ctx context.Context) (func(), error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: master key lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+strconv.FormatInt(masterKeyLockID, 10)+`)`); err != nil {
		discardConn(conn)
		return nil, fmt.Errorf("sqlstore: waiting for the master key lock: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+strconv.FormatInt(masterKeyLockID, 10)+`)`); err != nil {
			// A session lock lives as long as its connection: never hand
			// one that may still hold it back to the pool.
			discardConn(conn)
			return
		}
		conn.Close()
	}, nil
}

// discardConn closes the connection itself rather than returning it to the
// pool.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}
