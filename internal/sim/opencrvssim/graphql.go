package opencrvssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"opencrvs-mosip/internal/opencrvs"
)

// GraphQL error codes (extensions.code) the gateway simulator answers.
const (
	CodeUnauthenticated     = "UNAUTHENTICATED"
	CodeBadRequest          = "BAD_REQUEST"
	CodeParseFailed         = "GRAPHQL_PARSE_FAILED"
	CodeValidationFailed    = "GRAPHQL_VALIDATION_FAILED"
	CodeBadUserInput        = "BAD_USER_INPUT"
	CodeNotFound            = "NOT_FOUND"
	CodeAlreadyRegistered   = "ALREADY_REGISTERED"
	CodeAlreadyRejected     = "ALREADY_REJECTED"
	CodeInternalServerError = "INTERNAL_SERVER_ERROR"
)

// identifierTypes are the identifier type codes OpenCRVS 1.8 accepts on a
// Patient (packages/commons/src/fhir/patient.ts).
var identifierTypes = []string{
	"PASSPORT", "NATIONAL_ID", "DECEASED_PATIENT_ENTRY", "BIRTH_PATIENT_ENTRY",
	"DRIVING_LICENSE", "REFUGEE_NUMBER", "ALIEN_NUMBER", "OTHER", "SOCIAL_SECURITY_NO",
	"BIRTH_REGISTRATION_NUMBER", "DEATH_REGISTRATION_NUMBER", "MARRIAGE_REGISTRATION_NUMBER",
	"BIRTH_CONFIGURABLE_IDENTIFIER_1", "BIRTH_CONFIGURABLE_IDENTIFIER_2", "BIRTH_CONFIGURABLE_IDENTIFIER_3",
	// The UIN token MOSIP makes for OpenCRVS (opencrvs-core #4827, renamed
	// from MOSIP_UINTOKEN), which core's migrations treat as an identifier.
	"MOSIP_PSUT_TOKEN_ID",
}

// graphQLRequest is the body of POST /graphql.
type graphQLRequest struct {
	Query         string                     `json:"query"`
	Variables     map[string]json.RawMessage `json:"variables"`
	OperationName string                     `json:"operationName"`
}

// identifierInput is IdentifierInput of the 1.8 schema.
type identifierInput struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// confirmInput is ConfirmRegistrationInput of the 1.8 schema.
type confirmInput struct {
	RegistrationNumber string            `json:"registrationNumber"`
	Identifiers        []identifierInput `json:"identifiers"`
	Comment            string            `json:"comment"`
}

// rejectInput is RejectRegistrationInput of the 1.8 schema.
type rejectInput struct {
	Reason  string `json:"reason"`
	Comment string `json:"comment"`
}

// gqlError is one GraphQL error answer with its HTTP status.
type gqlError struct {
	status  int
	message string
	code    string
	// extra extensions, e.g. whether a repeated confirm carried the same details.
	ext map[string]any
}

func (e *gqlError) Error() string { return e.code + ": " + e.message }

func gqlErrorf(status int, code, format string, args ...any) *gqlError {
	return &gqlError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func writeGraphQLError(w http.ResponseWriter, status int, message, code string, ext map[string]any) {
	extensions := map[string]any{"code": code}
	for k, v := range ext {
		extensions[k] = v
	}
	writeJSON(w, status, map[string]any{
		"errors": []any{map[string]any{"message": message, "extensions": extensions}},
		"data":   nil,
	})
}

func (e *gqlError) write(w http.ResponseWriter) {
	writeGraphQLError(w, e.status, e.message, e.code, e.ext)
}

func (s *Sim) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.graphqlRequests++
	s.mu.Unlock()
	if s.injectFault(w, r) {
		return
	}
	claims, err := s.verifyToken(r.Header.Get("Authorization"))
	if err != nil {
		s.unauthenticated(w, err)
		return
	}
	body, tooLarge, err := readBody(w, r, maxGraphQLBody)
	if err != nil {
		if tooLarge {
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, "request body is above 1 MiB", CodeBadRequest, nil)
			return
		}
		writeGraphQLError(w, http.StatusBadRequest, "request body could not be read", CodeBadRequest, nil)
		return
	}
	m, gerr := parseGraphQLRequest(body)
	if gerr != nil {
		gerr.write(w)
		return
	}
	switch m.field {
	case "confirmRegistration":
		s.confirmRegistration(w, claims, m.args)
	case "rejectRegistration":
		s.rejectRegistration(w, claims, m.args)
	case "updateField":
		s.updateField(w, claims, m.args)
	case "upsertRegistrationIdentifier":
		s.upsertIdentifier(w, claims, m.args)
	default:
		writeGraphQLError(w, http.StatusOK,
			fmt.Sprintf("Cannot query field %q on type %q.", m.field, "Mutation"), CodeValidationFailed, nil)
	}
}

