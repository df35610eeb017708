// Package envelope carries a record between the two mediators of the split
// design (the OpenCRVS-side and the MOSIP-side mediator): the JSON object
//
//	{"id": "...", "requestTime": "...", "data": "...", "signature": "..."}
//
// where data is the record encrypted to the peer's certificate with MOSIP's
// VER_R2 hybrid scheme (mosip.EncryptVERR2: RSA-OAEP-SHA256 key transport,
// AES-256-GCM) and signature is RSASSA-PKCS1-v1_5 with SHA-512 by the
// sender's own key. A Sealer makes envelopes, an Opener checks and opens
// them; Decode parses the JSON strictly.
//
// Both ends are configured with the same Protocol; a receiver refuses any
// other (ErrProtocol), so it cannot be downgraded.
//
// # V2 (ours, the default)
//
//	{"id": ID, "requestTime": T, "data": base64url(VER_R2), "signature": base64url(sig), "version": "2"}
//	sig = SHA512withRSA("opencrvs-mosip-envelope/2\n" + ID + "\n" + T + "\n" + data)
//
// T is RFC 3339 (Seal writes UTC with milliseconds; Open also takes other
// offsets and any fraction). The signature covers the exact text of id,
// requestTime and data and the protocol version, so none can be changed or
// swapped between envelopes, and an envelope of one protocol cannot be
// passed off as another. Open refuses a requestTime more than Window (5
// minutes by default) from its clock, each side, and returns a replay key
// that the caller records for 2×Window to refuse a second delivery (see
// Opener.Open). The VER_R2 thumbprint is SHA-256 of the recipient
// certificate's DER, so a receiver can tell which of its certificates the
// sender used (Envelope.SentTo).
//
// # JavaCompat (OpenCRVS side -> existing Java MOSIP-side mediator)
//
//	{"id": ID, "requestTime": T, "data": base64(VER_R2), "signature": base64(sig)}
//	sig = SHA512withRSA(VER_R2 bytes)
//
// Standard padded base64, no version field, as the Node OpenCRVS-side
// mediator sends to the Java mediator's /birth and /death. The signature
// covers only the ciphertext: the ciphertext cannot be altered or forged,
// but id (the Java side's transaction id) and requestTime can be changed by
// anyone on the way, and a captured envelope can be replayed at any time:
// there is no freshness to enforce. Use it only to talk to a peer that
// speaks nothing else.
//
// # LegacyResult (existing Java MOSIP-side mediator -> OpenCRVS side)
//
//	{"id": "", "requestTime": "", "data": base64url(VER_R2), "signature": base64url(sig)}
//	sig = SHA512withRSA(plaintext)
//
// URL-safe base64 without padding, as the Java mediator's credential push
// (its encryptSign) writes. The signature is over the plaintext, so the
// receiver must decrypt before it can verify; it proves who wrote the
// plaintext but not that the ciphertext was meant for this exchange. id and
// requestTime are not covered and there is no freshness.
//
// # In every protocol
//
// Decoders accept standard and URL-safe base64, padded or not. Legacy peers
// write a random VER_R2 thumbprint; any 32 bytes are accepted. Keys are RSA
// of at least 2048 bits (ParsePrivateKey takes PKCS#8 and PKCS#1 PEM,
// ParsePeerKey a certificate or an SPKI public key). Sealers and Openers
// share no mutable crypto state and are safe for concurrent use (the Java
// mediator's shared Cipher/Signature objects were not).
//
// What no protocol protects against: a compromised private key at either
// end; the binding of an envelope to one endpoint (the same V2 envelope is
// valid wherever the same keys are configured: the record inside says what
// it is); replays within the window unless the caller records replay keys;
// traffic analysis (sizes and timing are visible).
package envelope
