import type { MemberRecord } from '../apply/membership.js';
import type { ProposalAuth, ResponseFor, WriteRequest } from '../apply/requests.js';
import type { Scheduler } from '../clock.js';

/** What the publisher needs from the member around it. */
export interface PublisherHost {
  readonly memberId: bigint;
  readonly name: string;
  readonly clientUrls: readonly string[];
  readonly scheduler: Scheduler;
  /** This member's row in the members table, if it is there yet. */
  record(): MemberRecord | undefined;
  leaderId(): bigint;
  stopped(): boolean;
  propose<R extends WriteRequest>(req: R, auth?: ProposalAuth): Promise<ResponseFor<R>>;
  info(fields: object, msg: string): void;
}

/** Retry period while the member is not in the table yet or a proposal failed. */
const RETRY_MS = 1000;

/**
 * Publishes this member's name and client URLs through the log until the members table holds
 * them (etcd's publish): at start, and again after every leader change until it is recorded.
 */
export class AttributePublisher {
  private cancel: (() => void) | undefined;

  constructor(private readonly host: PublisherHost) {}

  /** Checks (after `delayMs`) whether the table is up to date, and proposes it if not. */
  schedule(delayMs = 0): void {
    if (this.cancel !== undefined || this.host.stopped()) return;
    this.cancel = this.host.scheduler.after(delayMs, () => {
      this.cancel = undefined;
      this.publish();
    });
  }

  private publish(): void {
    const h = this.host;
    const rec = h.record();
    const clientUrls = [...h.clientUrls];
    if (rec === undefined) {
      // Not in the table yet (joining, waiting for a snapshot): try again later.
      this.schedule(RETRY_MS);
      return;
    }
    if (rec.name === h.name && rec.clientUrls.join() === clientUrls.join()) return;
    if (h.leaderId() === 0n) return; // the next leader change tries again
    h.propose({ memberAttr: { id: h.memberId, name: h.name, clientUrls } }).then(
      () => h.info({ name: h.name, clientUrls }, 'published member attributes'),
      () => this.schedule(RETRY_MS),
    );
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}
