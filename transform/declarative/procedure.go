package declarative

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

// File names in a procedure directory.
const (
	FileProcedure = "procedure.yaml"
	FileSchema    = "schema.json"
	FileMapping   = "mapping.yaml"
	DirExamples   = "examples"
)

// Procedure is a compiled procedure directory: a transform.Mapper. It is
// safe for concurrent use; create it with Load or LoadDir.
type Procedure struct {
	dir         string // as named to Load, for messages
	onDisk      bool   // loaded with LoadDir: dir is a directory on disk
	fsys        fs.FS
	meta        meta
	payload     *transform.PayloadSchema
	mapping     *mapping
	rules       []rule
	version     string
	mappingFile string
}

var _ transform.ValidatedMapper = (*Procedure)(nil)

// meta is procedure.yaml.
type meta struct {
	ID          string        `yaml:"id"`
	Name        string        `yaml:"name"`
	MessageType string        `yaml:"message_type"`
	Namespace   string        `yaml:"namespace"`
	XSD         string        `yaml:"xsd"`
	Rules       []ruleSpec    `yaml:"rules"`
	Examples    exampleParams `yaml:"examples"`
}

// ruleSpec is a rule of procedure.yaml: where assert is false (and if, when
// given, is true), Validate reports a problem at pointer.
type ruleSpec struct {
	Pointer   string `yaml:"pointer"`
	If        string `yaml:"if"`
	Assert    string `yaml:"assert"`
	Code      string `yaml:"code"`
	Message   string `yaml:"message"`
	MessageDE string `yaml:"message_de"`
	line      int
}

// UnmarshalYAML keeps the line of the rule.
func (r *ruleSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain ruleSpec
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*r = ruleSpec(p)
	r.line = n.Line
	return nil
}

// exampleParams are the parties of the examples' Nachrichtenkopf.
type exampleParams struct {
	Author exampleParty `yaml:"author"`
	Reader exampleParty `yaml:"reader"`
}

type exampleParty struct {
	Name    string `yaml:"name"`
	Kennung string `yaml:"kennung"`
}

// rule is a compiled rule.
type rule struct {
	spec   ruleSpec
	cond   *program
	assert *program
}

// decodeStrict decodes n into v, refusing unknown keys.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// LoadDir loads the procedure directory dir (see Load).
func LoadDir(dir string) (*Procedure, error) {
	p, err := Load(os.DirFS(dir), dir)
	if err != nil {
		return nil, err
	}
	p.onDisk = true
	return p, nil
}

