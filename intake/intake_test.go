package intake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xdomea"
)

const (
	portal  = "demo-portal"
	tenant  = "musterstadt"
	meldung = "meldewesen.wohnungsgeberbestaetigung" // config.Demo: fachverfahren (xoev)
	gewerbe = "gewerbe.anmeldung"                    // config.Demo: fachverfahren (xoev) and eakte (xdomea)
	// Procedures of tenant that the test configuration routes to one
	// destination: bau has no mapper, the others stub mappers.
	bau        = "bau.baugenehmigung"
	mapBroken  = "test.kaputt"
	mapInvalid = "test.streng"
	validates  = "test.prueft"
	receipt    = "test.eingang" // its Validate needs the time of receipt

	pdfID = "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d"
	pngID = "1c7a2d3f-8b5e-4a6c-9f32-6d0e1b2c3d4e"
)

var (
	testNow     = time.Date(2026, 11, 30, 9, 15, 42, 0, time.UTC)
	testProduct = transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "0.0.0-test"}
	pdfBytes    = []byte("%PDF-1.7\n% Lageplan\n")
	pngBytes    = []byte("\x89PNG\r\n\x1a\nGrundriss")
	errBroken   = errors.New("the database is broken")
)

// store is what the tests need of a store: the intake's part and reading
// back what it stored.
type store interface {
	intake.Store
	Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error)
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
	ListSubmissions(ctx context.Context, f outbox.SubmissionFilter) ([]outbox.SubmissionStatus, string, error)
}

// stores runs test on a SQLite store and, with AMTSBOTE_TEST_POSTGRES, on
// a PostgreSQL one, each fresh.
func stores(t *testing.T, test func(t *testing.T, st outbox.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		st, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
}

// testConfig is config.Demo plus the test procedures, routed by tenant to
// its fachverfahren destination.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Demo(t.TempDir(), config.HashKey("test-key"))
	for _, p := range []string{mapBroken, mapInvalid, validates, receipt} {
		cfg.Procedures = append(cfg.Procedures, config.Procedure{ID: p, Name: p})
		cfg.Tenants[0].Procedures = append(cfg.Tenants[0].Procedures, config.Route{Procedure: p,
			Destinations: []config.Destination{{ID: "fachverfahren", Type: "filedrop", FileDrop: &config.FileDrop{Dir: t.TempDir()}}}})
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return cfg
}

// stubMapper validates and maps as told.
type stubMapper struct {
	errs []transform.FieldError // Validate returns them
	err  error                  // Map returns it
}

func (m stubMapper) Validate(transform.Submission) []transform.FieldError { return m.errs }

func (m stubMapper) Map(transform.Input) (transform.Document, error) {
	return transform.Document{}, m.err
}

// receiptMapper's Validate refuses a submission without its time of
// receipt, like the Wohnungsgeberbestätigung's date rules would skip it.
type receiptMapper struct{ *envelope.Mapper }

func (m receiptMapper) Validate(s transform.Submission) []transform.FieldError {
	if !s.ReceivedAt.Equal(testNow.UTC()) {
		return []transform.FieldError{{Pointer: "/data", Code: "no_receipt"}}
	}
	return m.Mapper.Validate(s)
}

// The mapper's Validate sees the time of receipt, so that rules relative to
// it are reported with the others, before anything is staged.
func TestAcceptValidatesWithReceipt(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		r := demoRequest(t, meldung)
		r.Procedure = receipt
		if _, err := newService(t, testConfig(t), st).Accept(context.Background(), r); err != nil {
			t.Fatalf("Accept: %v", err)
		}
	})
}

