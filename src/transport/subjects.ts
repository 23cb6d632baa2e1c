// NATS subject names of Kastor's control and data planes. Every subject starts with the cluster's prefix
// (derived from the metadata bucket name) so two clusters can share one NATS without hearing each other.
// Replication and controller requests are core NATS request/reply, never JetStream subjects (a stream would
// capture the requests: NATS-NOTES.md).

export interface Subjects {
  /** Broker liveness: every broker publishes here every heartbeat interval. */
  heartbeat: string;
  /** Replication fetches for partitions led by broker `id` (request/reply, long-polled). */
  replicaFetch(leaderBrokerId: number): string;
  /** ISR change proposals from partition leaders to the active controller (request/reply). */
  alterIsr: string;
  /** Controlled shutdown: a broker asks the controller to move leadership away first (request/reply). */
  controlledShutdown: string;
  /** A broker reports a replica whose log failed; the controller moves its leadership away (request/reply). */
  replicaOffline: string;
  /** ElectLeaders: a broker forwards an operator's election to the controller (request/reply). */
  electLeaders: string;
  /** AlterPartitionReassignments: a broker forwards an operator's reassignments to the controller (request/reply). */
  reassignPartitions: string;
  /** Transaction markers for partitions led by broker `id`, from transaction coordinators (request/reply). */
  txnMarkers(leaderBrokerId: number): string;
  /** KIP-890 verification: a partition leader asks the transaction coordinator on broker `id` (request/reply). */
  txnVerify(coordinatorBrokerId: number): string;
  /** Broker `id` answers here while its NATS connection lives (the controller's crash probe). */
  alive(brokerId: number): string;
}

/** The prefix of every subject of the cluster whose metadata lives in `bucket`. */
export function subjectPrefix(bucket: string): string {
  return `kastor.${bucket.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function subjectsFor(bucket: string): Subjects {
  const prefix = subjectPrefix(bucket);
  return {
    heartbeat: `${prefix}.heartbeat`,
    replicaFetch: (leaderBrokerId) => `${prefix}.replica.fetch.${leaderBrokerId}`,
    alterIsr: `${prefix}.controller.alter-isr`,
    controlledShutdown: `${prefix}.controller.shutdown`,
    replicaOffline: `${prefix}.controller.replica-offline`,
    electLeaders: `${prefix}.controller.elect-leaders`,
    reassignPartitions: `${prefix}.controller.reassign-partitions`,
    txnMarkers: (leaderBrokerId) => `${prefix}.txn.markers.${leaderBrokerId}`,
    txnVerify: (coordinatorBrokerId) => `${prefix}.txn.verify.${coordinatorBrokerId}`,
    alive: (brokerId) => `${prefix}.broker.alive.${brokerId}`,
  };
}