// Load reads and compiles the procedure directory fsys, named dir in
// messages: procedure.yaml, schema.json and mapping.yaml. It returns every
// problem it finds at once (errors.Join of *Error), each naming the file,
// the line and the JSON pointer where there is one. The examples are not
// run: see Test.
func Load(fsys fs.FS, dir string) (*Procedure, error) {
	p := &Procedure{dir: dir, fsys: fsys, mappingFile: path.Join(dir, FileMapping)}
	file := func(name string) string { return path.Join(dir, name) }
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, &Error{File: file(name), Err: fmt.Errorf("read: %w", unwrapPath(err))}
		}
		return b, nil
	}
	var errs []error
	raw, err := read(FileProcedure)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&p.meta); err != nil {
		return nil, &Error{File: file(FileProcedure), Err: err}
	}
	for _, f := range []struct{ key, value string }{{"id", p.meta.ID}, {"message_type", p.meta.MessageType}, {"namespace", p.meta.Namespace}} {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, &Error{File: file(FileProcedure), Err: fmt.Errorf("%s is required", f.key)})
		}
	}
	if x := p.meta.XSD; x != "" && !fs.ValidPath(x) {
		errs = append(errs, &Error{File: file(FileProcedure), Err: fmt.Errorf("xsd %q must be a relative path inside the directory", x)})
	} else if x != "" {
		if _, err := fs.Stat(fsys, x); err != nil {
			errs = append(errs, &Error{File: file(FileProcedure), Err: fmt.Errorf("xsd %q: %v", x, unwrapPath(err))})
		}
	}

	schemaJSON, err := read(FileSchema)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	if p.payload, err = transform.CompilePayloadSchema(p.meta.ID+" "+FileSchema, schemaJSON); err != nil {
		return nil, errors.Join(append(errs, &Error{File: file(FileSchema), Err: err})...)
	}
	doc, err := newSchemaDoc(schemaJSON)
	if err != nil {
		return nil, errors.Join(append(errs, &Error{File: file(FileSchema), Err: err})...)
	}
	mappingYAML, err := read(FileMapping)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	if p.mapping, err = compileMapping(file(FileMapping), mappingYAML, doc); err != nil {
		errs = append(errs, err)
	} else if ns := rootNamespace(p.mapping); ns != p.meta.Namespace && p.meta.Namespace != "" {
		errs = append(errs, &Error{File: file(FileMapping), Line: p.mapping.root.line,
			Err: fmt.Errorf("the root element's namespace %q is not the procedure's namespace %q (%s)", ns, p.meta.Namespace, FileProcedure)})
	}
	for _, rs := range p.meta.Rules {
		r, rerrs := compileRule(file(FileProcedure), rs, doc)
		errs = append(errs, rerrs...)
		p.rules = append(p.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if p.version, err = hashDir(fsys); err != nil {
		return nil, &Error{File: dir, Err: err}
	}
	return p, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func rootNamespace(m *mapping) string {
	prefix, _, ok := strings.Cut(m.root.tag, ":")
	if !ok {
		return ""
	}
	for _, ns := range m.namespaces {
		if ns[0] == prefix {
			return ns[1]
		}
	}
	return ""
}

var ruleCodes = []string{transform.CodeRequired, transform.CodeInvalid, transform.CodeOutOfRange, transform.CodeEnum, transform.CodeFormat}

func compileRule(file string, rs ruleSpec, doc *schemaDoc) (rule, []error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: rs.line, Pointer: rs.Pointer, Err: fmt.Errorf(format, args...)})
	}
	r := rule{spec: rs}
	if p, err := parsePointer(rs.Pointer); err != nil || p.relative {
		fail("rule pointer must be an absolute pointer into applicant, data or identity")
	} else if _, bad, ok := doc.follow(doc.top(), schemaCursor{}, p); !ok {
		fail("the payload schema (schema.json) allows no member %q here: the pointer can never resolve", bad)
	}
	if r.spec.Code == "" {
		r.spec.Code = transform.CodeInvalid
	}
	if !slices.Contains(ruleCodes, r.spec.Code) {
		fail("rule code %q is not one of %s", rs.Code, strings.Join(ruleCodes, ", "))
	}
	if rs.Message == "" || rs.MessageDE == "" {
		fail("a rule needs message and message_de (the problem in English and German; never quote the value)")
	}
	compile := func(src, what string) *program {
		prog, err := compileExpr(src, true)
		if err != nil {
			fail("%s %q: %v", what, src, firstLine(err.Error()))
			return nil
		}
		if ptr, bad, ok := doc.checkMembers(prog, doc.top(), nil); !ok {
			fail("%s %q: %s: the payload schema (schema.json) allows no member %q here: it is always nil", what, src, ptr, bad)
		}
		return &program{src: src, prog: prog}
	}
	if rs.If != "" {
		r.cond = compile(rs.If, "if")
	}
	if rs.Assert == "" {
		fail("a rule needs assert (an expression that is true for a valid submission)")
	} else {
		r.assert = compile(rs.Assert, "assert")
	}
	return r, errs
}

