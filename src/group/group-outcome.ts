// What one step of the group machine decides, as plain data: the next context, the replies to send, the
// members whose session timer restarts, and whether the group metadata record is written. The pure
// functions of group-join.ts and group-membership.ts return it; machines/group.ts turns it into actions.
import type { GroupContext, GroupReply } from './group-types.ts';

export interface Outcome {
  context: GroupContext;
  replies: Array<{ requestId: string; reply: GroupReply }>;
  /** Members whose session timeout restarts (Kafka's completeAndScheduleNextHeartbeatExpiration). */
  arm: string[];
  persist: boolean;
}

/** A copy whose member maps may be changed without touching the snapshot it came from. */
export function draft(ctx: GroupContext): GroupContext {
  return { ...ctx, members: { ...ctx.members }, staticMembers: { ...ctx.staticMembers }, pendingMembers: { ...ctx.pendingMembers } };
}

export function outcome(context: GroupContext): Outcome {
  return { context, replies: [], arm: [], persist: false };
}
