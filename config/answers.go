package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/url"
	"path/filepath"
	"time"
)

// Answers configures how a destination's Fachverfahren or DMS sends its
// answers back (Eingangsbestätigung, Aktenzeichen, formelle Prüfung,
// Bescheid, xdomea import confirmations): over HTTP (POST /v1/answers on
// the portal listener, with KeyHash), a polled file inbox, or an AMQP
// queue. Each channel is off unless configured; at least one must be.
// An answer received through a destination's channel may refer only to
// submissions of the destination's tenant.
type Answers struct {
	// KeyHash is HashKey of the API key the destination presents on
	// POST /v1/answers: "sha256:" and 64 lower-case hex digits, distinct
	// from every other key (portals, admin, other destinations). Empty:
	// no HTTP channel for this destination.
	KeyHash Secret `yaml:"key_hash"`
	// ClientCert, when set, also requires a verified TLS client
	// certificate matching it on POST /v1/answers (mTLS, as for portals);
	// it needs key_hash and server.tls.client_ca_file.
	ClientCert *ClientCert `yaml:"client_cert"`
	// MaxBytes is the largest answer accepted over HTTP, in bytes.
	// Default DefaultAnswerMaxBytes (20 MiB); at most MaxAnswerBytes.
	MaxBytes int64 `yaml:"max_bytes"`
	// Inbox, when set, polls a directory for answer files.
	Inbox *AnswerInbox `yaml:"inbox"`
	// AMQP, when set, consumes answers from a RabbitMQ queue.
	AMQP *AnswerAMQP `yaml:"amqp"`
}

// AnswerInbox is a directory polled for answer files. A file is read once
// it is complete (written elsewhere and renamed into Dir); after it has
// been stored or refused it moves atomically to Dir/done or Dir/failed,
// the latter with a reason file beside it.
type AnswerInbox struct {
	// Dir is the directory polled; absolute, and distinct from every other
	// destination's inbox.
	Dir string `yaml:"dir"`
	// PollInterval is the time between two looks at Dir. Default
	// DefaultAnswerPollInterval (5s).
	PollInterval Duration `yaml:"poll_interval"`
	// MaxBytes is the largest answer file accepted; a larger one moves to
	// failed/. Default DefaultAnswerMaxBytes; at most MaxAnswerBytes.
	MaxBytes int64 `yaml:"max_bytes"`
}

// AnswerAMQP is a RabbitMQ queue consumed for answers. A message is
// acknowledged only after its answer is committed; a message that is not
// an acceptable answer is rejected without requeue (dead-lettered where the
// queue has a dead-letter exchange).
type AnswerAMQP struct {
	// URL is the broker, amqp(s)://user:password@host:port/vhost; a
	// Secret, as it holds a password.
	URL Secret `yaml:"url"`
	// Queue is the queue to consume; it must exist (Amtsbote does not
	// declare it), and no two destinations consume the same queue.
	Queue string `yaml:"queue"`
	// MaxBytes is the largest message body accepted; a larger one is
	// dead-lettered. Default DefaultAnswerMaxBytes; at most MaxAnswerBytes.
	MaxBytes int64 `yaml:"max_bytes"`
}

// Limits and defaults of answers.
const (
	// DefaultAnswerMaxBytes is the default size limit of an answer on
	// every channel: a Bescheid (0205) carries its documents inline.
	DefaultAnswerMaxBytes = 20 << 20 // 20 MiB
	// MaxAnswerBytes is the largest size limit allowed on any channel.
	MaxAnswerBytes = 256 << 20 // 256 MiB
	// DefaultAnswerPollInterval is the default of AnswerInbox.PollInterval.
	DefaultAnswerPollInterval = 5 * time.Second
)

func (a *Answers) applyDefaults() {
	setDefault(&a.MaxBytes, DefaultAnswerMaxBytes)
	if a.Inbox != nil {
		setDefault(&a.Inbox.PollInterval.Duration, DefaultAnswerPollInterval)
		setDefault(&a.Inbox.MaxBytes, DefaultAnswerMaxBytes)
	}
	if a.AMQP != nil {
		setDefault(&a.AMQP.MaxBytes, DefaultAnswerMaxBytes)
	}
}

// AnswerBinding is one destination that sends answers, with where it is
// configured.
type AnswerBinding struct {
	// Tenant, Procedure and Destination identify the destination.
	Tenant, Procedure, Destination string
	// Answers are its settings; never nil.
	Answers *Answers
}

