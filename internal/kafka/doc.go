// Package kafka is the queue of the MOSIP-side mediator (KAFKA_BROKERS set):
// its intake stores a record durably, publishes it with a [Producer], and a
// [Consumer] hands it to the packet work. It wraps franz-go (kgo, kadm).
//
// # Guarantees
//
// At least once, in order per key, never skipping a record:
//
//   - [Producer.Publish] is synchronous: it returns nil only once every
//     in-sync replica has the record (acks=all, idempotent producer). Any
//     error means "not known to be stored": the caller keeps the record in
//     its own store and publishes it again later. Publish returns by the
//     context's deadline or Config.RequestTimeout, whichever comes first,
//     even while Kafka is down; a record whose request was already on the
//     wire may still arrive after that error, so a retry can publish a
//     duplicate.
//   - Records with the same key go to the same partition, and a partition is
//     handled by one goroutine, one record at a time, in offset order.
//     Partitions are handled concurrently.
//   - [Consumer.Run] commits a record's offset only after its handler
//     returned nil (or reported it as poison, see [Permanent]). A failing
//     record is tried again with capped exponential backoff for as long as
//     it fails; the records behind it on its partition wait. Offsets are
//     never committed automatically.
//   - A group that has no committed offset starts at the earliest record,
//     so nothing published before the first consumer joined is missed.
//
// # What the handler must do
//
// The handler must be idempotent, keyed by the record id (the Kafka key).
// It is called again for a record it already handled when the member
// stopped (or was killed, or lost its partition in a rebalance) after the
// work but before the commit, and when a retried Publish produced a
// duplicate. It must also honour its context: the context is canceled when
// Run's context ends and when the record's partition is revoked in a
// rebalance. Run waits for the handler to return before the partition is
// given to another member, so within one group generation no record is
// handled by two members at once; a handler that ignores its context
// delays the rebalance and risks being removed from the group after the
// rebalance timeout (kgo's default 60 s), after which another member may
// take the partition while it still runs.
//
// A record that can never be handled (undecodable) should not block its
// partition forever: the handler returns [Permanent](err), the record is
// reported through Config.OnPoison and committed.
//
// # Logs and metrics
//
// Logs name topics, partitions, offsets and keys (record ids), never
// values (personal data). Handler errors are logged as they are: keep
// personal data out of them. Config.Metrics receives counts of published,
// consumed, retried, poison and committed records.
package kafka
