package mosipsim

import (
	"fmt"
	"net/http"
)

// MOSIP's RID generator (kernel ridgenerator): 29-digit registration ids,
// centre id (5) + machine id (5) + sequence (5) + yyyyMMddHHmmss (UTC).

// PathRIDGenerator is the base of the RID generator:
// GET PathRIDGenerator+"/{centerId}/{machineId}".
const PathRIDGenerator = "/v1/ridgenerator/generate/rid"

// RID generator answers (RidGeneratorExceptionConstant).
const (
	ridGeneratorID      = "mosip.kernel.ridgenerator"
	ridGeneratorVersion = "v1"

	CodeRIDEmpty     = "KER-RIG-002" // Empty input entered
	CodeRIDLength    = "KER-RIG-003" // input length is not valid
	CodeRIDExhausted = "KER-RIG-005" // Error occured while fetching rid
)

// RID layout: centre id, machine id and sequence lengths (MOSIP's
// mosip.kernel.rid.* defaults).
const (
	ridCenterLen  = 5
	ridMachineLen = 5
	ridSeqMax     = 99999
	ridTimeLayout = "20060102150405"
	// maxRIDSequences bounds the (centre, machine) pairs remembered.
	maxRIDSequences = 10000
)

// ridSequence is the RID generator's state of one (centre, machine) pair.
// RIDs issued in the same second differ by their sequence number, which
// goes up by one per RID (wrapping after 99999); count is how many were
// issued in second, so at most ridSeqMax RIDs are issued per second and
// pair and every RID is unique. second never goes back, even if the clock
// does.
type ridSequence struct {
	seq    int
	second string
	count  int
}

type ridResponse struct {
	RID string `json:"rid"`
}

func (s *Sim) handleGenerateRID(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(code, msg string) {
		s.legacy.ridRefusals.Add(1)
		s.mosipErrors(w, ridGeneratorID, ridGeneratorVersion, svcErr(code, msg))
	}
	center, machine := r.PathValue("centerId"), r.PathValue("machineId")
	switch {
	case center == "" || machine == "":
		fail(CodeRIDEmpty, "Empty input entered")
		return
	case len(center) != ridCenterLen || len(machine) != ridMachineLen || !allDigits(center) || !allDigits(machine):
		fail(CodeRIDLength, fmt.Sprintf("input length is not valid: centre id and machine id must be %d and %d digits", ridCenterLen, ridMachineLen))
		return
	}
	rid, ok := s.legacy.nextRID(center, machine, s.now().UTC().Format(ridTimeLayout))
	if !ok {
		fail(CodeRIDExhausted, "Error occured while fetching rid: too many RIDs issued this second; try again")
		return
	}
	s.legacy.rids.Add(1)
	s.log.Info("mosipsim: RID generated", "registration_id", rid)
	s.writeMOSIP(w, http.StatusOK, ridGeneratorID, ridGeneratorVersion, ridResponse{RID: rid}, nil)
}

// nextRID issues the next RID of (center, machine) at second now.
func (l *legacyState) nextRID(center, machine, now string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ridSeqs == nil {
		l.ridSeqs = make(map[string]*ridSequence)
	}
	key := center + machine
	sq := l.ridSeqs[key]
	if sq == nil {
		if len(l.ridSeqs) >= maxRIDSequences {
			// A pair with no RID in this second can restart its sequence:
			// its later RIDs carry a later second.
			for k, old := range l.ridSeqs {
				if old.second < now {
					delete(l.ridSeqs, k)
				}
			}
			if len(l.ridSeqs) >= maxRIDSequences {
				return "", false
			}
		}
		sq = &ridSequence{}
		l.ridSeqs[key] = sq
	}
	switch {
	case now > sq.second:
		sq.second, sq.count = now, 0
	case sq.count >= ridSeqMax:
		return "", false
	}
	sq.count++
	sq.seq = sq.seq%ridSeqMax + 1
	return fmt.Sprintf("%s%s%05d%s", center, machine, sq.seq, sq.second), true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
