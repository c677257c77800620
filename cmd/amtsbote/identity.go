package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
)

// loadIdentityTokens returns the registry of the identity providers' key
// sets, with every portal's key sets loaded: a key set file that cannot be
// read stops the start; a failing key set URL is logged and fetched again
// when a token needs it.
func loadIdentityTokens(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*idtoken.Registry, error) {
	reg := idtoken.NewRegistry(idtoken.Options{Logger: logger})
	var errs []error
	for i := range cfg.Portals {
		if t := cfg.Portals[i].IdentityToken; t != nil {
			if err := reg.Load(ctx, t); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return reg, errors.Join(errs...)
}
