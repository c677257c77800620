package config

import "net"

// Metrics configures the listener of the operations endpoints: Prometheus
// metrics (/metrics) and the health probes (/healthz, /readyz).
type Metrics struct {
	// Listen is the TCP address, host:port. Empty: no such listener. Keep it
	// on loopback or a management network; it has no authentication. The
	// serve flag --metrics-listen overrides it.
	Listen string `yaml:"listen"`
}

// validate checks the listener against the other two; Config.Validate
// calls it with path "metrics".
func (m *Metrics) validate(path string, c *Config, v *validator) {
	if m.Listen == "" {
		return
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		v.add(path+".listen", "must be host:port: %v", unwrapAddrError(err))
		return
	}
	switch m.Listen {
	case c.Server.Listen:
		v.add(path+".listen", "must differ from server.listen")
	case c.Admin.Listen:
		if c.Admin.Enabled() {
			v.add(path+".listen", "must differ from admin.listen")
		}
	}
}
