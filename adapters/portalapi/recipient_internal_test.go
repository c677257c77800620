package portalapi

import (
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
)

func TestRecipientDecisions(t *testing.T) {
	t.Parallel()
	sub := outbox.Submission{ID: "s", TenantID: "musterstadt", ProcedureID: "bau.baugenehmigung"}
	dest := outbox.Message{Topic: "musterstadt/bau.baugenehmigung/landkreis", State: outbox.StateDelivered,
		Metadata: map[string]string{outbox.MetaDestination: "landkreis"}}
	for _, tc := range []struct {
		caseState outbox.State
		want      string
	}{
		{"", StateDelivered},
		{outbox.StatePending, StateAwaitingRecipient},
		{outbox.StateRetrying, StateAwaitingRecipient},
		{outbox.StateDelivered, StateAcceptedByRecipient},
		{outbox.StateDead, StateRejectedByRecipient},
	} {
		msgs := []outbox.Message{dest}
		if tc.caseState != "" {
			msgs = append(msgs, outbox.Message{Topic: "~fitconnect-case/musterstadt/bau.baugenehmigung/landkreis", State: tc.caseState,
				LastError: "rejected", Metadata: map[string]string{outbox.MetaDestination: "landkreis", metaRecipientCase: "c"}})
		}
		got := withDecision(summaryOf(dest), recipientDecisions(sub, msgs))
		if got.State != tc.want {
			t.Errorf("case message %q: state %s, want %s", tc.caseState, got.State, tc.want)
		}
		if len(destinationMessages(sub, msgs)) != 1 {
			t.Errorf("the case message counts as a destination")
		}
	}
	// Not yet delivered to the Zustelldienst: the queue state stands.
	queued := dest
	queued.State = outbox.StateRetrying
	if got := withDecision(summaryOf(queued), map[string]outbox.Message{"landkreis": {State: outbox.StateDelivered}}); got.State != StateRetrying {
		t.Errorf("retrying destination shows %s", got.State)
	}
}