func (s *Sim) unauthenticated(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.counts.unauthorized++
	s.mu.Unlock()
	s.log.Info("opencrvssim: graphql request refused", "reason", err.Error())
	writeGraphQLError(w, http.StatusUnauthorized, err.Error(), CodeUnauthenticated, nil)
}

// parseGraphQLRequest decodes a POST /graphql body down to the one mutation
// field it asks for, with its arguments resolved against the variables.
func parseGraphQLRequest(body []byte) (mutation, *gqlError) {
	var req graphQLRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return mutation{}, gqlErrorf(http.StatusBadRequest, CodeBadRequest, "body is not a GraphQL request object: %v", err)
	}
	if strings.TrimSpace(req.Query) == "" {
		return mutation{}, gqlErrorf(http.StatusBadRequest, CodeBadRequest, "GraphQL operations must contain a non-empty `query`.")
	}
	return parseMutation(req.Query, req.OperationName, req.Variables)
}

// recordArgs checks the id argument and the token for a mutation that needs
// scope: the token must carry the scope and be for that very record.
func recordArgs(claims *opencrvs.Claims, args map[string]json.RawMessage, scope string) (string, *gqlError, error) {
	id, gerr := argID(args["id"])
	if gerr != nil {
		return "", gerr, nil
	}
	if !claims.HasScope(scope) {
		return "", nil, fmt.Errorf("%w: token lacks scope %s", errUnauthenticated, scope)
	}
	if claims.RecordID != id {
		return "", nil, fmt.Errorf("%w: token is for record %q, not %q", errUnauthenticated, claims.RecordID, id)
	}
	return id, nil, nil
}

func argID(raw json.RawMessage) (string, *gqlError) {
	if isNull(raw) {
		return "", gqlErrorf(http.StatusOK, CodeBadUserInput, `Argument "id" of required type "ID!" was not provided.`)
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", gqlErrorf(http.StatusOK, CodeBadUserInput, `Argument "id" of type "ID!" must be a string or an integer.`)
		}
		id = n.String()
	}
	if id == "" {
		return "", gqlErrorf(http.StatusOK, CodeBadUserInput, `Argument "id" of type "ID!" must not be empty.`)
	}
	return id, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// decodeInput decodes an input object argument, refusing fields the schema
// does not define (GraphQL does).
func decodeInput(raw json.RawMessage, name, typ string, v any) *gqlError {
	if isNull(raw) {
		return gqlErrorf(http.StatusOK, CodeBadUserInput, "Argument %q of required type %q was not provided.", name, typ+"!")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return gqlErrorf(http.StatusOK, CodeBadUserInput, "Argument %q got an invalid value for %s: %v", name, typ, err)
	}
	return nil
}

func validateConfirm(in confirmInput) *gqlError {
	if strings.TrimSpace(in.RegistrationNumber) == "" {
		return gqlErrorf(http.StatusOK, CodeBadUserInput,
			`Field "registrationNumber" of required type "String!" was not provided.`)
	}
	for i, id := range in.Identifiers {
		if !slices.Contains(identifierTypes, id.Type) {
			return gqlErrorf(http.StatusOK, CodeBadUserInput,
				"identifiers[%d].type %q is not an identifier type OpenCRVS knows", i, id.Type)
		}
		if strings.TrimSpace(id.Value) == "" {
			return gqlErrorf(http.StatusOK, CodeBadUserInput, "identifiers[%d].value must not be empty", i)
		}
	}
	return nil
}

