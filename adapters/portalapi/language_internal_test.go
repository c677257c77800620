package portalapi

import (
	"net/http"
	"testing"
)

func TestNegotiateLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string // Accept-Language values; nil sends none
		want   string
	}{
		{"no header", nil, "en"},
		{"empty", []string{""}, "en"},
		{"german", []string{"de"}, "de"},
		{"german region", []string{"de-DE"}, "de"},
		{"austrian, upper case", []string{"DE-AT"}, "de"},
		{"swiss with script", []string{"de-Latn-CH"}, "de"},
		{"english", []string{"en"}, "en"},
		{"other language only", []string{"fr-FR, fr;q=0.9"}, "en"},
		{"browser in germany", []string{"de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"}, "de"},
		{"browser in the us with german", []string{"en-US,en;q=0.9,de;q=0.8"}, "en"},
		{"german ranked above english by q", []string{"en;q=0.5, de;q=0.8"}, "de"},
		{"french first, then german", []string{"fr, de;q=0.9, en;q=0.8"}, "de"},
		{"q with three decimals", []string{"en;q=0.801, de;q=0.8"}, "en"},
		{"q with three decimals, german higher", []string{"en;q=0.799, de;q=0.8"}, "de"},
		{"german excluded", []string{"de;q=0"}, "en"},
		{"german excluded, region too", []string{"de-DE;q=0, de;q=0.000"}, "en"},
		{"highest q of german ranges counts", []string{"de;q=0, de-AT;q=0.6, en;q=0.5"}, "de"},
		{"equal q, german first", []string{"de, en"}, "de"},
		{"equal q, english first", []string{"en, de"}, "en"},
		{"wildcard only", []string{"*"}, "en"},
		{"wildcard except english", []string{"en;q=0, *"}, "de"},
		{"wildcard below german", []string{"*;q=0.5, de"}, "de"},
		{"wildcard above named german", []string{"de;q=0.3, *"}, "en"},
		{"german from wildcard loses a tie against named english", []string{"en;q=0.5, *;q=0.5"}, "en"},
		{"several header lines", []string{"fr", "de;q=0.5"}, "de"},
		{"whitespace around parameters", []string{"en ; q=0.2 ,\tde ;\tq=0.9"}, "de"},
		{"upper case Q", []string{"en;Q=0.1, de;Q=0.2"}, "de"},
		{"other parameters are ignored", []string{"de;level=1;q=0.9, en;q=0.1"}, "de"},
		{"q above 1 is malformed, element ignored", []string{"de;q=1.5, en;q=0.1"}, "en"},
		{"q with four decimals is malformed", []string{"de;q=0.1234, en;q=0.1"}, "en"},
		{"q not a number is malformed", []string{"de;q=x"}, "en"},
		{"q=1.000 is valid", []string{"en;q=0.9, de;q=1.000"}, "de"},
		{"malformed range ignored", []string{"d e, de-;q=1, en;q=0.5"}, "en"},
		{"too long subtag ignored", []string{"deutschland"}, "en"},
		{"digits in primary subtag ignored", []string{"d1"}, "en"},
		{"empty elements", []string{", ,de,"}, "de"},
		{"prefix is not the language", []string{"deu"}, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tt.header {
				h.Add("Accept-Language", v)
			}
			if got := negotiateLanguage(h); got != tt.want {
				t.Errorf("negotiateLanguage(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestParseQValue(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{"0": 0, "0.": 0, "0.5": 500, "0.05": 50, "0.005": 5, "1": 1000, "1.": 1000, "1.0": 1000, "1.000": 1000} {
		if got, ok := parseQValue(s); !ok || got != want {
			t.Errorf("parseQValue(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", ".5", "2", "1.001", "0.1234", "-0", "0,5", "0.5x", " 1"} {
		if got, ok := parseQValue(s); ok {
			t.Errorf("parseQValue(%q) = %d, want malformed", s, got)
		}
	}
}
