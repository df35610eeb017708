// Package esignetsim simulates MOSIP E-Signet, the OpenID Connect provider
// OpenCRVS forms send a person to for in-form authentication, as far as a
// relying party sees it. It checks what E-Signet checks (the client
// assertion's signature, iss, sub, aud, exp and single-use jti; codes valid
// once, for a short time, for their client and redirect URI) and answers
// the way E-Signet does, errors included, so the mediator's E-Signet client
// is tested against the real rules. State lives in memory.
//
// # Endpoints
//
// Paths are E-Signet's below its /v1/esignet base; mount the handler under
// that prefix (http.StripPrefix) or serve it at the root.
//
//	GET  /authorize                      authorization request: client_id, response_type=code,
//	                                     redirect_uri, scope (with openid), state, nonce, claims,
//	                                     acr_values. Without individual_id: a sign-in page asking
//	                                     for a UIN/VID; with individual_id=<UIN or VID of a seeded
//	                                     identity> (the simulator's stand-in for the person
//	                                     signing in): 302 to redirect_uri?code=..&state=..
//	POST /oauth/token, /oauth/v2/token   authorization_code grant with private_key_jwt
//	                                     (form: grant_type, code, redirect_uri, client_id,
//	                                     client_assertion_type, client_assertion) ->
//	                                     {access_token, token_type "Bearer", id_token, expires_in}
//	GET  /oidc/userinfo                  Authorization: Bearer <access token> -> the user info,
//	                                     Content-Type application/jwt: a JWT signed RS256 with the
//	                                     key in the JWKS (a JWE to the client's key when the client
//	                                     is registered so)
//	GET  /.well-known/jwks.json          the signing key (also /oauth/.well-known/jwks.json)
//	GET  /.well-known/openid-configuration  discovery (also /oidc/.well-known/openid-configuration)
//	GET|PUT /sim/faults                  {"userInfoSignature": "" | "unknown-key" | "tampered"}
//
// # Errors, as E-Signet answers them
//
// The token endpoint answers OAuth errors {"error", "error_description"}
// (E-Signet puts the code in both). A code that is unknown, expired or
// already used is invalid_grant with HTTP 500 (E-Signet raises it as a
// plain EsignetException, which its handler answers 500); a code is spent
// by its first use, even one that fails later, as E-Signet evicts it from
// its cache on read. A client_id or redirect_uri other than the
// authorization request's is invalid_client_id or invalid_redirect_uri
// (400). A client assertion that is missing, badly signed, for another
// client, for another audience, expired, without iat or jti, or with a jti
// seen before is invalid_client (400); the reason is logged by the
// simulator (E-Signet logs it too). The user info endpoint answers a
// missing, unknown or expired access token with 401 and
// WWW-Authenticate: error="invalid_token", no body.
//
// # User info
//
// Claims: sub (a partner-specific token: the same person gives each client
// a different one, never the UIN), name, given_name, middle_name,
// family_name, gender ("Male", "Female"), birthdate ("YYYY/MM/DD", MOSIP's
// form), email, phone_number, iss, aud (the client id), iat. The seeded
// identities are OpenCRVS's mock identities (identities.json, the same as
// the Node esignet-mock's), unless Config.Identities replaces them.
//
// # Faults
//
// PUT /sim/faults (or SetFaults) makes the user info untrustworthy:
// "unknown-key" signs it with a key that is not in the JWKS (under the
// published key id, as a forger would), "tampered" changes a claim after
// signing. A relying party must refuse both.
package esignetsim
