package opencrvssim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkSendRecord measures the simulator's cost per record (generation,
// encoding, token signing), with an in-process mediator that answers 202.
func BenchmarkSendRecord(b *testing.B) {
	for _, mode := range []string{ModeFHIR, ModeMapped} {
		b.Run(mode, func(b *testing.B) {
			client := inProcessClient(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write([]byte("{}"))
			})
			s, err := New(Config{Key: testKey(), Logger: quietLogger(), HTTPClient: client, MediatorURL: "http://mediator.invalid"})
			if err != nil {
				b.Fatal(err)
			}
			body := `{"mode":"` + mode + `"}`
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/sim/records", strings.NewReader(body)))
				if w.Code != http.StatusAccepted {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
