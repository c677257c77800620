package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// newAnswerService returns the answer service every answer channel (HTTP,
// file inbox, AMQP) and the admin API and CLI use.
func newAnswerService(cfg *config.Config, st intake.AnswerStore, logger *slog.Logger) (*intake.AnswerService, error) {
	return intake.NewAnswerService(intake.AnswerServiceConfig{Config: cfg, Store: st, Logger: logger})
}

const answersUsage = `Usage:
  amtsbote answers list [--state STATE] [--tenant T] [--limit N] [--after CURSOR] [--json]
      List answers from the authority, oldest first; --state unmatched lists
      those that refer to no submission of their tenant.
  amtsbote answers show ID [--json]
      Show an answer, what it says and its audit trail (never its body).
  amtsbote answers assign ID --submission SUBMISSION-ID --reason TEXT [--by NAME]
      Assign an unmatched answer to a submission of its tenant: the
      submission's timeline gains it and its portal is called back.
  amtsbote answers discard ID --reason TEXT [--by NAME]
      Discard an unmatched answer; its body is removed.
All take --config FILE and --data-dir DIR as serve does, to find the store.
`

// answersCommands are the subcommands of "amtsbote answers".
var answersCommands = commandGroup{
	"list":    answersList,
	"show":    answersShow,
	"assign":  answersAssign,
	"discard": answersDiscard,
}

// answersCmd manages the answers from the authority, above all the unmatched.
func answersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return answersCommands.run(ctx, "answers", answersUsage, args, stdout, stderr)
}

func newAnswersFlags(name string, stderr io.Writer) (*flag.FlagSet, storeFlags) {
	fs, sf := newOutboxFlags(name, stderr)
	fs.Init("answers "+name, fs.ErrorHandling())
	return fs, sf
}

func answersList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newAnswersFlags("list", stderr)
	state := fs.String("state", "", "only answers in this state: matched, unmatched, assigned or discarded")
	tenant := fs.String("tenant", "", "only answers of this tenant")
	limit := fs.Int("limit", outbox.DefaultListLimit, fmt.Sprintf("page size, at most %d", outbox.MaxListLimit))
	after := fs.String("after", "", "cursor of the next page, as printed by the previous one")
	asJSON := fs.Bool("json", false, "print JSON, as the admin API does")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "answers list: unexpected arguments %v\n", pos)
		return 2
	}
	f := outbox.AnswerFilter{State: outbox.AnswerState(*state), Tenant: *tenant, Limit: *limit, After: *after}
	if *state != "" && !f.State.Valid() {
		fmt.Fprint(stderr, "answers list: --state must be matched, unmatched, assigned or discarded\n")
		return 2
	}
	if *limit < 1 || *limit > outbox.MaxListLimit {
		fmt.Fprintf(stderr, "answers list: --limit must be from 1 to %d\n", outbox.MaxListLimit)
		return 2
	}
	st, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "answers list: %v\n", err)
		return 1
	}
	defer st.Close()
	list, next, err := st.ListAnswers(ctx, f)
	if err != nil {
		fmt.Fprintf(stderr, "answers list: %v\n", err)
		return 1
	}
	if *asJSON {
		resp := adminapi.AnswersResponse{Answers: make([]adminapi.AnswerView, 0, len(list)), Next: next}
		for _, a := range list {
			resp.Answers = append(resp.Answers, adminapi.NewAnswerView(a))
		}
		return printJSON(stdout, stderr, resp)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tTENANT\tSOURCE\tSTATUS\tREFERENCE\tSUBMISSION\tRECEIVED")
	for _, a := range list {
		sub := a.SubmissionID
		if sub == "" {
			sub = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, a.Tenant, a.Source, a.Status,
			orDash(a.Reference), sub, a.ReceivedAt.Format(time.RFC3339))
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(stdout, "More: --after %s\n", next)
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func answersShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newAnswersFlags("show", stderr)
	asJSON := fs.Bool("json", false, "print JSON, as the admin API does")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "usage: amtsbote answers show ID [--json]\n")
		return 2
	}
	st, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "answers show: %v\n", err)
		return 1
	}
	defer st.Close()
	a, err := st.Answer(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "answers show: %v\n", err)
		return 1
	}
	evs, err := st.AnswerEvents(ctx, a.ID)
	if err != nil {
		fmt.Fprintf(stderr, "answers show: %v\n", err)
		return 1
	}
	d := adminapi.NewAnswerDetail(a, evs)
	if *asJSON {
		return printJSON(stdout, stderr, d)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"ID", d.ID}, {"State", d.State}, {"Tenant", d.Tenant}, {"Source", d.Source + " (" + d.Channel + ")"},
		{"Message", d.MessageID + " " + d.MessageType}, {"Status", d.Status}, {"Reference", orDash(d.Reference)},
		{"Submission", orDash(d.SubmissionID)}, {"Received", d.ReceivedAt.Format(time.RFC3339)},
		{"Aktenzeichen", orDash(d.Detail.Aktenzeichen)}, {"DMS id", orDash(d.Detail.DMSID)},
		{"Documents", fmt.Sprint(len(d.Detail.Documents))}, {"Body", fmt.Sprintf("%d bytes", d.PayloadBytes)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nEvents:")
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, e := range d.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Kind, e.Actor, oneLine(e.Detail, 80))
	}
	tw.Flush()
	return 0
}

