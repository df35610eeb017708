package vc

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// SecurityContextV2 is the context of the proof options: ld-signatures-java
// (which MOSIP's credential service signs with) adds it to the proof before
// canonicalizing it (LdProof.DEFAULT_JSONLD_CONTEXTS).
const SecurityContextV2 = "https://w3id.org/security/v2"

// maxDepth bounds the nesting of a credential: MOSIP's are 3 deep; JSON-LD
// processing recurses on every level.
const maxDepth = 32

// proofValueKeys are left out of the proof options: they hold the
// signature itself.
var proofValueKeys = []string{"jws", "proofValue", "signatureValue"}

// Canonicalize returns the URDNA2015 canonical N-Quads of the JSON-LD
// document doc, loading contexts only from c.
func Canonicalize(doc []byte, c *Contexts) (string, error) {
	v, err := decodeObject(doc)
	if err != nil {
		return "", err
	}
	return canonicalize(v, c)
}

// canonicalize is Canonicalize of a decoded document. json-gold does not
// modify its input, but callers still pass a document of their own.
//
// json-gold keeps rdf:type statements whose object is a relative IRI (a
// type the contexts do not define, like MOSIPVerifiableCredential under
// MOSIP's stock context); the JSON-LD to RDF algorithm, Titanium (MOSIP's
// signer) and jsonld.js leave them out, so they are dropped here before
// the URDNA2015 step.
func canonicalize(doc map[string]any, c *Contexts) (_ string, err error) {
	defer recoverMalformed(&err)
	l := &loader{c: c}
	opts := ld.NewJsonLdOptions("")
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.DocumentLoader = l // never the default loader: it fetches
	out, err := ld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		return "", ldError(l, err)
	}
	dataset, ok := out.(*ld.RDFDataset)
	if !ok {
		return "", errorf(ErrMalformed, "JSON-LD to RDF produced %T", out)
	}
	for name, quads := range dataset.Graphs {
		dataset.Graphs[name] = slices.DeleteFunc(quads, hasRelativeIRI)
	}
	if err := checkBlankNodes(dataset); err != nil {
		return "", err
	}
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	nq, err := ld.NewJsonLdApi().Normalize(dataset, opts)
	if err != nil {
		return "", ldError(l, err)
	}
	s, ok := nq.(string)
	if !ok {
		return "", errorf(ErrMalformed, "canonicalization produced %T", nq)
	}
	return s, nil
}

// Bounds on what URDNA2015 is asked to canonicalize. Its cost explodes
// (factorially) with blank nodes it cannot tell apart by their own
// statements — a "poison graph" of 10 such nodes takes hours — while
// MOSIP's credentials have few blank nodes, each distinct.
const (
	maxStatements    = 5000
	maxBlankNodes    = 500
	maxIndistinctBNs = 5 // complete graph of 5: milliseconds; of 7: seconds
)

// checkBlankNodes refuses datasets URDNA2015 could spend unbounded time on.
// It groups blank nodes by their statements with the node itself named _:a
// and every other blank node _:z — URDNA2015's first-degree hash input, so
// a node alone in its group is one URDNA2015 names without the expensive
// n-degree step.
func checkBlankNodes(dataset *ld.RDFDataset) error {
	byNode := map[string][]string{}
	n := 0
	for graph, quads := range dataset.Graphs {
		n += len(quads)
		if n > maxStatements {
			return errorf(ErrMalformed, "the credential has more than %d statements", maxStatements)
		}
		for _, q := range quads {
			nodes := []ld.Node{q.Subject, q.Predicate, q.Object}
			if strings.HasPrefix(graph, "_:") {
				nodes = append(nodes, ld.NewBlankNode(graph))
			}
			for _, node := range nodes {
				if b, ok := node.(ld.BlankNode); ok {
					byNode[b.Attribute] = append(byNode[b.Attribute], quadKey(q, graph, b.Attribute))
				}
			}
		}
	}
	if len(byNode) > maxBlankNodes {
		return errorf(ErrMalformed, "the credential has more than %d blank nodes", maxBlankNodes)
	}
	groups := map[string]int{}
	for _, lines := range byNode {
		slices.Sort(lines)
		groups[strings.Join(lines, "\n")]++
	}
	indistinct := 0
	for _, size := range groups {
		if size > 1 {
			indistinct += size
		}
	}
	if indistinct > maxIndistinctBNs {
		return errorf(ErrMalformed, "the credential has %d blank nodes that only their relations tell apart (at most %d)", indistinct, maxIndistinctBNs)
	}
	return nil
}

