package prices_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ownkey/ownkey"
)

// memStore is an ownkey.PriceStore in memory, for tests that need no
// database.
type memStore struct {
	mu   sync.Mutex
	rows []ownkey.ModelPrice
	now  int64
}

func (m *memStore) ModelPrices(context.Context) ([]ownkey.ModelPrice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.rows), nil
}

// stamp gives each write a later time, as a clock would.
func (m *memStore) stamp(p *ownkey.ModelPrice) {
	m.now++
	p.UpdatedAt = time.Unix(1_700_000_000+m.now, 0).UTC()
}

func (m *memStore) ReplaceModelPrices(_ context.Context, source ownkey.PriceSource, rows []ownkey.ModelPrice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = slices.DeleteFunc(m.rows, func(p ownkey.ModelPrice) bool { return p.Source == source })
	for _, r := range rows {
		if r.Source != source {
			return ownkey.Errorf(ownkey.EINVALID, "wrong source")
		}
		m.stamp(&r)
		m.rows = append(m.rows, r)
	}
	return nil
}

func (m *memStore) PutModelPrice(_ context.Context, p ownkey.ModelPrice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = slices.DeleteFunc(m.rows, func(r ownkey.ModelPrice) bool {
		return r.Provider == p.Provider && r.Model == p.Model && r.Source == p.Source
	})
	m.stamp(&p)
	m.rows = append(m.rows, p)
	return nil
}

func (m *memStore) DeleteModelPrice(_ context.Context, provider, model string, source ownkey.PriceSource) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.rows)
	m.rows = slices.DeleteFunc(m.rows, func(r ownkey.ModelPrice) bool {
		return r.Provider == provider && r.Model == model && r.Source == source
	})
	if len(m.rows) == n {
		return ownkey.Errorf(ownkey.ENOTFOUND, "price not found")
	}
	return nil
}