func (s *Sim) confirmRegistration(w http.ResponseWriter, claims *opencrvs.Claims, args map[string]json.RawMessage) {
	id, gerr, err := recordArgs(claims, args, opencrvs.ScopeConfirmRegistration)
	if err != nil {
		s.unauthenticated(w, err)
		return
	}
	if gerr != nil {
		gerr.write(w)
		return
	}
	var in confirmInput
	if gerr := decodeInput(args["details"], "details", "ConfirmRegistrationInput", &in); gerr != nil {
		gerr.write(w)
		return
	}
	if gerr := validateConfirm(in); gerr != nil {
		gerr.write(w)
		return
	}

	s.mu.Lock()
	rec, ok := s.records[id]
	if !ok {
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("record %s not found", id), CodeNotFound, nil)
		return
	}
	if gerr := s.checkCorrectionConfirm(rec, in); gerr != nil {
		s.mu.Unlock()
		gerr.write(w)
		return
	}
	rec.confirmations++
	s.counts.confirmations++
	switch rec.status {
	case StatusWaiting:
		rec.status = StatusRegistered
		rec.registrationNumber = in.RegistrationNumber
		rec.identifiers = slices.Clone(in.Identifiers)
		rec.nationalID = ""
		for _, ident := range in.Identifiers {
			if ident.Type == "NATIONAL_ID" {
				rec.nationalID = ident.Value
				break
			}
		}
		rec.reason, rec.comment = "", in.Comment
		close(rec.changed)
		s.mu.Unlock()
		s.log.Debug("opencrvssim: record registered", "record_id", id)
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"confirmRegistration": id}})
	case StatusRegistered:
		same := rec.registrationNumber == in.RegistrationNumber && sameIdentifiers(rec.identifiers, in.Identifiers)
		n := rec.confirmations
		s.mu.Unlock()
		msg := "record is already registered"
		if !same {
			msg = "record is already registered with a different registration number or identifiers"
			s.log.Warn("opencrvssim: conflicting confirmation of a registered record", "record_id", id, "confirmations", n)
		}
		writeGraphQLError(w, http.StatusOK, msg, CodeAlreadyRegistered, map[string]any{"sameDetails": same})
	default:
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, "record has been rejected and is not waiting for registration", CodeAlreadyRejected, nil)
	}
}

// checkCorrectionConfirm refuses a confirmation of a correction that
// carries identifiers (the person keeps the national ID of the original
// registration) or another registration number than the corrected
// record's. Such calls are not counted. Callers hold s.mu.
func (s *Sim) checkCorrectionConfirm(rec *record, in confirmInput) *gqlError {
	if rec.correctionOf == "" {
		return nil
	}
	if len(in.Identifiers) > 0 {
		return gqlErrorf(http.StatusOK, CodeBadUserInput,
			"record %s is a %s of record %s: confirm it without identifiers (the person keeps the national ID of the original registration)",
			rec.id, rec.kind, rec.correctionOf)
	}
	if orig, ok := s.records[rec.correctionOf]; ok && orig.registrationNumber != in.RegistrationNumber {
		return gqlErrorf(http.StatusOK, CodeBadUserInput,
			"registrationNumber %q: record %s is a %s of record %s, registered as %q; confirm it with that registration number",
			in.RegistrationNumber, rec.id, rec.kind, rec.correctionOf, orig.registrationNumber)
	}
	return nil
}

func (s *Sim) rejectRegistration(w http.ResponseWriter, claims *opencrvs.Claims, args map[string]json.RawMessage) {
	id, gerr, err := recordArgs(claims, args, opencrvs.ScopeRejectRegistration)
	if err != nil {
		s.unauthenticated(w, err)
		return
	}
	if gerr != nil {
		gerr.write(w)
		return
	}
	var in rejectInput
	if gerr := decodeInput(args["details"], "details", "RejectRegistrationInput", &in); gerr != nil {
		gerr.write(w)
		return
	}
	if strings.TrimSpace(in.Reason) == "" {
		writeGraphQLError(w, http.StatusOK, `Field "reason" of required type "String!" was not provided.`, CodeBadUserInput, nil)
		return
	}

	s.mu.Lock()
	rec, ok := s.records[id]
	if !ok {
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("record %s not found", id), CodeNotFound, nil)
		return
	}
	rec.rejections++
	s.counts.rejections++
	switch rec.status {
	case StatusWaiting:
		rec.status = StatusRejected
		rec.reason, rec.comment = in.Reason, in.Comment
		close(rec.changed)
		s.mu.Unlock()
		s.log.Debug("opencrvssim: record rejected", "record_id", id)
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"rejectRegistration": id}})
	case StatusRejected:
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, "record is already rejected", CodeAlreadyRejected, nil)
	default:
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, "record is already registered", CodeAlreadyRegistered, nil)
	}
}

