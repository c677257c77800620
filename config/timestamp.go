package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Timestamp is a point in time written in configuration files in RFC 3339
// ("2026-12-31T00:00:00+01:00"), or as a date ("2026-12-31", midnight UTC).
type Timestamp struct {
	time.Time
}

// timestampLayouts are the forms UnmarshalYAML accepts, in order.
var timestampLayouts = []string{time.RFC3339Nano, time.DateOnly}

// UnmarshalYAML decodes a timestamp, reporting a malformed one with its line.
func (t *Timestamp) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		for _, layout := range timestampLayouts {
			if v, err := time.Parse(layout, node.Value); err == nil {
				t.Time = v
				return nil
			}
		}
	}
	return typeError(node, "must be a time in RFC 3339 like \"2026-12-31T00:00:00+01:00\", or a date like \"2026-12-31\"")
}

// MarshalYAML encodes the timestamp in RFC 3339.
func (t Timestamp) MarshalYAML() (any, error) {
	return t.Format(time.RFC3339Nano), nil
}
