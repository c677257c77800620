package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/postgres"
)

// EnvURL names the PostgreSQL server the tests use; CI sets it.
const EnvURL = "AMTSBOTE_TEST_POSTGRES"

// testDB creates a fresh database for this test binary and returns its URL.
func testDB(t *testing.T) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, but CI=true requires the PostgreSQL tests", EnvURL)
		}
		t.Skipf("%s not set: skipping PostgreSQL tests (e.g. %s=postgres://postgres@127.0.0.1:5432/test)", EnvURL, EnvURL)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", EnvURL, err)
	}
	defer admin.Close(ctx)
	name := "amtsbote_test_" + uuid.NewString()[:8]
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
	})
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
}

// opener returns an Opener whose stores share one fresh database, each with its own
// pool and listener, as separate processes would.
func opener(t *testing.T) outboxtest.Opener {
	url := testDB(t)
	return func(t *testing.T) outbox.Store {
		s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { outboxtest.Run(t, opener(t)) }

func TestWatermillUnordered(t *testing.T) { outboxtest.RunWatermill(t, opener(t), false) }

func TestWatermillOrdered(t *testing.T) { outboxtest.RunWatermill(t, opener(t), true) }
