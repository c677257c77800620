package config_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/config"
)

// ValidHeaderValue, shared by config validation and the httppost adapter,
// refuses control characters but tabs.
func TestValidHeaderValue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    string
		want bool
	}{
		{"", true},
		{"urn:xoev-de:xbau:antrag", true},
		{"a\tb", true},
		{"Bauantrag für Musterstraße 1", true},
		{"a\r\nX-Injected: 1", false},
		{"a\nb", false},
		{"nul\x00", false},
		{"del\x7f", false},
	} {
		if got := config.ValidHeaderValue(tt.v); got != tt.want {
			t.Errorf("ValidHeaderValue(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
