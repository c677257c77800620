package portalapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
)

// recordingMapper is the envelope mapper that remembers the identities it saw.
type recordingMapper struct {
	envelope.Mapper
	mu   sync.Mutex
	seen []*transform.Identity
}

func (m *recordingMapper) Map(in transform.Input) (transform.Document, error) {
	m.mu.Lock()
	m.seen = append(m.seen, in.Submission.Identity)
	m.mu.Unlock()
	return m.Mapper.Map(in)
}

// MapValidated records too: the intake maps a validated submission with it.
func (m *recordingMapper) MapValidated(in transform.Input) (transform.Document, error) {
	m.mu.Lock()
	m.seen = append(m.seen, in.Submission.Identity)
	m.mu.Unlock()
	return m.Mapper.MapValidated(in)
}

func TestIdentityTravelsToEveryDestination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		identity any // the request's identity member; absent when nil
		want     *transform.Identity
		wantJSON string // the identity member of the status, "" when absent
	}{
		{
			name: "servicekonto",
			identity: map[string]any{"method": "servicekonto", "provider": "BundID", "trust_level": "substantial",
				"postbox_reference": "urn:bundid:postfach:4711-0815"},
			want: &transform.Identity{Method: "servicekonto", Provider: "BundID", TrustLevel: "substantial",
				PostboxReference: "urn:bundid:postfach:4711-0815"},
			wantJSON: `{"method":"servicekonto","provider":"BundID","trust_level":"substantial","postbox_reference":"urn:bundid:postfach:4711-0815"}`,
		},
		{
			name:     "eid without provider",
			identity: map[string]any{"method": "eid", "trust_level": "high"},
			want:     &transform.Identity{Method: "eid", TrustLevel: "high"},
			wantJSON: `{"method":"eid","trust_level":"high"}`,
		},
		{
			name:     "none",
			identity: map[string]any{"method": "none"},
			want:     &transform.Identity{Method: "none"},
			wantJSON: `{"method":"none"}`,
		},
		{
			name:     "provider kept in NFC",
			identity: map[string]any{"method": "servicekonto", "provider": "Bu\u0308rgerkonto", "trust_level": "basic"},
			want:     &transform.Identity{Method: "servicekonto", Provider: "B\u00fcrgerkonto", TrustLevel: "basic"},
			wantJSON: `{"method":"servicekonto","provider":"B` + "\u00fc" + `rgerkonto","trust_level":"basic"}`,
		},
		{name: "null", identity: json.RawMessage("null")},
		{name: "absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingMapper{}
			e := newEnv(t, func(c *envConfig) {
				r := transform.NewRegistry()
				if err := r.Register(demoProcedure, rec); err != nil {
					t.Fatal(err)
				}
				c.Registry = r
			})
			body := demoBody(t, func(m map[string]any) {
				m["tenant"] = otherTenant // two destinations
				if tt.identity != nil {
					m["identity"] = tt.identity
				}
			})
			id := accepted(t, e.submit(t, otherKey, body))

			// The mapper got the identity for each destination.
			if len(rec.seen) != 2 {
				t.Fatalf("mapper called %d times, want 2", len(rec.seen))
			}
			for _, got := range rec.seen {
				if !equalIdentity(got, tt.want) {
					t.Errorf("mapper saw identity %+v, want %+v", got, tt.want)
				}
			}

			// Every message carries it in its metadata.
			_, msgs, err := e.store.Submission(context.Background(), id)
			if err != nil || len(msgs) != 2 {
				t.Fatalf("store.Submission = %d messages, %v; want 2", len(msgs), err)
			}
			wantMeta := map[string]string{}
			if tt.want != nil {
				for k, v := range map[string]string{
					outbox.MetaIdentityMethod:           tt.want.Method,
					outbox.MetaIdentityProvider:         tt.want.Provider,
					outbox.MetaIdentityTrustLevel:       tt.want.TrustLevel,
					outbox.MetaIdentityPostboxReference: tt.want.PostboxReference,
				} {
					if v != "" {
						wantMeta[k] = v
					}
				}
			}
			for _, m := range msgs {
				got := map[string]string{}
				for k, v := range m.Metadata {
					if strings.HasPrefix(k, "identity_") {
						got[k] = v
					}
				}
				if !maps.Equal(got, wantMeta) {
					t.Errorf("message to %s: identity metadata = %v, want %v", m.Metadata[outbox.MetaDestination], got, wantMeta)
				}
			}

			// The status shows it.
			r := e.status(t, otherKey, id)
			st := statusOf(t, r)
			var raw struct {
				Identity json.RawMessage `json:"identity"`
			}
			if err := json.Unmarshal(r.body, &raw); err != nil {
				t.Fatal(err)
			}
			if string(raw.Identity) != tt.wantJSON {
				t.Errorf("status identity = %s, want %s", raw.Identity, tt.wantJSON)
			}
			if tt.want != nil && (st.Identity == nil || st.Identity.Method != tt.want.Method) {
				t.Errorf("status identity = %+v", st.Identity)
			}
		})
	}
}