func testRegistry(t *testing.T) *transform.Registry {
	t.Helper()
	r := transform.NewRegistry()
	for p, m := range map[string]transform.Mapper{
		meldung:    envelope.New(),
		gewerbe:    envelope.New(),
		mapBroken:  stubMapper{err: errors.New("stub mapper is broken")},
		mapInvalid: stubMapper{err: &transform.ValidationError{Errors: []transform.FieldError{{Pointer: "/data/plz", Code: transform.CodeType}}}},
		validates:  stubMapper{errs: []transform.FieldError{{Pointer: "/data/art", Code: transform.CodeRequired}}},
		receipt:    receiptMapper{envelope.New()},
	} {
		if err := r.Register(p, m); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// newService is an intake on st with testNow as its clock.
func newService(t *testing.T, cfg *config.Config, st intake.Store) *intake.Service {
	t.Helper()
	s, err := intake.New(intake.Config{Config: cfg, Store: st, Registry: testRegistry(t), Product: testProduct,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// demoRequest is testdata/submissions/demo.json as a Request of portal for
// procedure, its hash that of the file.
func demoRequest(t *testing.T, procedure string) intake.Request {
	t.Helper()
	body, err := os.ReadFile("../testdata/submissions/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj struct {
		Applicant map[string]any `json:"applicant"`
		Data      map[string]any `json:"data"`
	}
	if err := dec.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	return intake.Request{PortalID: portal, Tenant: tenant, Procedure: procedure, Applicant: obj.Applicant,
		Data: obj.Data, RequestHash: sha256.Sum256(body), Payload: body}
}

// files are attachments with their content, as a protocol hands them over:
// with the request, or with upload set as content streamed at Stage.
type files struct {
	attachments []transform.Attachment
	contents    [][]byte
	upload      bool
	checkErrs   []transform.FieldError // Check reports them
	stageErrs   []transform.FieldError // Stage reports them, after staging
	staged      []string               // ids of the blobs staged
}

func (f *files) Check() ([]intake.Attachment, []transform.FieldError) {
	out := make([]intake.Attachment, len(f.attachments))
	for i, a := range f.attachments {
		out[i] = intake.Attachment{ID: a.ID, FileName: a.FileName, MIMEType: a.MIMEType}
		if !f.upload {
			out[i].Content = f.contents[i]
		}
	}
	return out, f.checkErrs
}

func (f *files) Stage(ctx context.Context, s *intake.Stager, attachments []transform.Attachment) ([]transform.FieldError, error) {
	if f.upload {
		for i := range attachments {
			if err := s.Stage(ctx, i, bytes.NewReader(f.contents[i])); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range attachments {
		if a.Ref == "" || a.Size == 0 {
			return nil, errors.New("an attachment has no content staged")
		}
		f.staged = append(f.staged, a.Ref)
	}
	return f.stageErrs, nil
}

func twoFiles() *files {
	return &files{
		attachments: []transform.Attachment{
			{ID: pdfID, FileName: "Antrag.pdf", MIMEType: "application/pdf"},
			{ID: pngID, FileName: "Grundriss Erdgeschoß.png", MIMEType: "image/png"},
		},
		contents: [][]byte{pdfBytes, pngBytes},
	}
}

// assertNothingStored checks that st holds no submission, message or
// staged blob.
func assertNothingStored(t *testing.T, st store, id string) {
	t.Helper()
	ctx := context.Background()
	if id != "" {
		if _, _, err := st.Submission(ctx, id); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("Submission(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if msgs, _, err := st.List(ctx, outbox.ListFilter{}); err != nil || len(msgs) != 0 {
		t.Errorf("List = %d messages, %v; want none", len(msgs), err)
	}
	if subs, _, err := st.ListSubmissions(ctx, outbox.SubmissionFilter{PortalID: portal}); err != nil || len(subs) != 0 {
		t.Errorf("ListSubmissions = %d submissions, %v; want none", len(subs), err)
	}
	if n, err := st.PurgeStagedBlobs(ctx, time.Now().Add(24*time.Hour)); err != nil || n != 0 {
		t.Errorf("%d staged blobs left (%v), want none", n, err)
	}
}

func TestAcceptStoresSubmissionAndMessages(t *testing.T) {
	t.Parallel()
	identity := &transform.Identity{Method: transform.IdentityServicekonto, Provider: "BundID", TrustLevel: transform.TrustSubstantial}
	tests := []struct {
		name      string
		procedure string
		identity  *transform.Identity
		files     *files
		// want are the metadata of each destination's message, besides
		// tenant, procedure and destination.
		want map[string]map[string]string
	}{
		{name: "one destination", procedure: meldung, want: map[string]map[string]string{
			"fachverfahren": {outbox.MetaMessageType: envelope.MessageType, outbox.MetaContentType: "application/xml"},
		}},
		{name: "two destinations and an identity", procedure: gewerbe, identity: identity, want: map[string]map[string]string{
			"fachverfahren": {outbox.MetaMessageType: envelope.MessageType, outbox.MetaContentType: "application/xml",
				outbox.MetaIdentityMethod: "servicekonto", outbox.MetaIdentityProvider: "BundID", outbox.MetaIdentityTrustLevel: "substantial"},
			"eakte": {outbox.MetaMessageType: xdomea.MessageType, outbox.MetaContentType: "application/zip",
				outbox.MetaPayloadFormat:  outbox.PayloadFormatBundle,
				outbox.MetaIdentityMethod: "servicekonto", outbox.MetaIdentityProvider: "BundID", outbox.MetaIdentityTrustLevel: "substantial"},
		}},
		{name: "a verified identity", procedure: meldung, identity: &transform.Identity{Method: transform.IdentityServicekonto,
			Provider: "BundID", TrustLevel: transform.TrustHigh, Verified: true, Issuer: "https://id.bund.example", SubjectRef: "ab12"},
			want: map[string]map[string]string{
				"fachverfahren": {outbox.MetaMessageType: envelope.MessageType, outbox.MetaContentType: "application/xml",
					outbox.MetaIdentityMethod: "servicekonto", outbox.MetaIdentityProvider: "BundID", outbox.MetaIdentityTrustLevel: "high",
					outbox.MetaIdentityVerified: "true", outbox.MetaIdentityIssuer: "https://id.bund.example", outbox.MetaIdentitySubjectRef: "ab12"},
			}},
		{name: "attachments", procedure: gewerbe, files: twoFiles(), want: map[string]map[string]string{
			"fachverfahren": {outbox.MetaMessageType: envelope.MessageType, outbox.MetaContentType: "application/zip",
				outbox.MetaPayloadFormat: outbox.PayloadFormatBundle, outbox.MetaAttachments: "2"},
			"eakte": {outbox.MetaMessageType: xdomea.MessageType, outbox.MetaContentType: "application/zip",
				outbox.MetaPayloadFormat: outbox.PayloadFormatBundle, outbox.MetaAttachments: "2"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, st outbox.Store) {
				cfg := testConfig(t)
				r := demoRequest(t, tt.procedure)
				r.Identity, r.IdempotencyKey = tt.identity, "antrag-4711"
				if tt.files != nil {
					f := *tt.files
					r.Attachments = &f
				}
				rc, err := newService(t, cfg, st).Accept(context.Background(), r)
				if err != nil {
					t.Fatalf("Accept: %v", err)
				}
				if rc.SubmissionID == "" || rc.Replayed || rc.Tenant != tenant || rc.Procedure != tt.procedure {
					t.Errorf("receipt = %+v", rc)
				}
				sub, msgs, err := st.Submission(context.Background(), rc.SubmissionID)
				if err != nil {
					t.Fatalf("Submission: %v", err)
				}
				if sub.PortalID != portal || sub.TenantID != tenant || sub.ProcedureID != tt.procedure ||
					sub.IdempotencyKey != "antrag-4711" || !bytes.Equal(sub.RequestHash, r.RequestHash[:]) ||
					!bytes.Equal(sub.Payload, r.Payload) || !sub.CreatedAt.Equal(testNow) {
					t.Errorf("stored submission = %+v", sub)
				}
				if len(msgs) != len(tt.want) {
					t.Fatalf("%d messages, want %d", len(msgs), len(tt.want))
				}
				for _, m := range msgs {
					dest := m.Metadata[outbox.MetaDestination]
					want := maps.Clone(tt.want[dest])
					if want == nil {
						t.Fatalf("message to unexpected destination %q", dest)
					}
					want[outbox.MetaTenant], want[outbox.MetaProcedure], want[outbox.MetaDestination] = tenant, tt.procedure, dest
					// The envelope mapper has no version of its own: the Go mapper of this build.
					want[outbox.MetaMappingVersion] = "go:" + tt.procedure + "@" + testProduct.Version
					if strings.HasPrefix(want[outbox.MetaMessageType], "xdomea.") {
						// xdomea names the container like the message inside it.
						want[outbox.MetaFileName] = m.ID + "_FVDaten.SGOAblegen.0605"
					}
					if !maps.Equal(m.Metadata, want) {
						t.Errorf("%s: metadata = %v, want %v", dest, m.Metadata, want)
					}
					if m.Topic != config.Topic(tenant, tt.procedure, dest) || m.SubmissionID != rc.SubmissionID ||
						m.State != outbox.StatePending {
						t.Errorf("%s: topic %s, submission %s, state %s", dest, m.Topic, m.SubmissionID, m.State)
					}
					if dest == "fachverfahren" && tt.files == nil {
						assertMapped(t, cfg, sub, m, r)
					}
				}
				for _, id := range stagedOf(r) {
					if b, err := st.Blob(context.Background(), id); err != nil || b.SubmissionID != rc.SubmissionID {
						t.Errorf("blob %s = %+v, %v; want committed with the submission", id, b, err)
					}
				}
			})
		})
	}
}

// stagedOf returns the ids of the blobs staged for r's attachments.
func stagedOf(r intake.Request) []string {
	if f, ok := r.Attachments.(*files); ok {
		return f.staged
	}
	return nil
}

// assertMapped checks that the payload of m, to fachverfahren, is what the
// envelope mapper builds for sub.
func assertMapped(t *testing.T, cfg *config.Config, sub outbox.Submission, m outbox.Message, r intake.Request) {
	t.Helper()
	ten, _ := cfg.Tenant(tenant)
	route, _ := ten.Route(r.Procedure)
	want, err := envelope.New().Map(transform.Input{
		Submission: transform.Submission{ID: sub.ID, Tenant: tenant, Procedure: r.Procedure, Applicant: r.Applicant,
			Data: r.Data, Identity: r.Identity, ReceivedAt: testNow},
		MessageID: m.ID,
		Author:    transform.Party{ID: ten.ID, Name: ten.Name, Kennung: ten.Behoerdenkennung, AGS: ten.AGS},
		Reader:    transform.Party{ID: "fachverfahren", Kennung: route.Destinations[0].Reader, Name: ten.Name, AGS: ten.AGS},
		Product:   testProduct,
		CreatedAt: testNow,
	})
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if !bytes.Equal(m.Payload, want.XML) {
		t.Errorf("payload differs from the mapper's XML:\n got: %s\nwant: %s", m.Payload, want.XML)
	}
}

// An E-Akte destination gets an xdomea filing message whose container
// carries the document and the attachments; an xoev one the document and
// the attachments under intake.AttachmentsDir.
func TestAcceptFilesInEAkte(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		r := demoRequest(t, gewerbe)
		r.Attachments = twoFiles()
		cfg := testConfig(t)
		rc, err := newService(t, cfg, st).Accept(context.Background(), r)
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		_, msgs, err := st.Submission(context.Background(), rc.SubmissionID)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("Submission = %d messages, %v; want 2", len(msgs), err)
		}
		for _, m := range msgs {
			b, err := outbox.ParseBundle(m.Payload)
			if err != nil {
				t.Fatalf("%s: %v", m.Topic, err)
			}
			var want []string
			switch dest := m.Metadata[outbox.MetaDestination]; dest {
			case "eakte":
				want = []string{m.ID + "_" + xdomea.Nachricht + ".xml", m.ID + ".xml", pdfID + "_Antrag.pdf", pngID + "_Grundriss Erdgeschoß.png"}
			case "fachverfahren":
				want = []string{m.ID + ".xml", intake.AttachmentsDir + "/" + pdfID + "/Antrag.pdf",
					intake.AttachmentsDir + "/" + pngID + "/Grundriss Erdgeschoß.png"}
			default:
				t.Fatalf("unexpected destination %q", dest)
			}
			var names []string
			for _, e := range b.Entries {
				names = append(names, e.Name)
			}
			if !slices.Equal(names, want) {
				t.Errorf("%s: entries %q, want %q", m.Topic, names, want)
			}
			var zip bytes.Buffer
			if err := b.WriteZIP(context.Background(), &zip, st); err != nil {
				t.Fatalf("%s: WriteZIP: %v", m.Topic, err)
			}
			for _, content := range [][]byte{pdfBytes, pngBytes} {
				if !bytes.Contains(zip.Bytes(), content) {
					t.Errorf("%s: the container lacks an attachment's content", m.Topic)
				}
			}
			if m.Metadata[outbox.MetaDestination] == "eakte" {
				if doc := b.Entries[0].Data; !bytes.Contains(doc, []byte(xdomea.Nachricht)) {
					t.Errorf("eakte: the first entry is not the xdomea message:\n%s", doc)
				}
				// Without an ablageort, that of a file drop is its directory.
				tenant, _ := cfg.Tenant(m.Metadata[outbox.MetaTenant])
				route, _ := tenant.Route(gewerbe)
				dir := filepath.Join(route.Destinations[1].FileDrop.Dir, tenant.ID, gewerbe)
				if !bytes.Contains(b.Entries[0].Data, []byte("<xdomea:Ablageort>"+dir+"</xdomea:Ablageort>")) {
					t.Errorf("eakte: the message lacks the Ablageort %s:\n%s", dir, b.Entries[0].Data)
				}
			}
		}
	})
}

func TestAcceptIdempotency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// retry changes the first request into the retry.
		retry        func(r *intake.Request)
		wantReplayed bool
		wantErr      error
		wantNew      bool // stored as a new submission
	}{
		{name: "same key and request", retry: func(*intake.Request) {}, wantReplayed: true},
		{name: "same key, other request", retry: func(r *intake.Request) { r.RequestHash[0]++ }, wantErr: intake.ErrIdempotencyConflict},
		{name: "same key, other content", retry: func(r *intake.Request) {
			f := twoFiles()
			f.contents[1] = append(slices.Clone(pngBytes), '!')
			r.Attachments = f
		}, wantErr: intake.ErrIdempotencyConflict},
		{name: "same key, other portal", retry: func(r *intake.Request) { r.PortalID = "other-portal" }, wantNew: true},
		{name: "no key", retry: func(r *intake.Request) { r.IdempotencyKey = "" }, wantNew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, st outbox.Store) {
				svc := newService(t, testConfig(t), st)
				ctx := context.Background()
				first := demoRequest(t, meldung)
				first.IdempotencyKey, first.Attachments, first.HashContent = "antrag-4711", twoFiles(), true
				original, err := svc.Accept(ctx, first)
				if err != nil {
					t.Fatalf("first Accept: %v", err)
				}
				retry := first
				retry.Attachments = twoFiles()
				tt.retry(&retry)
				rc, err := svc.Accept(ctx, retry)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("retry: err = %v, want %v", err, tt.wantErr)
				}
				switch {
				case tt.wantErr != nil:
					if rc.SubmissionID != "" || rc.Replayed {
						t.Errorf("receipt of a conflict = %+v, want no submission", rc)
					}
				case tt.wantNew:
					if rc.SubmissionID == original.SubmissionID || rc.Replayed {
						t.Errorf("receipt = %+v, want a new submission", rc)
					}
				default:
					if rc.SubmissionID != original.SubmissionID || rc.Replayed != tt.wantReplayed {
						t.Errorf("receipt = %+v, want %s replayed", rc, original.SubmissionID)
					}
				}
				msgs, _, err := st.List(ctx, outbox.ListFilter{})
				if err != nil {
					t.Fatal(err)
				}
				wantMsgs := 1
				if tt.wantNew {
					wantMsgs = 2
				}
				if len(msgs) != wantMsgs {
					t.Errorf("%d messages stored, want %d", len(msgs), wantMsgs)
				}
				// What the retry staged is gone unless it was stored.
				for _, id := range stagedOf(retry) {
					_, err := st.Blob(ctx, id)
					if tt.wantNew != (err == nil) {
						t.Errorf("blob %s of the retry: %v", id, err)
					}
				}
				if n, err := st.PurgeStagedBlobs(ctx, time.Now().Add(24*time.Hour)); err != nil || n != 0 {
					t.Errorf("%d staged blobs left (%v), want none", n, err)
				}
			})
		})
	}
}

