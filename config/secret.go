package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.yaml.in/yaml/v3"
)

// redacted is what a Secret prints instead of its value.
const redacted = "[redacted]"

// Secret is a sensitive value. In YAML it is written inline as a plain
// string, or as a mapping naming where to read it from, exactly one of
//
//	{env: NAME}               the environment variable NAME
//	{file: /run/secrets/name} the file's contents without trailing newlines
//
// Parse and Load resolve env and file references. The value is only
// available through Value: fmt, slog, JSON and YAML output show
// "[redacted]" or the reference, never the value.
type Secret struct {
	env      string // the environment variable the value comes from
	file     string // the file the value comes from
	value    string
	resolved bool // value is set: inline, or env/file has been read
}

var (
	_ fmt.Formatter    = Secret{}
	_ fmt.Stringer     = Secret{}
	_ fmt.GoStringer   = Secret{}
	_ slog.LogValuer   = Secret{}
	_ yaml.Marshaler   = Secret{}
	_ yaml.Unmarshaler = (*Secret)(nil)
)

// NewSecret returns a Secret with the given inline value.
func NewSecret(value string) Secret {
	return Secret{value: value, resolved: true}
}

// Value returns the secret's value; it is empty if the secret was not set or
// its env or file reference has not been resolved.
func (s Secret) Value() string {
	return s.value
}

// IsZero reports whether the secret was not configured at all.
func (s Secret) IsZero() bool {
	return s == Secret{}
}

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", so %#v does not print the value either.
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb, so no verb reaches the fields.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue logs "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalYAML encodes an env or file reference as written, an inline value
// as "[redacted]".
func (s Secret) MarshalYAML() (any, error) {
	switch {
	case s.env != "":
		return map[string]string{"env": s.env}, nil
	case s.file != "":
		return map[string]string{"file": s.file}, nil
	default:
		return redacted, nil
	}
}

// UnmarshalYAML decodes the inline or the {env: NAME} / {file: PATH} form.
// References are resolved later by Parse, which has the injected environment.
func (s *Secret) UnmarshalYAML(node *yaml.Node) error {
	switch node.Kind {
	case yaml.ScalarNode:
		*s = NewSecret(node.Value)
		return nil
	case yaml.MappingNode:
		if len(node.Content) != 2 {
			return typeError(node, "secret must have exactly one of env or file")
		}
		key, val := node.Content[0], node.Content[1]
		if val.Kind != yaml.ScalarNode || val.Value == "" {
			return typeError(val, fmt.Sprintf("secret %s must be a non-empty string", key.Value))
		}
		switch key.Value {
		case "env":
			*s = Secret{env: val.Value}
		case "file":
			*s = Secret{file: val.Value}
		default:
			return typeError(key, fmt.Sprintf("unknown secret source %q, want env or file", key.Value))
		}
		return nil
	default:
		return typeError(node, "secret must be a string or a mapping with env or file")
	}
}

// resolve reads an env or file reference. The error names the source, never
// the value.
func (s *Secret) resolve(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) error {
	switch {
	case s.resolved:
		return nil
	case s.env != "":
		v, ok := lookupEnv(s.env)
		if !ok {
			return fmt.Errorf("environment variable %s is not set", s.env)
		}
		if v == "" {
			return fmt.Errorf("environment variable %s is empty", s.env)
		}
		s.value, s.resolved = v, true
	case s.file != "":
		b, err := readFile(s.file)
		if err != nil {
			return fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return fmt.Errorf("secret file %s is empty", s.file)
		}
		s.value, s.resolved = v, true
	default:
		return errors.New("secret has no value")
	}
	return nil
}
