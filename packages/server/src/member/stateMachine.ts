import { ErrorCode, type ResponseHeader } from '@cairn/protocol';
import type { ConfChange, ConfState, Entry } from '@cairn/raft';
import { Applier, type ApplyOutcome } from '../apply/applier.js';
import { decodeConfContext, decodeProposal, takeCheckedEntry } from '../apply/requests.js';
import type { ChangeListener, RevisionEvents, StoreOptions } from '../mvcc/store.js';
import type { StateMachine } from '../raftNode/driver.js';
import type { Backend } from '../storage/backend.js';
import type { Clock } from '../clock.js';
import { metaKey, MetaKey } from '../storage/keyspace.js';

/** What the state machine tells the member around it, and what it needs from it. */
export interface StateMachineHost {
  readonly memberId: bigint;
  readonly backend: Backend;
  readonly storeOptions?: StoreOptions | undefined;
  readonly clock: Clock;
  /** The response header at `revision`. */
  header(revision: number): ResponseHeader;
  /** An entry of `term` is about to be applied. */
  termApplied(term: number): void;
  /** Proposal (`origin`, `seq`) was applied with `outcome` (answered on `revealed`). */
  applied(origin: bigint, seq: bigint, outcome: ApplyOutcome): void;
  /** What was applied so far is committed: answer its proposers. */
  revealed(): void;
  /** The members table changed. */
  membersChanged(): void;
  /** This member applied its own removal. */
  removedSelf(): void;
  /** A snapshot replaced the state (the applier is new). */
  restored(): void;
  /** Seconds spent applying one entry (metrics). */
  appliedIn?(seconds: number): void;
  info(fields: object, msg: string): void;
  /** TEST ONLY, a planted bug (MemberOptions.plantedBugs): batches without the applied index. */
  readonly skipAppliedIndex?: boolean;
  /** TEST ONLY, a planted bug: the applier does not re-check auth (Applier.load). */
  readonly skipAuthRecheck?: boolean;
}

/**
 * The replicated state machine the raft driver feeds: it owns the applier (replaced when a
 * snapshot is installed), applies committed entries, makes them visible (watch events, then
 * answers) once committed, hands the driver what to write and learns when it is written.
 */
