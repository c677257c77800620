package outbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
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
		wg.Go(func() { errs[i] = c.complete(context.Background(), Completion{ID: id}, false) })
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
	if err := c.complete(context.Background(), Completion{ID: "late"}, false); err != nil || st.single[len(st.single)-1] != "late" {
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
		wg.Go(func() { errs[i] = c.complete(context.Background(), Completion{ID: fmt.Sprint("m", i)}, false) })
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

// An urgent outcome (an ordered topic's, whose next delivery waits for it)
// ends the gathering: it is recorded at once with what was gathered before
// it, and alone when it comes first and nothing waits, however long the
// linger.
func TestCompleterUrgentEndsLinger(t *testing.T) {
	c, st, gathered := gatheringCompleter(time.Hour, time.Hour, completionShare)
	defer c.close()
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- c.complete(ctx, Completion{ID: "first"}, true) }()
	wait(t, first, 1)
	lingering := make(chan error, 1)
	go func() { lingering <- c.complete(ctx, Completion{ID: "waits"}, false) }()
	<-gathered // "first"
	<-gathered // "waits", lingering
	urgent := make(chan error, 1)
	go func() { urgent <- c.complete(ctx, Completion{ID: "urgent"}, true) }()
	wait(t, urgent, 1)
	wait(t, lingering, 1)
	if got := st.recorded(); got != "[[first] [waits urgent]] single []" {
		t.Errorf("recorded %s; want [[first] [waits urgent]] and none single", got)
	}
}

// Outcomes already waiting when an urgent one is gathered share its batch:
// under load an ordered topic's outcomes do not commit one by one.
func TestCompleterUrgentTakesWaiting(t *testing.T) {
	st := &batchStore{}
	c := newCompleter(st)
	c.linger, c.stretch = time.Hour, time.Hour
	c.gathering.Lock() // no worker gathers until the outcomes wait
	c.start()
	defer c.close()
	unlock := sync.OnceFunc(c.gathering.Unlock)
	defer unlock() // before close, which waits for the workers
	errs := make(chan error, 3)
	send := func(id string, urgent bool) {
		go func() { errs <- c.complete(context.Background(), Completion{ID: id}, urgent) }()
	}
	send("urgent", true)
	waitSenders(t, 1) // the urgent outcome waits first: it is gathered first
	send("a", false)
	send("b", false)
	waitSenders(t, 3)
	unlock()
	wait(t, errs, 3)
	if got := st.recorded(); got != "[[urgent a b]] single []" && got != "[[urgent b a]] single []" {
		t.Errorf("recorded %s; want one batch [urgent a b]", got)
	}
}

// A batch that reaches its share before its linger ends keeps gathering
// until the linger ends: under load the share does not cut batches short.
func TestCompleterShareDoesNotEndLinger(t *testing.T) {
	c, st, gathered := gatheringCompleter(time.Hour, time.Hour, 2)
	errs := make(chan error, 3)
	sendGathered(c, gathered, errs, "a", "b", "c")
	if got := st.recorded(); got != "[] single []" {
		t.Fatalf("recorded %s while the linger lasts", got)
	}
	c.close() // ends the gathering; what was gathered is recorded
	wait(t, errs, 3)
	if got := st.recorded(); got != "[[a b c]] single []" {
		t.Errorf("recorded %s, want [[a b c]]", got)
	}
}

// A batch below its share when the linger ends keeps gathering until it
// holds the share: at a low rate, outcomes still share a commit.
func TestCompleterStretchesSmallBatch(t *testing.T) {
	c, st, gathered := gatheringCompleter(time.Millisecond, time.Hour, 3)
	defer c.close()
	errs := make(chan error, 3)
	sendGathered(c, gathered, errs, "a", "b")
	time.Sleep(30 * time.Millisecond) // the linger of 1 ms ended with 2 of 3
	if got := st.recorded(); got != "[] single []" {
		t.Fatalf("recorded %s before the batch reached its share", got)
	}
	sendGathered(c, gathered, errs, "c")
	wait(t, errs, 3)
	if got := st.recorded(); got != "[[a b c]] single []" {
		t.Errorf("recorded %s, want [[a b c]]", got)
	}
}

// A batch at its share when the linger ends is recorded then (under load it
// does not stretch), and a small one when the stretch ends, counted from its
// first outcome.
func TestCompleterStretchEnds(t *testing.T) {
	c, st, gathered := gatheringCompleter(50*time.Millisecond, time.Hour, 2)
	defer c.close()
	errs := make(chan error, 2)
	sendGathered(c, gathered, errs, "a", "b")
	wait(t, errs, 2)

	// The next gathering reads these after its first outcome, which the
	// goroutine below sends after they are set.
	c.stretch, c.share = 100*time.Millisecond, 100
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.complete(context.Background(), Completion{ID: "alone"}, false) }()
	wait(t, done, 1)
	if took := time.Since(began); took < c.stretch {
		t.Errorf("recorded after %v, before the stretch of %v ended", took, c.stretch)
	}
	if got := st.recorded(); got != "[[a b] [alone]] single []" {
		t.Errorf("recorded %s, want [[a b] [alone]]", got)
	}
}

// gatheringCompleter starts a completer over a batchStore with the given
// linger, stretch and share; it announces each outcome gathered (the batch's
// size) on the channel returned.
func gatheringCompleter(linger, stretch time.Duration, share int) (*completer, *batchStore, chan int) {
	st := &batchStore{}
	c := newCompleter(st)
	c.linger, c.stretch, c.share = linger, stretch, share
	gathered := make(chan int, 4)
	c.gathered = func(n int) { gathered <- n }
	c.start()
	return c, st, gathered
}

// sendGathered hands the outcomes of ids to c, each from a goroutine of its
// own and each once the one before was gathered, so that they are gathered
// in this order; their errors arrive on errs.
func sendGathered(c *completer, gathered <-chan int, errs chan<- error, ids ...string) {
	for _, id := range ids {
		go func() { errs <- c.complete(context.Background(), Completion{ID: id}, false) }()
		<-gathered
	}
}

// wait fails the test unless ch yields n nils, each within 10 s.
func wait(t *testing.T, ch <-chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an outcome still waits for its record after 10 s")
		}
	}
}

// waitSenders waits until n goroutines wait to hand an outcome to the
// completer (blocked in complete's select, before its outcome is taken).
func waitSenders(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		stacks := string(buf[:runtime.Stack(buf, true)])
		blocked := 0
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, "(*completer).complete(") {
				blocked++
			}
		}
		if blocked >= n {
			return
		}
	}
	t.Fatalf("fewer than %d outcomes wait for the completer after 10 s", n)
}

// recorded shows the batches and single completions recorded so far.
func (s *batchStore) recorded() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%v single %v", s.batches, s.single)
}
