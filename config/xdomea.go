package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/transform"
)

// maxXDomeaText bounds the Akte's texts: DMS title and Kennzeichen fields
// commonly hold 255 characters.
const maxXDomeaText = 255

// placeholder finds the {name} placeholders of a text.
var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// validate reports the rules of an xdomea block under path: texts of one
// line within DIN SPEC 91379 datatype C as the xdomea message writes them
// (transform.CheckText, the check xdomea.Build applies to every submission),
// at most maxXDomeaText characters, no placeholder but {jahr}; no
// akte.aktenzeichen, akte.aktenplankennzeichen or akte.typ beside a
// container, which names an Akte that exists in the DMS; an Ablageort that
// is an absolute path, a UNC path or an http(s) URL.
func (x *XDomea) validate(path string, v *validator) {
	texts := []struct{ key, value string }{{"creator", x.Creator}, {"container", x.Container}, {"ablageort", x.Ablageort}}
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
		case checkText(path+"."+t.key, t.value, v):
		case utf8.RuneCountInString(t.value) > maxXDomeaText:
			v.add(path+"."+t.key, "is longer than %d characters", maxXDomeaText)
		}
		if t.key == "creator" || t.key == "ablageort" {
			continue // no placeholders there
		}
		for _, p := range placeholder.FindAllString(t.value, -1) {
			if p != "{jahr}" {
				v.add(path+"."+t.key, "unknown placeholder %s: the only one is {jahr}, the year of receipt", p)
			}
		}
	}
	if a := x.Akte; a != nil && x.Container != "" {
		for _, f := range []struct{ key, value string }{
			{"aktenzeichen", a.Aktenzeichen}, {"aktenplankennzeichen", a.Aktenplankennzeichen}, {"typ", a.Typ},
		} {
			if f.value != "" {
				v.add(path+".akte."+f.key, "not allowed with container: the container names an Akte that exists in the DMS, "+
					"which keeps its own %s; the message carries only the Vorgang (and akte.betreff as its Aktenbetreff)", f.key)
			}
		}
	}
	if x.Ablageort != "" && !isAblageort(x.Ablageort) {
		v.add(path+".ablageort", `must be an absolute path (/srv/import, D:\import), a UNC path (\\server\share) or an http(s) URL, got %q`, x.Ablageort)
	}
}

// checkText reports the first character of value outside DIN SPEC 91379
// datatype C at path (transform.CheckText: the check the mappers and
// xdomea.Build apply to every text of a message) and reports whether it
// found one. A configured text that breaks it would pass check-config and
// then fail every submission.
func checkText(path, value string, v *validator) bool {
	fe := transform.CheckText(path, value)
	if fe == nil {
		return false
	}
	v.add(path, "%s: no XÖV message may carry it", fe[0].Message)
	return true
}

// Warnings returns what a valid configuration most likely does not mean,
// for check-config to print: today, an xdomea destination of type filedrop
// without xdomea.ablageort, whose messages name Amtsbote's own drop
// directory, which a DMS on another host may see under another path.
func (c *Config) Warnings() []Problem {
	var out []Problem
	for ti, t := range c.Tenants {
		for ri, r := range t.Procedures {
			for di, d := range r.Destinations {
				if d.Format != FormatXDOMEA || d.FileDrop == nil || d.XDomea == nil || d.XDomea.Ablageort != "" {
					continue
				}
				out = append(out, Problem{
					Path: fmt.Sprintf("tenants[%d].procedures[%d].destinations[%d].xdomea.ablageort", ti, ri, di),
					Message: "not set: the messages name the drop directory as Amtsbote sees it (" +
						filepath.Join(d.FileDrop.Dir, t.ID, r.Procedure) + "), which a DMS on another host may see " +
						"under another path; set it as the DMS sees it, e.g. \\\\dms01\\import",
				})
			}
		}
	}
	return out
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
