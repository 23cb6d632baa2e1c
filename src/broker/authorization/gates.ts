// The authorization gate of each API (gate.ts), by API key. An API without a gate is served as without an
// authorizer: those Kastor does not check yet are listed in README's "ACLs" paragraph.
import { ApiKey } from '../../protocol/generated/api-keys.ts';
import type { Gate } from './gate.ts';
import { fetchGate, listOffsetsGate, metadataGate, produceGate } from './data-gates.ts';
import {
  deleteGroupsGate,
  describeGroupsGate,
  findCoordinatorGate,
  heartbeatGate,
  joinGroupGate,
  leaveGroupGate,
  listGroupsGate,
  offsetCommitGate,
  offsetFetchGate,
  syncGroupGate,
} from './group-gates.ts';
import { addOffsetsToTxnGate, addPartitionsToTxnGate, endTxnGate, txnOffsetCommitGate } from './txn-gates.ts';
import {
  alterPartitionReassignmentsGate,
  createPartitionsGate,
  deleteRecordsGate,
  describeLogDirsGate,
  electLeadersGate,
  listPartitionReassignmentsGate,
  offsetForLeaderEpochGate,
} from './cluster-gates.ts';
import {
  alterConfigsGate,
  alterScramGate,
  createTopicsGate,
  deleteTopicsGate,
  describeConfigsGate,
  describeScramGate,
  incrementalAlterConfigsGate,
  initProducerIdGate,
} from './admin-gates.ts';

export const GATES: Partial<Record<number, Gate>> = {
  [ApiKey.Produce]: produceGate,
  [ApiKey.Fetch]: fetchGate,
  [ApiKey.ListOffsets]: listOffsetsGate,
  [ApiKey.Metadata]: metadataGate,
  [ApiKey.JoinGroup]: joinGroupGate,
  [ApiKey.SyncGroup]: syncGroupGate,
  [ApiKey.Heartbeat]: heartbeatGate,
  [ApiKey.LeaveGroup]: leaveGroupGate,
  [ApiKey.OffsetCommit]: offsetCommitGate,
  [ApiKey.OffsetFetch]: offsetFetchGate,
  [ApiKey.CreateTopics]: createTopicsGate,
  [ApiKey.DeleteTopics]: deleteTopicsGate,
  [ApiKey.DescribeConfigs]: describeConfigsGate,
  [ApiKey.AlterConfigs]: alterConfigsGate,
  [ApiKey.IncrementalAlterConfigs]: incrementalAlterConfigsGate,
  [ApiKey.InitProducerId]: initProducerIdGate,
  [ApiKey.DescribeUserScramCredentials]: describeScramGate,
  [ApiKey.AlterUserScramCredentials]: alterScramGate,
  [ApiKey.FindCoordinator]: findCoordinatorGate,
  [ApiKey.DescribeGroups]: describeGroupsGate,
  [ApiKey.ListGroups]: listGroupsGate,
  [ApiKey.DeleteGroups]: deleteGroupsGate,
  [ApiKey.AddPartitionsToTxn]: addPartitionsToTxnGate,
  [ApiKey.AddOffsetsToTxn]: addOffsetsToTxnGate,
  [ApiKey.EndTxn]: endTxnGate,
  [ApiKey.TxnOffsetCommit]: txnOffsetCommitGate,
  [ApiKey.CreatePartitions]: createPartitionsGate,
  [ApiKey.DeleteRecords]: deleteRecordsGate,
  [ApiKey.OffsetForLeaderEpoch]: offsetForLeaderEpochGate,
  [ApiKey.ElectLeaders]: electLeadersGate,
  [ApiKey.AlterPartitionReassignments]: alterPartitionReassignmentsGate,
  [ApiKey.ListPartitionReassignments]: listPartitionReassignmentsGate,
  [ApiKey.DescribeLogDirs]: describeLogDirsGate,
};
