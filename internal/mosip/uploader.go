package mosip

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
)

// The registration-client style path to MOSIP, as the 2022 Java mediator
// (mosip/mosip-opencrvs) uses it: the mediator asks the RID generator for a
// registration id, builds and encrypts the packet itself (BuildPacket,
// through the key manager), announces it to the registration processor
// (SyncPacket) and uploads it to the packet receiver (UploadPacket). The
// packet receiver then starts the registration processor's workflow.

// Operations of the upload path named in an APIError.
const (
	OpGenerateRID       = "generate RID"
	OpKeymanagerEncrypt = "keymanager encrypt"
	OpBuildPacket       = "build packet"
	OpSyncPacket        = "sync packet"
	OpUploadPacket      = "upload packet"
)

// Default paths of the upload path's endpoints, relative to MOSIP's base
// URL.
const (
	DefaultRIDGeneratorPath      = "/v1/ridgenerator/generate/rid"
	DefaultKeymanagerEncryptPath = "/v1/keymanager/encrypt"
	DefaultSyncPath              = "/registrationprocessor/v1/registrationstatus/sync"
	DefaultPacketReceiverPath    = "/registrationprocessor/v1/packetreceiver/registrationpackets"
)

// UploadURLs are the full URLs of the upload path's endpoints. A call
// whose URL is empty fails.
type UploadURLs struct {
	// RIDGenerator is the base .../v1/ridgenerator/generate/rid (GET);
	// GenerateRID adds /{centerId}/{machineId}.
	RIDGenerator string
	// KeymanagerEncrypt is .../v1/keymanager/encrypt (POST).
	KeymanagerEncrypt string
	// Sync is .../registrationprocessor/v1/registrationstatus/sync (POST).
	Sync string
	// PacketReceiver is
	// .../registrationprocessor/v1/packetreceiver/registrationpackets (POST).
	PacketReceiver string
}

// DefaultUploadURLs returns the default paths under baseURL (MOSIP's API
// gateway, e.g. https://api-internal.mosip.example.org).
func DefaultUploadURLs(baseURL string) UploadURLs {
	base := strings.TrimRight(baseURL, "/")
	return UploadURLs{
		RIDGenerator:      base + DefaultRIDGeneratorPath,
		KeymanagerEncrypt: base + DefaultKeymanagerEncryptPath,
		Sync:              base + DefaultSyncPath,
		PacketReceiver:    base + DefaultPacketReceiverPath,
	}
}

// Uploader calls the RID generator, the key manager, the registration
// processor's sync and the packet receiver with a Client's token, HTTP
// client, logger and clock. Like Client it does not retry (IsTransient
// tells the caller whether to), except once after a 401 with a renewed
// token; timeouts come from the caller's ctx. It is safe for concurrent
// use.
type Uploader struct {
	c    *Client
	urls UploadURLs
}

// Uploader returns an Uploader of the endpoints urls that shares c's
// token, HTTP client, logger and clock.
func (c *Client) Uploader(urls UploadURLs) *Uploader {
	return &Uploader{c: c, urls: urls}
}

// exchange is call for bodies that are not a JSON request wrapper: it
// sends body as is with contentType and the extra headers, with a token,
// and returns the answer's status and body. If MOSIP refuses the token it
// renews it and sends once more.
func (c *Client) exchange(ctx context.Context, op, id, method, url, contentType string, header http.Header, body []byte) (int, []byte, error) {
	if url == "" {
		return 0, nil, fmt.Errorf("mosip: %s: no URL configured", op)
	}
	const attempts = 2
	for attempt := 1; ; attempt++ {
		token, err := c.auth.Token(ctx)
		if err != nil {
			return 0, nil, err
		}
		status, resp, err := c.sendWith(ctx, method, url, token, contentType, header, body)
		if err != nil {
			return status, nil, newAPIError(op, id, status, nil, err)
		}
		if !tokenRefused(status, resp) {
			return status, resp, nil
		}
		if attempt == attempts {
			return 0, nil, newAPIError(op, id, status, bodyErrors(resp), nil)
		}
		c.auth.Invalidate(token)
		c.log.Info("mosip refused the token; renewing it", "op", op, "http_status", status)
	}
}

// sendWith does one HTTP exchange with extra headers. The status is 0 when
// no answer came.
func (c *Client) sendWith(ctx context.Context, method, url, token, contentType string, header http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.AddCookie(&http.Cookie{Name: authCookie, Value: token})
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrNoResponse, err)
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body)
	return resp.StatusCode, b, err
}
