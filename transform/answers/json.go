package answers

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/transform"
)

// SchemaJSON is the JSON Schema (draft 2020-12) of the JSON answer.
//
//go:embed answer.schema.json
var SchemaJSON []byte

var compiled = sync.OnceValues(func() (*transform.PayloadSchema, error) {
	return transform.CompilePayloadSchema("answer.schema.json", SchemaJSON)
})

// jsonAnswer is the JSON answer as the schema describes it.
type jsonAnswer struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Reference    string `json:"reference"`
	SubmissionID string `json:"submission_id"`
	SentAt       string `json:"sent_at"`
	Aktenzeichen string `json:"aktenzeichen"`
	Text         string `json:"text"`
	Findings     []struct {
		Code     string `json:"code"`
		Document string `json:"document"`
		Text     string `json:"text"`
	} `json:"findings"`
	Deadline string `json:"deadline"`
	Decision *struct {
		Outcome string `json:"outcome"`
		Text    string `json:"text"`
		Date    string `json:"date"`
	} `json:"decision"`
	Attachments []struct {
		ID        string `json:"id"`
		Title     string `json:"title"`
		FileName  string `json:"filename"`
		MediaType string `json:"media_type"`
		Content   string `json:"content"`
	} `json:"attachments"`
}

var jsonKinds = map[string]Kind{
	"received":    KindReceived,
	"case_number": KindCaseNumber,
	"incomplete":  KindIncomplete,
	"complete":    KindComplete,
	"decided":     KindDecided,
	"rejected":    KindRejected,
}

func parseJSON(body []byte, maxDepth int) (Answer, error) {
	if !utf8.Valid(body) {
		return Answer{}, &Error{Reason: "the body is not valid UTF-8"}
	}
	v, err := decodeStrict(body, maxDepth)
	if err != nil {
		return Answer{}, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Answer{}, &Error{Path: "", Reason: "the body is not a JSON object"}
	}
	schema, err := compiled()
	if err != nil {
		return Answer{}, &Error{Reason: "the answer schema does not compile", Err: err}
	}
	if fes := schema.Validate(obj); len(fes) > 0 {
		fe := fes[0]
		e := &Error{Path: fe.Pointer, Reason: fe.Message}
		if fe.Pointer == "/reference" && fe.Code == transform.CodeRequired {
			e.Reason = "is required, or submission_id: the answer refers to no message"
			e.Err = ErrNoReference
		}
		if fe.Pointer == "/type" {
			e.Err = ErrUnknownType
		}
		return Answer{}, e
	}
	var j jsonAnswer
	if err := json.Unmarshal(body, &j); err != nil {
		return Answer{}, &Error{Reason: "the body does not decode", Err: errors.New("json shape")}
	}
	a := Answer{Type: TypeJSON, Kind: jsonKinds[j.Type], MessageID: j.ID,
		Reference: strings.ToLower(j.Reference), SubmissionReference: strings.ToLower(j.SubmissionID),
		Aktenzeichen: strings.TrimSpace(j.Aktenzeichen), Information: j.Text}
	if isUUID(a.MessageID) {
		a.MessageID = strings.ToLower(a.MessageID)
	}
	if a.SentAt, err = time.Parse(time.RFC3339Nano, j.SentAt); err != nil {
		return Answer{}, &Error{Path: "/sent_at", Reason: "must be a valid date-time"}
	}
	a.SentAt = a.SentAt.UTC()
	for _, f := range j.Findings {
		a.Findings = append(a.Findings, Finding(f))
	}
	if j.Deadline != "" {
		a.Frist, _ = time.Parse(time.DateOnly, j.Deadline) // the schema checked the format
	}
	if d := j.Decision; d != nil {
		a.Decision = &Decision{Outcome: d.Outcome, Text: d.Text}
		if a.Kind == KindRejected {
			a.Decision.Outcome = OutcomeRejected
		}
		if d.Date != "" {
			a.Decision.Date, _ = time.Parse(time.DateOnly, d.Date)
		} else {
			a.Decision.Date = a.SentAt
		}
	}
	for i, at := range j.Attachments {
		p := "/attachments/" + strconv.Itoa(i)
		if reason := checkFileName(at.FileName); reason != "" {
			return Answer{}, &Error{Path: p + "/filename", Reason: reason}
		}
		data, err := base64.StdEncoding.DecodeString(at.Content)
		if err != nil {
			return Answer{}, &Error{Path: p + "/content", Reason: "is not base64 (RFC 4648, with padding)"}
		}
		a.Attachments = append(a.Attachments, Attachment{ID: at.ID, Title: at.Title, FileName: at.FileName, MediaType: at.MediaType, Data: data})
	}
	return a, nil
}

// decodeStrict decodes one JSON value as encoding/json would into an any
// with UseNumber, refusing nesting deeper than maxDepth, an object with
// two members of the same name, and anything after the value. Errors name
// the JSON pointer where they were found, never the content.
func decodeStrict(body []byte, maxDepth int) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	v, err := jsonValue(d, "", 0, maxDepth)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, &Error{Reason: "the body has data after the JSON value"}
	}
	return v, nil
}

func jsonValue(d *json.Decoder, ptr string, depth, maxDepth int) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, jsonSyntax(ptr, err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= maxDepth {
		return nil, &Error{Path: ptr, Reason: "values are nested deeper than the limit", Err: ErrTooDeep}
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, jsonSyntax(ptr, err)
			}
			k, _ := kt.(string)
			p := transform.AppendPointer(ptr, k)
			if _, dup := obj[k]; dup {
				return nil, &Error{Path: p, Reason: "is a duplicate member"}
			}
			v, err := jsonValue(d, p, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		if _, err := d.Token(); err != nil {
			return nil, jsonSyntax(ptr, err)
		}
		return obj, nil
	default: // '['
		var arr []any
		for i := 0; d.More(); i++ {
			v, err := jsonValue(d, transform.AppendPointer(ptr, strconv.Itoa(i)), depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := d.Token(); err != nil {
			return nil, jsonSyntax(ptr, err)
		}
		return arr, nil
	}
}

// jsonSyntax words a decoder error without its content: encoding/json
// quotes the offending character, which is part of the body.
func jsonSyntax(ptr string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &Error{Path: ptr, Reason: "the body is not valid JSON (syntax error at byte " + strconv.FormatInt(se.Offset, 10) + ")"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Path: ptr, Reason: "the body is not valid JSON (unexpected end)"}
	default:
		return &Error{Path: ptr, Reason: "the body is not valid JSON"}
	}
}
