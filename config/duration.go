package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in configuration files as a string:
// anything time.ParseDuration accepts ("30s", "1h30m"), optionally preceded
// by whole days ("7d", "1d12h").
type Duration struct {
	time.Duration
}

// ParseDuration parses a duration as written in configuration files.
func ParseDuration(s string) (Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		// ParseUint accepts neither a sign nor a fraction: days are whole.
		n, err := strconv.ParseUint(s[:i], 10, 63)
		if err != nil {
			return Duration{}, fmt.Errorf("invalid duration %q: days must be a whole number like \"7d\"", orig)
		}
		if n > uint64(math.MaxInt64/int64(24*time.Hour)) {
			return Duration{}, fmt.Errorf("invalid duration %q: too long", orig)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return Duration{days}, nil
		}
		if s[0] == '-' || s[0] == '+' {
			return Duration{}, fmt.Errorf("invalid duration %q: no sign allowed after the days", orig)
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Duration{}, fmt.Errorf("invalid duration %q: want e.g. \"30s\", \"1h30m\" or \"7d\"", orig)
	}
	if d > math.MaxInt64-days {
		return Duration{}, fmt.Errorf("invalid duration %q: too long", orig)
	}
	return Duration{days + d}, nil
}

// UnmarshalYAML decodes a duration string; a problem is reported with its line.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return typeError(node, "duration must be a string like \"30s\" or \"7d\"")
	}
	v, err := ParseDuration(node.Value)
	if err != nil {
		return typeError(node, err.Error())
	}
	*d = v
	return nil
}

// MarshalYAML encodes the duration as a string time.ParseDuration accepts.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// MarshalText encodes the duration as a string time.ParseDuration accepts.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText decodes a duration string, for JSON and flags.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// typeError reports a decoding problem of node so that the YAML decoder
// collects it with the others instead of stopping at the first.
func typeError(node *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", node.Line, msg)}}
}
