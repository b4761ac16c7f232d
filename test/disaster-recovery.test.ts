/**
 * docs/operations.md, "Disaster recovery", run as written: a three-member cluster on the page's
 * ports (mapped to free ones) backed up with the page's `snapshot save`, two data dirs
 * destroyed, the survivor stopped (step 1), then every line of the page's step-2 block run in
 * order, as it is: `mv`, `cairnutl`, `cairn ... &` and `cairnctl`. The cluster serves again,
 * with the backup's data.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ctl, freePort, Member, ROOT, tempDir, waitFor, type CtlResult } from './support/process.js';
import { utl } from './support/utl.js';

const page = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');

/** The first `sh` block of a section of the page. */
function sectionBlock(heading: string): string[] {
  const at = page.indexOf(`\n## ${heading}\n`);
  expect(at, `docs/operations.md has a "${heading}" section`).toBeGreaterThan(0);
  const m = /```sh\n([\s\S]*?)```/.exec(page.slice(at));
  expect(m, `a sh block under "${heading}"`).not.toBeNull();
  return m![1]!.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** A daemon started with exactly the page's arguments. */
class Verbatim extends Member {
  constructor(
    private readonly argv: string[],
    cwd: string,
    clientPort: number,
  ) {
    super({ name: argv[argv.indexOf('--name') + 1]!, dataDir: '', clientPort, peerPort: 0, cwd });
  }
  override args(): string[] {
    return this.argv;
  }
}

const dir = tempDir('cairn-dr-');
const started: Member[] = [];
afterAll(async () => {
  await Promise.all(started.map((m) => m.kill()));
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/operations.md: disaster recovery', () => {
  it('brings a cluster that lost two of three data dirs back from the last backup', async () => {
    const pagePorts = [2379, 2380, 12379, 12380, 22379, 22380];
    const real = new Map<number, number>();
    for (const p of pagePorts) real.set(p, await freePort());
    const local = (line: string): string => line.replace(/127\.0\.0\.1:(\d+)/g, (all, p: string) => (real.has(Number(p)) ? `127.0.0.1:${real.get(Number(p))}` : all));
    const words = (line: string): string[] => local(line).split(' ').filter((w) => w !== '');

    // The cluster before the disaster: the page's members, ports and layout.
    const initial = 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:12380,m3=http://127.0.0.1:22380';
    const original = ['m1', 'm2', 'm3'].map((name, i) => {
      const c = [2379, 12379, 22379][i]!;
      const p = c + 1;
      return new Verbatim(
        words(`--name ${name} --data-dir ${name}.cairn --listen-client-urls http://127.0.0.1:${c} --listen-peer-urls http://127.0.0.1:${p} --initial-advertise-peer-urls http://127.0.0.1:${p} --initial-cluster ${initial} --initial-cluster-token cairn-prod`),
        dir,
        real.get(c)!,
      );
    });
    started.push(...original);
    await Promise.all(original.map((m) => m.start(60_000, 'listening')));
    const all = local('127.0.0.1:2379,127.0.0.1:12379,127.0.0.1:22379');
    await waitFor('the original cluster healthy', async () => (await ctl([`--endpoints=${all}`, 'endpoint', 'health'])).code === 0, 60_000, 200);
    expect((await ctl([`--endpoints=${all}`, 'put', 'greeting', 'hello'])).code).toBe(0);
    // The backup, with the page's command ("Backups").
    mkdirSync(join(dir, 'backups'));
    const save = sectionBlock('Backups')[0]!;
    expect(save).toBe('cairnctl --endpoints 127.0.0.1:2379 snapshot save backups/latest.snap');
    const saved = await run(words(save));
    expect(saved.stdout).toBe('Snapshot saved at backups/latest.snap\n');
    expect((await ctl([`--endpoints=${all}`, 'put', 'after-backup', 'lost'])).code).toBe(0);

    // The disaster: m2 and m3 die with their disks; no quorum is left.
    await original[1]!.kill();
    await original[2]!.kill();
    rmSync(join(dir, 'm2.cairn'), { recursive: true, force: true });
    rmSync(join(dir, 'm3.cairn'), { recursive: true, force: true });
    const refused = await ctl([`--endpoints=${local('127.0.0.1:2379')}`, '--command-timeout=2s', 'put', 'x', 'y']);
    expect(refused.code).not.toBe(0);
    // Step 1: stop the survivor.
    await original[0]!.stop();

    // Step 2, line by line.
    const outputs: string[] = [];
    const restored: Member[] = [];
    for (const line of sectionBlock('Disaster recovery')) {
      const argv = words(line);
      const [cmd, ...rest] = argv;
      if (cmd === 'mv') {
        renameSync(join(dir, rest[0]!), join(dir, rest[1]!));
        continue;
      }
      if (cmd === 'cairn') {
        expect(rest[rest.length - 1]).toBe('&');
        const args = rest.slice(0, -1);
        const clientUrl = args[args.indexOf('--listen-client-urls') + 1]!;
        const m = new Verbatim(args, dir, Number(new URL(clientUrl).port));
        started.push(m);
        restored.push(m);
        // In the background: the next line runs once it listens (it needs its peers to lead).
        await m.start(60_000, 'listening');
        continue;
      }
      if (line.includes('endpoint health')) {
        // "repeat it until it does"
        await waitFor('the restored cluster healthy', async () => (await ctl(argv.slice(1))).code === 0, 60_000, 200);
      }
      const r = await run(argv);
      outputs.push(r.stdout);
    }
    console.log(`disaster recovery output:\n${outputs.join('')}`);
    expect(restored).toHaveLength(3);
    expect(existsSync(join(dir, 'm1.cairn.old'))).toBe(true);
    expect(outputs.at(-2)).toBe('OK\n');
    expect(outputs.at(-1)).toBe('greeting\nhello\n');
    // The write after the backup is gone, as the page says.
    const lost = await ctl([`--endpoints=${all}`, 'get', 'after-backup']);
    expect(lost).toMatchObject({ code: 0, stdout: '' });
  }, 240_000);
});

/** Runs a page line: cairnctl or cairnutl, in the page's directory; it must succeed. */
async function run(argv: string[]): Promise<CtlResult> {
  const [cmd, ...args] = argv;
  let r: CtlResult;
  if (cmd === 'cairnutl') r = await utl(args, { cwd: dir });
  else if (cmd === 'cairnctl') r = await ctlIn(args);
  else throw new Error(`the page runs ${cmd}, which this test does not know`);
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** cairnctl from the page's directory (relative file names). */
function ctlIn(args: string[]): Promise<CtlResult> {
  return ctl([...args], { cwd: dir });
}
