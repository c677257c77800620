package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/config"
)

//go:embed testdata/submission.json
var defaultBody []byte

// portalKey is the API key of the generated configuration's portal.
const portalKey = "bench-key"

// envPprof names the listen address of the gateway's pprof endpoint, passed to
// the gateway with -pprof. The gateway needs support for it (see BENCHMARKS.md).
const envPprof = "AMTSBOTE_PPROF_LISTEN"

type options struct {
	counts              bool
	stores              []string
	pg                  string
	binary              string
	bodyPath            string
	n, c                int
	rate                float64
	duration            time.Duration
	runs                int
	deliveryConcurrency int
	pgMaxConns          int
	baselines           bool
	watermillRuns       int
	jsonPath            string
	cpuprofile          string
	pprofAddr           string
	profileSeconds      int
	crashloop           bool
	killMin, killMax    time.Duration
	keep                bool
	uploadSize          int64 // upload mode when positive (upload.go)
	uploadFormat        string
	uploadDests         int
	fitconnect          bool // FIT-Connect pickup mode (fitconnect.go)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("amtsbote-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stores := fs.String("store", "sqlite", "store(s) to measure, comma-separated: sqlite, postgres")
	fs.StringVar(&o.pg, "pg", os.Getenv("AMTSBOTE_TEST_POSTGRES"), "PostgreSQL server URL; each run creates and drops its own database (default $AMTSBOTE_TEST_POSTGRES)")
	fs.StringVar(&o.binary, "binary", "", "amtsbote binary to run (default: go build ./cmd/amtsbote into a temporary directory)")
	fs.StringVar(&o.bodyPath, "body", "", "submission JSON to send (default: the embedded Wohnungsgeberbestätigung, testdata/submissions/demo.json)")
	fs.IntVar(&o.n, "n", 5000, "submissions per run (closed loop, and for the baselines)")
	fs.IntVar(&o.c, "c", 64, "concurrent clients (and baseline goroutines)")
	fs.Float64Var(&o.rate, "rate", 0, "fixed-rate mode: submissions per second for -duration instead of -n as fast as possible")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "length of a fixed-rate run")
	fs.IntVar(&o.runs, "runs", 1, "repeat each measurement and report the median of every figure")
	fs.IntVar(&o.deliveryConcurrency, "delivery-concurrency", 16, "relay.concurrency of the gateway: deliveries in flight")
	fs.IntVar(&o.pgMaxConns, "pg-max-conns", 0, "pool_max_conns of the gateway's PostgreSQL URL (0: the gateway's database.max_conns, default 16)")
	fs.BoolVar(&o.counts, "counts", true, "report costs per submission: statements and round trips (the gateway's database.count_statements), commits and WAL (pg_stat_database, pg_stat_wal), CPU of gateway, database and harness (/proc); waits 11s after each run for PostgreSQL's statistics")
	fs.BoolVar(&o.baselines, "baselines", true, "also measure the baselines (pgx and watermill-sql on PostgreSQL, database/sql on SQLite)")
	fs.IntVar(&o.watermillRuns, "watermill-runs", 3, "runs of the watermill-sql baseline after each gateway run; the ratio takes their median (one run's rate swings by up to 2x between runs)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the reports as JSON to this file")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the first run's load phase: the gateway's, with -pprof, else the harness's")
	fs.StringVar(&o.pprofAddr, "pprof", "", "pprof listen address to give the gateway ("+envPprof+"); -cpuprofile then fetches its profile")
	fs.IntVar(&o.profileSeconds, "profile-seconds", 10, "length of the gateway CPU profile")
	fs.BoolVar(&o.crashloop, "crashloop", false, "crash-loop mode: SIGKILL the gateway at random intervals while clients retry; checks lost = 0")
	fs.DurationVar(&o.killMin, "kill-min", 2*time.Second, "crash loop: shortest time between kills")
	fs.DurationVar(&o.killMax, "kill-max", 10*time.Second, "crash loop: longest time between kills")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (configuration, gateway log, SQLite files)")
	fs.BoolVar(&o.fitconnect, "fitconnect", false, "FIT-Connect mode: -n submissions through the portal API, then -n picked up from a local fake Zustelldienst; reports both rates")
	upload := fs.String("upload", "", "upload mode: -n submissions (default 5) one at a time, each with one generated PDF of this size (e.g. 64MiB; KiB, MiB, GiB), delivered to file drops")
	fs.StringVar(&o.uploadFormat, "upload-format", "multipart", "upload mode: multipart (the file as a streamed part) or json (base64 in the JSON body)")
	fs.IntVar(&o.uploadDests, "upload-destinations", 2, "upload mode: 1 (an XÖV file drop) or 2 (plus an xdomea file drop)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *upload != "" {
		size, err := parseSize(*upload)
		if err != nil {
			fmt.Fprintln(stderr, "amtsbote-bench: -upload:", err)
			return 2
		}
		o.uploadSize = size
		nSet := false
		fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
		if !nSet {
			o.n = 5
		}
		if o.uploadFormat != "multipart" && o.uploadFormat != "json" {
			fmt.Fprintf(stderr, "amtsbote-bench: -upload-format %q: want multipart or json\n", o.uploadFormat)
			return 2
		}
		if o.uploadDests != 1 && o.uploadDests != 2 {
			fmt.Fprintln(stderr, "amtsbote-bench: -upload-destinations must be 1 or 2")
			return 2
		}
		if o.crashloop || o.rate > 0 {
			fmt.Fprintln(stderr, "amtsbote-bench: -upload cannot be combined with -crashloop or -rate")
			return 2
		}
	}
	o.stores = strings.Split(*stores, ",")
	for _, s := range o.stores {
		if s != "sqlite" && s != "postgres" {
			fmt.Fprintf(stderr, "amtsbote-bench: unknown store %q\n", s)
			return 2
		}
		if s == "postgres" && o.pg == "" {
			fmt.Fprintln(stderr, "amtsbote-bench: -store postgres needs -pg or AMTSBOTE_TEST_POSTGRES")
			return 2
		}
	}
	if o.n < 1 || o.c < 1 || o.runs < 1 || o.watermillRuns < 1 || o.rate < 0 || o.killMin <= 0 || o.killMax < o.killMin {
		fmt.Fprintln(stderr, "amtsbote-bench: -n, -c, -runs and -watermill-runs must be positive, -rate not negative, 0 < -kill-min <= -kill-max")
		return 2
	}
	if err := benchMain(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "amtsbote-bench:", err)
		return 1
	}
	return 0
}

