package opencrvs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"opencrvs-mosip/internal/telemetry"
	"opencrvs-mosip/internal/websub"
)

// UpdateSink posts identity updates MOSIP announced to an endpoint of
// OpenCRVS's country configuration, which applies them to the civil record
// (OpenCRVS 1.8 has no public mutation for it; the country configuration
// owns that step). Each POST is JSON signed like a WebSub delivery:
// X-Hub-Signature: sha256=<hex HMAC of the body under the secret>, and
// carries X-Event-Id, the same on every retry, so the receiver can
// deduplicate.
type UpdateSink struct {
	URL        string
	Secret     []byte
	HTTPClient *http.Client // nil: 30 s timeout
}

// SinkError is the endpoint's refusal: its status and the start of its
// answer.
type SinkError struct {
	StatusCode int
	Body       string
}

func (e *SinkError) Error() string {
	return fmt.Sprintf("opencrvs: identity update endpoint answered HTTP %d: %s", e.StatusCode, e.Body)
}

// transient: the endpoint may take it later (408, 409: the record is not
// ready for it yet, 429, 5xx).
func (e *SinkError) transient() bool {
	return e.StatusCode == 408 || e.StatusCode == 409 || e.StatusCode == 429 || e.StatusCode >= 500
}

// Send posts body. A 2xx answer is success; the error of any other is a
// *SinkError, and IsTransient tells whether to retry.
func (s *UpdateSink) Send(ctx context.Context, eventID string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(websub.SignatureHeader, websub.Sign(s.Secret, body))
	req.Header.Set("X-Event-Id", eventID)
	client := s.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &SinkError{StatusCode: resp.StatusCode, Body: telemetry.Printable(string(answer), 200)}
	}
	return nil
}
