package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/amtsbote/amtsbote/config"
)

const demoConfigUsage = `Usage:
  amtsbote demo-config [--data-dir DIR]
      Print the built-in demo configuration, the one serve runs without
      --config, as YAML: a starting point for your own configuration, which
      check-config accepts as it is. Its drop directories are in --data-dir
      (default ./amtsbote-data), made absolute; the database is the embedded
      SQLite store in the --data-dir serve is given. The demo portal's API key
      is $AMTSBOTE_DEMO_PORTAL_KEY, else a new one printed to standard error;
      the YAML holds only its key_hash.
`

// demoConfigCmd prints the built-in demo configuration (config.Demo) as YAML.
func demoConfigCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "amtsbote-data", "directory of the demo drop directories, as serve's")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo-config: unexpected arguments %v\n", fs.Args())
		return 2
	}
	absDir, err := filepath.Abs(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "demo-config: %v\n", err)
		return 1
	}
	key, generated, err := demoPortalKey()
	if err != nil {
		fmt.Fprintf(stderr, "demo-config: %v\n", err)
		return 1
	}
	if generated {
		fmt.Fprintf(stderr, "Demo portal key (shown only now; set %s to choose it): %s\n", envDemoPortalKey, key)
	}
	out, err := demoConfigYAML(config.Demo(absDir, config.HashKey(key)))
	if err != nil {
		fmt.Fprintf(stderr, "demo-config: %v\n", err)
		return 1
	}
	_, _ = stdout.Write(out)
	return 0
}

// demoConfigYAML encodes the demo configuration as a YAML file that loads to
// cfg again: every setting that differs from its zero value, defaults
// included, and the portals' key hashes, the only secrets it sets.
func demoConfigYAML(cfg *config.Config) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	// A Secret encodes as "[redacted]": write the key hashes themselves.
	portals := mappingValue(&doc, "portals")
	for i, p := range cfg.Portals {
		if portals == nil || i >= len(portals.Content) {
			return nil, fmt.Errorf("encode: portals[%d] missing", i)
		}
		h := mappingValue(portals.Content[i], "key_hash")
		if h == nil {
			return nil, fmt.Errorf("encode: portals[%d].key_hash missing", i)
		}
		h.Value, h.Style = p.KeyHash.Value(), 0
	}
	prune(&doc)

	var b bytes.Buffer
	b.WriteString("# The built-in demo configuration of Amtsbote (amtsbote demo-config),\n" +
		"# with every default written out. Check a changed copy with amtsbote check-config.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	// Load expands ${NAME} everywhere: a literal dollar sign (in a
	// directory's name) is written as two.
	return bytes.ReplaceAll(b.Bytes(), []byte("$"), []byte("$$")), nil
}

// mappingValue returns the value of key in the mapping n (or the mapping a
// document node holds), nil if there is none.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// prune removes from n's mappings the keys whose values are unset: null, an
// empty string, false, zero, an unset secret, or a mapping or sequence that
// is empty (once pruned itself). It reports whether n itself is unset.
func prune(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			prune(c)
		}
		return false
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !prune(n.Content[i+1]) {
				kept = append(kept, n.Content[i], n.Content[i+1])
			}
		}
		n.Content = kept
		return len(kept) == 0
	case yaml.SequenceNode:
		for _, c := range n.Content {
			prune(c)
		}
		return len(n.Content) == 0
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return true
		case "!!bool":
			return n.Value == "false"
		case "!!int", "!!float":
			return n.Value == "0"
		case "!!str": // a Duration encodes as "0s", a Secret as "[redacted]"
			return n.Value == "" || n.Value == "0s" || n.Value == "[redacted]"
		}
	}
	return false
}
