package idtoken_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/intake/idtoken/idtokentest"
)

// FuzzVerify: whatever a portal sends as a token, Verify returns an
// identity or an *Error, never panics, and never anything else (the keys
// come from a file, so they are always available).
func FuzzVerify(f *testing.F) {
	p := idtokentest.New(f)
	file := filepath.Join(f.TempDir(), "jwks.json")
	if err := os.WriteFile(file, p.JWKS(), 0o600); err != nil {
		f.Fatal(err)
	}
	tc := tokenConfig(p)
	tc.Providers[0].JWKSURL, tc.Providers[0].JWKSFile = "", file
	v := idtoken.NewRegistry(idtoken.Options{}).Verifier(tc)
	claims := idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial)
	for _, seed := range []string{
		p.RSA.Sign(f, claims),
		p.EC.Sign(f, idtokentest.With(claims, "aud", []any{1, "x"}, "acr", map[string]any{})),
		idtokentest.NoneToken(f, "rsa-1", claims),
		idtokentest.HS256Token(f, "ec-1", []byte("k"), claims),
		"", ".", "..", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "eyJhbGciOiJub25lIn0.bnVsbA.",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(context.Background(), token)
		var e *idtoken.Error
		switch {
		case err == nil && (id == nil || !id.Verified):
			t.Fatalf("Verify = %+v without error", id)
		case err != nil && !errors.As(err, &e):
			t.Fatalf("Verify error %v is no *idtoken.Error", err)
		}
	})
}
