/**
 * Health checks with real processes: an instance in its own process runs an HTTP check on its
 * own /health; the test breaks and heals that endpoint and watches the instance leave the
 * healthy view within interval + timeout, come back, and deregister itself after
 * deregisterAfterMs of being critical.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, ErrorCode } from '@cairn/client';
import { discover, register, type Instance, type ServiceChange } from '@cairn/registry';
import { ROOT, singleMember, waitFor, type Member } from './support/process.js';

const CHECKED = fileURLToPath(new URL('./support/checked.mjs', import.meta.url));
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const DEREGISTER_AFTER_MS = 3000;
/** For the record's write to commit and the watch event to arrive, on a busy machine. */
const SLACK_MS = 1000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class Checked {
  readonly proc: ChildProcess;
  out = '';
  code: number | null | undefined;
  constructor(endpoint: string, id: string) {
    const args = [CHECKED, endpoint, 'web', id, String(INTERVAL_MS), String(TIMEOUT_MS), String(DEREGISTER_AFTER_MS)];
    this.proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.on('exit', (c, s) => (this.code = c ?? (s !== null ? 128 : -1)));
    cleanups.push(() => this.proc.kill('SIGKILL'));
  }
  get port(): number {
    return Number(/listening (\d+)/.exec(this.out)?.[1] ?? 0);
  }
  async registered(): Promise<void> {
    await waitFor(`the instance to register (output: ${this.out})`, () => {
      if (this.code !== undefined) throw new Error(`exited ${this.code}: ${this.out}`);
      return this.out.includes('registered\n');
    });
  }
  async setMode(mode: 'ok' | 'fail' | 'hang'): Promise<void> {
    expect(await (await fetch(`http://127.0.0.1:${this.port}/set?mode=${mode}`)).text()).toBe(mode);
  }
}

