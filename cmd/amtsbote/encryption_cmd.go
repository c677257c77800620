package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sealed"
)

const encryptionKeyUsage = `Usage:
  amtsbote encryption-key generate
      Print a new random key (32 bytes, standard base64) for database.encryption.keys.
  amtsbote encryption-key rotate --config FILE [--data-dir DIR] [--batch N]
      Seal every stored payload that is in clear or under another key than
      database.encryption.current with the current key, in batches, while
      serve keeps running. Exit 0 when nothing remains under other keys (the
      old keys may then be removed), 1 otherwise.
`

// sealedMetadataKeys are the message metadata keys holding personal data,
// sealed like payloads: the postbox reference and the pseudonymous subject
// reference identify a citizen's account.
var sealedMetadataKeys = []string{outbox.MetaIdentityPostboxReference, outbox.MetaIdentitySubjectRef}

// encryptionKeyCmd generates keys and rotates stored data to the current key.
func encryptionKeyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, encryptionKeyUsage)
		return 2
	}
	switch args[0] {
	case "generate":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "encryption-key generate: unexpected arguments %v\n", args[1:])
			return 2
		}
		fmt.Fprintln(stdout, sealed.GenerateKey())
		return 0
	case "rotate":
		return encryptionKeyRotate(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "amtsbote encryption-key: unknown command %q\n\n%s", args[0], encryptionKeyUsage)
	return 2
}

// resealer is the part of an encrypting store encryption-key rotate uses
// (sealed.Store has it).
type resealer interface {
	Reseal(ctx context.Context, batch int) (sealed.ResealResult, error)
	Keyring() *sealed.Keyring
}

func encryptionKeyRotate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("encryption-key rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML) with database.encryption; required")
	dataDir := fs.String("data-dir", "amtsbote-data", "directory of the embedded SQLite database, as serve's")
	batch := fs.Int("batch", 100, "rows read and rewritten per transaction")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *configPath == "" || *batch <= 0 {
		fmt.Fprint(stderr, "usage: amtsbote encryption-key rotate --config FILE [--data-dir DIR] [--batch N]\n")
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "encryption-key rotate: %v\n", err)
		return 1
	}
	if cfg.Database.Encryption == nil {
		fmt.Fprintf(stderr, "encryption-key rotate: %s has no database.encryption section\n", *configPath)
		return 1
	}
	if cfg.Database.URL == "" {
		path := cfg.Database.Path
		if path == "" {
			path = filepath.Join(*dataDir, "amtsbote.db")
		}
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(stderr, "encryption-key rotate: no outbox database: %v (use --data-dir or database.path)\n", err)
			return 1
		}
	}
	st, _, err := openStore(ctx, cfg.Database, *dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "encryption-key rotate: open store: %v\n", err)
		return 1
	}
	defer st.Close()
	ss, ok := st.(resealer)
	if !ok {
		fmt.Fprintf(stderr, "encryption-key rotate: the store is not encrypted\n")
		return 1
	}
	res, err := ss.Reseal(ctx, *batch)
	current := ss.Keyring().Current()
	fmt.Fprintf(stdout, "resealed %d rows under key %s; %d remaining in clear or under other keys\n",
		res.Resealed, current, res.Remaining)
	if err != nil {
		fmt.Fprintf(stderr, "encryption-key rotate: %v\n", err)
		return 1
	}
	if res.Remaining > 0 {
		fmt.Fprintln(stderr, "Rows changed during the rotation or were written by a process with an older configuration: "+
			"restart every amtsbote process with the new configuration and run rotate again before removing old keys.")
		return 1
	}
	return 0
}

// sealStore wraps s so that payloads and personal metadata are sealed at
// rest when enc is set; without it, it logs once that they are stored in
// clear. It closes s when it fails.
func sealStore(s store, enc *config.Encryption, logger *slog.Logger) (store, error) {
	if enc == nil {
		logger.Warn("database.encryption is not configured: payloads and personal data are stored in clear")
		return s, nil
	}
	kr, err := newKeyring(enc)
	if err == nil {
		var ss *sealed.Store
		ss, err = sealed.New(s, sealed.Config{Keyring: kr, MetadataKeys: sealedMetadataKeys})
		if err == nil {
			logger.Info("payloads are encrypted at rest", slog.String("current_key", kr.Current()), slog.Int("keys", len(enc.Keys)))
			return ss, nil
		}
	}
	return nil, errors.Join(fmt.Errorf("database.encryption: %w", err), s.Close())
}

// newKeyring builds the keyring of a validated database.encryption section.
func newKeyring(enc *config.Encryption) (*sealed.Keyring, error) {
	keys := make([]sealed.Key, 0, len(enc.Keys))
	for _, k := range enc.Keys {
		b, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
		keys = append(keys, sealed.Key{ID: k.ID, Secret: b})
	}
	return sealed.NewKeyring(enc.Current, keys...)
}
