package config

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxXDomeaText bounds the Akte's texts: DMS title and Kennzeichen fields
// commonly hold 255 characters.
const maxXDomeaText = 255

// placeholder finds the {name} placeholders of a text.
var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// validate reports the rules of an xdomea block under path: texts without
// control characters, at most maxXDomeaText characters, no placeholder but
// {jahr}; an Ablageort that is an absolute path, a UNC path or an http(s)
// URL.
func (x *XDomea) validate(path string, v *validator) {
	texts := []struct{ key, value string }{{"container", x.Container}}
	if a := x.Akte; a != nil {
		texts = append(texts,
			struct{ key, value string }{"akte.betreff", a.Betreff},
			struct{ key, value string }{"akte.aktenzeichen", a.Aktenzeichen},
			struct{ key, value string }{"akte.aktenplankennzeichen", a.Aktenplankennzeichen},
			struct{ key, value string }{"akte.typ", a.Typ})
	}
	for _, t := range texts {
		switch {
		case !utf8.ValidString(t.value) || strings.ContainsFunc(t.value, unicode.IsControl):
			v.add(path+"."+t.key, "must not contain control characters")
		case utf8.RuneCountInString(t.value) > maxXDomeaText:
			v.add(path+"."+t.key, "is longer than %d characters", maxXDomeaText)
		}
		for _, p := range placeholder.FindAllString(t.value, -1) {
			if p != "{jahr}" {
				v.add(path+"."+t.key, "unknown placeholder %s: the only one is {jahr}, the year of receipt", p)
			}
		}
	}
	if x.Ablageort != "" && !isAblageort(x.Ablageort) {
		v.add(path+".ablageort", `must be an absolute path (/srv/import, D:\import), a UNC path (\\server\share) or an http(s) URL, got %q`, x.Ablageort)
	}
}

// isAblageort reports whether s names a directory the DMS can reach: an
// absolute POSIX or Windows path, a UNC path or an http(s) (WebDAV) URL.
func isAblageort(s string) bool {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return false
	}
	switch {
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, `\\`) && len(s) > 2:
		return true
	case len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		('A' <= s[0] && s[0] <= 'Z' || 'a' <= s[0] && s[0] <= 'z'):
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
