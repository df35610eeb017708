// Package mosip talks to MOSIP: the auth manager, the packet manager, the
// registration processor (workflow instance, status), the ID repository
// (identity by registration id, VIDs of a UIN), and the key manager's
// hybrid encryption (VER_R2) of issued credentials.
//
// Clients take an injected *http.Client, a logger and a clock; they do not
// retry: retries belong to the jobs that call them.
package mosip
