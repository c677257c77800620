package main

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// envPprofListen names the address of Go's profiling endpoints
// (/debug/pprof/), for benchmarks and performance analysis; off when unset.
// They have no authentication and reveal internals: loopback only.
const envPprofListen = "AMTSBOTE_PPROF_LISTEN"

// startPprof serves /debug/pprof/ on addr until the process ends.
func startPprof(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	logger.Warn("profiling endpoints listening; keep them on loopback", slog.String("listen", addr))
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("profiling endpoints stopped", slog.Any("error", err))
		}
	}()
}
