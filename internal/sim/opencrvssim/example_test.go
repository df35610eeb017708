package opencrvssim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"opencrvs-mosip/internal/sim/opencrvssim"
)

// A mediator receives a record with its token, answers 202, and later
// confirms it through the simulator's GraphQL gateway with the same token.
func Example() {
	type received struct{ token, recordID string }
	inbox := make(chan received, 1)
	mediator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var bundle struct {
			Entry []struct{ Resource struct{ ID string } }
		}
		if err := json.NewDecoder(r.Body).Decode(&bundle); err != nil || len(bundle.Entry) == 0 {
			http.Error(w, "not a bundle", http.StatusBadRequest)
			return
		}
		// The first entry is the Composition: its id is the record id.
		inbox <- received{strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), bundle.Entry[0].Resource.ID}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer mediator.Close()

	sim, err := opencrvssim.New(opencrvssim.Config{MediatorURL: mediator.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	call := func(method, path, token string, body any, out any) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		if err != nil {
			log.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			log.Fatal(err)
		}
	}

	var sent struct{ Status string }
	call(http.MethodPost, "/sim/records", "", map[string]any{"kind": "birth"}, &sent)
	fmt.Println("sent:", sent.Status)

	got := <-inbox
	var answer struct{ Data map[string]string }
	call(http.MethodPost, "/graphql", got.token, map[string]any{
		"query": `mutation confirmRegistration($id: ID!, $details: ConfirmRegistrationInput!) {
  confirmRegistration(id: $id, details: $details)
}`,
		"variables": map[string]any{"id": got.recordID, "details": map[string]any{
			"registrationNumber": "2025BXXDBIC",
			"identifiers":        []any{map[string]string{"type": "NATIONAL_ID", "value": "5432109876"}},
		}},
	}, &answer)
	fmt.Println("confirmed:", answer.Data["confirmRegistration"] == got.recordID)

	var rec struct {
		Status, NationalID string
		Confirmations      int
	}
	call(http.MethodGet, "/sim/records/"+got.recordID+"?wait=5s", "", nil, &rec)
	fmt.Println("record:", rec.Status, rec.NationalID, rec.Confirmations)
	// Output:
	// sent: waiting
	// confirmed: true
	// record: registered 5432109876 1
}
