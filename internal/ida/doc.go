// Package ida is a client of MOSIP's ID Authentication (IDA) for
// demographic authentication: "is this national ID number held by the person
// with this name, date of birth and gender?".
//
// The request is built as MOSIP specifies (and as OpenCRVS's mosip-api sends
// it, where that works):
//
//   - the auth data {"timestamp", "demographics": {name, dob, gender}} is
//     encrypted with a fresh 32-byte key K under AES-256-GCM with a 16-byte
//     random nonce, laid out as ciphertext | tag | nonce (MOSIP's
//     CryptoCore.symmetricEncrypt), and sent as padded base64url in "request";
//   - K is encrypted with RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) to
//     the IDA partner certificate (ENCRYPT_CERT_PATH) in "requestSessionKey";
//   - "requestHMAC" is the upper-case hex SHA-256 of the auth data JSON,
//     encrypted with K the same way;
//   - "thumbprint" is the base64url SHA-256 of that certificate (DER);
//   - the exact body bytes are signed with RS256 by the partner key
//     (SIGN_P12_FILE_PATH) and sent as a detached JWS in the Signature header,
//     its protected header carrying the signing certificate in x5c;
//   - the URL is IDA_AUTH_URL/{PARTNER_MISP_LK}/{PARTNER_ID}/{PARTNER_APIKEY}.
//
// Names keep their middle names; dates are sent as MOSIP's YYYY/MM/DD by
// rewriting the date's text, never through a time zone.
//
// Verify returns nil when IDA authenticated the person, or an *Error whose
// Kind says what a caller should do: KindNotMatched (IDA answered: the data
// does not match, or the ID is unknown), KindRejected (IDA refused the
// request itself: a partner, key or configuration problem) or
// KindUnavailable (no usable answer; try again later). The client never logs
// personal data: no ID number, name, date or gender.
package ida
