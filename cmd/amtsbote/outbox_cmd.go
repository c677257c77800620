package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// Environment variables naming the operator a CLI replay is recorded for, when --by is not given.
const (
	envSudoUser = "SUDO_USER"
	envUser     = "USER"
)

const outboxUsage = `Usage:
  amtsbote outbox list [--status STATE] [--tenant T] [--procedure P] [--destination D] [--limit N] [--after CURSOR] [--json]
  amtsbote outbox show ID [--payload] [--json]
  amtsbote outbox replay ID [--topic TOPIC] [--reason TEXT] [--by NAME]
  amtsbote outbox replay ID --remap --config FILE [--topic TOPIC] [--reason TEXT] [--by NAME]
      --remap maps the dead message again from its submission's stored request
      with the procedures of FILE (keeping its id) before replaying it.
  amtsbote outbox replay --all-dead [--tenant T] [--procedure P] [--destination D] [--reason TEXT] [--by NAME]
  amtsbote outbox discard ID [--topic TOPIC] [--reason TEXT] [--by NAME]
All take --config FILE and --data-dir DIR as serve does, to find the store.
`

// outboxCommands are the subcommands of "amtsbote outbox".
var outboxCommands = commandGroup{
	"list":    outboxList,
	"show":    outboxShow,
	"replay":  outboxReplay,
	"discard": outboxDiscard,
}

// outboxCmd manages outbox messages: lists them, shows one, replays dead ones.
func outboxCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return outboxCommands.run(ctx, "outbox", outboxUsage, args, stdout, stderr)
}

// commandGroup maps the subcommands of a command such as "amtsbote outbox"
// to their functions.
type commandGroup map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// run runs the subcommand args[0] of the command name, or prints usage
// and returns 2.
func (g commandGroup) run(ctx context.Context, name, usage string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, ok := g[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "amtsbote %s: unknown command %q\n\n%s", name, args[0], usage)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// storeFlags are the flags that locate the store, as serve's do.
type storeFlags struct {
	config  *string
	dataDir *string
}

func newOutboxFlags(name string, stderr io.Writer) (*flag.FlagSet, storeFlags) {
	fs := flag.NewFlagSet("outbox "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, storeFlags{
		config:  fs.String("config", "", "configuration file (YAML); without it the SQLite store in --data-dir, or $"+config.EnvDatabaseURL),
		dataDir: fs.String("data-dir", "amtsbote-data", "directory of the embedded SQLite database"),
	}
}

// parseInterspersed parses flags before and after positional arguments and
// returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// open opens the existing store the flags name; it does not create a SQLite database.
func (f storeFlags) open(ctx context.Context) (store, error) {
	var db config.Database
	if *f.config != "" {
		cfg, err := config.Load(*f.config)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", *f.config, err)
		}
		db = cfg.Database
	} else {
		db.URL = os.Getenv(config.EnvDatabaseURL)
	}
	if db.URL == "" {
		path := db.Path
		if path == "" {
			path = filepath.Join(*f.dataDir, "amtsbote.db")
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no outbox database: %w (use --config or --data-dir)", err)
		}
	}
	st, _, err := openStore(ctx, db, *f.dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

var stateNames = map[string]outbox.State{
	"pending": outbox.StatePending, "retrying": outbox.StateRetrying,
	"delivered": outbox.StateDelivered, "dead": outbox.StateDead, "discarded": outbox.StateDiscarded,
}

// messageLister is the part of the store outbox list uses.
type messageLister interface {
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
	Close() error
}

func outboxList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newOutboxFlags("list", stderr)
	status := fs.String("status", "", "only messages in this state: pending, retrying, delivered, dead or discarded")
	tenant := fs.String("tenant", "", "only messages of this tenant")
	procedure := fs.String("procedure", "", "only messages of this procedure")
	destination := fs.String("destination", "", "only messages to this destination id")
	limit := fs.Int("limit", outbox.DefaultListLimit, fmt.Sprintf("page size, at most %d", outbox.MaxListLimit))
	after := fs.String("after", "", "cursor of the next page, as printed by the previous one")
	asJSON := fs.Bool("json", false, "print JSON (never payloads)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "outbox list: unexpected arguments %v\n", pos)
		return 2
	}
	f := outbox.ListFilter{Tenant: *tenant, Procedure: *procedure, Destination: *destination, Limit: *limit, After: *after}
	if *status != "" {
		s, ok := stateNames[*status]
		if !ok {
			fmt.Fprintf(stderr, "outbox list: --status must be pending, retrying, delivered, dead or discarded\n")
			return 2
		}
		f.State = s
	}
	if *limit < 1 || *limit > outbox.MaxListLimit {
		fmt.Fprintf(stderr, "outbox list: --limit must be from 1 to %d\n", outbox.MaxListLimit)
		return 2
	}
	var st messageLister
	st, err = sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "outbox list: %v\n", err)
		return 1
	}
	defer st.Close()
	msgs, next, err := st.List(ctx, f)
	if err != nil {
		fmt.Fprintf(stderr, "outbox list: %v\n", err)
		return 1
	}
	if *asJSON {
		resp := adminapi.ListResponse{Messages: make([]adminapi.MessageView, 0, len(msgs)), Next: next}
		for _, m := range msgs {
			resp.Messages = append(resp.Messages, adminapi.NewMessageView(m))
		}
		return printJSON(stdout, stderr, resp)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTOPIC\tSTATE\tATTEMPTS\tUPDATED\tLAST ERROR")
	for _, m := range msgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Topic, m.State, m.Attempts,
			m.UpdatedAt.Format(time.RFC3339), oneLine(m.LastError, 60))
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(stdout, "More: --after %s\n", next)
	}
	return 0
}

