package mosipsim

import "net/http"

// Stats are the simulator's counters, as /sim/stats shows them.
type Stats struct {
	Packets       int64         `json:"packets"`
	Workflows     int64         `json:"workflows"`
	Processed     int64         `json:"processed"`
	Rejected      int64         `json:"rejected"`
	Failed        int64         `json:"failed"`
	QueuedStages  int           `json:"queuedStages"`
	Identities    int           `json:"identities"`
	Subscriptions int           `json:"subscriptions"`
	Deliveries    DeliveryStats `json:"deliveries"`
	Hub           HubStats      `json:"hub"`
	Updates       UpdateStats   `json:"updates"`
	// IdentityEvents counts identity update events published (each is
	// then delivered to every subscriber of the topic).
	IdentityEvents int64 `json:"identityEvents"`
	// Uploads count the upload path: RIDs, key manager encryptions, syncs
	// and packets received or refused.
	Uploads UploadStats `json:"uploads"`
}

// UpdateStats count the changes made to identities after their creation.
type UpdateStats struct {
	Packets        int64 `json:"packets"`        // CRVS_UPDATE and UPDATE registrations that changed an identity
	IDRepo         int64 `json:"idrepo"`         // ID repository PATCH requests that changed an identity
	Resident       int64 `json:"resident"`       // resident updates that changed an identity
	Deaths         int64 `json:"deaths"`         // identities flagged deceased (CRVS_DEATH or a death flag)
	DeathReversals int64 `json:"deathReversals"` // deceased flags cleared by a death flag saying no
	Unchanged      int64 `json:"unchanged"`      // updates that changed nothing (no event)
}

// DeliveryStats count WebSub deliveries (one per event and subscriber).
type DeliveryStats struct {
	Sent           int64 `json:"sent"`           // answered 2xx
	Failed         int64 `json:"failed"`         // attempts answered otherwise or not at all
	Pending        int64 `json:"pending"`        // queued or waiting to be redelivered
	Undelivered    int64 `json:"undelivered"`    // attempts exhausted, or the subscription went away
	Lost           int64 `json:"lost"`           // dropped by lostDeliveryRate
	Duplicated     int64 `json:"duplicated"`     // sent twice by duplicateDeliveryRate
	Gone           int64 `json:"gone"`           // answered 410: subscription removed
	Backlog        int   `json:"backlog"`        // events waiting for a subscriber of their topic
	BacklogDropped int64 `json:"backlogDropped"` // oldest backlog events dropped at the limit
}

// HubStats count the hub's subscription handling.
type HubStats struct {
	IntentVerified int64 `json:"intentVerified"`
	IntentFailed   int64 `json:"intentFailed"` // challenge not echoed, or the callback kept failing
	Denied         int64 `json:"denied"`       // denial notifications sent
}

// Stats returns the current counters.
func (s *Sim) Stats() Stats {
	st := Stats{
		Packets:      s.stats.packets.Load(),
		Workflows:    s.stats.workflows.Load(),
		Processed:    s.stats.processed.Load(),
		Rejected:     s.stats.rejected.Load(),
		Failed:       s.stats.failed.Load(),
		QueuedStages: s.proc.pending(),
		Deliveries: DeliveryStats{
			Sent:           s.stats.sent.Load(),
			Failed:         s.stats.failedAttempts.Load(),
			Pending:        s.stats.pending.Load(),
			Undelivered:    s.stats.undelivered.Load(),
			Lost:           s.stats.lost.Load(),
			Duplicated:     s.stats.duplicated.Load(),
			Gone:           s.stats.gone.Load(),
			BacklogDropped: s.stats.droppedBacklog.Load(),
		},
		Hub: HubStats{
			IntentVerified: s.stats.intentVerified.Load(),
			IntentFailed:   s.stats.intentFailed.Load(),
			Denied:         s.stats.denials.Load(),
		},
		Updates: UpdateStats{
			Packets:        s.stats.packetUpdates.Load(),
			IDRepo:         s.stats.idrepoUpdates.Load(),
			Resident:       s.stats.residentUpdates.Load(),
			Deaths:         s.stats.deaths.Load(),
			DeathReversals: s.stats.deathReversals.Load(),
			Unchanged:      s.stats.unchangedUpdates.Load(),
		},
		IdentityEvents: s.stats.identityEvents.Load(),
		Uploads:        s.UploadStats(),
	}
	s.mu.Lock()
	st.Identities = len(s.ids.byUIN)
	s.mu.Unlock()
	s.hubMu.Lock()
	for _, byCallback := range s.subs {
		st.Subscriptions += len(byCallback)
	}
	for _, q := range s.backlog {
		st.Deliveries.Backlog += len(q)
	}
	s.hubMu.Unlock()
	return st
}

func (s *Sim) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Sim) handleGetPacket(w http.ResponseWriter, r *http.Request) {
	v, ok := s.Packet(r.PathValue("id"))
	if !ok {
		problem(w, http.StatusNotFound, "not-found", "Packet not found", "no packet was created with this id (or it was forgotten past the retention limit)")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) handleGetRegistration(w http.ResponseWriter, r *http.Request) {
	v, ok := s.Registration(r.PathValue("id"))
	if !ok {
		problem(w, http.StatusNotFound, "not-found", "Registration not found", "no workflow instance was started for this registration id")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) handleGetSubscriptions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Subscriptions())
}

func (s *Sim) handleForget(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int{"forgotten": s.ForgetSubscriptions()})
}