func benchMain(ctx context.Context, o options, stdout, stderr io.Writer) error {
	work, err := os.MkdirTemp("", "amtsbote-bench")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stderr, "working directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	if o.binary == "" {
		fmt.Fprintln(stderr, "building ./cmd/amtsbote ...")
		if o.binary, err = buildGateway(ctx, work); err != nil {
			return err
		}
	}
	body := defaultBody
	if o.bodyPath != "" {
		if body, err = os.ReadFile(o.bodyPath); err != nil {
			return err
		}
	}
	var reports []report
	for _, store := range o.stores {
		var runs []report
		var title string
		for i := range o.runs {
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", store, i+1))
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			var r report
			switch {
			case o.crashloop:
				r, err = crashLoop(ctx, o, store, dir, body, stderr)
			case o.uploadSize > 0:
				r, err = uploadRun(ctx, o, store, dir, body, stderr)
			case o.fitconnect:
				r, err = fitconnectRun(ctx, o, store, dir, body, stderr)
			default:
				r, err = benchRun(ctx, o, store, dir, body, i == 0, stderr)
			}
			if err != nil {
				return fmt.Errorf("%s run %d: %w", store, i+1, err)
			}
			title = r.Title
			fmt.Fprintf(stderr, "run %d of %d done:\n", i+1, o.runs)
			_ = writeTable(stderr, r)
			runs = append(runs, r)
		}
		m := medianReport(title, runs)
		if loaded := loadedRuns(runs); loaded > 0 {
			m.Notes = append(m.Notes, fmt.Sprintf("%d of %d runs started at a 1-minute load of 1 or more: measured under load, not on a quiet machine", loaded, len(runs)))
		}
		reports = append(reports, m)
		if err := writeTable(stdout, m); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	if o.jsonPath != "" {
		f, err := os.Create(o.jsonPath)
		if err != nil {
			return err
		}
		defer f.Close()
		return writeJSON(f, reports)
	}
	return nil
}

// loadAverage is the 1-minute load average from /proc/loadavg.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

// database is a fresh PostgreSQL database for one run.
type database struct {
	url  string
	drop func()
}

// newDatabase creates an empty database on the server base names.
func newDatabase(ctx context.Context, base string) (database, error) {
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return database{}, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	name := "amtsbote_bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return database{}, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return database{}, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
	}
	return database{url: u.String(), drop: drop}, nil
}