export class MemberStateMachine implements StateMachine {
  private currentApplier: Applier;
  /** The newest revision listeners have heard of (committed and applied; maybe not written yet). */
  private visibleRev: bigint;
  /** Applied index of the last written batch, and callers waiting for a newer one. */
  private writtenIndex: bigint;
  private writtenWaiters: { index: bigint; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private readonly resetListeners = new Set<() => void>();
  private readonly authListeners = new Set<() => void>();
  /** The auth revision listeners last heard of. */
  private notifiedAuthRev: bigint;
  private unsubscribeStore: () => void = () => undefined;

  constructor(private readonly host: StateMachineHost) {
    this.currentApplier = this.load();
    this.visibleRev = BigInt(this.currentApplier.store.currentRevision);
    this.writtenIndex = this.currentApplier.appliedIndex;
    this.notifiedAuthRev = this.currentApplier.auth.revision;
  }

  private load(): Applier {
    const a = Applier.load(this.host.backend, (rev) => this.host.header(rev), this.host.storeOptions, this.host.skipAuthRecheck === true);
    this.unsubscribeStore();
    this.unsubscribeStore = a.store.onChange((revs) => {
      for (const l of this.listeners) l(revs);
    });
    return a;
  }

  /** The applier (replaced when a snapshot is installed: do not hold on to it). */
  get applier(): Applier {
    return this.currentApplier;
  }

  /** See Member.visibleRevision. */
  get visibleRevision(): bigint {
    return this.visibleRev;
  }

  appliedIndex(): number {
    return Number(this.currentApplier.appliedIndex);
  }

  applyNormal(e: Entry): void {
    const a = this.currentApplier;
    const index = BigInt(e.index);
    this.host.termApplied(e.term);
    if (e.data.length === 0) {
      a.applyEmpty(index, e.term);
      return;
    }
    // Checked and decoded when it came from the leader (raftNode/inbound.ts), if still cached.
    const checked = takeCheckedEntry(e.data);
    const p = checked?.proposal ?? decodeProposal(e.data);
    const t0 = this.host.clock.monotonic();
    const outcome = checked !== undefined ? a.applyRequest(index, checked.request, e.term, p.auth) : a.apply(index, p.request, e.term, p.auth);
    this.host.appliedIn?.((this.host.clock.monotonic() - t0) / 1000);
    if (!outcome.ok && p.auth !== undefined && p.origin === this.host.memberId && p.auth.authRevision !== a.auth.revision) {
      const code = outcome.error.code;
      if (code === ErrorCode.PermissionDenied || code === ErrorCode.UserEmpty) {
        this.host.info(
          { user: p.auth.user, checkedAtAuthRevision: p.auth.authRevision.toString(), authRevision: a.auth.revision.toString(), index: index.toString() },
          'request refused at apply: its permission changed between the check and the log (re-checked as etcd does)',
        );
      }
    }
    if (outcome.ok && 'members' in outcome.response) this.host.membersChanged();
    this.host.applied(p.origin, p.seq, outcome);
  }

  applyConfChange(e: Entry, cc: ConfChange, cs: ConfState): void {
    this.host.termApplied(e.term);
    const ctx = decodeConfContext(cc.context);
    const outcome = this.currentApplier.applyConfChange(BigInt(e.index), e.term, cc, ctx.member, cs);
    this.host.membersChanged();
    this.host.applied(ctx.origin, ctx.seq, outcome);
    if (cc.type === 'removeNode' && cc.nodeId === this.host.memberId) this.host.removedSelf();
  }

  /**
   * The entries applied so far are committed, so nothing can take back what they did (a
   * restart replays them from the log): watchers hear of the revisions first, then the
   * proposers get their answers.
   */
  reveal(): void {
    const a = this.currentApplier;
    this.visibleRev = BigInt(a.store.currentRevision);
    a.reveal();
    if (a.auth.revision !== this.notifiedAuthRev) this.authChanged();
    this.host.revealed();
  }

  drain(): ReturnType<StateMachine['drain']> {
    const a = this.currentApplier;
    if (!a.dirty) return undefined;
    const batch = a.drain();
    const skipped = this.host.skipAppliedIndex === true ? metaKey(MetaKey.AppliedIndex) : undefined;
    return {
      ops: skipped === undefined ? batch.store.ops : batch.store.ops.filter((op) => Buffer.compare(op.key, skipped) !== 0),
      position: { index: Number(batch.appliedIndex), term: a.appliedTerm, confState: a.confState },
      release: () => {
        this.writtenIndex = batch.appliedIndex;
        a.release(batch);
        if (this.writtenWaiters.length > 0) {
          const ready = this.writtenWaiters.filter((w) => w.index <= batch.appliedIndex);
          this.writtenWaiters = this.writtenWaiters.filter((w) => w.index > batch.appliedIndex);
          for (const w of ready) w.resolve();
        }
      },
    };
  }

  /** A snapshot replaced the state tables: load everything again. */
  restored(): void {
    this.currentApplier = this.load();
    this.visibleRev = BigInt(this.currentApplier.store.currentRevision);
    this.writtenIndex = this.currentApplier.appliedIndex;
    for (const w of this.writtenWaiters) w.resolve();
    this.writtenWaiters = [];
    this.host.restored();
    for (const l of this.resetListeners) l();
    this.authChanged();
  }

  private authChanged(): void {
    this.notifiedAuthRev = this.currentApplier.auth.revision;
    for (const l of this.authListeners) l();
  }

  /**
   * Resolves once everything applied so far is in the state tables on disk (what reads the
   * backend alone needs, such as a hash). Reads need not wait: only committed entries are
   * applied, so nothing they see can be taken back.
   */
  written(): Promise<void> {
    const index = this.currentApplier.appliedIndex;
    if (index <= this.writtenIndex) return Promise.resolve();
    return new Promise((resolve, reject) => this.writtenWaiters.push({ index, resolve, reject }));
  }

  /** See Member.onChange. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** See Member.onReset. */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  /** See Member.onAuthChange. */
  onAuthChange(listener: () => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  /** The events of revisions [from, min(to, visibleRevision)] (see MvccStore.history); `unavailable` during an install. */
  history(from: bigint, to: bigint = this.visibleRev): RevisionEvents[] {
    const end = to < this.visibleRev ? to : this.visibleRev;
    if (from > end) return [];
    return this.currentApplier.store.history(Number(from), Number(end));
  }

  /** Fails the callers waiting for a write (the member stopped). */
  failWritten(err: unknown): void {
    for (const w of this.writtenWaiters) w.reject(err);
    this.writtenWaiters = [];
  }

  /** Stops listening to the store. */
  close(): void {
    this.unsubscribeStore();
  }
}
