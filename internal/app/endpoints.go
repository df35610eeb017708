package app

import (
	"net/http"
	"net/url"
	"strings"
)

// outboundEndpoint names what an outbound call reaches for its span
// ("mosip createPacket", "opencrvs graphql", ...): the system and endpoint
// the metrics count it under (outboundEndpoints), by the configured URL
// that is the longest prefix of the request's, ending at a path segment;
// other calls by their host. The name is safe to record: unlike the URL,
// it never holds a UIN or a partner key.
func outboundEndpoint(cfg Config) func(*http.Request) string {
	type endpoint struct{ prefix, name string }
	var known []endpoint
	for _, e := range outboundEndpoints(cfg) {
		if prefix, ok := urlPrefix(e.URL); ok {
			known = append(known, endpoint{prefix, e.System + " " + e.Name})
		}
	}
	return func(r *http.Request) string {
		key := strings.ToLower(r.URL.Scheme) + "://" + strings.ToLower(r.URL.Host) + r.URL.EscapedPath()
		name, longest := r.URL.Host, 0
		for _, e := range known {
			if len(e.prefix) > longest && strings.HasPrefix(key, e.prefix) && (len(key) == len(e.prefix) || key[len(e.prefix)] == '/') {
				name, longest = e.name, len(e.prefix)
			}
		}
		return name
	}
}

// urlPrefix is what a request URL is matched against: lower-case scheme
// and host, and the path without a trailing slash.
func urlPrefix(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		return "", false
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/"), true
}
