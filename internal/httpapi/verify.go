package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/ida"
)

// Answers of POST /verify, as @opencrvs/mosip's verifyNid expects them.
const (
	verified = "verified"
	failed   = "failed"
)

// verifyRequest is the body of POST /verify (OpenCRVS 1.9 country config,
// createMosipInteropClient().verifyNid).
type verifyRequest struct {
	NID           string     `json:"nid"`
	DOB           string     `json:"dob"`
	Name          verifyName `json:"name"`
	Gender        string     `json:"gender"`
	TransactionID string     `json:"transactionId"`
}

// verifyName is OpenCRVS's name field value {firstname, middlename?,
// surname}; a plain string is taken as the full name.
type verifyName struct{ full string }

func (n *verifyName) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		n.full = s
		return nil
	}
	var v struct {
		Firstname  string `json:"firstname"`
		Middlename string `json:"middlename"`
		Surname    string `json:"surname"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("name must be {firstname, middlename?, surname} or a string")
	}
	n.full = strings.Join(strings.Fields(v.Firstname+" "+v.Middlename+" "+v.Surname), " ")
	return nil
}

// nidPattern is what a UIN or VID looks like (MOSIP ids are digits).
var nidPattern = regexp.MustCompile(`^[0-9]{4,32}$`)

// refPattern bounds the caller's transactionId, which is only logged.
var refPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// verify is POST /verify: the national ID verification of one person
// against MOSIP IDA. It answers text "verified" or "failed" (IDA answered),
// 400 for an unusable body, 502 problem JSON when IDA could not give an
// answer (unreachable, or it refused the request: the form may retry), and
// 404 when identity verification is not configured.
func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.authenticateScope(r, ""); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	if err := h.idaConfigured(); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	body, err := readBody(w, r, smallBodyBytes)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	var req verifyRequest
	if err := json.Unmarshal(bytes.TrimSpace(body), &req); err != nil {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.EInvalid, "the body must be {nid, dob, name: {firstname, middlename?, surname}, gender?, transactionId?}: %v", jsonMessage(err)))
		return
	}
	switch {
	case !nidPattern.MatchString(strings.TrimSpace(req.NID)):
		err = bridge.FieldErrorf(bridge.EInvalid, "nid", "must be a UIN or VID (4 to 32 digits)")
	case req.Name.full == "":
		err = bridge.FieldErrorf(bridge.EInvalid, "name", "is required: {firstname, middlename?, surname}")
	case req.DOB == "":
		err = bridge.FieldErrorf(bridge.EInvalid, "dob", "is required (YYYY-MM-DD)")
	case req.TransactionID != "" && !refPattern.MatchString(req.TransactionID):
		err = bridge.FieldErrorf(bridge.EInvalid, "transactionId", "must be 1-128 letters, digits or . _ : -")
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	status, err := h.verifyPerson(r.Context(), ida.Person{
		IndividualID: strings.TrimSpace(req.NID), Name: req.Name.full, BirthDate: req.DOB, Gender: req.Gender,
	}, req.TransactionID, "dob")
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(status))
}

// idaConfigured refuses verification when no IDA partner is configured:
// 404, as for the other optional routes (E-Signet, QR codes): retrying
// cannot help, configuring can.
func (h *handler) idaConfigured() error {
	if h.IDA == nil {
		return bridge.Errorf(bridge.ENotFound, "identity verification is off: the mediator has no MOSIP IDA configuration (IDA_AUTH_URL and the partner settings)")
	}
	return nil
}

// verifyPerson asks IDA and returns "verified" or "failed", or an error
// for the caller (EInvalid for unusable data, EUpstream when IDA gave no
// answer about the person). dobField names the date field in errors.
func (h *handler) verifyPerson(ctx context.Context, p ida.Person, ref, dobField string) (string, error) {
	_, err := h.IDA.Verify(ctx, p, ref)
	if err == nil {
		return verified, nil
	}
	var e *ida.Error
	if !errors.As(err, &e) {
		return "", err
	}
	switch e.Kind {
	case ida.KindNotMatched:
		return failed, nil
	case ida.KindInvalid:
		field := ""
		if strings.Contains(e.Message, "date") {
			field = dobField
		}
		return "", &bridge.Error{Code: bridge.EInvalid, Field: field, Message: e.Message}
	case ida.KindRejected:
		codes := strings.Join(e.Codes(), ", ")
		if codes == "" {
			codes = "no error code"
		}
		return "", &bridge.Error{Code: bridge.EUpstream, Err: err,
			Message: "MOSIP IDA refused the verification request (" + codes + "); nothing is known about the person. Operators: check the mediator's IDA partner settings (PARTNER_*, ENCRYPT_CERT_PATH, SIGN_P12_FILE_PATH)"}
	default:
		return "", &bridge.Error{Code: bridge.EUpstream, Err: err,
			Message: "MOSIP IDA did not answer; the identity is neither verified nor failed. Try again"}
	}
}

// jsonMessage shortens a JSON decoding error for a problem detail.
func jsonMessage(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