describe('health checks with real processes', () => {
  let member: Member;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ member, cleanup } = await singleMember()));
  afterAll(async () => cleanup?.());

  it('a failing HTTP check takes the instance out of the healthy view within interval + timeout, back on recovery, and deregisters it after deregisterAfterMs', async () => {
    const client = new CairnClient({ endpoints: [member.endpoint] });
    cleanups.push(() => client.close());
    const healthy = await discover(client, 'web');
    const everyone = await discover(client, 'web', { includeUnhealthy: true });
    cleanups.push(() => healthy.close(), () => everyone.close());
    const changes: string[] = [];
    healthy.on('change', (c: ServiceChange) => changes.push(`${c.type} ${c.instance.id} ${c.instance.status}`));
    const statuses: string[] = [];
    everyone.on('status', (i: Instance, prev: Instance) => statuses.push(`${prev.status}->${i.status}`));

    const web = new Checked(member.endpoint, 'web-1');
    await web.registered();
    // register() resolved after the first check run: the first record already says passing.
    await waitFor('web-1 in the healthy view', () => healthy.get('web-1') !== undefined);
    expect(healthy.get('web-1')).toMatchObject({ status: 'passing', checks: [{ name: `http http://127.0.0.1:${web.port}/health`, status: 'passing', output: 'HTTP 200 OK' }] });
    expect(healthy.pick()?.id).toBe('web-1');

    // 1. /health answers 503: out of the healthy view, still in the full one, marked critical.
    const failedAt = Date.now();
    await web.setMode('fail');
    await waitFor('web-1 to leave the healthy view', () => healthy.get('web-1') === undefined, 10_000, 20);
    const leftMs = Date.now() - failedAt;
    expect(everyone.get('web-1')).toMatchObject({ status: 'critical', checks: [{ status: 'critical', output: 'HTTP 503 Service Unavailable' }] });
    expect(healthy.pick()).toBeUndefined();
    expect(everyone.pick()).toBeUndefined();

    // 2. Healed: back in the healthy view.
    const healedAt = Date.now();
    await web.setMode('ok');
    await waitFor('web-1 back in the healthy view', () => healthy.get('web-1')?.status === 'passing', 10_000, 20);
    const backMs = Date.now() - healedAt;

    // 3. /health stops answering (the timeout decides): critical, then deregistered once it was
    // critical for deregisterAfterMs; the key is gone from every view, the process lives on.
    const hungAt = Date.now();
    await web.setMode('hang');
    await waitFor('web-1 critical after its timeout', () => everyone.get('web-1')?.status === 'critical', 10_000, 20);
    const criticalMs = Date.now() - hungAt;
    expect(everyone.get('web-1')!.checks[0]!.output).toBe(`timed out after ${TIMEOUT_MS} ms`);
    await waitFor('web-1 to deregister itself', () => everyone.get('web-1') === undefined, 20_000, 20);
    const goneMs = Date.now() - hungAt;
    expect(await client.kv.get('services/web/web-1')).toBeUndefined();
    await waitFor('the process to report it', () => web.out.includes(`deregistered http http://127.0.0.1:${web.port}/health`));
    expect(web.code).toBeUndefined();

    console.log(`web-1: left the healthy view ${leftMs} ms after /health failed, back ${backMs} ms after it healed, critical ${criticalMs} ms after it hung, deregistered after ${goneMs} ms (interval ${INTERVAL_MS}, timeout ${TIMEOUT_MS}, deregisterAfter ${DEREGISTER_AFTER_MS})`);
    expect(leftMs).toBeLessThan(INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
    expect(backMs).toBeLessThan(INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
    expect(criticalMs).toBeLessThan(INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
    // Critical from about criticalMs; deregistered deregisterAfterMs later, not before.
    expect(goneMs).toBeGreaterThanOrEqual(DEREGISTER_AFTER_MS);
    expect(goneMs).toBeLessThan(criticalMs + DEREGISTER_AFTER_MS + SLACK_MS);

    expect(changes).toEqual(['added web-1 passing', 'removed web-1 critical', 'added web-1 passing', 'removed web-1 critical']);
    expect(statuses).toEqual(['passing->critical', 'critical->passing', 'passing->critical']);
    expect(web.out.match(/^status .*$/gm)).toEqual(['status critical', 'status passing', 'status critical']);
  });

  it('bad check options are refused before anything is written; update() keeps the status the checks found', async () => {
    const client = new CairnClient({ endpoints: [member.endpoint] });
    cleanups.push(() => client.close());
    const base = { service: 'checked', id: 'c-1', address: '127.0.0.1', port: 1 };
    await expect(register(client, { ...base, checks: [{ http: 'ftp://x/', intervalMs: 1000, timeoutMs: 100 }] })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringMatching(/checks\[0\]\.http must be an http:\/\/ or https:\/\/ URL/),
    });
    await expect(register(client, { ...base, checks: [{ tcp: '127.0.0.1:1', intervalMs: 1000, timeoutMs: 5000 }] })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringMatching(/checks\[0\]\.timeoutMs .* in 1\.\.1000, got 5000/),
    });
    expect(await client.kv.get('services/checked/c-1')).toBeUndefined();

    // Port 1 on 127.0.0.1 refuses: critical from the first record on, and after an update.
    const reg = await register(client, { ...base, checks: [{ tcp: '127.0.0.1:1', intervalMs: 60_000, timeoutMs: 1000 }] });
    cleanups.push(() => reg.close());
    const record = async (): Promise<Record<string, unknown>> => JSON.parse((await client.kv.getString('services/checked/c-1'))!) as Record<string, unknown>;
    expect(await record()).toMatchObject({ status: 'critical', checks: [{ name: 'tcp 127.0.0.1:1', status: 'critical' }] });
    await reg.update({ weight: 3 });
    expect(await record()).toMatchObject({ weight: 3, status: 'critical' });
    const all = await discover(client, 'checked', { includeUnhealthy: true });
    cleanups.push(() => all.close());
    expect(all.instances().map((i) => `${i.id} ${i.status}`)).toEqual(['c-1 critical']);
    expect(all.pick()).toBeUndefined();
  });
});