// hashDir returns "sha256:" and the hex SHA-256 of the directory's regular
// files, hidden ones (".name") left out: each one's slash-separated path, a
// NUL, its length, a NUL and its content, in path order.
func hashDir(fsys fs.FS) (string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil // editor and VCS files are not part of the procedure
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ID returns the procedure id of procedure.yaml.
func (p *Procedure) ID() string { return p.meta.ID }

// Name returns the display name of procedure.yaml.
func (p *Procedure) Name() string { return p.meta.Name }

// MessageType returns the Document.MessageType of the messages.
func (p *Procedure) MessageType() string { return p.meta.MessageType }

// XSD returns the path of the procedure's XSD inside its directory, "" for none.
func (p *Procedure) XSD() string { return p.meta.XSD }

// Dir returns the directory as named to Load.
func (p *Procedure) Dir() string { return p.dir }

// MappingVersion returns the content hash of the procedure directory,
// "sha256:" and 64 hex digits: it changes with every file of the directory
// (mapping, schema, rules, examples, XSD), so that an audit can name the
// mapping a message was built with.
func (p *Procedure) MappingVersion() string { return p.version }

// Validate reports every problem of s, each located by its JSON pointer into
// the request body, ordered by pointer: violations of schema.json (with the
// DIN SPEC 91379 formats), strings that fail transform.CheckText, and, when
// the payload passes both, the rules of procedure.yaml.
func (p *Procedure) Validate(s transform.Submission) []transform.FieldError {
	payload := s.Payload()
	errs := p.payload.Validate(payload)
	var text []transform.FieldError
	for _, k := range []string{"applicant", "data", "identity"} {
		if v, ok := payload[k]; ok {
			text = checkStrings(text, "/"+k, v)
		}
	}
	if len(errs) == 0 && len(text) == 0 && len(p.rules) > 0 {
		errs = p.checkRules(s, payload)
	}
	if len(text) > 0 {
		// A character CheckText reports is reported once, in its terms.
		bad := make(map[string]bool, len(text))
		for _, e := range text {
			bad[e.Pointer] = true
		}
		errs = slices.DeleteFunc(errs, func(e transform.FieldError) bool {
			return bad[e.Pointer] && e.Code == transform.CodeUnsupportedCharacter
		})
		errs = append(errs, text...)
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b transform.FieldError) int {
		return cmp.Or(cmp.Compare(a.Pointer, b.Pointer), cmp.Compare(a.Code, b.Code))
	})
	return slices.CompactFunc(errs, func(a, b transform.FieldError) bool {
		return a.Pointer == b.Pointer && a.Code == b.Code
	})
}

// checkStrings checks every string below v at pointer with transform.CheckText.
func checkStrings(errs []transform.FieldError, pointer string, v any) []transform.FieldError {
	switch v := v.(type) {
	case string:
		return append(errs, transform.CheckText(pointer, v)...)
	case map[string]any:
		for k, e := range v {
			errs = checkStrings(errs, transform.AppendPointer(pointer, k), e)
		}
	case []any:
		for i, e := range v {
			errs = checkStrings(errs, transform.AppendPointer(pointer, strconv.Itoa(i)), e)
		}
	}
	return errs
}

func (p *Procedure) checkRules(s transform.Submission, payload map[string]any) []transform.FieldError {
	if v, changed := exprNumbers(payload); changed {
		payload = v.(map[string]any)
	}
	r := renderer{payload: payload}
	payloadEnv(&r.env, payload)
	r.env.Submission = submissionOf(s)
	var errs []transform.FieldError
	for _, rl := range p.rules {
		if rl.cond != nil {
			ok, err := r.bool(rl.cond, rl.spec.line)
			if err != nil || !ok {
				if err != nil {
					errs = append(errs, ruleFailed(rl))
				}
				continue
			}
		}
		ok, err := r.bool(rl.assert, rl.spec.line)
		switch {
		case err != nil:
			errs = append(errs, ruleFailed(rl))
		case !ok:
			errs = append(errs, transform.FieldError{Pointer: rl.spec.Pointer, Code: rl.spec.Code,
				Message: rl.spec.Message, MessageDE: rl.spec.MessageDE})
		}
	}
	return errs
}

