// Package idcard verifies the QR code printed on a national ID card, so
// that "authenticated by QR" in an OpenCRVS form means a trusted issuer
// signed the data, not only that the scanned text has the right shape.
//
// # What MOSIP puts in a card's QR code
//
// MOSIP's reference print service (github.com/mosip/print, PrintServiceImpl
// setQrCode, releases 1.1 to 1.3) receives the credential the credential
// service issued to the print partner (types euin, reprint, qrcode),
// decrypts it, and encodes the decrypted credentialSubject JSON, without
// its biometrics, as the QR code. That JSON carries no signature: the
// credential service's signature (a JWS made by the key manager's jwtSign,
// in the WebSub event's proof.signature) covers the encrypted credential
// and never reaches the card. The print service's code that would have put
// a "digitalSignature" in the QR text is commented out. Such a code proves
// nothing; this package answers it with ReasonUnsigned.
//
// Signed codes in MOSIP's ecosystem are:
//   - a JWS/JWT: how MOSIP's key manager signs (jwtSign, RS256 by default,
//     optionally with the certificate or its hash in the header) and how
//     E-Signet and Inji sign tokens and credentials; a card printer that
//     signs its QR text with MOSIP's tooling produces one;
//   - MOSIP Claim 169 (the "169 QR code specification", registered in
//     IANA's CWT claims registry): the identity is a CBOR map under claim
//     169 of a CWT, signed as a COSE_Sign1 (Ed25519 or ECDSA P-256, key id
//     in the COSE header), zlib-compressed and Base45-encoded. Inji Certify
//     and newer card printing produce it.
//
// # What this package reads
//
// Verify tells the format from the text itself:
//   - "eyJ..." with two dots: a compact JWS. The payload is a JSON object
//     of JWT claims (iss, iat, nbf, exp) and the identity in
//     "credentialSubject", in a JWT-VC's "vc.credentialSubject", or as the
//     claims themselves. Subject fields are read in MOSIP ID-schema names
//     (UIN, VID, fullName, firstName, middleName, lastName, dateOfBirth,
//     gender) and common alternatives (givenName, familyName, birthdate);
//     MOSIP's language lists [{"language":"eng","value":"..."}] give their
//     first value. Algorithms RS*, PS*, ES* and EdDSA; "none" and HMAC are
//     refused.
//   - Base45 text: Claim 169 (zlib only: Brotli, which the 1.2.1
//     specification also allows, and encrypted COSE_Encrypt0 codes are
//     answered ReasonUnsupported). Attributes 1 (ID), 4-7 (names), 8 (date
//     of birth) and 9 (gender) are handed on; photographs and other
//     biometrics are not.
//   - "{...}": MOSIP's unsigned print-service JSON: ReasonUnsigned.
//
// Trust comes only from configured issuer keys (Keys: JWKS or PEM files,
// JWKS URLs; several keys for rotation). A certificate or key carried
// inside the code is never trusted by itself. The key is chosen by the
// code's key id (JWS "kid", COSE kid label 4) or certificate thumbprint
// (x5t#S256, COSE x5t label 34); keys without an id (PEM) are tried for
// any code. A key's JWK "alg" limits the algorithm it verifies. Times (iat,
// nbf, exp) are checked with a clock skew allowance, and a certificate's
// validity must cover the time the code was signed.
//
// Verify never returns card data for a code that does not verify, and
// neither it nor its callers log the code or the identity.
package idcard
