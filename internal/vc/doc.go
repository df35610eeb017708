// Package vc verifies (and, for the simulator, makes) the RsaSignature2018
// proofs of the verifiable credentials MOSIP's credential service issues.
//
// OpenCRVS's Node mediator never checked these proofs: it canonicalized
// with JCS (RFC 8785) where MOSIP signs the URDNA2015 canonical form of the
// JSON-LD document, so its check failed and was switched off
// (opencrvs/opencrvs-core#12842). This package does what MOSIP does.
//
// # What MOSIP signs
//
// id-repository's VerCredProvider (credential-service) builds the credential
// with @context from its configuration, then the proof
//
//	LdProof{type: RsaSignature2018, created, proofPurpose: assertionMethod,
//	        verificationMethod: <mosip.credential.service.vercred.proof.verificationmethod>}
//
// and calls ld-signatures-java's URDNA2015Canonicalizer, whose result is 64
// bytes:
//
//	SHA-256(URDNA2015 N-Quads of the proof options) || SHA-256(URDNA2015 N-Quads of the credential without "proof")
//
// The proof options are the proof without jws/proofValue (removeLdProofValues)
// and with the default contexts added (defaultContexts(true)): LdProof's
// DEFAULT_JSONLD_CONTEXTS is https://w3id.org/security/v2. The 64 bytes are
// base64url'd as dataToSign for keymanager's jwsSign with b64JWSHeaderParam
// false, includePayload false and signAlgorithm PS256 (JsonConstants
// VC_SIGN_ALGO). jwsSign decodes dataToSign back to the 64 raw bytes and
// signs ASCII(base64url(header)) || "." || those bytes (SignatureUtil
// buildSignData) under the header {alg, b64: false, crit: ["b64"]} (plus
// kid/x5c depending on its settings), and returns header..signature: proof.jws.
// The verification method is a URL serving
//
//	{"@context": "https://w3id.org/security/v2", "type": "RsaVerificationKey2018",
//	 "id": <url>, "controller": <controller.json url>, "publicKeyPem": "-----BEGIN PUBLIC KEY-----..."}
//
// (MOSIP's .well-known/public-key.json). MOSIP's own verifier
// (mosip/vc-verifier, Kotlin LdpVerifier) checks the same way: the same
// URDNA2015Canonicalizer, JWSUtil.getJwsSigningInput(header, 64 bytes),
// PS256 (salt 32) or RS256 by the header's alg, publicKeyPem from the URL.
//
// Sources: mosip/id-repository VerCredProvider.java and DigitalSignatureUtil
// signVerCred; mosip/keymanager SignatureServiceImpl jwsSign and SignatureUtil
// getJWSHeader/buildSignData; WebOfTrustInfo/ld-signatures-java
// URDNA2015Canonicalizer, LdProof, JWSUtil; mosip/vc-verifier LdpVerifier.kt
// and CredentialVerifierConstants.kt; MOSIP documentation on .well-known
// (controller.json, public-key.json, mosip-context.json).
//
// # Choices where sources disagree
//
//   - Proof options context. ld-signatures-java (the signer) adds
//     https://w3id.org/security/v2 to the proof. Newer JavaScript verifiers
//     (digitalbazaar jsonld-signatures 7+, MOSIP's TypeScript vc-verifier
//     computeLinkedDataVerifyArtifacts) use the credential's own @context
//     when the proof has none. We follow the signer. The two agree when the
//     credential's context defines the proof terms as security v2 does; with
//     credentials/v1 alone they do not ("created" types as the unexpanded
//     <xsd:dateTime> because the RsaSignature2018 scoped context of
//     credentials/v1 defines no xsd prefix). A proof carrying an @context
//     other than security v2 is refused as malformed.
//   - Algorithm. keymanager defaults to PS256 and VerCredProvider asks for
//     PS256; RS256 is accepted too (MOSIP's verifiers accept both). PS256
//     salt length: 32 bytes (the hash length, RFC 7518 3.5).
//   - Key document. Only publicKeyPem is read (PKIX, PKCS #1 or a
//     certificate); "id", "type" and the controller document are not
//     checked: the allow-list decides which keys are trusted.
//   - created. MOSIP writes second precision (yyyy-MM-dd'T'HH:mm:ss'Z');
//     the Signer does too. Verify does not judge it: a credential may arrive
//     long after it was signed.
//   - MOSIP's mosip-context.json. The stock file (mosip/mosip-config)
//     imports https://www.w3.org/ns/odrl.jsonld. ODRL 2.2 (MOSIP's copy,
//     bundled) agrees with the protected "id" and "type" of
//     credentials/v1; an older ODRL draft (w3c/ns) does not, and a JSON-LD
//     1.1 processor then refuses the credential ("protected term
//     redefinition"). The stock file defines neither MOSIPVerifiableCredential
//     (the type becomes a relative IRI, which RDF leaves out) nor
//     birthCertificateNumber (dropped: unsigned, see below). A deployment
//     signs with whatever copies its vercred.context.url.map names;
//     configure the same documents here (MOSIP_VC_CONTEXTS may replace a
//     bundled URL, including credentials/v1).
//   - json-gold. It keeps rdf:type statements with a relative IRI object,
//     which the JSON-LD to RDF algorithm (and Titanium, and jsonld.js)
//     leave out; canonicalization removes them. It also drops statements
//     whose http(s) IRIs fail its URL pattern, where Titanium keeps them: a
//     genuine credential with such an IRI fails as a bad signature (never
//     the other way round).
//
// # Offline contexts
//
// Canonicalization loads contexts only from a Contexts: the bundled W3C ones
// (contexts.go names each file's source) and documents an operator
// configures (MOSIP_VC_CONTEXTS=URL=FILE,...; each MOSIP deployment serves
// mosip-context.json at its own URL). A credential naming any other context
// fails with ErrUnknownContext and the URL; nothing is fetched.
//
// # What a valid proof does not prove
//
// JSON-LD drops properties the contexts do not define, so the signature
// does not cover them: a valid proof says nothing about them. Result.Unsigned
// lists such top-level and credentialSubject properties; callers must not
// trust a value they read from one (the mediator refuses the credential).
// Duplicate keys are refused outright: parsers disagree on which one wins.
//
// # Limits
//
// URDNA2015 takes factorial time on blank nodes that only their relations
// tell apart (a "poison graph" of ten takes hours). Before it runs, a
// credential with more than 5 such blank nodes, 500 blank nodes or 5000
// statements is refused as malformed, as is JSON nested deeper than 32
// levels; MOSIP's credentials have a handful of distinct blank nodes at
// most.
//
// # Keys
//
// Only allow-listed verification methods are fetched, with the injected
// http.Client, and kept for an hour. A URL is fetched at most once a minute
// whatever happens (a failure is remembered for that minute), so forged
// credentials naming an allow-listed URL cannot make us hammer it. When a
// signature fails with a key older than that minute, the key is fetched once
// more (the issuer may have rotated it).
package vc