// A submission with problems stores nothing and names them.
func TestAcceptValidationStoresNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(r *intake.Request)
		wantCodes []string
		wantIs    error // besides *intake.ValidationError
		wantRoute bool  // the receipt names tenant and procedure
	}{
		{name: "unknown tenant", edit: func(r *intake.Request) { r.Tenant = "nirgendwo" },
			wantCodes: []string{intake.CodeUnknownTenant}, wantIs: intake.ErrUnknownTenant},
		{name: "procedure not routed", edit: func(r *intake.Request) { r.Procedure = "nicht.geroutet" },
			wantCodes: []string{intake.CodeUnknownProcedure}, wantIs: intake.ErrUnknownProcedure},
		{name: "procedure without mapper", edit: func(r *intake.Request) { r.Procedure = bau },
			wantCodes: []string{intake.CodeUnknownProcedure}, wantIs: intake.ErrUnknownProcedure, wantRoute: true},
		{name: "attachments", edit: func(r *intake.Request) {
			f := twoFiles()
			f.checkErrs = []transform.FieldError{{Pointer: "/attachments/0/filename", Code: "invalid_filename"}}
			r.Attachments = f
		}, wantCodes: []string{"invalid_filename"}, wantRoute: true},
		{name: "mapper's Validate", edit: func(r *intake.Request) { r.Procedure = validates },
			wantCodes: []string{transform.CodeRequired}, wantRoute: true},
		{name: "staged content", edit: func(r *intake.Request) {
			f := twoFiles()
			f.stageErrs = []transform.FieldError{{Pointer: "/attachments/1/content", Code: "content_mismatch"}}
			r.Attachments = f
		}, wantCodes: []string{"content_mismatch"}, wantRoute: true},
		{name: "mapper's Map", edit: func(r *intake.Request) { r.Procedure, r.Attachments = mapInvalid, twoFiles() },
			wantCodes: []string{transform.CodeType}, wantRoute: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, st outbox.Store) {
				r := demoRequest(t, meldung)
				tt.edit(&r)
				rc, err := newService(t, testConfig(t), st).Accept(context.Background(), r)
				verr, ok := errors.AsType[*intake.ValidationError](err)
				if !ok {
					t.Fatalf("err = %v, want a *ValidationError", err)
				}
				var codes []string
				for _, fe := range verr.Errors {
					codes = append(codes, fe.Code)
				}
				if !slices.Equal(codes, tt.wantCodes) {
					t.Errorf("codes = %q, want %q", codes, tt.wantCodes)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("err = %v, want it to wrap %v", err, tt.wantIs)
				}
				if got := rc.Tenant != "" && rc.Procedure != ""; got != tt.wantRoute {
					t.Errorf("receipt = %+v, names tenant and procedure: %t, want %t", rc, got, tt.wantRoute)
				}
				assertNothingStored(t, st, rc.SubmissionID)
			})
		})
	}
}

