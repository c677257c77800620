package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// checkConfig validates a configuration file, printing every problem; exit 1 on any.
func checkConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: amtsbote check-config FILE")
		return 2
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			fmt.Fprintf(stderr, "%s: %d problem(s):\n", args[0], len(verr.Problems))
			for _, p := range verr.Problems {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		}
		return 1
	}
	// What only the binary knows: mappers and adapters for what is configured.
	var problems []error
	registry, err := newRegistry(cfg)
	if err != nil {
		problems = append(problems, err)
	}
	if _, err := buildRoutes(cfg, slog.New(slog.DiscardHandler)); err != nil {
		problems = append(problems, err)
	}
	// The FIT-Connect keys, each bad one with the reason.
	if _, keyProblems := parseFitConnectKeys(cfg); keyProblems != nil {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", args[0], len(keyProblems))
		for _, p := range keyProblems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		problems = append(problems, errors.New("bad FIT-Connect keys"))
	}
	if err := errors.Join(problems...); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
		return 1
	}
	if cfg.Database.Encryption == nil {
		fmt.Fprintf(stderr, "%s: warning: no database.encryption: payloads and personal data are stored in clear\n", args[0])
	}
	for _, v := range mappingVersions(registry) {
		fmt.Fprintf(stderr, "%s: note: procedure %s is declarative, mapping version %s\n", args[0], v[0], v[1])
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		for i, p := range cfg.Procedures {
			m, _ := registry.Mapper(p.ID)
			if d, ok := m.(interface{ XSD() string }); ok && p.Dir != "" && d.XSD() != "" {
				fmt.Fprintf(stderr, "%s: warning: procedures[%d]: the examples of %s were compared with their golden outputs but not validated against its XSD: xmllint is not installed\n", args[0], i, p.ID)
			}
		}
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "%s: warning: %s\n", args[0], w)
	}
	for _, r := range rotations(cfg, time.Now()) {
		if r.active {
			fmt.Fprintf(stderr, "%s: note: portal %s accepts its previous API key until %s\n",
				args[0], r.portal, r.expires.Format(time.RFC3339))
			continue
		}
		fmt.Fprintf(stderr, "%s: warning: portal %s: its previous API key expired at %s and is refused; remove portals[%d].previous_key\n",
			args[0], r.portal, r.expires.Format(time.RFC3339), r.index)
	}
	fmt.Fprintf(stdout, "%s: ok (%d tenants, %d portals, %d procedures)\n",
		args[0], len(cfg.Tenants), len(cfg.Portals), len(cfg.Procedures))
	return 0
}
