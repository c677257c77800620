package config

import (
	"strings"
	"testing"
)

func TestMetricsValidate(t *testing.T) {
	t.Parallel()
	base := Config{Server: Server{Listen: "127.0.0.1:8080"}, Admin: Admin{Listen: "127.0.0.1:8081", KeyHash: Secret{value: HashKey("admin"), resolved: true}}}
	for _, c := range []struct {
		listen string
		want   string // problem text, empty for none
	}{
		{"", ""},
		{"127.0.0.1:9464", ""},
		{":9464", ""},
		{"127.0.0.1", "metrics.listen: must be host:port"},
		{"127.0.0.1:8080", "metrics.listen: must differ from server.listen"},
		{"127.0.0.1:8081", "metrics.listen: must differ from admin.listen"},
	} {
		cfg := base
		cfg.Metrics.Listen = c.listen
		v := &validator{}
		cfg.Metrics.validate("metrics", &cfg, v)
		var got string
		if len(v.problems) > 0 {
			got = v.problems[0].String()
		}
		if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) || len(v.problems) > 1 {
			t.Errorf("listen %q: problems %v, want %q", c.listen, v.problems, c.want)
		}
	}
}