// oneLine shortens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func printJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "outbox: %v\n", err)
		return 1
	}
	return 0
}

// showJSON is the JSON of outbox show: the admin API's detail, with the
// payload only on request.
type showJSON struct {
	adminapi.MessageDetail
	Payload []byte `json:"payload,omitempty"`
}

// messageReader is the part of the store outbox show uses.
type messageReader interface {
	Message(ctx context.Context, id string) (outbox.Message, error)
	Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error)
	Replays(ctx context.Context, messageID string) ([]outbox.Replay, error)
	outbox.Blobs // for --content
	Close() error
}

func outboxShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newOutboxFlags("show", stderr)
	payload := fs.Bool("payload", false, "also print the payload (it holds personal data)")
	content := fs.String("content", "", "write what the destination receives (the XML, or the ZIP container assembled with its attachments) to this file; it holds personal data")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "usage: amtsbote outbox show ID [--payload] [--content FILE] [--json]\n")
		return 2
	}
	id := pos[0]
	var st messageReader
	st, err = sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "outbox show: %v\n", err)
		return 1
	}
	defer st.Close()
	m, err := st.Message(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "outbox show: %v\n", err)
		return 1
	}
	atts, err := st.Attempts(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "outbox show: %v\n", err)
		return 1
	}
	reps, err := st.Replays(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "outbox show: %v\n", err)
		return 1
	}
	if *content != "" {
		if err := writeContent(ctx, st, m, *content); err != nil {
			fmt.Fprintf(stderr, "outbox show: %v\n", err)
			return 1
		}
	}
	if *asJSON {
		v := showJSON{MessageDetail: adminapi.NewMessageDetail(m, atts, reps)}
		if *payload {
			v.Payload = m.Payload
		}
		return printJSON(stdout, stderr, v)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	row("ID", m.ID)
	row("Topic", m.Topic)
	if m.SubmissionID != "" {
		row("Submission", m.SubmissionID)
	}
	row("State", string(m.State))
	row("Attempts", fmt.Sprint(m.Attempts))
	if !m.State.Final() {
		row("Next attempt", stamp(m.NextAttemptAt))
	}
	if m.LastError != "" {
		row("Last error", oneLine(m.LastError, 200))
	}
	row("Created", stamp(m.CreatedAt))
	row("Updated", stamp(m.UpdatedAt))
	if !m.DeliveredAt.IsZero() {
		row("Delivered", stamp(m.DeliveredAt))
	}
	if *payload {
		row("Payload", fmt.Sprintf("%d bytes, below", len(m.Payload)))
	} else {
		row("Payload", fmt.Sprintf("%d bytes (not shown; --payload shows it)", len(m.Payload)))
	}
	tw.Flush()
	if len(m.Metadata) > 0 {
		fmt.Fprintln(stdout, "Metadata:")
		keys := make([]string, 0, len(m.Metadata))
		for k := range m.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "  %s: %s\n", k, m.Metadata[k])
		}
	}
	bundle, err := outbox.ParseBundle(m.Payload)
	isBundle := err == nil && m.Metadata[outbox.MetaPayloadFormat] == outbox.PayloadFormatBundle
	if isBundle {
		fmt.Fprintf(stdout, "Container (assembled at delivery, %d files):\n", len(bundle.Entries))
		for _, e := range bundle.Entries {
			if e.IsBlob() {
				fmt.Fprintf(stdout, "  %s: attachment, %d bytes (blob %s)\n", e.Name, e.Size, e.Blob)
			} else {
				fmt.Fprintf(stdout, "  %s: %d bytes\n", e.Name, len(e.Data))
			}
		}
	}
	fmt.Fprintf(stdout, "Attempt history (%d):\n", len(atts))
	for _, a := range atts {
		line := fmt.Sprintf("  #%d %s %s by %s", a.Number, stamp(a.StartedAt), a.Outcome, a.Owner)
		if a.Error != "" {
			line += ": " + oneLine(a.Error, 200)
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "Replays (%d):\n", len(reps))
	for _, r := range reps {
		line := fmt.Sprintf("  %s by %s after %d attempt(s)", stamp(r.At), r.By, r.Attempts)
		if r.Reason != "" {
			line += ": " + oneLine(r.Reason, 200)
		}
		fmt.Fprintln(stdout, line)
	}
	switch {
	case *payload && isBundle:
		// The container's own files (the XML), as text; attachments are
		// only listed above (--content writes them).
		for _, e := range bundle.Entries {
			if !e.IsBlob() {
				fmt.Fprintf(stdout, "Payload, %s:\n", e.Name)
				writeText(stdout, e.Data)
			}
		}
	case *payload:
		fmt.Fprintln(stdout, "Payload:")
		writeText(stdout, m.Payload)
	}
	return 0
}