// AnswerBindings returns every destination with an answers block, in
// document order.
func (c *Config) AnswerBindings() []AnswerBinding {
	var out []AnswerBinding
	for ti := range c.Tenants {
		t := &c.Tenants[ti]
		for ri := range t.Procedures {
			r := &t.Procedures[ri]
			for di := range r.Destinations {
				d := &r.Destinations[di]
				if d.Answers != nil {
					out = append(out, AnswerBinding{Tenant: t.ID, Procedure: r.Procedure, Destination: d.ID, Answers: d.Answers})
				}
			}
		}
	}
	return out
}

// AnswerBindingByKey returns the destination whose answers key is key. It
// compares the key's digest with every destination's hash without stopping
// at a match, so the time taken depends on the configuration only.
func (c *Config) AnswerBindingByKey(key string) (AnswerBinding, bool) {
	sum := sha256.Sum256([]byte(key))
	bindings := c.AnswerBindings()
	found := -1
	for i := range bindings {
		hit := compareKeyHash(bindings[i].Answers.KeyHash.Value(), sum)
		found = subtle.ConstantTimeSelect(hit, i, found)
	}
	if found < 0 {
		return AnswerBinding{}, false
	}
	return bindings[found], true
}

// validateAnswers checks every destination's answers block. hashes maps the
// key hashes of the portals to their paths; an answers key must differ from
// them, from the admin key and from every other answers key.
func (c *Config) validateAnswers(v *validator, hashes map[string]string) {
	if h := c.Admin.KeyHash.Value(); h != "" && hashes[h] == "" {
		hashes[h] = "admin.key_hash"
	}
	dirs := map[string]string{}
	queues := map[string]string{}
	for ti := range c.Tenants {
		for ri, r := range c.Tenants[ti].Procedures {
			for di := range r.Destinations {
				a := r.Destinations[di].Answers
				if a == nil {
					continue
				}
				path := fmt.Sprintf("tenants[%d].procedures[%d].destinations[%d].answers", ti, ri, di)
				a.validate(path, c.Server.TLS.ClientCAFile != "", hashes, dirs, queues, v)
			}
		}
	}
}

func (a *Answers) validate(path string, clientCA bool, hashes, dirs, queues map[string]string, v *validator) {
	keyed := a.KeyHash.Value() != ""
	if !keyed && a.Inbox == nil && a.AMQP == nil {
		v.add(path, "needs at least one channel: key_hash (HTTP), inbox or amqp")
	}
	if keyed {
		validateKeyHash(path+".key_hash", a.KeyHash.Value(), hashes, v)
	}
	if c := a.ClientCert; c != nil {
		cpath := path + ".client_cert"
		if !keyed {
			v.add(cpath, "needs key_hash: the client certificate is checked in addition to the key")
		}
		if !clientCA {
			v.add(cpath, "needs server.tls.client_ca_file to verify client certificates")
		}
		if c.SubjectCN == "" && c.SHA256Fingerprint == "" {
			v.add(cpath, "needs subject_cn or sha256_fingerprint")
		}
		if _, ok := c.Fingerprint(); c.SHA256Fingerprint != "" && !ok {
			v.add(cpath+".sha256_fingerprint", "must be 64 hex digits, optionally separated by colons")
		}
	}
	answerMaxBytes(path+".max_bytes", a.MaxBytes, v)
	if in := a.Inbox; in != nil {
		ipath := path + ".inbox"
		switch {
		case in.Dir == "":
			v.add(ipath+".dir", "is required")
		case !filepath.IsAbs(in.Dir):
			v.add(ipath+".dir", "must be an absolute path, got %q", in.Dir)
		default:
			v.unique(ipath+".dir", filepath.Clean(in.Dir), dirs)
		}
		v.nonNegative(ipath+".poll_interval", in.PollInterval)
		answerMaxBytes(ipath+".max_bytes", in.MaxBytes, v)
	}
	if q := a.AMQP; q != nil {
		qpath := path + ".amqp"
		u, err := url.Parse(q.URL.Value())
		switch {
		case q.URL.IsZero():
			v.add(qpath+".url", "is required")
		case err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "":
			v.add(qpath+".url", "must be an amqp or amqps URL")
		}
		if q.Queue == "" {
			v.add(qpath+".queue", "is required")
		} else if err == nil && u != nil {
			// The same queue on the same broker and vhost; never print the URL.
			v.unique(qpath+".queue", u.Host+u.Path+" "+q.Queue, queues)
		}
		answerMaxBytes(qpath+".max_bytes", q.MaxBytes, v)
	}
}

func answerMaxBytes(path string, n int64, v *validator) {
	if n <= 0 || n > MaxAnswerBytes {
		v.add(path, "must be between 1 and %d (256 MiB), got %d", int64(MaxAnswerBytes), n)
	}
}
