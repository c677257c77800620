package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
)

// loadIdentityTokens returns the registry of the identity providers' key
// sets, with the key sets of every portal and FIT-Connect subscriber loaded: a key set file that cannot be
// read stops the start; a failing key set URL is logged and fetched again
// when a token needs it.
func loadIdentityTokens(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*idtoken.Registry, error) {
	reg := idtoken.NewRegistry(idtoken.Options{Logger: logger})
	var errs []error
	var tokens []*config.IdentityToken
	for i := range cfg.Portals {
		tokens = append(tokens, cfg.Portals[i].IdentityToken)
	}
	for i := range cfg.FitConnect.Subscribers {
		tokens = append(tokens, cfg.FitConnect.Subscribers[i].IdentityToken)
	}
	for _, t := range tokens {
		if t == nil {
			continue
		}
		if err := reg.Load(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return reg, errors.Join(errs...)
}
