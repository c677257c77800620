package portalapi

import (
	"bytes"
	"encoding/hex"
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

// TestRequestHashPinned pins the request hash of example requests and of a
// body with escapes, HTML characters and numbers kept as written: the
// hashes stored for idempotency by earlier versions (these were computed
// with the decoder of main at cb61e3b) must still match a retry.
func TestRequestHashPinned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ body, hash string }{
		{"@demo.json", "017b120737b762f9af1a5c06cb500d8588e697c09ed20656649da41521aec8ed"},
		{"@bau.baugenehmigung-maximal.json", "12ec4ea093f1179351b19b7319d853db71ded33aebd05977477f3ec7331bbdea"},
		{"@bau.baugenehmigung-mit-dateien.json", "cc05f64747dd5c15f48033a44324f3d46ab421a2aa6ae23aea84fd4165db98ef"},
		{"@gewerbe.anmeldung-maximal.json", "51e3e94ddddfa806328d3fd382e69480aae8bcc6142a54f4fb6797e6f8766055"},
		{"@meldewesen.wohnungsgeberbestaetigung-maximal.json", "02ac35cbba7e7d80393233c4950433fa7a700e8947d2214af698182bb563a31d"},
		{"@schule.schueleranmeldung.json", "b204ca1a63d58b66814e9641af0a112e98276048ffa082ec225ddbb9efebeff9"},
		{`{"tenant":"a<b>&\u2028","procedure":"x.y","applicant":{"Name":"Grüße \"\\\/\ud83d\ude00\ud83d"},` +
			`"data":{"n":[1.50,-0,1e2],"z":null,"t":true}}`, "647e78a60d63049f0cc07cf701f56aa3950ccfb8d948c4ce6cdc3fb79997a419"},
	} {
		body := []byte(c.body)
		if name, ok := strings.CutPrefix(c.body, "@"); ok {
			var err error
			if body, err = os.ReadFile("../../testdata/submissions/" + name); err != nil {
				t.Fatal(err)
			}
		}
		req, err := decodeRequest(body, false)
		if err != nil {
			t.Fatalf("%.40s: %v", c.body, err)
		}
		if got := hex.EncodeToString(req.hash[:]); got != c.hash {
			t.Errorf("%.40s: hash %s, stored hashes have %s", c.body, got, c.hash)
		}
	}
}
