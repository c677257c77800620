package portalapi

import (
	"net/http"
	"strconv"
	"strings"
)

// Languages of the problem responses: the Content-Language of every problem.
const (
	LangEnglish = "en" // the default
	LangGerman  = "de"
)

// negotiateLanguage chooses the language of a problem response from the
// Accept-Language header (RFC 9110, section 12.5.4): German when the header
// prefers a range of the language de (de, de-DE, de-AT, ...) over English,
// English otherwise, and English when the header is absent, malformed or
// accepts neither. A language's weight is the highest q-value of the ranges
// naming it, or that of "*" when none does; q=0 excludes it. When German and
// English weigh the same, the range listed first wins, and English when
// both come from "*". Malformed elements of the header are ignored.
func negotiateLanguage(h http.Header) string {
	type weight struct {
		q     int // q-value in thousandths; -1: not named
		first int // index of the first range naming the language
	}
	de, en, wildcard := weight{-1, 0}, weight{-1, 0}, weight{-1, 0}
	i := 0
	for _, value := range h.Values("Accept-Language") {
		for elem := range strings.SplitSeq(value, ",") {
			tag, q, ok := parseLanguageRange(elem)
			if !ok {
				continue
			}
			var w *weight
			switch primary, _, _ := strings.Cut(tag, "-"); primary {
			case "*":
				w = &wildcard
			case LangGerman:
				w = &de
			case LangEnglish:
				w = &en
			default:
				i++
				continue
			}
			if w.q < 0 {
				w.first = i
			}
			w.q = max(w.q, q)
			i++
		}
	}
	for _, w := range []*weight{&de, &en} {
		if w.q < 0 && wildcard.q >= 0 {
			w.q, w.first = wildcard.q, -1 // from "*": below any named range in order
		}
	}
	switch {
	case de.q <= 0:
		return LangEnglish
	case de.q > en.q:
		return LangGerman
	case de.q == en.q && de.first >= 0 && (en.first < 0 || de.first < en.first):
		return LangGerman
	default:
		return LangEnglish
	}
}

// parseLanguageRange parses one element of Accept-Language: a language range
// (RFC 4647: "*" or 1*8ALPHA *("-" 1*8alphanum)), lower-cased, and its q-value
// in thousandths (1000 when absent). Other parameters are ignored.
func parseLanguageRange(elem string) (tag string, q int, ok bool) {
	tag, params, _ := strings.Cut(elem, ";")
	tag = strings.ToLower(strings.Trim(tag, " \t"))
	if !validLanguageRange(tag) {
		return "", 0, false
	}
	q = 1000
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, val, found := strings.Cut(strings.Trim(p, " \t"), "=")
		if !found || !strings.EqualFold(strings.TrimRight(name, " \t"), "q") {
			continue
		}
		if q, ok = parseQValue(strings.TrimLeft(val, " \t")); !ok {
			return "", 0, false
		}
	}
	return tag, q, true
}

// parseQValue parses a qvalue of RFC 9110: "0" ["." 0*3DIGIT] or "1" ["." 0*3("0")].
func parseQValue(s string) (int, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if (intPart != "0" && intPart != "1") || len(frac) > 3 {
		return 0, false
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	frac += strings.Repeat("0", 3-len(frac))
	n, _ := strconv.Atoi(frac)
	if intPart == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}

// validLanguageRange reports whether s is "*" or 1*8ALPHA *("-" 1*8alphanum).
func validLanguageRange(s string) bool {
	if s == "*" {
		return true
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) < 1 || len(sub) > 8 {
			return false
		}
		for _, c := range sub {
			alpha := 'a' <= c && c <= 'z'
			if !alpha && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}
