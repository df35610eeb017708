package crashtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// gateway serves the OpenCRVS simulator and watches the mediator's GraphQL
// feedback go through it: per record, how each confirmRegistration and
// rejectRegistration was answered. The simulator counts calls; the gateway
// also tells a harmless repeat (ALREADY_REGISTERED with the same details)
// from a conflicting second confirmation.
type gateway struct {
	sim http.Handler

	mu       sync.Mutex
	feedback map[string]*feedback // by record id
}

// feedback counts the mediator's calls about one record by their answer.
type feedback struct {
	confirmed   int // confirmRegistration registered the record
	repeats     int // ALREADY_REGISTERED, same details
	conflicts   int // ALREADY_REGISTERED, other registration number or identifiers
	rejected    int // rejectRegistration rejected the record
	otherErrors int // any other GraphQL error (ALREADY_REJECTED, NOT_FOUND, ...)
	lastError   string
}

func newGateway(sim http.Handler) *gateway {
	return &gateway{sim: sim, feedback: map[string]*feedback{}}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/graphql" {
		g.sim.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	g.sim.ServeHTTP(rec, r)
	g.observe(body, rec.status, rec.body.Bytes())
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// observe files one answered mutation under its record.
func (g *gateway) observe(request []byte, status int, answer []byte) {
	var req struct {
		Query     string `json:"query"`
		Variables struct {
			ID string `json:"id"`
		} `json:"variables"`
	}
	if json.Unmarshal(request, &req) != nil || req.Variables.ID == "" {
		return
	}
	confirm := strings.Contains(req.Query, "confirmRegistration")
	reject := strings.Contains(req.Query, "rejectRegistration")
	if !confirm && !reject {
		return
	}
	var ans struct {
		Data   map[string]any `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code        string `json:"code"`
				SameDetails *bool  `json:"sameDetails"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(answer, &ans)
	if status == http.StatusUnauthorized || (len(ans.Errors) > 0 && ans.Errors[0].Extensions.Code == "UNAUTHENTICATED") {
		return // refused before it reached the record; the simulator does not count it either
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.feedback[req.Variables.ID]
	if f == nil {
		f = &feedback{}
		g.feedback[req.Variables.ID] = f
	}
	switch {
	case len(ans.Errors) == 0 && confirm:
		f.confirmed++
	case len(ans.Errors) == 0:
		f.rejected++
	case confirm && ans.Errors[0].Extensions.Code == "ALREADY_REGISTERED":
		if same := ans.Errors[0].Extensions.SameDetails; same != nil && *same {
			f.repeats++
		} else {
			f.conflicts++
		}
	default:
		f.otherErrors++
		f.lastError = ans.Errors[0].Extensions.Code + ": " + truncate(ans.Errors[0].Message, 200)
	}
}

// view returns the feedback about record id (zero when none) and the ids of
// every record that had some.
func (g *gateway) view(id string) feedback {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.feedback[id]; f != nil {
		return *f
	}
	return feedback{}
}

func (g *gateway) ids() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.feedback))
	for id := range g.feedback {
		out = append(out, id)
	}
	return out
}

// recorder keeps an answer so that the gateway can read it before passing
// it on.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
