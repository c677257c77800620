package fitconnect

// The JSON documents of the Submission API 1.1 and the Routing API 2.0
// that Amtsbote uses, with the members it reads or writes.

// ContentTypeJOSE is the media type of encrypted parts.
const ContentTypeJOSE = "application/jose"

// ServiceType names a Verwaltungsleistung by its LeiKa URN.
type ServiceType struct {
	Name       string `json:"name,omitempty"`
	Identifier string `json:"identifier"`
}

// SubmissionForPickup is one entry of the list of submissions ready for pickup.
type SubmissionForPickup struct {
	DestinationID string `json:"destinationId"`
	SubmissionID  string `json:"submissionId"`
	CaseID        string `json:"caseId"`
}

// SubmissionsForPickup is the answer of GET /v1/submissions.
type SubmissionsForPickup struct {
	Count       int                   `json:"count"`
	Offset      int                   `json:"offset"`
	TotalCount  int                   `json:"totalCount"`
	Submissions []SubmissionForPickup `json:"submissions"`
}

// Submission is the answer of GET /v1/submissions/{id}.
type Submission struct {
	DestinationID     string      `json:"destinationId"`
	SubmissionID      string      `json:"submissionId"`
	CaseID            string      `json:"caseId"`
	Attachments       []string    `json:"attachments"`
	ServiceType       ServiceType `json:"serviceType"`
	EncryptedMetadata string      `json:"encryptedMetadata,omitempty"`
	EncryptedData     string      `json:"encryptedData,omitempty"`
}

// CreateSubmission is the body of POST /v1/submissions.
type CreateSubmission struct {
	DestinationID        string      `json:"destinationId"`
	AnnouncedAttachments []string    `json:"announcedAttachments"`
	ServiceType          ServiceType `json:"serviceType"`
	CaseID               string      `json:"caseId,omitempty"`
	// Callback registers the sender's NewEvents callback for the
	// submission's case.
	Callback *CreateCallback `json:"callback,omitempty"`
}

// CreateCallback is the callback a sender registers with a submission
// (Submission API CreateCallback): the Zustelldienst posts NewEvents
// callbacks to URL, authenticated with Secret (32 to 512 characters).
type CreateCallback struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// SubmissionCreated is the answer of POST /v1/submissions.
type SubmissionCreated struct {
	DestinationID string `json:"destinationId"`
	SubmissionID  string `json:"submissionId"`
	CaseID        string `json:"caseId"`
}

// SubmitSubmission is the body of PUT /v1/submissions/{id}.
type SubmitSubmission struct {
	EncryptedMetadata string `json:"encryptedMetadata"`
	EncryptedData     string `json:"encryptedData,omitempty"`
}

// DestinationService is a service a destination offers.
type DestinationService struct {
	Identifier        string             `json:"identifier"`
	Regions           []string           `json:"regions"`
	SubmissionSchemas []SubmissionSchema `json:"submissionSchemas"`
}

// Destination is the answer of GET /v1/destinations/{id}.
type Destination struct {
	DestinationID    string               `json:"destinationId"`
	EncryptionKid    string               `json:"encryptionKid"`
	MetadataVersions []string             `json:"metadataVersions"`
	Services         []DestinationService `json:"services"`
	Status           string               `json:"status"`
}

// EventLog is the answer of GET /v1/cases/{id}/events.
type EventLog struct {
	Count      int      `json:"count"`
	Offset     int      `json:"offset"`
	TotalCount int      `json:"totalCount"`
	EventLog   []string `json:"eventLog"`
}

// CallbackBody is the body of a NewSubmissions or NewEvents callback.
// The submissions of a NewEvents callback are those with new events in
// their case's event log.
type CallbackBody struct {
	Type        string                `json:"type"`
	Submissions []SubmissionForPickup `json:"submissions"`
	// SubmissionIDs is the deprecated form of Submissions.
	SubmissionIDs []string `json:"submissionIds,omitempty"`
}

// Route is one entry of the Routing API's answer to GET /v1/routes.
type Route struct {
	DestinationID   string `json:"destinationId"`
	DestinationName string `json:"destinationName,omitempty"`
}

// Routes is the answer of GET /v1/routes.
type Routes struct {
	Count      int     `json:"count"`
	Offset     int     `json:"offset"`
	TotalCount int     `json:"totalCount"`
	Routes     []Route `json:"routes"`
}

// APIProblem is a problem document (RFC 7807) of the Submission API.
type APIProblem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Problem types of the Submission API's answers.
const (
	apiProblemBase              = "https://schema.fitko.de/fit-connect/submission-api/problems/"
	APIProblemInvalidTransition = apiProblemBase + "invalid-state-transition"
	APIProblemNotFound          = apiProblemBase + "not-found"
	APIProblemAttachments       = apiProblemBase + "missing-attachments"
	APIProblemContentType       = apiProblemBase + "unsupported-media-type"
	APIProblemInvalidEvent      = apiProblemBase + "invalid-event"
	APIProblemUnauthorized      = apiProblemBase + "unauthorized"
	APIProblemBadRequest        = apiProblemBase + "bad-request"
)
