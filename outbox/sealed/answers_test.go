package sealed_test

import (
	"context"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// storeAnswer stores an unmatched answer with the marker in its body and detail.
func storeAnswer(t *testing.T, s outbox.Store) outbox.Answer {
	t.Helper()
	a := outboxtest.NewAnswer("t")
	a.Payload = []byte(`<bescheid>` + marker + `</bescheid>`)
	a.Detail = []byte(`{"information":"` + marker + `"}`)
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx outbox.Tx) error { _, _, err := tx.InsertAnswer(ctx, a); return err }); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAnswersSealedAndRotated: an answer's body and detail are sealed at
// rest, opened on every read, and resealed by a key rotation, so that the
// old key can go.
func TestAnswersSealedAndRotated(t *testing.T) {
	for name, newBackend := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			inner := newBackend(t).open(t)
			k1, k2 := newKey(t, "k1"), newKey(t, "k2")
			old := wrap(t, inner, keyring(t, "k1", k1))
			a := storeAnswer(t, old)
			raw, err := inner.Answer(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			mustContainNoMarker(t, "stored answer body", raw.Payload)
			mustContainNoMarker(t, "stored answer detail", raw.Detail)
			list, _, err := old.ListAnswers(ctx, outbox.AnswerFilter{Tenant: "t", Limit: 1000})
			if err != nil || len(list) == 0 || string(list[0].Detail) != string(a.Detail) {
				t.Fatalf("listed through the decorator: %v", err)
			}

			s := wrap(t, inner, keyring(t, "k2", k1, k2))
			res, err := s.Reseal(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if res.Resealed < 1 || res.Remaining != 0 {
				t.Fatalf("Reseal = %+v", res)
			}
			only2 := wrap(t, inner, keyring(t, "k2", k2))
			got, err := only2.Answer(ctx, a.ID)
			if err != nil || string(got.Payload) != string(a.Payload) || string(got.Detail) != string(a.Detail) {
				t.Fatalf("after rotation without k1: %v", err)
			}
		})
	}
}
