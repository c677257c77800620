// Package docs holds Amtsbote's documentation pages (Markdown). It has no
// code of its own: its test checks that every relative link and anchor in
// the README, CHANGELOG.md, BENCHMARKS.md and the pages here resolves, and
// that the configuration reference (configuration.md) names exactly the
// keys of the config structs.
package docs
