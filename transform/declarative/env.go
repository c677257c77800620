package declarative

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin without depending on the host's zoneinfo

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

// env is what an expression sees. Its names are documented in
// docs/procedures.md ("Expressions").
type env struct {
	Applicant  any           `expr:"applicant"`  // the request member applicant (nil when absent)
	Data       any           `expr:"data"`       // the request member data
	Identity   any           `expr:"identity"`   // the request member identity
	Item       any           `expr:"item"`       // the current item of each or with
	Index      int           `expr:"index"`      // the index of the current item of each
	Submission submissionEnv `expr:"submission"` // the submission's ids and receipt
	Message    messageEnv    `expr:"message"`    // the message being built
	Author     partyEnv      `expr:"author"`     // the tenant's sending office
	Reader     partyEnv      `expr:"reader"`     // the destination authority
	Product    productEnv    `expr:"product"`    // the software that creates the message
}

type submissionEnv struct {
	ID        string `expr:"id"`        // lower case UUID
	Tenant    string `expr:"tenant"`    // tenant id
	Procedure string `expr:"procedure"` // procedure id
	Received  string `expr:"received"`  // xs:dateTime, UTC, whole seconds
	// ReceivedDate is the day of receipt in Europe/Berlin, "2006-01-02":
	// dates of the payload compare with it as strings.
	ReceivedDate string `expr:"received_date"`
}

type messageEnv struct {
	ID      string `expr:"id"`      // nachrichtenUUID, lower case
	Created string `expr:"created"` // erstellungszeitpunkt, xs:dateTime UTC
}

type partyEnv struct {
	ID               string `expr:"id"`
	Name             string `expr:"name"`
	Behoerdenkennung string `expr:"behoerdenkennung"` // "praefix:kennung" as configured
	Praefix          string `expr:"praefix"`          // the part before the colon
	Kennung          string `expr:"kennung"`          // the part after the colon
	AGS              string `expr:"ags"`
}

type productEnv struct {
	Name         string `expr:"name"`
	Manufacturer string `expr:"manufacturer"`
	Version      string `expr:"version"`
}

// berlin is the time zone of the day of receipt.
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

func party(p transform.Party) partyEnv {
	praefix, kennung, _ := strings.Cut(p.Kennung, ":")
	return partyEnv{ID: p.ID, Name: p.Name, Behoerdenkennung: p.Kennung, Praefix: praefix, Kennung: kennung, AGS: p.AGS}
}

func submissionOf(s transform.Submission) submissionEnv {
	e := submissionEnv{ID: strings.ToLower(s.ID), Tenant: s.Tenant, Procedure: s.Procedure}
	if !s.ReceivedAt.IsZero() {
		e.Received = xoev.Timestamp(s.ReceivedAt)
		e.ReceivedDate = s.ReceivedAt.In(berlin).Format(time.DateOnly)
	}
	return e
}

// payloadEnv sets the payload members of e from p (Submission.Payload).
func payloadEnv(e *env, p map[string]any) {
	e.Applicant, e.Data, e.Identity = nil, nil, nil
	if v, ok := p["applicant"]; ok {
		e.Applicant = v
	}
	if v, ok := p["data"]; ok {
		e.Data = v
	}
	if v, ok := p["identity"]; ok {
		e.Identity = v
	}
}

// Limits of expressions: the size of one expression and the memory one run
// may use (which bounds every loop a builtin such as map or filter makes).
const (
	maxExprNodes  = 500
	maxExprMemory = 100_000
)

// exprOptions are the compile options of every expression: the environment
// type, the functions of docs/procedures.md, and no builtin that reads the
// clock or iterates a map in random order, so that Map stays deterministic.
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.Env(env{}),
		expr.MaxNodes(maxExprNodes),
		expr.DisableBuiltin("now"),
		expr.DisableBuiltin("keys"),
		expr.DisableBuiltin("values"),
		expr.DisableBuiltin("toPairs"),
		expr.DisableBuiltin("groupBy"),
		expr.Function("addMonths", func(params ...any) (any, error) {
			s, _ := params[0].(string)
			n, _ := params[1].(int)
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return nil, fmt.Errorf("addMonths: %q is not a date", s)
			}
			return addMonths(t, n).Format(time.DateOnly), nil
		}, new(func(string, int) string)),
		expr.Function("isDate", func(params ...any) (any, error) {
			s, _ := params[0].(string)
			_, err := time.Parse(time.DateOnly, s)
			return err == nil, nil
		}, new(func(string) bool)),
	}
}

// addMonths moves t by months calendar months; a day the target month lacks
// becomes its last day (§ 188 Abs. 3 BGB), as xmeld.AddMonths.
func addMonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, t.Location())
}

// program is a compiled expression and where it was written.
type program struct {
	src  string
	prog *vm.Program
}

// run evaluates p in e with machine m (one per Map call, never shared).
func (p *program) run(m *vm.VM, e *env) (any, error) {
	m.MemoryBudget = maxExprMemory
	return m.Run(p.prog, e)
}

// exprNumbers returns v with every json.Number replaced by an int (an
// integer that fits) or a float64, so that expressions compute and compare
// numbers; maps and slices without numbers are shared, not copied. changed
// reports whether v had any number.
func exprNumbers(v any) (out any, changed bool) {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 0); err == nil {
			return int(i), true
		}
		if f, err := strconv.ParseFloat(string(t), 64); err == nil && !math.IsInf(f, 0) {
			return f, true
		}
		return t, false
	case map[string]any:
		var cp map[string]any
		for k, e := range t {
			if ne, ch := exprNumbers(e); ch {
				if cp == nil {
					cp = maps.Clone(t)
				}
				cp[k] = ne
			}
		}
		if cp != nil {
			return cp, true
		}
	case []any:
		var cp []any
		for i, e := range t {
			if ne, ch := exprNumbers(e); ch {
				if cp == nil {
					cp = slices.Clone(t)
				}
				cp[i] = ne
			}
		}
		if cp != nil {
			return cp, true
		}
	}
	return v, false
}
