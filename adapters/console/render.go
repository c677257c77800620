package console

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pageNames are the templates under templates/, each rendered inside layout.html.
var pageNames = []string{"login", "error", "overview", "dead", "message", "confirm", "confirmall", "search", "health", "answers", "answer", "confirmanswer"}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, nil
}

// view is the data of every page: the layout's and the page's own (Data).
type view struct {
	Lang     string
	Title    string
	Page     string
	Operator string // display name; empty on the login page
	Full     bool
	CSRF     string
	Prefix   string
	Data     any
	tr       map[string]string
}

// T translates key into the page's language.
func (v view) T(key string) string {
	if s, ok := v.tr[key]; ok {
		return s
	}
	if s, ok := texts["de"][key]; ok {
		return s
	}
	return key
}

// lang picks English where Accept-Language prefers it to German, else German.
func lang(r *http.Request) string {
	best, bestQ := "de", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (base == "de" || base == "en") && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// render writes page with data; s is nil on pages before login.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, s *request, status int, page, titleKey string, data any, csrf string) {
	l := lang(r)
	v := view{Lang: l, Page: page, Prefix: Prefix, Data: data, tr: texts[l], CSRF: csrf}
	v.Title = v.T(titleKey)
	if s != nil {
		v.CSRF = s.csrf
		v.Full = s.op.Full()
		v.Operator = s.op.Name
		if s.op.Full() {
			v.Operator = v.T("admin.full")
		}
	}
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, v); err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "console page failed", slog.String("page", page), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", l)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct{ Message string }

// fail renders the error page with the text of key.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *request, status int, key string) {
	h.render(w, r, s, status, "error", "err.title", errorData{Message: key}, "")
}

// internal logs err and renders a 500 page.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, s *request, err error) {
	h.log.LogAttrs(r.Context(), slog.LevelError, "console request failed", slog.String("route", r.Pattern), slog.Any("error", err))
	h.fail(w, r, s, http.StatusInternalServerError, "err.internal")
}
