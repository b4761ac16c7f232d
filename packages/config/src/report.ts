import { Backoff, toCairnError, type CairnClient, type CairnError, type KeepAliveHandle } from '@cairn/client';
import type { InstanceReport } from './rollout.js';

/**
 * Keeps one instance's report under `<prefix>.instances/<id>`, on a lease of its own so the key
 * disappears within `ttlSeconds` of the process dying. Writes are serialised and only the
 * newest report is written; a lost lease is replaced by a new one and the report put again.
 */
export class Reporter {
  private lease: bigint | undefined;
  private keep: KeepAliveHandle | undefined;
  private latest: InstanceReport | undefined;
  private written: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 250, maxMs: 5000 });

  constructor(
    private readonly client: CairnClient,
    private readonly key: string,
    private readonly ttlSeconds: number,
    private readonly onError: (err: CairnError) => void,
  ) {}

  /** Reports `report` (a no-op if it is what was last written). */
  report(report: InstanceReport): void {
    this.latest = report;
    clearTimeout(this.retryTimer);
    this.chain = this.chain
      .then(() => this.flush())
      .then(() => this.backoff.reset())
      .catch((err: unknown) => {
        this.onError(toCairnError(err));
        // Unreachable cluster or a lost lease: try again, backing off, until it is written.
        if (!this.closed && !this.client.isClosed) this.retryTimer = setTimeout(() => this.latest && this.report(this.latest), this.backoff.next());
      });
  }

  /** Waits for the reports queued so far to be written (or to fail). */
  async settled(): Promise<void> {
    await this.chain;
  }

  private async flush(): Promise<void> {
    const r = this.latest;
    if (this.closed || r === undefined) return;
    const text = JSON.stringify(r);
    if (text === this.written && this.lease !== undefined) return;
    if (this.lease === undefined) {
      const grant = await this.client.lease.grant(this.ttlSeconds);
      if (this.closed) {
        await this.client.lease.revoke(grant.id).catch(() => undefined);
        return;
      }
      this.lease = grant.id;
      const keep = this.client.lease.keepAlive(grant.id);
      this.keep = keep;
      keep.once('lost', (err: CairnError) => {
        if (this.keep !== keep) return;
        this.lease = undefined;
        this.keep = undefined;
        this.onError(err);
        // Put again on a new lease as soon as a member answers.
        if (!this.closed && this.latest !== undefined) this.report(this.latest);
      });
    }
    await this.client.kv.put(this.key, text, { lease: this.lease });
    this.written = text;
  }

  /** Stops reporting and revokes the lease (which deletes the report). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.chain.catch(() => undefined);
    this.keep?.close();
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined && !this.client.isClosed) await this.client.lease.revoke(lease).catch(() => undefined);
  }
}