func answersAssign(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newAnswersFlags("assign", stderr)
	submission := fs.String("submission", "", "the submission to assign the answer to (required)")
	reason := fs.String("reason", "", "why, for the audit trail (required)")
	by := fs.String("by", "", "operator recorded (default $SUDO_USER, else $USER)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *submission == "" || *reason == "" {
		fmt.Fprint(stderr, "usage: amtsbote answers assign ID --submission SUBMISSION-ID --reason TEXT [--by NAME]\n")
		return 2
	}
	return resolveAnswer(ctx, sf, "assign", *by, stdout, stderr, func(svc *intake.AnswerService, operator string) error {
		return svc.Assign(ctx, pos[0], *submission, operator, *reason)
	}, fmt.Sprintf("Assigned %s to submission %s.\n", pos[0], *submission))
}

func answersDiscard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newAnswersFlags("discard", stderr)
	reason := fs.String("reason", "", "why, for the audit trail (required)")
	by := fs.String("by", "", "operator recorded (default $SUDO_USER, else $USER)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *reason == "" {
		fmt.Fprint(stderr, "usage: amtsbote answers discard ID --reason TEXT [--by NAME]\n")
		return 2
	}
	return resolveAnswer(ctx, sf, "discard", *by, stdout, stderr, func(svc *intake.AnswerService, operator string) error {
		return svc.Discard(ctx, pos[0], operator, *reason)
	}, fmt.Sprintf("Discarded %s.\n", pos[0]))
}

// resolveAnswer opens the store and the answer service and runs fn as the operator.
func resolveAnswer(ctx context.Context, sf storeFlags, name, by string, stdout, stderr io.Writer,
	fn func(svc *intake.AnswerService, operator string) error, done string) int {
	operator := operatorName(by)
	if operator == "" {
		fmt.Fprintf(stderr, "answers %s: who does it is recorded: set --by NAME ($SUDO_USER and $USER are empty)\n", name)
		return 2
	}
	st, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "answers %s: %v\n", name, err)
		return 1
	}
	defer st.Close()
	svc, err := newAnswerService(&config.Config{}, st, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "answers %s: %v\n", name, err)
		return 1
	}
	if err := fn(svc, "cli:"+operator); err != nil {
		fmt.Fprintf(stderr, "answers %s: %v\n", name, err)
		return 1
	}
	fmt.Fprint(stdout, done)
	return 0
}

// answerObserver counts answers (metrics.Answers).
type answerObserver interface {
	ObserveAnswer(tenant, channel, outcome string)
}

// observedReceiver counts the outcome of every answer its receiver gets.
type observedReceiver struct {
	inner intake.AnswerReceiver
	obs   answerObserver
}

// Receive forwards to the receiver and counts its outcome.
func (o observedReceiver) Receive(ctx context.Context, src intake.AnswerSource, body []byte, contentType string) (intake.AnswerReceipt, error) {
	rc, err := o.inner.Receive(ctx, src, body, contentType)
	outcome := metrics.AnswerUnavailable
	switch {
	case err == nil && rc.Duplicate:
		outcome = metrics.AnswerDuplicate
	case err == nil && rc.Matched:
		outcome = metrics.AnswerMatched
	case err == nil:
		outcome = metrics.AnswerUnmatched
	case errors.Is(err, intake.ErrAnswerConflict):
		outcome = metrics.AnswerConflict
	case errors.As(err, new(*intake.AnswerError)):
		outcome = metrics.AnswerInvalid
	}
	o.obs.ObserveAnswer(src.Tenant, src.Channel, outcome)
	return rc, err
}

// answerReceiver returns the answer service counted by the operations' metrics.
func (o *operations) answerReceiver(cfg *config.Config, svc *intake.AnswerService, st metrics.UnmatchedAnswersReader) (intake.AnswerReceiver, error) {
	tenants := make([]string, 0, len(cfg.Tenants))
	for _, t := range cfg.Tenants {
		tenants = append(tenants, t.ID)
	}
	channels := []string{intake.AnswerChannelHTTP, intake.AnswerChannelInbox, intake.AnswerChannelAMQP}
	obs, err := o.metrics.RegisterAnswers(st, tenants, channels, o.logger)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, t := range tenants {
		known[t] = true
	}
	return observedReceiver{inner: svc, obs: tenantFilter{obs, known}}, nil
}

// tenantFilter counts only configured tenants and known channels, so that
// the series stay bounded.
type tenantFilter struct {
	obs   *metrics.Answers
	known map[string]bool
}

func (f tenantFilter) ObserveAnswer(tenant, channel, outcome string) {
	switch channel {
	case intake.AnswerChannelHTTP, intake.AnswerChannelInbox, intake.AnswerChannelAMQP:
	default:
		return
	}
	if f.known[tenant] {
		f.obs.ObserveAnswer(tenant, channel, outcome)
	}
}
