package app

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/store"
)

// corruptUploads damages the packet in the packet receiver uploads for
// which damage(n) is true (n counts uploads from 1), as a broken network
// would: one byte of the zip flipped.
func corruptUploads(t *testing.T, damage func(n int64) bool, count *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != mosipsim.PathPacketReceiver || !damage(count.Add(1)) {
				next.ServeHTTP(w, r)
				return
			}
			_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil {
				t.Errorf("upload content type: %v", err)
				next.ServeHTTP(w, r)
				return
			}
			mr := multipart.NewReader(r.Body, params["boundary"])
			var out bytes.Buffer
			mw := multipart.NewWriter(&out)
			for {
				part, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("upload body: %v", err)
					return
				}
				data, _ := io.ReadAll(part)
				if part.FormName() == "file" && len(data) > 0 {
					data[len(data)/2] ^= 0xff
				}
				pw, _ := mw.CreateFormFile(part.FormName(), part.FileName())
				pw.Write(data)
			}
			mw.Close()
			r.Body = io.NopCloser(&out)
			r.ContentLength = int64(out.Len())
			r.Header.Set("Content-Type", mw.FormDataContentType())
			next.ServeHTTP(w, r)
		})
	}
}

// A packet damaged on its way to the packet receiver (hash mismatch) is
// built, synced and uploaded again; one that keeps arriving damaged is
// reported as MOSIP's refusal, with the reason, on both sides.
func TestSplitUploadRefusedForHashMismatch(t *testing.T) {
	t.Run("once", func(t *testing.T) {
		var uploads atomic.Int64
		s := startSplit(t, splitOptions{mosipWrap: corruptUploads(t, func(n int64) bool { return n == 1 }, &uploads)})
		s.waitSubscribed(t)
		rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
		s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
		ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
		up := s.mosip.UploadStats()
		if up.UploadRefusals != 1 || up.Received != 1 || up.Resyncs < 1 {
			t.Errorf("upload stats %+v: want the damaged upload refused once, the packet synced again and received once", up)
		}
		events, err := s.mosipSide.m.Store().Events(t.Context(), ms.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := countReasons(events, bridge.StateConfirmed); n != 1 {
			t.Errorf("transaction %s confirmed %d times, want once", ms.ID, n)
		}
	})
	t.Run("always", func(t *testing.T) {
		var uploads atomic.Int64
		s := startSplit(t, splitOptions{mosipWrap: corruptUploads(t, func(int64) bool { return true }, &uploads)})
		s.waitSubscribed(t)
		rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
		ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateReported)
		if !strings.Contains(ms.LastError, "RPR-PKR-009") {
			t.Errorf("MOSIP side last error %q, want the packet receiver's hash mismatch (RPR-PKR-009)", ms.LastError)
		}
		oc := s.waitState(t, s.ocSide, rec.ID, bridge.StateReported)
		if oc.RejectReason == "" {
			t.Errorf("OpenCRVS side transaction %s reported without a reason", oc.ID)
		}
		if st := s.stage(t, bridge.EventBirth, oc.ID); st.Status != store.StageFailed || !strings.Contains(st.Reason, "RPR-PKR-009") {
			t.Errorf("birth_transactions row %+v, want %q naming RPR-PKR-009", st, store.StageFailed)
		}
		if n := uploads.Load(); n != mismatchRetriesForTest {
			t.Errorf("%d uploads, want %d (one per attempt)", n, mismatchRetriesForTest)
		}
	})
}

// mismatchRetriesForTest mirrors jobs' attempts for a packet that differs
// from its sync.
const mismatchRetriesForTest = 3

func countReasons(events []bridge.Event, to bridge.State) int {
	n := 0
	for _, e := range events {
		if e.To == to {
			n++
		}
	}
	return n
}

// The MOSIP-side mediator stops after syncing a packet and before its
// upload answered: after the restart the packet is built, synced again and
// uploaded, and the record ends once on both sides.
func TestSplitMOSIPSideRestartBetweenSyncAndUpload(t *testing.T) {
	uploading := make(chan struct{})
	var first atomic.Bool
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == mosipsim.PathPacketReceiver && first.CompareAndSwap(false, true) {
				io.Copy(io.Discard, r.Body) // (the server notices a closed connection only after the body)
				close(uploading)
				select { // the mediator goes away before MOSIP answers
				case <-r.Context().Done():
				case <-time.After(30 * time.Second):
					t.Error("the MOSIP-side mediator did not drop its upload when it stopped")
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	s := startSplit(t, splitOptions{mosipWrap: wrap, mosip: func(c *Config) { c.ShutdownTimeout = time.Second }})
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
	select {
	case <-uploading:
	case <-time.After(time.Minute):
		t.Fatal("no upload")
	}
	s.mosipSide.restart(t)
	oc := s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
	ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
	if ms.ID != oc.ID {
		t.Errorf("MOSIP side AID %s, OpenCRVS side %s", ms.ID, oc.ID)
	}
	up := s.mosip.UploadStats()
	if up.Received != 1 || up.Resyncs < 1 {
		t.Errorf("upload stats %+v: want the packet synced again and received once", up)
	}
	trs, err := s.mosipSide.m.Store().TransactionsByRecord(t.Context(), rec.ID)
	if err != nil || len(trs) != 1 {
		t.Errorf("MOSIP side has %d transactions of the record (%v), want 1", len(trs), err)
	}
}

// Records keep flowing, each ending once, while either mediator restarts
// in the middle of their work.
func TestSplitRestartOfEitherMediatorEndsEachRecordOnce(t *testing.T) {
	t.Run("job queue", func(t *testing.T) { restartEitherMediator(t, nil) })
	t.Run("kafka", func(t *testing.T) {
		k := startKafka(t)
		restartEitherMediator(t, withKafka(k.ListenAddrs()...))
	})
}

func restartEitherMediator(t *testing.T, mosipSide func(*Config)) {
	s := startSplit(t, splitOptions{mosip: mosipSide, mosipSim: func(c *mosipsim.Config) { c.StageDelay = 20 * time.Millisecond }})
	s.waitSubscribed(t)
	const n = 12
	var ids []string
	for i := range n {
		kind := "birth"
		rec := s.sendWebhookRecord(t, map[string]any{"kind": kind})
		ids = append(ids, rec.ID)
		switch i {
		case n / 3:
			s.mosipSide.restart(t)
		case 2 * n / 3:
			s.ocSide.restart(t)
			s.waitSubscribed(t)
		}
	}
	for _, id := range ids {
		oc := s.waitState(t, s.ocSide, id, bridge.StateConfirmed)
		s.waitState(t, s.mosipSide, id, bridge.StateConfirmed)
		for _, sd := range []*side{s.ocSide, s.mosipSide} {
			trs, err := sd.m.Store().TransactionsByRecord(t.Context(), id)
			if err != nil || len(trs) != 1 {
				t.Errorf("%s: %d transactions of record %s (%v), want 1", sd.cfg.Role, len(trs), id, err)
			}
		}
		if ids, ok := s.opencrvs.RecordIdentifiers(id); !ok || ids.Upserts < 1 {
			t.Errorf("record %s (transaction %s): identifiers %+v, want its UIN token written", id, oc.ID, ids)
		}
	}
	if up := s.mosip.UploadStats(); up.Received != n {
		t.Errorf("MOSIP received %d packets for %d records", up.Received, n)
	}
}
