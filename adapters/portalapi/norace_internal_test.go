//go:build !race

package portalapi

// raceDetector is true in a test binary built with -race.
const raceDetector = false