func sameIdentifiers(a, b []identifierInput) bool {
	if len(a) != len(b) {
		return false
	}
	cmp := func(x, y identifierInput) int {
		if c := strings.Compare(x.Type, y.Type); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// ---- a small GraphQL document parser ----
//
// The gateway simulator needs only the operation type, the one top-level
// field and its arguments. This parser reads the GraphQL executable document
// syntax far enough for that (comments, commas, aliases, directives, variable
// definitions, literal and variable arguments) and refuses fragments.

// mutation is the top-level field an operation asks for.
type mutation struct {
	field string
	args  map[string]json.RawMessage
}

// maxDepth bounds nesting of values and skipped selections.
const maxDepth = 64

// parseMutation picks the operation (by name when the document has several),
// checks it is a mutation with one field, and resolves that field's
// arguments against vars.
func parseMutation(query, operationName string, vars map[string]json.RawMessage) (mutation, *gqlError) {
	ops, err := parseDocument(query)
	if err != nil {
		return mutation{}, gqlErrorf(http.StatusBadRequest, CodeParseFailed, "Syntax Error: %v", err)
	}
	var op *operation
	switch {
	case operationName != "":
		for i := range ops {
			if ops[i].name == operationName {
				op = &ops[i]
				break
			}
		}
		if op == nil {
			return mutation{}, gqlErrorf(http.StatusBadRequest, CodeBadRequest, "Unknown operation named %q.", operationName)
		}
	case len(ops) == 1:
		op = &ops[0]
	default:
		return mutation{}, gqlErrorf(http.StatusBadRequest, CodeBadRequest, "Must provide operation name if query contains multiple operations.")
	}
	if op.kind != "mutation" {
		return mutation{}, gqlErrorf(http.StatusOK, CodeValidationFailed,
			"this gateway simulator only answers mutations (confirmRegistration, rejectRegistration), not a %s", op.kind)
	}
	if len(op.fields) != 1 {
		return mutation{}, gqlErrorf(http.StatusOK, CodeValidationFailed,
			"this gateway simulator executes exactly one mutation field per request, got %d", len(op.fields))
	}
	f := op.fields[0]
	if f.hasSelection {
		return mutation{}, gqlErrorf(http.StatusOK, CodeValidationFailed,
			"Field %q must not have a selection since type \"ID!\" has no subfields.", f.name)
	}
	args := make(map[string]json.RawMessage, len(f.args))
	for name, v := range f.args {
		raw, err := json.Marshal(resolveValue(v, vars))
		if err != nil {
			return mutation{}, gqlErrorf(http.StatusOK, CodeBadUserInput, "argument %q: %v", name, err)
		}
		args[name] = raw
	}
	return mutation{field: f.name, args: args}, nil
}

// varRef is a $variable inside a parsed value.
type varRef string

// resolveValue replaces variable references with the variables' JSON; an
// absent variable is null, as GraphQL coerces it.
func resolveValue(v any, vars map[string]json.RawMessage) any {
	switch x := v.(type) {
	case varRef:
		if raw, ok := vars[string(x)]; ok && len(raw) > 0 {
			return raw
		}
		return nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveValue(e, vars)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = resolveValue(e, vars)
		}
		return out
	default:
		return x
	}
}

type operation struct {
	kind   string // query | mutation | subscription
	name   string
	fields []field
}

type field struct {
	name         string
	args         map[string]any
	hasSelection bool
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokPunct
	tokName
	tokString
	tokNumber
)

type token struct {
	kind tokenKind
	val  string // punctuator, name, decoded string, or number text
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "<EOF>"
	case tokString:
		return fmt.Sprintf("string %q", t.val)
	default:
		return fmt.Sprintf("%q", t.val)
	}
}

type parser struct {
	src string
	pos int
	tok token
}