// withPoolSize sets pool_max_conns on a PostgreSQL URL (pgxpool reads it).
func withPoolSize(dbURL string, n int) string {
	if n <= 0 {
		return dbURL
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(n))
	u.RawQuery = q.Encode()
	return u.String()
}

// setup starts the receiver and a gateway for store in dir. The returned
// cleanup stops both and drops the database.
type setup struct {
	gw      *gateway
	recv    *receiver
	dbURL   string // the gateway's database, PostgreSQL only
	metrics string // the gateway's metrics listener, with -counts
	cleanup func()
}

func newSetup(ctx context.Context, o options, store, dir string, lease time.Duration) (*setup, error) {
	return newSetupExtra(ctx, o, store, dir, lease, "")
}

// newSetupExtra is newSetup with extra YAML in the configuration
// (gatewayConfig.Extra).
func newSetupExtra(ctx context.Context, o options, store, dir string, lease time.Duration, extra string) (*setup, error) {
	s := &setup{}
	var cleanups []func()
	s.cleanup = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (*setup, error) {
		s.cleanup()
		return nil, err
	}
	cfg := gatewayConfig{Dir: dir, KeyHash: config.HashKey(portalKey), Concurrency: o.deliveryConcurrency, Lease: lease, Extra: extra,
		Clients: o.c}
	if store == "postgres" {
		db, err := newDatabase(ctx, o.pg)
		if err != nil {
			return fail(err)
		}
		cleanups = append(cleanups, db.drop)
		s.dbURL = db.url
		cfg.DatabaseURL = withPoolSize(db.url, o.pgMaxConns)
	}
	if o.counts {
		addr, err := freeAddr()
		if err != nil {
			return fail(err)
		}
		cfg.MetricsAddr, s.metrics = addr, addr
		cfg.CountStatements = store == "postgres"
	}
	recv, err := newReceiver()
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() { _ = recv.close() })
	s.recv = recv
	cfg.ReceiverURL = recv.url
	path, err := writeGatewayConfig(dir, cfg)
	if err != nil {
		return fail(err)
	}
	gw, err := launch(ctx, o, path, dir)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() { _ = gw.close() })
	s.gw = gw
	return s, nil
}

// launch checks the generated configuration at path and starts the
// gateway on it, logging to dir/gateway.log; the caller closes it.
func launch(ctx context.Context, o options, path, dir string) (*gateway, error) {
	if err := checkConfig(path); err != nil {
		return nil, fmt.Errorf("generated configuration: %w", err)
	}
	env := []string{config.EnvDatabaseURL + "="}
	if o.pprofAddr != "" {
		env = append(env, envPprof+"="+o.pprofAddr)
	}
	gw, err := newGateway(o.binary, path, filepath.Join(dir, "gateway.log"), env)
	if err != nil {
		return nil, err
	}
	if err := gw.start(ctx); err != nil {
		_ = gw.close()
		return nil, err
	}
	return gw, nil
}

// profiler records a CPU profile of the load phase: the gateway's when it
// serves pprof, else the harness's own.
type profiler struct {
	stop func() (note string)
}

func startProfile(o options) (*profiler, error) {
	if o.cpuprofile == "" {
		return &profiler{stop: func() string { return "" }}, nil
	}
	f, err := os.Create(o.cpuprofile)
	if err != nil {
		return nil, err
	}
	if o.pprofAddr != "" {
		done := make(chan string, 1)
		go func() {
			u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", o.pprofAddr, o.profileSeconds)
			resp, err := http.Get(u)
			if err == nil && resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				err = errors.New(resp.Status)
			}
			if err != nil {
				done <- fmt.Sprintf("gateway CPU profile not available (%v): the gateway needs %s support", err, envPprof)
				return
			}
			defer resp.Body.Close()
			if _, err := io.Copy(f, resp.Body); err != nil {
				done <- "gateway CPU profile incomplete: " + err.Error()
				return
			}
			done <- fmt.Sprintf("gateway CPU profile (%ds of the load) in %s", o.profileSeconds, o.cpuprofile)
		}()
		return &profiler{stop: func() string { n := <-done; f.Close(); return n }}, nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return &profiler{stop: func() string {
		pprof.StopCPUProfile()
		f.Close()
		return "CPU profile of the harness (not the gateway; use -pprof for that) in " + o.cpuprofile
	}}, nil
}
