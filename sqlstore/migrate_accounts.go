package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/ownkey/ownkey"
)

// migrationStep is what a migration needs done in Go, in its transaction:
// before its SQL file runs and after.
type migrationStep struct {
	before, after func(ctx context.Context, db *DB, tx *sql.Tx) error
}

// migrationSteps are the Go steps, by migration version.
var migrationSteps = map[int]migrationStep{
	6: {before: refuseDuplicateAccountNames, after: fillAccountNameKeys},
}

// NamedAccount is an account's id and name.
type NamedAccount struct {
	ID   int64
	Name string
}

// DuplicateAccountNamesError is why migration 0006 refused to run: account
// names become unique (ignoring case), and these accounts share one.
type DuplicateAccountNamesError struct {
	// Groups holds the accounts of each name, in id order.
	Groups [][]NamedAccount
}

func (e *DuplicateAccountNamesError) Error() string {
	var b strings.Builder
	b.WriteString("account names must now be unique (ignoring case), and some are not: ")
	for i, g := range e.Groups {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(describeNameGroup(g))
	}
	b.WriteString(". Rename all but one of each with \"ownkey accounts rename ID NEW_NAME\" " +
		"(e.g. ownkey accounts rename " + strconv.FormatInt(e.Groups[0][len(e.Groups[0])-1].ID, 10) + " NEW_NAME), " +
		"which finishes the upgrade once no name is shared; nothing was changed")
	return b.String()
}

// describeNameGroup: `accounts named "bob" twice (ids 3, 7)`, or when
// the case differs `accounts named "Bob" (id 3) and "bob" (id 7)`.
func describeNameGroup(g []NamedAccount) string {
	q := func(name string) string { return strconv.Quote(ownkey.EscapeHidden(name)) }
	same := true
	for _, a := range g[1:] {
		same = same && a.Name == g[0].Name
	}
	if same {
		ids := make([]string, len(g))
		for i, a := range g {
			ids[i] = strconv.FormatInt(a.ID, 10)
		}
		times := strconv.Itoa(len(g)) + " times"
		if len(g) == 2 {
			times = "twice"
		}
		return fmt.Sprintf("accounts named %s %s (ids %s)", q(g[0].Name), times, strings.Join(ids, ", "))
	}
	parts := make([]string, len(g))
	for i, a := range g {
		parts[i] = fmt.Sprintf("%s (id %d)", q(a.Name), a.ID)
	}
	return "accounts named " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func accountNames(ctx context.Context, tx *sql.Tx) ([]NamedAccount, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM accounts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []NamedAccount
	for rows.Next() {
		var a NamedAccount
		if err := rows.Scan(&a.ID, &a.Name); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// duplicateNames groups the accounts whose names fold to the same
// ownkey.NameKey, in the order of each group's first account.
func duplicateNames(as []NamedAccount) [][]NamedAccount {
	byKey := map[string][]NamedAccount{}
	var order []string
	for _, a := range as {
		k := ownkey.NameKey(a.Name)
		if _, seen := byKey[k]; !seen {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], a)
	}
	var groups [][]NamedAccount
	for _, k := range order {
		if len(byKey[k]) > 1 {
			groups = append(groups, byKey[k])
		}
	}
	return groups
}

func refuseDuplicateAccountNames(ctx context.Context, _ *DB, tx *sql.Tx) error {
	as, err := accountNames(ctx, tx)
	if err != nil {
		return err
	}
	if groups := duplicateNames(as); len(groups) > 0 {
		return &DuplicateAccountNamesError{Groups: groups}
	}
	return nil
}

// fillAccountNameKeys sets name_key on the accounts that exist, folded in
// Go as every later write folds it. (The money columns the reports read
// come from the ledger's migration, 0004, which always runs before this.)
func fillAccountNameKeys(ctx context.Context, db *DB, tx *sql.Tx) error {
	as, err := accountNames(ctx, tx)
	if err != nil {
		return err
	}
	for _, a := range as {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE accounts SET name_key = ? WHERE id = ?`), ownkey.NameKey(a.Name), a.ID); err != nil {
			return err
		}
	}
	return nil
}
