package portalapi

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fastDecodeCases are bodies that fastDecode must decode exactly as
// tokenDecode does, or leave to it.
var fastDecodeCases = []string{
	`{}`, ` {} `, "\t{\r\n}\n", `{"a":1}x`, `{"a":1}}`, `{"a":1} {"b":2}`,
	`{"a":"b","A":"c"}`, `{"a":1,"a":2}`, `{"straße":1,"STRASSE":2}`, `{"K":1,"k":2}`, `{"İ":1,"i":2}`,
	`{"a":[1,2,[3,{}],[]],"b":{"c":null,"d":true,"e":false}}`,
	`{"n":[0,-0,1.5,-1.5e10,1E+2,2e-3,12345678901234567890123,1e100000000000]}`,
	`{"n":01}`, `{"n":1.}`, `{"n":-}`, `{"n":1e}`, `{"n":.5}`, `{"n":+1}`, `{"n":0x1}`, `{"n":1e+}`,
	`{"s":"\"\\\/\b\f\n\r\t\u00e4\u20AC"}`, `{"s":"\ud83d\ude00"}`, `{"s":"\ud83d"}`, `{"s":"\ud83dx"}`,
	`{"s":"\ude00\ud83d"}`, `{"s":"\ud83d\u0041"}`, `{"s":"\ud83d\ud83d\ude00"}`, `{"s":"\u12"}`, `{"s":"\u12g4"}`,
	`{"s":"\'"}`, `{"s":"\x"}`, "{\"s\":\"a\tb\"}", `{"s":"<&>` + "\u2028\u2029" + `"}`, `{"s":"unterminated}`,
	`{"a" 1}`, `{"a":1,}`, `{"a":[1,]}`, `{,}`, `{"a":1 "b":2}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":nullx}`,
	`{"a":[1 2]}`, `{1:2}`, `{"a"}`, `{"a":}`, `{"a"::1}`, `{`, `{"a":1`, `[]`, `"x"`, `1`, `null`, ``, ` `,
	strings.Repeat(`{"a":`, MaxJSONDepth) + `1` + strings.Repeat(`}`, MaxJSONDepth),
	strings.Repeat(`{"a":`, MaxJSONDepth+1) + `1` + strings.Repeat(`}`, MaxJSONDepth+1),
	`{"a":` + strings.Repeat(`[`, MaxJSONDepth-1) + strings.Repeat(`]`, MaxJSONDepth-1) + `}`,
	`{"a":` + strings.Repeat(`[`, MaxJSONDepth) + strings.Repeat(`]`, MaxJSONDepth) + `}`,
	manyMembers(maxLinearMembers+5, ""), manyMembers(maxLinearMembers+5, `,"M3":0`), manyMembers(maxLinearMembers, `,"m0":0`),
	"{\"s\":\"\xff\"}", "{\"\xc3\":1}",
}

// manyMembers is an object of n members m0, m1, ... and then extra.
func manyMembers(n int, extra string) string {
	var b strings.Builder
	b.WriteString(`{"x":0`)
	for i := range n {
		b.WriteString(`,"m` + string(rune('0'+i%10)) + strings.Repeat("x", i/10) + `":1`)
	}
	return b.String() + extra + "}"
}

// checkFastDecode fails unless fastDecode agrees with tokenDecode on body:
// where it decodes, tokenDecode decodes the same value to the same end.
// Where tokenDecode decodes an object, appendCanonical must encode it as
// json.Marshal does. It returns whether fastDecode decoded body.
func checkFastDecode(t *testing.T, body []byte) bool {
	t.Helper()
	fast, fastEnd, ok := fastDecode(body)
	slow, slowEnd, err := tokenDecode(body)
	if ok {
		if err != nil {
			t.Fatalf("fastDecode accepts %q, tokenDecode refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(any(fast), slow) || fastEnd != slowEnd {
			t.Fatalf("fastDecode(%q) = %#v, end %d; tokenDecode: %#v, end %d", body, fast, fastEnd, slow, slowEnd)
		}
	}
	if err == nil {
		want, merr := json.Marshal(slow)
		got, cok := appendCanonical(nil, slow)
		if merr == nil && (!cok || !bytes.Equal(got, want)) {
			t.Fatalf("appendCanonical of %q = %q, %v; json.Marshal: %q", body, got, cok, want)
		}
	}
	return ok
}

func TestFastDecodeAgreesWithTokenDecode(t *testing.T) {
	t.Parallel()
	for _, c := range fastDecodeCases {
		checkFastDecode(t, []byte(c))
	}
	// Every example request takes the fast path.
	files, err := filepath.Glob("../../testdata/submissions/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example requests: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !checkFastDecode(t, body) {
			t.Errorf("%s: fastDecode does not decode it", f)
		}
	}
}

// TestFastDecodeRefuses checks that the bodies tokenDecode refuses, or
// answers with a value other than an object, leave fastDecode: the problem
// is worded by tokenDecode.
func TestFastDecodeRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range fastDecodeCases {
		v, _, err := tokenDecode([]byte(c))
		if _, isObject := v.(map[string]any); err == nil && isObject {
			continue
		}
		if _, _, ok := fastDecode([]byte(c)); ok {
			t.Errorf("fastDecode accepts %q", c)
		}
	}
}

func TestAppendCanonicalOtherTypes(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		map[string]any{"a": json.Number("")}, map[string]any{"a": json.Number("1 ")}, map[string]any{"a": 1.5},
		[]any{json.Number("x")}, map[string]any{"a": map[string]string{"b": "c"}},
	} {
		if b, ok := appendCanonical(nil, v); ok {
			t.Errorf("appendCanonical(%#v) = %q, want a refusal (json.Marshal decides)", v, b)
		}
	}
	for _, v := range []any{nil, map[string]any(nil), []any(nil), []any{}, map[string]any{}, "\xff<\u2028"} {
		want, _ := json.Marshal(v)
		if got, ok := appendCanonical(nil, v); !ok || !bytes.Equal(got, want) {
			t.Errorf("appendCanonical(%#v) = %q, %v; want %q", v, got, ok, want)
		}
	}
}

// TestDecodeRequestAllocations proves the fast path: decoding and hashing
// the demo submission allocates a few dozen times; through json.Decoder's
// tokens and json.Marshal it was about 640 allocations.
func TestDecodeRequestAllocations(t *testing.T) {
	if raceDetector {
		t.Skip("allocations are counted without the race detector")
	}
	body, err := os.ReadFile("../../testdata/submissions/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := decodeRequest(body, false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 150 {
		t.Errorf("decodeRequest of demo.json: %.0f allocations, want at most 150", allocs)
	}
	t.Logf("decodeRequest of demo.json: %.0f allocations", allocs)
}

// FuzzFastDecode checks fastDecode against tokenDecode, and appendCanonical
// against json.Marshal, on arbitrary bodies (checkFastDecode).
func FuzzFastDecode(f *testing.F) {
	for _, c := range fastDecodeCases {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob("../../testdata/submissions/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastDecode(t, body)
	})
}

func TestAcceptedResponseJSON(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b", "", `<&>"\` + "\u2028\x01\xff", "Grüße"} {
		a := AcceptedResponse{ID: id, Status: StatusAccepted}
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("appendJSON = %s, json.Marshal %s", got, want)
		}
	}
}
