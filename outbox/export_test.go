package outbox

import "time"

// SetGiveUpGrace sets how long r's Run waits for deliveries given up at the
// drain timeout (default giveUpGrace), for tests that give one up.
func SetGiveUpGrace(r *Relay, d time.Duration) { r.giveUpGrace = d }
