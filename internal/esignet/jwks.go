package esignet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keySet is E-Signet's JWKS, fetched on first use and again when a user
// info is signed by a key it does not hold (E-Signet rotated its keys), at
// most once per refreshInterval. Fetches are serialised: callers that
// arrive during one use its result.
type keySet struct {
	url             string
	http            *http.Client
	log             *slog.Logger
	now             func() time.Time
	refreshInterval time.Duration

	fetchMu sync.Mutex // held during a fetch

	mu          sync.Mutex
	keys        []jose.JSONWebKey // nil until a fetch succeeded
	generation  int               // bumped by every successful fetch
	lastAttempt time.Time
}

// current returns the keys and their generation, fetching them if there
// are none yet.
func (s *keySet) current(ctx context.Context) ([]jose.JSONWebKey, int, error) {
	s.mu.Lock()
	keys, gen := s.keys, s.generation
	s.mu.Unlock()
	if keys != nil {
		return keys, gen, nil
	}
	return s.refresh(ctx, gen, true)
}

// refresh fetches the keys again unless a fetch newer than generation seen
// already happened, or (unless force) one was tried less than
// refreshInterval ago. It returns the keys to use and whether they changed
// (generation greater than seen).
func (s *keySet) refresh(ctx context.Context, seen int, force bool) ([]jose.JSONWebKey, int, error) {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	s.mu.Lock()
	if s.generation != seen || (!force && s.now().Sub(s.lastAttempt) < s.refreshInterval) {
		keys, gen := s.keys, s.generation
		s.mu.Unlock()
		return keys, gen, nil
	}
	s.lastAttempt = s.now()
	s.mu.Unlock()

	keys, skipped, err := s.fetch(ctx)
	if err != nil {
		return nil, seen, err
	}
	s.mu.Lock()
	s.keys = keys
	s.generation++
	gen := s.generation
	s.mu.Unlock()
	s.log.Info("esignet jwks fetched", "keys", len(keys), "skipped", skipped)
	return keys, gen, nil
}

// fetch downloads and parses the JWKS. Keys that do not parse (an unknown
// type, a broken certificate chain) are skipped rather than failing the
// set; a set without a usable key is an error.
func (s *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("esignet: fetch jwks %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, 0, fmt.Errorf("esignet: read jwks %s: %w", s.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("esignet: fetch jwks %s: HTTP %d", s.url, resp.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("esignet: jwks %s is not a JSON Web Key Set: %w", s.url, err)
	}
	var keys []jose.JSONWebKey
	skipped := 0
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() || (k.Use != "" && k.Use != "sig") {
			skipped++
			continue
		}
		pub := k.Public() // a symmetric key has no public part: Key is nil
		if pub.Key == nil {
			skipped++
			continue
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, skipped, errors.New("esignet: jwks " + s.url + " holds no usable public signing key")
	}
	return keys, skipped, nil
}
