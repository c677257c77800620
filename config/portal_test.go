package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPortalAccessValidation(t *testing.T) {
	t.Parallel()
	const (
		fp    = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
		p0    = "portals[0]"
		withC = "ca.pem"
	)
	tlsOn := func(c *Config) { c.Server.TLS = ServerTLS{CertFile: "s.pem", KeyFile: "s.key", ClientCAFile: withC} }
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"tls off", func(*Config) {}, nil},
		{"tls with client ca", tlsOn, nil},
		{"tls cert without key", func(c *Config) { c.Server.TLS.CertFile = "s.pem" }, []string{"server.tls"}},
		{"tls key without cert", func(c *Config) { c.Server.TLS.KeyFile = "s.key" }, []string{"server.tls"}},
		{"client ca without tls", func(c *Config) { c.Server.TLS.ClientCAFile = withC }, []string{"server.tls.client_ca_file"}},
		{"client cert by cn", func(c *Config) { tlsOn(c); c.Portals[0].ClientCert = &ClientCert{SubjectCN: "portal-a"} }, nil},
		{"client cert by fingerprint", func(c *Config) { tlsOn(c); c.Portals[0].ClientCert = &ClientCert{SHA256Fingerprint: fp} }, nil},
		{"client cert empty", func(c *Config) { tlsOn(c); c.Portals[0].ClientCert = &ClientCert{} }, []string{p0 + ".client_cert"}},
		{"client cert bad fingerprint", func(c *Config) {
			tlsOn(c)
			c.Portals[0].ClientCert = &ClientCert{SHA256Fingerprint: "abc"}
		}, []string{p0 + ".client_cert.sha256_fingerprint"}},
		{"client cert without client ca", func(c *Config) { c.Portals[0].ClientCert = &ClientCert{SubjectCN: "x"} }, []string{p0 + ".client_cert"}},
		{"rate limit", func(c *Config) { c.Portals[0].RateLimit = &RateLimit{PerSecond: 0.5} }, nil},
		{"rate limit zero", func(c *Config) { c.Portals[0].RateLimit = &RateLimit{} }, []string{p0 + ".rate_limit.per_second"}},
		{"rate limit negative burst", func(c *Config) { c.Portals[0].RateLimit = &RateLimit{PerSecond: 1, Burst: -1} }, []string{p0 + ".rate_limit.burst"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			var got []string
			if err != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("Validate() = %v, want a *ValidationError", err)
				}
				for _, p := range verr.Problems {
					got = append(got, p.Path)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems at %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
}

func TestClientCertFingerprint(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("certificate"))
	plain := hex.EncodeToString(sum[:])
	var pairs []string
	for i := 0; i < len(plain); i += 2 {
		pairs = append(pairs, strings.ToUpper(plain[i:i+2]))
	}
	for _, s := range []string{plain, strings.ToUpper(plain), strings.Join(pairs, ":")} {
		got, ok := (&ClientCert{SHA256Fingerprint: s}).Fingerprint()
		if !ok || got != sum {
			t.Errorf("Fingerprint(%q) = %x, %v; want %x", s, got, ok, sum)
		}
	}
	for _, s := range []string{"", plain[:62], plain + "00", strings.Replace(plain, plain[:1], "g", 1)} {
		if _, ok := (&ClientCert{SHA256Fingerprint: s}).Fingerprint(); ok {
			t.Errorf("Fingerprint(%q) is ok, want not", s)
		}
	}
}

func TestRateLimitEffectiveBurst(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    RateLimit
		want int
	}{{RateLimit{PerSecond: 0.1}, 1}, {RateLimit{PerSecond: 2.5}, 3}, {RateLimit{PerSecond: 1, Burst: 7}, 7}} {
		if got := tt.r.EffectiveBurst(); got != tt.want {
			t.Errorf("%+v.EffectiveBurst() = %d, want %d", tt.r, got, tt.want)
		}
	}
}

func TestParsePortalAccess(t *testing.T) {
	t.Parallel()
	yml := `
server:
  tls: {cert_file: /etc/amtsbote/server.pem, key_file: /etc/amtsbote/server.key, client_ca_file: /etc/amtsbote/portal-ca.pem}
procedures: [{id: meldewesen.wohnungsgeberbestaetigung}]
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: psw:09162000
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        destinations: [{id: fv, type: filedrop, filedrop: {dir: /srv/drop}}]
portals:
  - id: buergerportal
    key_hash: ` + HashKey("k") + `
    tenants: ["*"]
    procedures: ["*"]
    client_cert: {subject_cn: buergerportal.example, sha256_fingerprint: "` + strings.Repeat("ab", 32) + `"}
    rate_limit: {per_second: 5, burst: 20}
`
	cfg, err := Parse([]byte(yml), envOf(nil), filesOf(nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p := cfg.Portals[0]
	if p.ClientCert == nil || p.ClientCert.SubjectCN != "buergerportal.example" || p.RateLimit == nil || *p.RateLimit != (RateLimit{5, 20}) {
		t.Errorf("portal = %+v, client_cert %+v, rate_limit %+v", p, p.ClientCert, p.RateLimit)
	}
	if tls := cfg.Server.TLS; !tls.Enabled() || tls.ClientCAFile != "/etc/amtsbote/portal-ca.pem" {
		t.Errorf("server.tls = %+v", tls)
	}
}
