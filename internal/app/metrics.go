package app

import (
	"cmp"
	"context"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// outboundEndpoints names every URL the mediator calls, for the outbound
// metrics' system and endpoint labels. The MOSIP endpoint names are those
// the jobs give MOSIP's operations when they count an error code.
func outboundEndpoints(cfg Config) []telemetry.Endpoint {
	gateway := strings.TrimRight(cmp.Or(cfg.OpenCRVSGateway, gatewayOf(cfg.OpenCRVSGraphQL)), "/")
	eps := []telemetry.Endpoint{
		{System: telemetry.SystemMOSIP, Name: "auth", URL: cfg.MOSIPAuthURL},
		{System: telemetry.SystemMOSIP, Name: "createPacket", URL: cfg.CreatePacketURL},
		{System: telemetry.SystemMOSIP, Name: "workflow", URL: cfg.WorkflowURL},
		{System: telemetry.SystemMOSIP, Name: "status", URL: cfg.StatusURL},
		{System: telemetry.SystemMOSIP, Name: "identity", URL: cfg.IdentityURL},
		{System: telemetry.SystemMOSIP, Name: "vid", URL: cfg.VIDURL},
		{System: telemetry.SystemWebSubHub, Name: "hub", URL: cfg.HubURL},
		{System: telemetry.SystemOpenCRVS, Name: "graphql", URL: cfg.OpenCRVSGraphQL},
		{System: telemetry.SystemOpenCRVS, Name: "trpc", URL: gateway + "/events"},
		{System: telemetry.SystemOpenCRVS, Name: "publicKey", URL: cfg.OpenCRVSPublicKey},
		{System: telemetry.SystemOpenCRVS, Name: "token", URL: cfg.OpenCRVSTokenURL},
		{System: telemetry.SystemOpenCRVS, Name: "identitySink", URL: cfg.IdentitySinkURL},
		{System: telemetry.SystemIDA, Name: "auth", URL: cfg.IDAAuthURL},
		{System: telemetry.SystemESignet, Name: "token", URL: cfg.ESignetTokenURL},
		{System: telemetry.SystemESignet, Name: "userinfo", URL: cfg.ESignetUserInfoURL},
		{System: telemetry.SystemESignet, Name: "jwks", URL: cfg.ESignetJWKSURL},
	}
	for _, key := range cfg.VCAllowList { // the keys credentials are signed with
		eps = append(eps, telemetry.Endpoint{System: telemetry.SystemMOSIP, Name: "credentialKey", URL: key})
	}
	for _, src := range cfg.TrustedQRIssuers {
		if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
			eps = append(eps, telemetry.Endpoint{System: telemetry.SystemQRIssuer, Name: "jwks", URL: src})
		}
	}
	return eps
}

// storeSnapshot reads what the transaction and queue gauges show. Every
// queue of the jobs is listed, so that an empty one shows 0.
func storeSnapshot(st *store.Store) func(context.Context) (telemetry.Snapshot, error) {
	return func(ctx context.Context) (telemetry.Snapshot, error) {
		var snap telemetry.Snapshot
		var err error
		if snap.Transactions, err = st.CountByState(ctx); err != nil {
			return snap, err
		}
		snap.OldestWaiting = map[bridge.State]time.Time{}
		for _, state := range bridge.States {
			if state.Final() {
				continue
			}
			oldest, err := st.OldestWaiting(ctx, []bridge.State{state})
			if err != nil {
				return snap, err
			}
			if oldest != nil {
				snap.OldestWaiting[state] = oldest.CreatedAt
			}
		}
		if snap.Jobs, err = st.QueueDepth(ctx); err != nil {
			return snap, err
		}
		for _, q := range []string{jobs.QueueSubmit, jobs.QueueFeedback, jobs.QueueMaintenance, jobs.QueueReconcile, jobs.QueueSubmitBackfill} {
			if snap.Jobs[q] == nil {
				snap.Jobs[q] = map[string]int{}
			}
		}
		return snap, nil
	}
}
