package transform

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Registry maps procedure ids to their Mappers. Registration is explicit (in
// cmd); a Registry is safe for concurrent use. The zero value is empty and
// ready to use.
type Registry struct {
	mu      sync.RWMutex
	mappers map[string]Mapper
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{mappers: make(map[string]Mapper)}
}

// Register makes m the Mapper of procedure. It fails for an empty procedure
// id, a nil Mapper and a procedure that already has a Mapper.
func (r *Registry) Register(procedure string, m Mapper) error {
	if procedure == "" {
		return errors.New("register mapper: empty procedure id")
	}
	if m == nil {
		return fmt.Errorf("register mapper for procedure %q: nil mapper", procedure)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.mappers[procedure]; dup {
		return fmt.Errorf("register mapper for procedure %q: already registered", procedure)
	}
	if r.mappers == nil {
		r.mappers = make(map[string]Mapper)
	}
	r.mappers[procedure] = m
	return nil
}

// Mapper returns the Mapper of procedure and whether there is one.
func (r *Registry) Mapper(procedure string) (Mapper, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.mappers[procedure]
	return m, ok
}

// Procedures returns the registered procedure ids in sorted order.
func (r *Registry) Procedures() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, 0, len(r.mappers))
	for id := range r.mappers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
