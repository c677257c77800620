package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// batchStore records completions; CompleteBatch fails as a whole when a
// completion's id is "poison", and both CompleteBatch and Complete report
// ErrLeaseLost for id "lost" (a store answers the same either way).
type batchStore struct {
	Store
	mu      sync.Mutex
	batches [][]string
	single  []string
}

func (s *batchStore) CompleteBatch(_ context.Context, cs []Completion) ([]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(cs))
	errs := make([]error, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
		if c.ID == "poison" {
			return nil, errors.New("batch failed")
		}
		if c.ID == "lost" {
			errs[i] = ErrLeaseLost
		}
	}
	s.batches = append(s.batches, ids)
	return errs, nil
}

func (s *batchStore) Complete(_ context.Context, c Completion) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.single = append(s.single, c.ID)
	switch c.ID {
	case "poison":
		return errors.New("poison")
	case "lost":
		return ErrLeaseLost
	}
	return nil
}

func TestCompleterRecordsEveryOutcomeOnce(t *testing.T) {
	st := &batchStore{}
	c := newCompleter(st)
	c.start()
	ids := []string{"lost", "poison"}
	for i := range 40 {
		ids = append(ids, fmt.Sprint("m", i))
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = c.complete(context.Background(), Completion{ID: id}) })
	}
	wg.Wait()
	c.close()
	if !errors.Is(errs[0], ErrLeaseLost) {
		t.Errorf("lost: %v, want ErrLeaseLost", errs[0])
	}
	if errs[1] == nil {
		t.Error("poison: no error")
	}
	for i, err := range errs[2:] {
		if err != nil {
			t.Errorf("%s: %v", ids[i+2], err)
		}
	}
	// Every id recorded exactly once: in a batch, or on its own after its
	// batch failed. The poison is never in a committed batch; it is tried on
	// its own only when it shared a failed batch with others.
	seen := map[string]int{}
	for _, b := range st.batches {
		for _, id := range b {
			seen[id]++
		}
	}
	for _, id := range st.single {
		seen[id]++
	}
	for _, id := range ids {
		if want := 1; id != "poison" && id != "lost" && seen[id] != want {
			t.Errorf("%s recorded %d times", id, seen[id])
		}
	}
	if seen["poison"] > 1 {
		t.Errorf("poison tried %d times on its own, want at most once", seen["poison"])
	}
	// After close, outcomes are recorded directly.
	if err := c.complete(context.Background(), Completion{ID: "late"}); err != nil || st.single[len(st.single)-1] != "late" {
		t.Fatalf("after close: %v %v", err, st.single)
	}
}

// Outcomes that arrive while a batch lingers share its transaction, and a
// batch gathered when the completer stops is recorded, not dropped.
func TestCompleterLingers(t *testing.T) {
	st := &batchStore{}
	c := newCompleter(st)
	c.linger = time.Hour // only a full batch or the stop ends the gathering
	c.maxBatch = 3
	var got sync.WaitGroup
	got.Add(5) // 3 outcomes in the first batch, 2 in the second
	c.gathered = func(int) { got.Done() }
	c.start()
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() { errs[i] = c.complete(context.Background(), Completion{ID: fmt.Sprint("m", i)}) })
	}
	got.Wait() // the first batch filled up and was recorded; the second holds 2 and lingers
	c.close()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("m%d: %v", i, err)
		}
	}
	if len(st.single) != 0 {
		t.Errorf("recorded on their own: %v", st.single)
	}
	// The two batches record concurrently: either may be first.
	if len(st.batches) != 2 || len(st.batches[0])+len(st.batches[1]) != 5 || min(len(st.batches[0]), len(st.batches[1])) != 2 {
		t.Errorf("batches %v, want one of 3 and one of 2", st.batches)
	}
}