func TestIdentityInvalid(t *testing.T) {
	t.Parallel()
	type fe struct{ pointer, code string }
	tests := []struct {
		name     string
		identity any
		errors   []fe
	}{
		{"not an object", "BundID", []fe{{"/identity", transform.CodeType}}},
		{"array", []any{}, []fe{{"/identity", transform.CodeType}}},
		{"empty object", map[string]any{}, []fe{{"/identity/method", transform.CodeRequired}}},
		{"empty method", map[string]any{"method": ""}, []fe{{"/identity/method", transform.CodeRequired}}},
		{"unknown method", map[string]any{"method": "passwort", "trust_level": "basic"},
			[]fe{{"/identity/method", transform.CodeEnum}}},
		{"method upper case", map[string]any{"method": "EID", "trust_level": "high"},
			[]fe{{"/identity/method", transform.CodeEnum}}},
		{"method not a string", map[string]any{"method": 1}, []fe{{"/identity/method", transform.CodeType}}},
		{"servicekonto without provider", map[string]any{"method": "servicekonto", "trust_level": "substantial"},
			[]fe{{"/identity/provider", transform.CodeRequired}}},
		{"servicekonto without anything", map[string]any{"method": "servicekonto"},
			[]fe{{"/identity/provider", transform.CodeRequired}, {"/identity/trust_level", transform.CodeRequired}}},
		{"eid without trust level", map[string]any{"method": "eid", "trust_level": nil},
			[]fe{{"/identity/trust_level", transform.CodeRequired}}},
		{"unknown trust level", map[string]any{"method": "eid", "trust_level": "mittel"},
			[]fe{{"/identity/trust_level", transform.CodeEnum}}},
		{"eidas low is not a level here", map[string]any{"method": "eid", "trust_level": "low"},
			[]fe{{"/identity/trust_level", transform.CodeEnum}}},
		{"trust level not a string", map[string]any{"method": "eid", "trust_level": 3},
			[]fe{{"/identity/trust_level", transform.CodeType}}},
		{"none with trust level and provider", map[string]any{"method": "none", "trust_level": "basic", "provider": "BundID"},
			[]fe{{"/identity/provider", transform.CodeInvalid}, {"/identity/trust_level", transform.CodeInvalid}}},
		{"none with postbox", map[string]any{"method": "none", "postbox_reference": "x"},
			[]fe{{"/identity/postbox_reference", transform.CodeInvalid}}},
		{"unknown members", map[string]any{"method": "eid", "trust_level": "high", "level": "x", "a/b": 1},
			[]fe{{"/identity/a~1b", portalapi.CodeUnknownField}, {"/identity/level", portalapi.CodeUnknownField}}},
		{"emoji in provider", map[string]any{"method": "servicekonto", "provider": "BundID 😀", "trust_level": "basic"},
			[]fe{{"/identity/provider", transform.CodeUnsupportedCharacter}}},
		{"control character in postbox reference", map[string]any{"method": "eid", "trust_level": "high", "postbox_reference": "a\x00"},
			[]fe{{"/identity/postbox_reference", transform.CodeControlCharacter}}},
		{"provider not a string", map[string]any{"method": "servicekonto", "provider": true, "trust_level": "basic"},
			[]fe{{"/identity/provider", transform.CodeType}}},
		{"postbox reference too long", map[string]any{"method": "eid", "trust_level": "high",
			"postbox_reference": strings.Repeat("x", portalapi.MaxIdentityValueLength+1)},
			[]fe{{"/identity/postbox_reference", transform.CodeTooLong}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			body := demoBody(t, func(m map[string]any) { m["identity"] = tt.identity })
			for _, lang := range []string{"en", "de"} {
				r := e.submit(t, demoKey, body, "Accept-Language", lang)
				p := problemIn(t, r, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed, lang)
				var got []fe
				for _, pe := range p.Errors {
					got = append(got, fe{pe.Pointer, pe.Code})
					if pe.Detail == "" {
						t.Errorf("error %s has no detail", pe.Pointer)
					}
					for _, value := range []string{"passwort", "mittel", "BundID", "😀"} {
						if strings.Contains(pe.Detail, value) {
							t.Errorf("detail %q contains the request value %q", pe.Detail, value)
						}
					}
				}
				if !slices.Equal(got, tt.errors) {
					t.Errorf("%s: errors = %v, want %v", lang, got, tt.errors)
				}
			}
			e.assertNothingStored(t)
		})
	}
}

func equalIdentity(a, b *transform.Identity) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