// writeText writes b and a newline if it does not end with one.
func writeText(w io.Writer, b []byte) {
	_, _ = w.Write(b)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		fmt.Fprintln(w)
	}
}

// writeContent writes the content the destination of m receives to path,
// readable by its owner only.
func writeContent(ctx context.Context, blobs outbox.Blobs, m outbox.Message, path string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	d := outbox.Delivery{MessageID: m.ID, SubmissionID: m.SubmissionID, Topic: m.Topic, Payload: m.Payload, Metadata: m.Metadata}
	if err := d.WithBlobs(blobs).WriteTo(ctx, f); err != nil {
		return fmt.Errorf("content of %s: %w", m.ID, err)
	}
	return nil
}

// replayer is the part of the store outbox replay uses.
type replayer interface {
	Replay(ctx context.Context, r outbox.ReplayRequest) error
	ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error)
	Close() error
}

func outboxReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newOutboxFlags("replay", stderr)
	allDead := fs.Bool("all-dead", false, "replay every dead message matching --tenant, --procedure and --destination")
	tenant := fs.String("tenant", "", "with --all-dead: only messages of this tenant")
	procedure := fs.String("procedure", "", "with --all-dead: only messages of this procedure")
	destination := fs.String("destination", "", "with --all-dead: only messages to this destination id")
	topic := fs.String("topic", "", "the message's topic, when its id exists on several topics")
	reason := fs.String("reason", "", "why, for the replay record")
	by := fs.String("by", "", "operator recorded for the replay (default $SUDO_USER, else $USER)")
	remap := fs.Bool("remap", false, "map the message again from its submission's stored request with the mapping of --config")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	filtered := *tenant != "" || *procedure != "" || *destination != ""
	switch {
	case *remap && (*allDead || *sf.config == ""):
		fmt.Fprint(stderr, "usage: amtsbote outbox replay ID --remap --config FILE [--topic TOPIC] [--reason TEXT] [--by NAME]: --remap maps one message with the procedures of --config\n")
		return 2
	case *allDead && len(pos) == 0 && *topic == "":
	case !*allDead && len(pos) == 1 && !filtered:
	default:
		fmt.Fprint(stderr, "usage: amtsbote outbox replay ID [--topic TOPIC] | --all-dead [--tenant T] [--procedure P] [--destination D]; [--reason TEXT] [--by NAME]\n")
		return 2
	}
	operator := operatorName(*by)
	if operator == "" {
		fmt.Fprint(stderr, "outbox replay: who replays is recorded: set --by NAME ($SUDO_USER and $USER are empty)\n")
		return 2
	}
	var st replayer
	st, err = sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "outbox replay: %v\n", err)
		return 1
	}
	defer st.Close()
	if *remap {
		return outboxRemap(ctx, st.(store), *sf.config, outbox.ReplayRequest{ID: pos[0], Topic: *topic, By: operator, Reason: *reason}, stdout, stderr)
	}
	if *allDead {
		f := outbox.ListFilter{Tenant: *tenant, Procedure: *procedure, Destination: *destination}
		n, err := st.ReplayAll(ctx, f, operator, *reason)
		if err != nil {
			fmt.Fprintf(stderr, "outbox replay: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Replayed %d dead message(s).\n", n)
		return 0
	}
	err = st.Replay(ctx, outbox.ReplayRequest{ID: pos[0], Topic: *topic, By: operator, Reason: *reason})
	switch {
	case errors.Is(err, outbox.ErrAmbiguous):
		fmt.Fprintf(stderr, "outbox replay: %v; name it with --topic (see outbox list)\n", err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "outbox replay: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Replayed %s.\n", pos[0])
	return 0
}

// outboxRemap replays a dead message mapped again from its submission's
// stored request with the procedures of the configuration file.
func outboxRemap(ctx context.Context, st store, configPath string, r outbox.ReplayRequest, stdout, stderr io.Writer) int {
	cfg, err := config.Load(configPath)
	if err != nil {
		fmt.Fprintf(stderr, "outbox replay: %v\n", err)
		return 1
	}
	registry, err := newRegistry(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "outbox replay: %v\n", err)
		return 1
	}
	in, err := intake.New(intake.Config{Config: cfg, Store: st, Registry: registry, Product: product()})
	if err != nil {
		fmt.Fprintf(stderr, "outbox replay: %v\n", err)
		return 1
	}
	res, err := in.RemapMessage(ctx, st, r)
	if err != nil {
		fmt.Fprintf(stderr, "outbox replay: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Replayed %s, mapped again: mapping %s -> %s.\n", r.ID, res.OldVersion, res.NewVersion)
	return 0
}

// discarder is the part of the store outbox discard uses.
type discarder interface {
	Discard(ctx context.Context, r outbox.ReplayRequest) error
	Close() error
}

// outboxDiscard gives up a dead message: its payload is removed and it is
// never delivered; the audit trail records who and why.
func outboxDiscard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newOutboxFlags("discard", stderr)
	topic := fs.String("topic", "", "the message's topic, when its id exists on several topics")
	reason := fs.String("reason", "", "why, for the audit trail")
	by := fs.String("by", "", "operator recorded for the discard (default $SUDO_USER, else $USER)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "usage: amtsbote outbox discard ID [--topic TOPIC] [--reason TEXT] [--by NAME]\n")
		return 2
	}
	operator := operatorName(*by)
	if operator == "" {
		fmt.Fprint(stderr, "outbox discard: who discards is recorded: set --by NAME ($SUDO_USER and $USER are empty)\n")
		return 2
	}
	var st discarder
	st, err = sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "outbox discard: %v\n", err)
		return 1
	}
	defer st.Close()
	if err := st.Discard(ctx, outbox.ReplayRequest{ID: pos[0], Topic: *topic, By: operator, Reason: *reason}); err != nil {
		fmt.Fprintf(stderr, "outbox discard: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Discarded %s.\n", pos[0])
	return 0
}

// operatorName is --by, else the user sudo was run by, else the user.
func operatorName(by string) string {
	for _, v := range []string{by, os.Getenv(envSudoUser), os.Getenv(envUser)} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
