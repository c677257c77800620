package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/outbox"
)

// eventReader is the part of the store audit uses.
type eventReader interface {
	Events(ctx context.Context, submissionID string) ([]outbox.Event, error)
	Close() error
}

// auditCmd prints the audit trail of a submission: every step from its
// acceptance to its last delivery, replay or purge.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := newOutboxFlags("audit", stderr)
	fs.Init("audit", fs.ErrorHandling())
	asJSON := fs.Bool("json", false, "print JSON, as the admin API does")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "usage: amtsbote audit SUBMISSION-ID [--json] [--config FILE | --data-dir DIR]\n")
		return 2
	}
	var st eventReader
	st, err = sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 1
	}
	defer st.Close()
	evs, err := st.Events(ctx, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return 1
	}
	if *asJSON {
		resp := adminapi.EventsResponse{Events: make([]adminapi.EventView, 0, len(evs))}
		for _, e := range evs {
			resp.Events = append(resp.Events, adminapi.NewEventView(e))
		}
		return printJSON(stdout, stderr, resp)
	}
	if len(evs) > 0 {
		fmt.Fprintf(stdout, "Submission %s (tenant %s, procedure %s, portal %s)\n", pos[0], evs[0].Tenant, evs[0].Procedure, evs[0].PortalID)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tEVENT\tDESTINATION\tMESSAGE\tBY\tDETAIL")
	for _, e := range evs {
		v := adminapi.NewEventView(e)
		kind := v.Kind
		if v.Attempt > 0 {
			kind = fmt.Sprintf("attempt #%d: %s", v.Attempt, v.Outcome)
		}
		dest := v.Destination
		if dest == "" {
			dest = "-"
		}
		msg := v.MessageID
		if msg == "" {
			msg = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.At.Format(time.RFC3339), kind, dest, msg, v.Actor, oneLine(v.Detail, 80))
	}
	tw.Flush()
	return 0
}