// ruleFailed is the problem of a rule whose expression failed to run: the
// submission cannot be shown to be valid.
func ruleFailed(rl rule) transform.FieldError {
	return transform.FieldError{Pointer: rl.spec.Pointer, Code: transform.CodeInvalid,
		Message: "could not be checked", MessageDE: "konnte nicht geprüft werden"}
}

// Map builds the message of in. It returns an error when in lacks what the
// Nachrichtenkopf requires (xoev.CheckInput, Behördenkennungen of the form
// praefix:kennung, a product name and manufacturer where the mapping writes
// them), then a *transform.ValidationError when the submission does not pass
// Validate, and an *Error naming mapping.yaml's line and the JSON pointer when
// a mapping step fails (a required value absent, a value outside its code
// list, an expression failing at run time).
func (p *Procedure) Map(in transform.Input) (transform.Document, error) {
	// The input first: the rules may compare with the day of receipt.
	if err := p.checkInput(in); err != nil {
		return transform.Document{}, err
	}
	if errs := p.Validate(in.Submission); errs != nil {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	return p.render(in)
}

// MapValidated is Map without Validate, for a submission that passed it
// (transform.ValidatedMapper).
func (p *Procedure) MapValidated(in transform.Input) (transform.Document, error) {
	if err := p.checkInput(in); err != nil {
		return transform.Document{}, err
	}
	return p.render(in)
}

func (p *Procedure) checkInput(in transform.Input) error {
	errs := xoev.CheckInput(in)
	errs = append(errs, xoev.CheckBehoerdenkennungen(in)...)
	if p.mapping.product && (in.Product.Name == "" || in.Product.Manufacturer == "") {
		errs = append(errs, errors.New("product name is empty or product manufacturer is empty"))
	}
	for _, v := range []struct{ what, value string }{
		{"author name", in.Author.Name}, {"reader name", in.Reader.Name},
		{"product name", in.Product.Name}, {"product manufacturer", in.Product.Manufacturer}, {"product version", in.Product.Version},
	} {
		if v.value != "" && transform.CheckName("", v.value) != nil {
			errs = append(errs, fmt.Errorf("%s is not DIN SPEC 91379 datatype B text", v.what))
		}
	}
	if errs != nil {
		return fmt.Errorf("%s: incomplete input: %w", p.meta.ID, errors.Join(errs...))
	}
	return nil
}

// render builds the message of a valid input.
func (p *Procedure) render(in transform.Input) (transform.Document, error) {
	payload := in.Submission.Payload()
	if v, changed := exprNumbers(payload); changed {
		payload = v.(map[string]any)
	}
	r := &renderer{file: p.mappingFile, payload: payload, in: &in}
	payloadEnv(&r.env, r.payload)
	r.env.Submission = submissionOf(in.Submission)
	r.env.Message = messageEnv{ID: strings.ToLower(in.MessageID), Created: xoev.Timestamp(in.CreatedAt)}
	r.env.Author, r.env.Reader = party(in.Author), party(in.Reader)
	r.env.Product = productEnv{Name: in.Product.Name, Manufacturer: in.Product.Manufacturer, Version: in.Product.Version}

	doc := xoev.NewDocument()
	m := p.mapping
	root := doc.CreateElement(m.root.tag)
	for _, ns := range m.namespaces {
		root.CreateAttr("xmlns:"+ns[0], ns[1])
	}
	if m.product {
		xoev.ProductAttrs(root, in.Product)
	}
	if err := r.attrs(root, m.root, nil, ""); err != nil {
		return transform.Document{}, err
	}
	if err := r.nodes(root, m.root.children, nil, ""); err != nil {
		return transform.Document{}, err
	}
	out, err := xoev.WriteBytes(doc)
	if err != nil {
		return transform.Document{}, fmt.Errorf("%s: write XML: %w", p.meta.ID, err)
	}
	return transform.Document{XML: out, MessageType: p.meta.MessageType}, nil
}