// A mapper that fails otherwise is a bug: neither a validation error nor
// a store failure.
func TestAcceptMapFailure(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := demoRequest(t, mapBroken)
	r.Attachments = twoFiles()
	rc, err := newService(t, testConfig(t), st).Accept(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "stub mapper is broken") {
		t.Fatalf("err = %v, want the mapper's", err)
	}
	if _, ok := errors.AsType[*intake.ValidationError](err); ok || errors.Is(err, intake.ErrUnavailable) {
		t.Errorf("err = %v, want neither a validation error nor ErrUnavailable", err)
	}
	assertNothingStored(t, st, rc.SubmissionID)
}

// failingStore fails the step named fail inside the transaction, after
// the steps before it have written.
type failingStore struct {
	outbox.Store
	fail string // "create", "blobs" or "messages"
}

func (s failingStore) InTx(ctx context.Context, fn func(tx outbox.Tx) error) error {
	return s.Store.InTx(ctx, func(tx outbox.Tx) error { return fn(failingTx{Tx: tx, fail: s.fail}) })
}

type failingTx struct {
	outbox.Tx
	fail string
}

func (tx failingTx) CreateSubmission(ctx context.Context, s outbox.Submission) (outbox.Submission, bool, error) {
	if tx.fail == "create" {
		return outbox.Submission{}, false, errBroken
	}
	return tx.Tx.CreateSubmission(ctx, s)
}

