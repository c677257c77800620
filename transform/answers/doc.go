// Package answers parses the answers an authority's Fachverfahren or DMS
// sends back about a submission: XBau 2.6 Eingangsbestätigung (1120),
// Aktenzeichen (1121), formelle Prüfung (0201) and Bescheid (0205), xdomea
// 3.0.0 receipt (0629) and import confirmation (0630), and Amtsbote's own
// small JSON answer. It only parses: matching and storing are the answer
// service's (intake).
package answers
