// One client connection's cache of authorization decisions ("decisions are cached per connection and invalidated
// when ACLs change", issue 19). A connection's principal and host do not change while it lives (a SASL
// re-authentication must keep the principal, KIP-368), so a decision is keyed by resource type, resource name and
// operation alone; the principal and host it was filled for are kept anyway, and a lookup for others starts it
// afresh. It remembers the generation of the ACL set it was filled under (AclAuthorizer.generation, bumped by every
// change the metadata watch delivers) and empties itself at the first lookup after a change, so a change costs
// nothing until a connection asks again. Bounded: past `max` entries the oldest one goes (a Map keeps insertion
// order), so a client walking through many topics keeps the recent ones and a bounded amount of memory.
import type { Decision } from './acl-authorizer.ts';

export class ConnectionDecisions {
  private readonly decisions = new Map<string, Decision>();
  private generation = -1;
  private who = '';

  constructor(private readonly max: number) {}

  get size(): number {
    return this.decisions.size;
  }

  /** The cached decision for the key, or `evaluate()`'s, remembered. */
  decide(generation: number, who: string, key: string, evaluate: () => Decision): Decision {
    if (generation !== this.generation || who !== this.who) {
      this.decisions.clear();
      this.generation = generation;
      this.who = who;
    }
    let d = this.decisions.get(key);
    if (d === undefined) {
      d = evaluate();
      if (this.decisions.size >= this.max) this.decisions.delete(this.decisions.keys().next().value!);
      this.decisions.set(key, d);
    }
    return d;
  }
}
