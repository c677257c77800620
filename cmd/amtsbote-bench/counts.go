package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// statsFlushWait is how long PostgreSQL backends may keep their
// statistics before they report them once idle (PGSTAT_IDLE_INTERVAL, 10s,
// plus a margin): the database counters are read after it.
const statsFlushWait = 11 * time.Second

// costs is a snapshot of the counters whose differences over the load
// phase give the cost per submission. NaN marks a figure not available.
type costs struct {
	statements, roundTrips float64 // the gateway's pgx tracer (database.count_statements)
	commits                float64 // pg_stat_database.xact_commit of the run's database
	rowsFetched            float64 // pg_stat_database.tup_fetched of the run's database
	walRecords, walBytes   float64 // pg_stat_wal: the whole server
	walSyncs               float64
	gatewayCPU             time.Duration // the gateway process
	databaseCPU            time.Duration // the PostgreSQL server's processes (all of them)
	harnessCPU             time.Duration // this process
	machineCPU             time.Duration // every CPU, busy time
}

// cpuCosts reads the CPU figures from /proc.
func cpuCosts(c *costs, gatewayPID int) {
	c.gatewayCPU, c.machineCPU = -1, -1
	if s, err := sampleCPU(gatewayPID); err == nil {
		c.gatewayCPU, c.machineCPU = s.gateway, s.machine
	}
	c.harnessCPU = procCPU("self")
	c.databaseCPU = postgresCPU()
}

// procCPU is utime+stime of /proc/<pid>/stat; -1 if unreadable.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: fields count from after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+st) * clockTick
}

// procComm is the command name of /proc/<pid>/comm.
func procComm(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// postgresCPU sums the CPU of the processes named postgres on this machine:
// the server, its background processes and backends (of every database;
// backends that ended during the run are missed, the gateway's pool keeps
// its connections). -1 when none is visible (a server elsewhere).
func postgresCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	var sum time.Duration
	found := false
	for _, e := range entries {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' || procComm(pid) != "postgres" {
			continue
		}
		if t := procCPU(pid); t >= 0 {
			sum += t
			found = true
		}
	}
	if !found {
		return -1
	}
	return sum
}

// databaseCosts reads the PostgreSQL counters of the run's database dbURL
// into c, over conn (kept open for the run: its own statements are two
// per snapshot).
func databaseCosts(ctx context.Context, conn *pgx.Conn, c *costs) error {
	if _, err := conn.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, `SELECT xact_commit, tup_fetched FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&c.commits, &c.rowsFetched); err != nil {
		return fmt.Errorf("pg_stat_database: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT wal_records, wal_bytes, wal_sync FROM pg_stat_wal`).
		Scan(&c.walRecords, &c.walBytes, &c.walSyncs); err != nil {
		return fmt.Errorf("pg_stat_wal: %w", err)
	}
	return nil
}

// statementCosts reads the gateway's statement counters from its metrics
// listener at addr into c; NaN when it does not expose them.
func statementCosts(ctx context.Context, addr string, c *costs) error {
	c.statements, c.roundTrips = math.NaN(), math.NaN()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("read gateway metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("read gateway metrics: status %d", resp.StatusCode)
	}
	return parseStatementMetrics(resp.Body, c)
}

// parseStatementMetrics takes amtsbote_db_statements_total and
// amtsbote_db_round_trips_total from a Prometheus text exposition.
func parseStatementMetrics(r io.Reader, c *costs) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "amtsbote_db_statements_total":
			dst = &c.statements
		case "amtsbote_db_round_trips_total":
			dst = &c.roundTrips
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return fmt.Errorf("metric %s: %w", name, err)
		}
		*dst = v
	}
	return sc.Err()
}

// addCosts adds the differences after-before per delivered submission to r.
func addCosts(r *report, before, after costs, delivered int) {
	per := func(a, b float64) float64 {
		if delivered == 0 || math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		return (a - b) / float64(delivered)
	}
	perCPU := func(a, b time.Duration) float64 {
		if a < 0 || b < 0 {
			return math.NaN()
		}
		return per(ms(a), ms(b))
	}
	r.add("statements per submission", "", per(after.statements, before.statements))
	r.add("round trips per submission", "", per(after.roundTrips, before.roundTrips))
	r.add("commits per submission", "", per(after.commits, before.commits))
	r.add("rows fetched per submission", "", per(after.rowsFetched, before.rowsFetched))
	r.add("WAL records per submission (server-wide)", "", per(after.walRecords, before.walRecords))
	r.add("WAL bytes per submission (server-wide)", "bytes", per(after.walBytes, before.walBytes))
	r.add("WAL syncs per submission (server-wide)", "", per(after.walSyncs, before.walSyncs))
	r.add("machine CPU per delivered submission", "ms", perCPU(after.machineCPU, before.machineCPU))
	r.add("  gateway CPU per delivered submission", "ms", perCPU(after.gatewayCPU, before.gatewayCPU))
	r.add("  database CPU per delivered submission", "ms", perCPU(after.databaseCPU, before.databaseCPU))
	r.add("  harness CPU per delivered submission", "ms", perCPU(after.harnessCPU, before.harnessCPU))
}

// snapshotCosts takes the CPU and statement counters and, on PostgreSQL
// (conn not nil), the database's once its backends reported their
// statistics (statsFlushWait). With dbFirst (before the load) the database
// is read first, so that the wait's idle time stays out of the CPU figures;
// else (after the load) last.
func snapshotCosts(ctx context.Context, s *setup, conn *pgx.Conn, c *costs, dbFirst bool) error {
	c.commits, c.rowsFetched = math.NaN(), math.NaN()
	c.walRecords, c.walBytes, c.walSyncs = math.NaN(), math.NaN(), math.NaN()
	readDB := func() error {
		if conn == nil {
			return nil
		}
		select {
		case <-time.After(statsFlushWait):
		case <-ctx.Done():
			return ctx.Err()
		}
		return databaseCosts(ctx, conn, c)
	}
	if dbFirst {
		if err := readDB(); err != nil {
			return err
		}
	}
	cpuCosts(c, s.gw.cmd.Process.Pid)
	if err := statementCosts(ctx, s.metrics, c); err != nil {
		return err
	}
	if !dbFirst {
		return readDB()
	}
	return nil
}

// loadedRuns counts the runs that started at a 1-minute load of 1 or more.
func loadedRuns(runs []report) int {
	n := 0
	for _, r := range runs {
		if r.get("load average (1 min) at start") >= 1 {
			n++
		}
	}
	return n
}