// quadKey encodes q unambiguously, with blank node self as _:a and the
// others as _:z.
func quadKey(q *ld.Quad, graph, self string) string {
	var b strings.Builder
	for _, node := range []ld.Node{q.Subject, q.Predicate, q.Object} {
		switch n := node.(type) {
		case ld.BlankNode:
			if n.Attribute == self {
				b.WriteString("B_:a")
			} else {
				b.WriteString("B_:z")
			}
		case ld.IRI:
			b.WriteString("I" + strconv.Quote(n.Value))
		case ld.Literal:
			b.WriteString("L" + strconv.Quote(n.Value) + strconv.Quote(n.Datatype) + strconv.Quote(n.Language))
		}
		b.WriteByte(' ')
	}
	switch {
	case graph == self:
		b.WriteString("B_:a")
	case strings.HasPrefix(graph, "_:"):
		b.WriteString("B_:z")
	default:
		b.WriteString("I" + strconv.Quote(graph))
	}
	return b.String()
}

// hasRelativeIRI reports whether a statement names a relative IRI, which
// is not RDF.
func hasRelativeIRI(q *ld.Quad) bool {
	for _, n := range []ld.Node{q.Subject, q.Predicate, q.Object, q.Graph} {
		if iri, ok := n.(ld.IRI); ok && !ld.IsAbsoluteIri(iri.Value) {
			return true
		}
	}
	return false
}

// recoverMalformed turns a panic of the JSON-LD processor on hostile input
// into ErrMalformed.
func recoverMalformed(err *error) {
	if r := recover(); r != nil {
		*err = errorf(ErrMalformed, "JSON-LD processing failed: the processor panicked")
	}
}

// ldError classifies a JSON-LD processing failure.
func ldError(l *loader, err error) error {
	if l.missing != "" {
		return &Error{Kind: ErrUnknownContext, Detail: "the credential uses the JSON-LD context " + l.missing +
			", which is neither bundled nor configured (MOSIP_VC_CONTEXTS)", URL: l.missing}
	}
	// Only the error code: json-gold's messages may quote credential values.
	code := ld.ErrorCode("unknown")
	var lerr *ld.JsonLdError
	if errors.As(err, &lerr) {
		code = lerr.Code
	}
	return &Error{Kind: ErrMalformed, Detail: "JSON-LD processing failed: " + string(code)}
}

// verifyData is what an RsaSignature2018 proof signs (ld-signatures-java
// URDNA2015Canonicalizer): SHA-256 of the canonical proof options followed
// by SHA-256 of the canonical credential without its proof, 64 bytes.
func verifyData(credential, proof map[string]any, c *Contexts) ([]byte, error) {
	options := maps.Clone(proof)
	for _, k := range proofValueKeys {
		delete(options, k)
	}
	options["@context"] = SecurityContextV2
	unsigned := maps.Clone(credential)
	delete(unsigned, "proof")

	optionsNQ, err := canonicalize(options, c)
	if err != nil {
		return nil, err
	}
	docNQ, err := canonicalize(unsigned, c)
	if err != nil {
		return nil, err
	}
	a, b := sha256.Sum256([]byte(optionsNQ)), sha256.Sum256([]byte(docNQ))
	return append(a[:], b[:]...), nil
}

// decodeObject decodes a JSON object whose keys are unique at every level
// and whose nesting is at most maxDepth, numbers as json.Number (exact, as
// JSON-LD's xsd:integer and xsd:double forms need them).
func decodeObject(data []byte) (map[string]any, error) {
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(ErrMalformed, "the credential is not a JSON object: %v", err)
	}
	if v == nil {
		return nil, errorf(ErrMalformed, "the credential is not a JSON object")
	}
	return v, nil
}

// checkJSON refuses duplicate keys (which parsers resolve differently: the
// signed value and the value read could differ), nesting deeper than
// maxDepth, anything but one object, and trailing data.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool // nil for an array
		expect bool            // an object expecting a key (or its end) next
	}
	var stack []*frame
	started := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) && started && len(stack) == 0 {
			return nil
		}
		if err != nil {
			return errorf(ErrMalformed, "the credential is not JSON: %v", err)
		}
		if len(stack) == 0 {
			if started || tok != json.Delim('{') {
				return errorf(ErrMalformed, "the credential is not one JSON object")
			}
			started = true
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			top := stack[n-1]
			if top.expect {
				if tok == json.Delim('}') {
					stack = stack[:n-1]
					continue
				}
				key, _ := tok.(string)
				if top.keys[key] {
					return errorf(ErrMalformed, "the credential has the key %q twice in one object", key)
				}
				top.keys[key] = true
				top.expect = false
				continue
			}
			top.expect = true // tok is the value; a key (or the end) follows it
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, expect: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > maxDepth {
			return errorf(ErrMalformed, "the credential nests deeper than %d levels", maxDepth)
		}
	}
}

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
