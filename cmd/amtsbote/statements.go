package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox/postgres"
)

// statementCounter returns the counter of database.count_statements, nil
// when it is off or the store is not PostgreSQL.
func statementCounter(cfg config.Database) *postgres.StatementCounter {
	if !cfg.CountStatements || cfg.URL == "" {
		return nil
	}
	return &postgres.StatementCounter{}
}

// registerStatementCounter exposes c's counts on the metrics listener.
func registerStatementCounter(m *metrics.Metrics, c *postgres.StatementCounter) error {
	if c == nil {
		return nil
	}
	for _, f := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "db_statements_total",
			Help: "Statements sent to PostgreSQL (database.count_statements, a diagnostic)."},
			func() float64 { return float64(c.Statements()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "db_round_trips_total",
			Help: "Round trips to PostgreSQL: queries, batches and prepares (database.count_statements, a diagnostic)."},
			func() float64 { return float64(c.RoundTrips()) }),
	} {
		if err := m.Registry().Register(f); err != nil {
			return err
		}
	}
	return nil
}
