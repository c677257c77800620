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

// decodeCases are bodies on which textDecode must agree with tokenDecode,
// the reference: where it decodes, tokenDecode decodes the same value to
// the same end; what tokenDecode refuses, it refuses.
var decodeCases = []string{
	`{}`, ` {} `, "\t{\r\n}\n", `{"a":1}x`, `{"a":1}}`, `{"a":1} {"b":2}`, `{"a":1},`, `{"a":1}]`,
	`{"a":"b","A":"c"}`, `{"a":1,"a":2}`, `{"straße":1,"STRASSE":2}`, `{"K":1,"k":2}`, `{"İ":1,"i":2}`,
	`{"a":1,"\u0041":2}`, `{"\u0061":1}`, `{"a\u0000b":1}`, `{"a":1,"A"x}`, `{"a":1,"A":tru}`,
	`{"a":[1,2,[3,{}],[]],"b":{"c":null,"d":true,"e":false}}`,
	`{"n":[0,-0,1.5,-1.5e10,1E+2,2e-3,12345678901234567890123,1e100000000000]}`,
	`{"n":01}`, `{"n":1.}`, `{"n":-}`, `{"n":1e}`, `{"n":.5}`, `{"n":+1}`, `{"n":0x1}`, `{"n":1e+}`, `{"n":1x}`, `{"n":-01}`,
	`{"s":"\"\\\/\b\f\n\r\t\u00e4\u20AC"}`, `{"s":"\ud83d\ude00"}`, `{"s":"\ud83d"}`, `{"s":"\ud83dx"}`,
	`{"s":"\ude00\ud83d"}`, `{"s":"\ud83d\u0041"}`, `{"s":"\ud83d\ud83d\ude00"}`, `{"s":"\u12"}`, `{"s":"\u12g4"}`,
	`{"s":"\ud83d\u12"}`, `{"s":"\ud83d\`, `{"s":"\ud83d`, `{"s":"\u00`, `{"s":"\`,
	`{"s":"\'"}`, `{"s":"\x"}`, "{\"s\":\"a\tb\"}", `{"s":"<&>` + "\u2028\u2029" + `"}`, `{"s":"unterminated}`,
	`{"a" 1}`, `{"a":1,}`, `{"a":[1,]}`, `{,}`, `{"a":1 "b":2}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":nullx}`,
	`{"a":[1 2]}`, `{1:2}`, `{"a"}`, `{"a":}`, `{"a"::1}`, `{`, `{"a":1`, `{"a":1,`, `{"a":[`, `{"a":{`, `}`, `]`, `:`, `,`,
	`[]`, `[1,"a",null,true,{"b":[]}]`, `"x"`, `"x"y`, `1`, `1x`, `-`, `true`, `truex`, `null`, ``, ` `, "\n\t", `{} x`,
	strings.Repeat(`{"a":`, MaxJSONDepth) + `1` + strings.Repeat(`}`, MaxJSONDepth),
	strings.Repeat(`{"a":`, MaxJSONDepth+1) + `1` + strings.Repeat(`}`, MaxJSONDepth+1),
	`{"a":` + strings.Repeat(`[`, MaxJSONDepth-1) + strings.Repeat(`]`, MaxJSONDepth-1) + `}`,
	`{"a":` + strings.Repeat(`[`, MaxJSONDepth) + strings.Repeat(`]`, MaxJSONDepth) + `}`,
	strings.Repeat(`[`, MaxJSONDepth+1) + `x`, strings.Repeat(`[`, MaxJSONDepth) + `x`,
	manyMembers(maxLinearMembers+5, ""), manyMembers(maxLinearMembers+5, `,"M3":0`), manyMembers(maxLinearMembers, `,"m0":0`),
	"{\"s\":\"\xff\"}", "{\"\xc3\":1}", "{\"\xff\":1,\"\xfe\":2}", "{\"s\":\"\xed\xba\xad\"}", "{\"s\":\"a\xc3\"}",
	"{\"s\":\"\\u00e4\xff\"}", "{\xff:1}", "\xff", "{\"a\":1}\xff",
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

// checkTextDecode fails unless textDecode agrees with tokenDecode on body:
// where it decodes, tokenDecode decodes the same value to the same end,
// and decodeJSON answers exactly as tokenDecode does, with the same value
// or the same problem. Where tokenDecode decodes, appendCanonical must
// encode the value as json.Marshal does. It returns whether textDecode
// decoded body.
func checkTextDecode(t *testing.T, body []byte) bool {
	t.Helper()
	lib, libEnd, libErr := textDecode(body)
	ref, refEnd, refErr := tokenDecode(body)
	if libErr == nil {
		if refErr != nil {
			t.Fatalf("textDecode accepts %q, tokenDecode refuses it: %v", body, refErr)
		}
		if !reflect.DeepEqual(lib, ref) || libEnd != refEnd {
			t.Fatalf("textDecode(%q) = %#v, end %d; tokenDecode: %#v, end %d", body, lib, libEnd, ref, refEnd)
		}
	}
	v, end, err := decodeJSON(body)
	if !reflect.DeepEqual(v, ref) || end != refEnd || !reflect.DeepEqual(err, refErr) {
		t.Fatalf("decodeJSON(%q) = %#v, end %d, %v; tokenDecode: %#v, end %d, %v", body, v, end, err, ref, refEnd, refErr)
	}
	if refErr == nil {
		want, merr := json.Marshal(ref)
		got, cok := appendCanonical(nil, ref)
		if merr == nil && (!cok || !bytes.Equal(got, want)) {
			t.Fatalf("appendCanonical of %q = %q, %v; json.Marshal: %q", body, got, cok, want)
		}
	}
	return libErr == nil
}

func TestTextDecodeAgreesWithTokenDecode(t *testing.T) {
	t.Parallel()
	for _, c := range decodeCases {
		checkTextDecode(t, []byte(c))
	}
	// Every example request is decoded by jsontext.
	files, err := filepath.Glob("../../testdata/submissions/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example requests: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !checkTextDecode(t, body) {
			t.Errorf("%s: textDecode does not decode it", f)
		}
	}
}

// TestTextDecodeRefuses checks that textDecode refuses the bodies
// tokenDecode refuses, so that their problem is worded by tokenDecode, and
// decodes the others (the cases are chosen so that jsontext and
// encoding/json agree on every one of them).
func TestTextDecodeRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range decodeCases {
		_, _, refErr := tokenDecode([]byte(c))
		_, _, libErr := textDecode([]byte(c))
		if (refErr == nil) != (libErr == nil) {
			t.Errorf("%q: textDecode error %v, tokenDecode error %v", c, libErr, refErr)
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

// TestDecodeRequestAllocations proves the jsontext path: decoding and
// hashing the demo submission allocates a few dozen times; through
// json.Decoder's tokens and json.Marshal it was about 640 allocations.
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

// FuzzTextDecode checks textDecode and decodeJSON against tokenDecode,
// and appendCanonical against json.Marshal, on arbitrary bodies
// (checkTextDecode).
func FuzzTextDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob("../../testdata/submissions/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkTextDecode(t, body)
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
