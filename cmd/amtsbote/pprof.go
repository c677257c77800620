package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
)

// envPprofListen names the address of Go's profiling endpoints
// (/debug/pprof/), for benchmarks and performance analysis; off when unset.
// They have no authentication and reveal internals: loopback only.
const envPprofListen = "AMTSBOTE_PPROF_LISTEN"

// pprofPart serves /debug/pprof/ on addr, or is off when addr is empty. It
// is not essential: when it cannot serve, it logs why and the service runs on.
func pprofPart(addr string, logger *slog.Logger) part {
	p := part{name: "profiling endpoints"}
	if addr == "" {
		return p
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p.run = func(ctx context.Context) error {
		logger.Warn("profiling endpoints listening; keep them on loopback", slog.String("listen", addr))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			srv := &httpServer{srv: &http.Server{Handler: portalapi.SecurityHeaders(mux), ReadHeaderTimeout: 5 * time.Second}, ln: ln, timeout: time.Second}
			err = srv.Run(ctx)
		}
		if err != nil && ctx.Err() == nil {
			logger.Error("profiling endpoints stopped", slog.Any("error", err))
		}
		return nil
	}
	return p
}