func parseDocument(src string) ([]operation, error) {
	p := &parser{src: src}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var ops []operation
	for p.tok.kind != tokEOF {
		op, err := p.operation()
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, errors.New("Unexpected <EOF>.")
	}
	return ops, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.tok.pos, fmt.Sprintf(format, args...))
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.val == s }

func (p *parser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.errorf("Expected %q, found %s.", s, p.tok)
	}
	return p.advance()
}

func (p *parser) name() (string, error) {
	if p.tok.kind != tokName {
		return "", p.errorf("Expected Name, found %s.", p.tok)
	}
	n := p.tok.val
	return n, p.advance()
}

func (p *parser) operation() (operation, error) {
	op := operation{kind: "query"}
	if p.tok.kind == tokName {
		switch p.tok.val {
		case "query", "mutation", "subscription":
			op.kind = p.tok.val
		case "fragment":
			return op, p.errorf("fragments are not supported by this gateway simulator.")
		default:
			return op, p.errorf("Unexpected Name %q.", p.tok.val)
		}
		if err := p.advance(); err != nil {
			return op, err
		}
		if p.tok.kind == tokName {
			op.name = p.tok.val
			if err := p.advance(); err != nil {
				return op, err
			}
		}
		if p.isPunct("(") {
			if err := p.skipBalanced(); err != nil {
				return op, err
			}
		}
		if err := p.directives(); err != nil {
			return op, err
		}
	}
	if err := p.expectPunct("{"); err != nil {
		return op, err
	}
	for !p.isPunct("}") {
		f, err := p.field()
		if err != nil {
			return op, err
		}
		op.fields = append(op.fields, f)
	}
	return op, p.advance()
}

func (p *parser) field() (field, error) {
	if p.isPunct("...") {
		return field{}, p.errorf("fragments are not supported by this gateway simulator.")
	}
	name, err := p.name()
	if err != nil {
		return field{}, err
	}
	if p.isPunct(":") { // name was an alias
		if err := p.advance(); err != nil {
			return field{}, err
		}
		if name, err = p.name(); err != nil {
			return field{}, err
		}
	}
	f := field{name: name, args: map[string]any{}}
	if p.isPunct("(") {
		if f.args, err = p.arguments(); err != nil {
			return f, err
		}
	}
	if err := p.directives(); err != nil {
		return f, err
	}
	if p.isPunct("{") {
		f.hasSelection = true
		if err := p.skipBalanced(); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (p *parser) arguments() (map[string]any, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	args := map[string]any{}
	for !p.isPunct(")") {
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		v, err := p.value(0)
		if err != nil {
			return nil, err
		}
		if _, dup := args[name]; dup {
			return nil, p.errorf("There can be only one argument named %q.", name)
		}
		args[name] = v
	}
	if len(args) == 0 {
		return nil, p.errorf("Expected Name, found \")\".")
	}
	return args, p.advance()
}

func (p *parser) directives() error {
	for p.isPunct("@") {
		if err := p.advance(); err != nil {
			return err
		}
		if _, err := p.name(); err != nil {
			return err
		}
		if p.isPunct("(") {
			if _, err := p.arguments(); err != nil {
				return err
			}
		}
	}
	return nil
}

// value parses a GraphQL input value into JSON-like Go values, keeping
// variable references as varRef.
func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("value nested deeper than %d", maxDepth)
	}
	t := p.tok
	switch {
	case t.kind == tokPunct && t.val == "$":
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.name()
		return varRef(n), err
	case t.kind == tokString:
		return t.val, p.advance()
	case t.kind == tokNumber:
		return json.Number(t.val), p.advance()
	case t.kind == tokName:
		var v any
		switch t.val {
		case "true":
			v = true
		case "false":
			v = false
		case "null":
			v = nil
		default:
			v = t.val // enum value
		}
		return v, p.advance()
	case t.kind == tokPunct && t.val == "[":
		if err := p.advance(); err != nil {
			return nil, err
		}
		list := []any{}
		for !p.isPunct("]") {
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, e)
		}
		return list, p.advance()
	case t.kind == tokPunct && t.val == "{":
		if err := p.advance(); err != nil {
			return nil, err
		}
		obj := map[string]any{}
		for !p.isPunct("}") {
			k, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expectPunct(":"); err != nil {
				return nil, err
			}
			e, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[k] = e
		}
		return obj, p.advance()
	default:
		return nil, p.errorf("Unexpected %s.", t)
	}
}

