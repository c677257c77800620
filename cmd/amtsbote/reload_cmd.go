package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
)

// envAdminKey names the environment variable holding the admin key for
// amtsbote reload.
const envAdminKey = "AMTSBOTE_ADMIN_KEY"

const reloadUsage = `Usage:
  amtsbote reload --config FILE [--admin URL]
      Ask the running serve to reload tenants, portals and procedures from its
      configuration (as SIGHUP does) through the admin API, and print the new
      generation, or every reason the reload was refused (exit 1; the running
      configuration is kept). The admin key is read from $AMTSBOTE_ADMIN_KEY.

  --config FILE   the configuration serve runs with: admin.listen is read from it
  --admin URL     the admin API's base URL (default http://<admin.listen>)
`

// reloadCmd asks a running serve to reload through POST /admin/v1/reload.
func reloadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file serve runs with")
	base := fs.String("admin", "", "admin API base URL (default from admin.listen)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*configPath == "" && *base == "") {
		fmt.Fprint(stderr, reloadUsage)
		return 2
	}
	key := os.Getenv(envAdminKey)
	if key == "" {
		fmt.Fprintf(stderr, "reload: set %s to the admin key\n", envAdminKey)
		return 2
	}
	if *base == "" {
		// Only admin.listen is needed: the file is read, not validated, so
		// that a reload of an invalid file reports its problems from serve.
		listen, err := adminListen(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "reload: %v\n", err)
			return 1
		}
		*base = "http://" + listen
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/admin/v1/reload", nil)
	if err != nil {
		fmt.Fprintf(stderr, "reload: %v\n", err)
		return 2
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "reload: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		var res adminapi.ReloadResponse
		if err := json.Unmarshal(body, &res); err != nil {
			fmt.Fprintf(stderr, "reload: answer: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Reloaded: generation %d, %d tenants, %d portals, %d procedures; destinations added %d, removed %d, changed %d.\n",
			res.Generation, res.Tenants, res.Portals, res.Procedures, len(res.Added), len(res.Removed), len(res.Changed))
		return 0
	case http.StatusConflict:
		var res adminapi.ReloadRefusedBody
		if err := json.Unmarshal(body, &res); err == nil && len(res.Reasons) > 0 {
			fmt.Fprintf(stderr, "reload refused; generation %d keeps running:\n", res.Generation)
			for _, r := range res.Reasons {
				fmt.Fprintf(stderr, "  %s\n", r)
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "reload: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
	return 1
}

// adminListen reads admin.listen from the configuration file (default
// config.DefaultAdminListen), without validating the rest.
func adminListen(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var doc struct {
		Admin struct {
			Listen string `yaml:"listen"`
		} `yaml:"admin"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if doc.Admin.Listen == "" {
		return config.DefaultAdminListen, nil
	}
	return doc.Admin.Listen, nil
}