func (tx failingTx) InsertBlobs(ctx context.Context, blobs []outbox.Blob) error {
	if tx.fail == "blobs" {
		return errBroken
	}
	return tx.Tx.InsertBlobs(ctx, blobs)
}

func (tx failingTx) InsertMessages(ctx context.Context, msgs []outbox.Message) error {
	if tx.fail == "messages" {
		return errBroken
	}
	return tx.Tx.InsertMessages(ctx, msgs)
}

// A store failure inside the transaction rolls all of it back and deletes
// what was staged; the error says to retry.
func TestAcceptStoreFailureStoresNothing(t *testing.T) {
	t.Parallel()
	for _, fail := range []string{"create", "blobs", "messages"} {
		t.Run(fail, func(t *testing.T) {
			t.Parallel()
			stores(t, func(t *testing.T, st outbox.Store) {
				r := demoRequest(t, gewerbe)
				r.IdempotencyKey, r.Attachments = "nach-dem-ausfall", twoFiles()
				cfg := testConfig(t)
				rc, err := newService(t, cfg, failingStore{Store: st, fail: fail}).Accept(context.Background(), r)
				if !errors.Is(err, intake.ErrUnavailable) || !errors.Is(err, errBroken) {
					t.Fatalf("err = %v, want ErrUnavailable wrapping the store's error", err)
				}
				if rc.SubmissionID == "" || rc.Replayed {
					t.Errorf("receipt = %+v, want the id assigned, for the log", rc)
				}
				assertNothingStored(t, st, rc.SubmissionID)

				// The retry with the same key, once the store works, is new.
				r.Attachments = twoFiles()
				again, err := newService(t, cfg, st).Accept(context.Background(), r)
				if err != nil || again.Replayed {
					t.Fatalf("retry = %+v, %v; want stored", again, err)
				}
			})
		})
	}
}