// skipBalanced skips a (...) or {...} group, nested groups included.
func (p *parser) skipBalanced() error {
	closing := map[string]string{"(": ")", "{": "}", "[": "]"}
	var stack []string
	for {
		if p.tok.kind == tokEOF {
			return p.errorf("Expected closing bracket, found <EOF>.")
		}
		if p.tok.kind == tokPunct {
			if c, ok := closing[p.tok.val]; ok {
				if len(stack) >= maxDepth {
					return p.errorf("nested deeper than %d", maxDepth)
				}
				stack = append(stack, c)
			} else if len(stack) > 0 && p.tok.val == stack[len(stack)-1] {
				stack = stack[:len(stack)-1]
			} else if p.tok.val == ")" || p.tok.val == "}" || p.tok.val == "]" {
				return p.errorf("Unexpected %s.", p.tok)
			}
		}
		if err := p.advance(); err != nil {
			return err
		}
		if len(stack) == 0 {
			return nil
		}
	}
}

// advance reads the next token into p.tok.
func (p *parser) advance() error {
	src := p.src
	for p.pos < len(src) {
		c := src[p.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' {
			p.pos++
			continue
		}
		if c == '#' {
			for p.pos < len(src) && src[p.pos] != '\n' && src[p.pos] != '\r' {
				p.pos++
			}
			continue
		}
		if strings.HasPrefix(src[p.pos:], "\ufeff") {
			p.pos += len("\ufeff")
			continue
		}
		break
	}
	start := p.pos
	if p.pos >= len(src) {
		p.tok = token{kind: tokEOF, pos: start}
		return nil
	}
	c := src[p.pos]
	switch {
	case strings.HasPrefix(src[p.pos:], "..."):
		p.pos += 3
		p.tok = token{kind: tokPunct, val: "...", pos: start}
	case strings.IndexByte("!$&():=@[]{|}", c) >= 0:
		p.pos++
		p.tok = token{kind: tokPunct, val: string(c), pos: start}
	case c == '_' || isLetter(c):
		for p.pos < len(src) && (src[p.pos] == '_' || isLetter(src[p.pos]) || isDigit(src[p.pos])) {
			p.pos++
		}
		p.tok = token{kind: tokName, val: src[start:p.pos], pos: start}
	case c == '-' || isDigit(c):
		for p.pos < len(src) && strings.IndexByte("+-.eE0123456789", src[p.pos]) >= 0 {
			p.pos++
		}
		num := src[start:p.pos]
		if !json.Valid([]byte(num)) {
			return fmt.Errorf("at offset %d: Invalid number %q.", start, num)
		}
		p.tok = token{kind: tokNumber, val: num, pos: start}
	case strings.HasPrefix(src[p.pos:], `"""`):
		i := p.pos + 3
		end := -1
		for end < 0 {
			j := strings.Index(src[i:], `"""`)
			if j < 0 {
				return fmt.Errorf("at offset %d: Unterminated string.", start)
			}
			if j > 0 && src[i+j-1] == '\\' { // \""" is an escaped triple quote
				i += j + 3
				continue
			}
			end = i + j
		}
		raw := src[p.pos+3 : end]
		p.pos = end + 3
		p.tok = token{kind: tokString, val: strings.TrimSpace(strings.ReplaceAll(raw, `\"""`, `"""`)), pos: start}
	case c == '"':
		i := p.pos + 1
		for i < len(src) && src[i] != '"' {
			if src[i] == '\n' || src[i] == '\r' {
				return fmt.Errorf("at offset %d: Unterminated string.", start)
			}
			if src[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(src) {
			return fmt.Errorf("at offset %d: Unterminated string.", start)
		}
		var s string
		if err := json.Unmarshal([]byte(src[p.pos:i+1]), &s); err != nil {
			return fmt.Errorf("at offset %d: Invalid string: %v", start, err)
		}
		p.pos = i + 1
		p.tok = token{kind: tokString, val: s, pos: start}
	default:
		return fmt.Errorf("at offset %d: Unexpected character %q.", start, rune(c))
	}
	return nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
