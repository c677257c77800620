package answers

// Parse reads body as an answer. contentType is the body's media type
// (application/xml, text/xml, application/json, application/zip or a +xml
// or +json type) or "" to detect it from the first bytes. Every error is an
// *Error.
func Parse(body []byte, contentType string, lim Limits) (Answer, error) {
	_ = lim.withDefaults()
	return Answer{}, &Error{Reason: "not implemented yet"}
}