// A failure to stage is returned as the protocol's Attachments returned
// it, and what was staged before is deleted.
func TestAcceptStageFailure(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := twoFiles()
	f.upload = true
	broken := errors.New("the upload broke")
	r := demoRequest(t, meldung)
	r.Attachments = &brokenUpload{files: f, err: broken}
	rc, err := newService(t, testConfig(t), st).Accept(context.Background(), r)
	if !errors.Is(err, outbox.ErrBlobSource) || !errors.Is(err, broken) {
		t.Fatalf("err = %v, want the upload's", err)
	}
	assertNothingStored(t, st, rc.SubmissionID)
}

// brokenUpload stages the first attachment, then its upload fails.
type brokenUpload struct {
	*files
	err error
}

func (b *brokenUpload) Stage(ctx context.Context, s *intake.Stager, attachments []transform.Attachment) ([]transform.FieldError, error) {
	if err := s.Stage(ctx, 0, bytes.NewReader(b.contents[0])); err != nil {
		return nil, err
	}
	return nil, s.Stage(ctx, 1, io.MultiReader(bytes.NewReader(b.contents[1]), errReader{b.err}))
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := intake.New(intake.Config{})
	if err == nil {
		t.Fatal("New(Config{}) succeeded")
	}
	for _, want := range []string{"config is nil", "store is nil", "registry is nil"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
}

// hangingStore is a database that stops answering: its transactions (and,
// with chunks, its staged chunks) wait until their context ends.
type hangingStore struct {
	outbox.Store
	chunks bool
}

func (s hangingStore) InTx(ctx context.Context, _ func(tx outbox.Tx) error) error {
	<-ctx.Done()
	return ctx.Err()
}

func (s hangingStore) PutBlobChunk(ctx context.Context, id string, seq int, data []byte) error {
	if !s.chunks {
		return s.Store.PutBlobChunk(ctx, id, seq, data)
	}
	<-ctx.Done()
	return ctx.Err()
}

// Config.DatabaseTimeout bounds the transaction and each staged chunk: a
// hanging database makes Accept fail with ErrUnavailable after it, even
// with a caller's context that never ends, and nothing is stored.
func TestAcceptDatabaseTimeout(t *testing.T) {
	t.Parallel()
	for _, chunks := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunks hang %v", chunks), func(t *testing.T) {
			t.Parallel()
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			s, err := intake.New(intake.Config{Config: testConfig(t), Store: hangingStore{Store: st, chunks: chunks},
				Registry: testRegistry(t), Product: testProduct, Now: func() time.Time { return testNow },
				DatabaseTimeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			r := demoRequest(t, gewerbe)
			r.Attachments = twoFiles()
			rc, err := s.Accept(context.Background(), r)
			if !errors.Is(err, intake.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrUnavailable after the deadline", err)
			}
			assertNothingStored(t, st, rc.SubmissionID)
		})
	}
}
