package app

import (
	"context"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
)

// backfillConfig is the intake of historic records: on only with an
// OpenCRVS system client, and ready only while it gets a token, so that a
// backfill stops at its first batch rather than fill the queue with
// records whose national IDs could not go back.
func backfillConfig(cfg Config, system *opencrvs.SystemClient) pipeline.BackfillConfig {
	bc := pipeline.BackfillConfig{MaxWaiting: cfg.BackfillMaxWaiting}
	if system == nil {
		return bc
	}
	bc.Ready = func(ctx context.Context) error {
		if _, err := system.Token(ctx); err != nil {
			if opencrvs.IsTransient(err) {
				return &bridge.Error{Code: bridge.EUnavailable, Message: "OpenCRVS's auth service does not give the system client a token at the moment; send the batch again later", Err: err}
			}
			return &bridge.Error{Code: bridge.EConflict, Message: "OpenCRVS refuses the system client (OPENCRVS_CLIENT_ID, OPENCRVS_CLIENT_SECRET, OPENCRVS_AUTH_TOKEN_URL): " + err.Error(), Err: err}
		}
		return nil
	}
	return bc
}
