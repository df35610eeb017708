package mosipsim

import (
	"encoding/json"
	"net/http"

	"opencrvs-mosip/internal/mosip"
)

// MOSIP paths the simulator serves.
const (
	PathAuth         = "/v1/authmanager/authenticate/clientidsecretkey"
	PathCreatePacket = "/commons/v1/packetmanager/createPacket"
	PathWorkflow     = "/registrationprocessor/v1/workflowmanager/workflowinstance"
	PathStatusSearch = "/registrationprocessor/v1/registrationstatus/search"
	PathHub          = "/websub/hub"
	// PathIdentity is the base of the ID repository's identity service:
	// GET PathIdentity+"/idvid/{id}?type=demo&idType=RID|UIN|VID", and
	// PATCH PathIdentity+"/" to update an identity.
	PathIdentity = "/idrepository/v1/identity"
	// PathVID is the base of the ID repository's VID service:
	// GET PathVID+"/uin/{UIN}".
	PathVID = "/idrepository/v1/vid"
)

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST "+PathAuth, s.withFaults(EndpointAuth, s.handleAuth))
	m.HandleFunc("GET "+PathValidateToken, s.withFaults(EndpointAuth, s.handleValidateToken))
	m.HandleFunc("PUT "+PathCreatePacket, s.withFaults(EndpointCreatePacket, s.handleCreatePacket))
	m.HandleFunc("POST "+PathWorkflow, s.withFaults(EndpointWorkflow, s.handleWorkflow))
	m.HandleFunc("POST "+PathStatusSearch, s.withFaults(EndpointStatus, s.handleStatusSearch))
	// mosip-api's default hub URL is /websub/hub; inside a MOSIP cluster
	// the hub is at /hub.
	m.HandleFunc("POST "+PathHub, s.withFaults(EndpointHub, s.handleHub))
	m.HandleFunc("POST /hub", s.withFaults(EndpointHub, s.handleHub))
	m.HandleFunc("GET "+PathIdentity+"/idvid/{id}", s.withFaults(EndpointIDRepo, s.handleIdentityRead))
	m.HandleFunc("GET "+PathVID+"/uin/{uin}", s.withFaults(EndpointIDRepo, s.handleVIDsByUIN))
	m.HandleFunc("GET "+PathVID+"/{vid}", s.withFaults(EndpointIDRepo, s.handleVIDRead))
	m.HandleFunc("GET "+PathTokenID+"/{uin}/{partner}", s.withFaults(EndpointTokenID, s.handleTokenID))
	// MOSIP maps the update to "/" under the service; clients send both.
	m.HandleFunc("PATCH "+PathIdentity+"/{$}", s.withFaults(EndpointIDRepo, s.handleIdentityUpdate))
	m.HandleFunc("PATCH "+PathIdentity, s.withFaults(EndpointIDRepo, s.handleIdentityUpdate))
	// The upload path: RID, key manager encryption, sync, packet upload.
	m.HandleFunc("GET "+PathRIDGenerator+"/{centerId}/{machineId}", s.withFaults(EndpointRIDGenerator, s.handleGenerateRID))
	m.HandleFunc("POST "+PathKeymanagerEncrypt, s.withFaults(EndpointKeymanager, s.handleKeymanagerEncrypt))
	m.HandleFunc("POST "+PathSync, s.withFaults(EndpointSync, s.handleSync))
	m.HandleFunc("POST "+PathPacketReceiver, s.withFaults(EndpointPacketReceiver, s.handlePacketReceiver))

	m.HandleFunc("POST "+PathIDAAuth+"/{mispLK}/{partnerId}/{apiKey}", s.withFaults(EndpointIDA, s.handleIDAAuth))
	m.HandleFunc("GET /sim/ida/certificate", s.handleIDACertificate)
	m.HandleFunc("GET /sim/ida/stats", s.handleIDAStats)

	m.HandleFunc("GET /.well-known/public-key.json", s.handlePublicKey)
	m.HandleFunc("GET /.well-known/controller.json", s.handleController)
	m.HandleFunc("GET /.well-known/mosip-context.json", s.handleContext)
	m.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)

	m.HandleFunc("GET /sim/faults", s.handleGetFaults)
	m.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	m.HandleFunc("GET /sim/packets/{id}", s.handleGetPacket)
	m.HandleFunc("GET /sim/registrations/{id}", s.handleGetRegistration)
	m.HandleFunc("GET /sim/identities/{id}", s.handleGetIdentity)
	m.HandleFunc("POST /sim/identities", s.handlePostIdentity)
	m.HandleFunc("POST /sim/identities/{id}/update", s.handleResidentUpdate)
	m.HandleFunc("GET /sim/identities/{id}/qr", s.handleIdentityQR)
	m.HandleFunc("GET /sim/subscriptions", s.handleGetSubscriptions)
	m.HandleFunc("POST /sim/hub/forget", s.handleForget)
	m.HandleFunc("GET /sim/stats", s.handleStats)
	m.HandleFunc("GET /sim/credential-status/{requestId}", s.handleGetCredentialStatus)
	s.mux = m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types are written; failing here is a bug.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeMOSIP answers with MOSIP's ResponseWrapper. MOSIP answers its own
// errors with HTTP 200 too.
func (s *Sim) writeMOSIP(w http.ResponseWriter, status int, id, version string, response any, errs []mosip.ServiceError) {
	writeJSON(w, status, mosip.Response[any]{
		ID:           id,
		Version:      version,
		ResponseTime: mosip.FormatTime(s.now()),
		Response:     response,
		Errors:       errs,
	})
}

func (s *Sim) mosipErrors(w http.ResponseWriter, id, version string, errs ...mosip.ServiceError) {
	s.writeMOSIP(w, http.StatusOK, id, version, nil, errs)
}

func svcErr(code, msg string) mosip.ServiceError {
	return mosip.ServiceError{ErrorCode: code, Message: msg}
}

// problem answers the /sim API's errors as RFC 9457 problem JSON.
func problem(w http.ResponseWriter, status int, slug, title, detail string) {
	body, _ := json.Marshal(map[string]any{
		"type":   "urn:mosipsim:problem:" + slug,
		"title":  title,
		"status": status,
		"detail": detail,
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// unavailable is what MOSIP's ingress answers when the service is down.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("503 Service Temporarily Unavailable\n"))
}
