package vc

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// The bundled JSON-LD contexts, byte for byte as published. Canonical forms
// depend on every term definition, so these must be the real documents:
//
//	credentials-v1.jsonld  https://www.w3.org/2018/credentials/v1
//	                       from w3c/vc-data-model contexts/credentials/v1
//	                       (commit 58638c57c64b2ca43f1711fb5037053fef9b7046, the
//	                       VC Data Model 1.0 context with @protected terms)
//	security-v1.jsonld     https://w3id.org/security/v1
//	                       from w3c/vc-test-suite contexts/security-v1.jsonld
//	                       (commit 6e72559007fa28658d639bb4606e85767482b14f)
//	security-v2.jsonld     https://w3id.org/security/v2
//	                       from w3c-ccg/security-vocab contexts/security-v2.jsonld
//	                       (commit c772f51a0b93c30fa13d9773252b019f5791aae9)
//	odrl.jsonld            https://www.w3.org/ns/odrl.jsonld (ODRL 2.2), which
//	                       MOSIP's mosip-context.json imports: MOSIP's own copy
//	                       (CRLF and all) from reddi3/mosip-config odrl.jsonld,
//	                       a fork of mosip/mosip-config (commit
//	                       71b12519b2be6ae68eae50bcff6c89e08a5745bb). The older
//	                       draft in w3c/ns (commit 494cbeed) defines "id" and
//	                       "type" with "@type": "@id", which the protected terms
//	                       of credentials/v1 refuse; ODRL 2.2 has "uid": "@id"
//	                       and "type": "@type".
//	mosip-context.json     MOSIP's context template, served by each deployment
//	                       at its own https://<host>/.well-known/mosip-context.json
//	                       with ${mosip.api.public.host} replaced; from
//	                       mosip/mosip-config mosip-context.json (commit
//	                       ebebea13175630fadc56342dab3dd792085bf479). It has no
//	                       fixed URL: an operator maps a URL to it with
//	                       MOSIP_VC_CONTEXTS=<url>=builtin:mosip-context.json.
//
//go:embed contexts
var bundled embed.FS

// bundledURLs maps the fixed context URLs to the bundled files.
var bundledURLs = map[string]string{
	"https://www.w3.org/2018/credentials/v1": "contexts/credentials-v1.jsonld",
	"https://w3id.org/security/v1":           "contexts/security-v1.jsonld",
	"https://w3id.org/security/v2":           "contexts/security-v2.jsonld",
	"https://www.w3.org/ns/odrl.jsonld":      "contexts/odrl.jsonld",
}

// builtinPrefix names a bundled template in a MOSIP_VC_CONTEXTS pair
// instead of a file.
const builtinPrefix = "builtin:"

// hostPlaceholder is replaced by the host of the URL MOSIP's template is
// mapped to, as MOSIP's config server does with mosip.api.public.host.
const hostPlaceholder = "${mosip.api.public.host}"

// Contexts is the fixed set of JSON-LD context documents canonicalization
// may use: the bundled W3C contexts plus those added with With. Nothing is
// ever fetched; a credential naming any other context is refused
// (ErrUnknownContext). A Contexts is immutable and safe to share.
type Contexts struct {
	docs map[string][]byte
}

// BundledContexts returns the bundled W3C contexts (credentials v1,
// security v1 and v2, ODRL).
func BundledContexts() *Contexts {
	docs := make(map[string][]byte, len(bundledURLs))
	for u, name := range bundledURLs {
		b, err := bundled.ReadFile(name)
		if err != nil {
			panic("vc: bundled context missing: " + name) // the embed pattern guarantees it
		}
		docs[u] = b
	}
	return &Contexts{docs: docs}
}

// With returns a copy of c that also serves doc at contextURL (replacing
// a bundled document of that URL: the issuer's own copy is what it
// signed with). doc must be a JSON object.
func (c *Contexts) With(contextURL string, doc []byte) (*Contexts, error) {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("vc: context %s is not a JSON object: %w", contextURL, err)
	}
	if _, ok := v["@context"]; !ok {
		return nil, fmt.Errorf("vc: context %s has no @context", contextURL)
	}
	docs := maps.Clone(c.docs)
	docs[contextURL] = doc
	return &Contexts{docs: docs}, nil
}

// URLs returns the context URLs c serves.
func (c *Contexts) URLs() []string {
	return slices.Sorted(maps.Keys(c.docs))
}

// ParseContextList reads MOSIP_VC_CONTEXTS: comma-separated URL=FILE pairs
// (split at the last "="), where FILE is a path read with readFile (nil:
// os.ReadFile) or builtin:mosip-context.json for MOSIP's bundled template,
// its ${mosip.api.public.host} replaced by URL's host. It returns the
// bundled contexts with these added.
func ParseContextList(list string, readFile func(string) ([]byte, error)) (*Contexts, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	c := BundledContexts()
	for pair := range strings.SplitSeq(list, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		i := strings.LastIndexByte(pair, '=')
		if i <= 0 || i == len(pair)-1 {
			return nil, fmt.Errorf("vc: %q is not URL=FILE", pair)
		}
		rawURL, file := strings.TrimSpace(pair[:i]), strings.TrimSpace(pair[i+1:])
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("vc: context URL %q is not an http(s) URL", rawURL)
		}
		var doc []byte
		if name, ok := strings.CutPrefix(file, builtinPrefix); ok {
			b, err := bundled.ReadFile("contexts/" + name)
			if err != nil || name != "mosip-context.json" {
				return nil, fmt.Errorf("vc: no bundled context %q (there is builtin:mosip-context.json)", name)
			}
			doc = []byte(strings.ReplaceAll(string(b), hostPlaceholder, u.Host))
		} else if doc, err = readFile(file); err != nil {
			return nil, fmt.Errorf("vc: context %s: %w", rawURL, err)
		}
		if c, err = c.With(rawURL, doc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// loader is the json-gold document loader of one canonicalization: it
// serves c's documents and remembers the first URL it did not have.
type loader struct {
	c       *Contexts
	missing string
}

func (l *loader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	b, ok := l.c.docs[u]
	if !ok {
		if l.missing == "" {
			l.missing = u
		}
		return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, "context "+u+" is not bundled or configured")
	}
	// A fresh copy for each load: the processor must not share (and could
	// modify) what another canonicalization uses.
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, err)
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}
