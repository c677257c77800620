package amqp_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/amtsbote/amtsbote/adapters/amqp"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/intake/intaketest"
	"github.com/amtsbote/amtsbote/internal/testlog"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// answerQueue is a fresh queue with a dead-letter exchange and queue,
// declared by the test (the subscriber declares nothing).
type answerQueue struct {
	queue, dlq string
	ch         *amqp091.Channel
}

func declareAnswerQueue(t *testing.T, brokerURL string) answerQueue {
	t.Helper()
	conn, err := amqp091.Dial(brokerURL)
	if err != nil {
		t.Fatalf("dial test broker: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := answerQueue{queue: randomName(t, "amtsbote-test-answers"), dlq: randomName(t, "amtsbote-test-answers-dlq"), ch: ch}
	dlx := randomName(t, "amtsbote-test-dlx")
	if err := ch.ExchangeDeclare(dlx, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q.dlq, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.dlq, "", dlx, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q.queue, false, false, false, false, amqp091.Table{"x-dead-letter-exchange": dlx}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(q.queue, false, false, false)
		_, _ = ch.QueueDelete(q.dlq, false, false, false)
		_ = ch.ExchangeDelete(dlx, false, false)
	})
	return q
}

func (q answerQueue) publish(t *testing.T, id, contentType string, body []byte) {
	t.Helper()
	err := q.ch.PublishWithContext(context.Background(), "", q.queue, true, false, amqp091.Publishing{
		MessageId: id, ContentType: contentType, Body: body, DeliveryMode: amqp091.Persistent,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// depth returns the number of ready messages in name.
func (q answerQueue) depth(t *testing.T, name string) int {
	t.Helper()
	st, err := q.ch.QueueDeclarePassive(name, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Messages
}

// runSubscriber runs a subscriber until the test ends and checks that Run
// returned nil.
func runSubscriber(t *testing.T, cfg amqp.AnswerConfig, r amqp.AnswerReceiver) {
	t.Helper()
	s, err := amqp.NewAnswerSubscriber(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

func answerConfig(u, queue string) amqp.AnswerConfig {
	return amqp.AnswerConfig{URL: config.NewSecret(u), Queue: queue, Tenant: "musterstadt", Destination: "bauamt",
		RetryDelay: 10 * time.Millisecond, ReconnectDelay: 20 * time.Millisecond}
}

func TestAnswerSubscriberAcksStoredAnswers(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	q := declareAnswerQueue(t, u)
	r := intaketest.NewAnswerReceiver()
	n := 0
	for _, name := range answerstest.XML {
		q.publish(t, name, "application/xml", answerstest.Read(t, name))
		n++
	}
	for _, name := range answerstest.JSON {
		q.publish(t, name, "application/json", answerstest.Read(t, name))
		n++
	}
	q.publish(t, "zip", "application/zip", answerstest.BescheidContainer(t, answerstest.Refs{Reference: answerstest.Reference}))
	q.publish(t, "no-type", "", answerstest.Render(t, answerstest.Aktenzeichen, answerstest.Refs{SubmissionID: answerstest.SubmissionID}))
	n += 2
	// The same answer again: a duplicate, acknowledged.
	q.publish(t, "again", "application/xml", answerstest.Read(t, answerstest.Aktenzeichen))
	runSubscriber(t, answerConfig(u, q.queue), r)
	waitFor(t, "every answer handled", func() bool { calls, _ := r.Counts(); return calls == n+1 })
	if _, stored := r.Counts(); stored != n {
		t.Errorf("stored %d, want %d", stored, n)
	}
	waitFor(t, "the queue to be empty", func() bool { return q.depth(t, q.queue) == 0 })
	if d := q.depth(t, q.dlq); d != 0 {
		t.Errorf("%d answers dead-lettered", d)
	}
	want := intake.AnswerSource{Tenant: "musterstadt", Destination: "bauamt", Channel: intake.AnswerChannelAMQP}
	if srcs, _ := r.Calls(); len(srcs) == 0 || slices.ContainsFunc(srcs, func(s intake.AnswerSource) bool { return s != want }) {
		t.Errorf("sources %v, want only %v", srcs, want)
	}
}

// Every hostile answer, one too large for the limit and a conflicting
// duplicate are dead-lettered; nothing of them is stored, and the
// subscriber goes on consuming.
func TestAnswerSubscriberDeadLettersRefusedAnswers(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	q := declareAnswerQueue(t, u)
	r := intaketest.NewAnswerReceiver()
	hostile := filepath.Join(answerstest.Dir(t), "hostile")
	es, err := os.ReadDir(hostile)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(hostile, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		q.publish(t, e.Name(), "", b)
	}
	large := bytes.Repeat([]byte(" "), 5000)
	q.publish(t, "too-large", "application/xml", append(large, answerstest.Read(t, answerstest.Aktenzeichen)...))
	body := answerstest.Read(t, answerstest.Aktenzeichen)
	q.publish(t, "first", "application/xml", body)
	q.publish(t, "conflict", "application/xml", bytes.Replace(body, []byte("0815"), []byte("0816"), 1))
	cfg := answerConfig(u, q.queue)
	cfg.MaxBytes = 4096
	runSubscriber(t, cfg, r)
	refused := len(es) + 2
	waitFor(t, "the refused answers in the dead-letter queue", func() bool { return q.depth(t, q.dlq) == refused })
	waitFor(t, "the queue to be empty", func() bool { return q.depth(t, q.queue) == 0 })
	if _, stored := r.Counts(); stored != 1 {
		t.Errorf("stored %d, want only the first Aktenzeichen", stored)
	}
}

// While the service is unavailable the message is requeued, not lost and
// not dead-lettered; it is stored once the service is back.
func TestAnswerSubscriberRequeuesWhileUnavailable(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	q := declareAnswerQueue(t, u)
	r := intaketest.NewAnswerReceiver()
	failures := 3
	r.Fail = func([]byte) error {
		if failures > 0 {
			failures--
			return intake.ErrUnavailable
		}
		return nil
	}
	q.publish(t, "a", "application/xml", answerstest.Read(t, answerstest.Eingangsbestaetigung))
	runSubscriber(t, answerConfig(u, q.queue), r)
	waitFor(t, "the answer stored", func() bool { _, stored := r.Counts(); return stored == 1 })
	if calls, _ := r.Counts(); calls != 4 {
		t.Errorf("calls %d, want 3 unavailable and 1 stored", calls)
	}
	waitFor(t, "the queue to be empty", func() bool { return q.depth(t, q.queue) == 0 })
	if d := q.depth(t, q.dlq); d != 0 {
		t.Errorf("%d dead-lettered", d)
	}
}

// After the connection is cut the subscriber reconnects and goes on.
func TestAnswerSubscriberReconnects(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	q := declareAnswerQueue(t, u)
	p, proxied := startProxy(t, u)
	r := intaketest.NewAnswerReceiver()
	var logs testlog.Buffer
	cfg := answerConfig(proxied, q.queue)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	q.publish(t, "a", "application/xml", answerstest.Read(t, answerstest.Eingangsbestaetigung))
	runSubscriber(t, cfg, r)
	waitFor(t, "the first answer", func() bool { _, stored := r.Counts(); return stored == 1 })
	p.cut()
	q.publish(t, "b", "application/xml", answerstest.Read(t, answerstest.Aktenzeichen))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	waitFor(t, "the second answer after the reconnect", func() bool { _, stored := r.Counts(); return stored == 2 })
	if strings.Contains(logs.String(), "guest:guest") || strings.Contains(logs.String(), proxied) {
		t.Error("the log contains the URL")
	}
}

// A queue that does not exist yet is waited for: Run logs, retries and
// consumes once it is declared.
func TestAnswerSubscriberWaitsForTheQueue(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	q := declareAnswerQueue(t, u)
	missing := randomName(t, "amtsbote-test-later")
	var logs testlog.Buffer
	cfg := answerConfig(u, missing)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r := intaketest.NewAnswerReceiver()
	runSubscriber(t, cfg, r)
	waitFor(t, "the missing queue logged", func() bool { return strings.Contains(logs.String(), "queue does not exist") })
	if _, err := q.ch.QueueDeclare(missing, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = q.ch.QueueDelete(missing, false, false, false) })
	if err := q.ch.PublishWithContext(context.Background(), "", missing, true, false, amqp091.Publishing{ContentType: "application/xml", Body: answerstest.Read(t, answerstest.Aktenzeichen)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer from the late queue", func() bool { _, stored := r.Counts(); return stored == 1 })
}

func TestAnswerConfigValidate(t *testing.T) {
	t.Parallel()
	err := amqp.AnswerConfig{RetryDelay: -1, MaxBytes: -1}.Validate()
	for _, want := range []string{"url", "queue", "tenant", "destination", "retry delay", "max bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to name %s", err, want)
		}
	}
	secret := "amqp://user:s3cret@host:5672/%zz"
	err = amqp.AnswerConfig{URL: config.NewSecret(secret), Queue: "q", Tenant: "t", Destination: "d"}.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate = %v, want an error without the password", err)
	}
	if _, err := amqp.NewAnswerSubscriber(amqp.AnswerConfig{URL: config.NewSecret("amqp://h/"), Queue: "q", Tenant: "t", Destination: "d"}, nil); err == nil {
		t.Error("NewAnswerSubscriber without receiver succeeded")
	}
}
