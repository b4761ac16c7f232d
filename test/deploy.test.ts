/**
 * The deployment files in deploy/, checked as far as this machine can without a container
 * engine or a Kubernetes API server: the Dockerfile by a Dockerfile linter and by running its
 * health check against a real member; the systemd unit by `systemd-analyze verify`; the
 * Kubernetes objects against the API schemas (kubernetes-models) and `kubectl kustomize`; and
 * the settings each of them hands the daemon by the daemon's own config loader, so that a
 * flag, a variable or a URL it would refuse fails here rather than at start on a server.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { type IStatefulSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { type IService, Service } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig } from '../apps/cairn/src/config.js';
import { CAIRN_BIN, freePort, Member, ROOT, singleMember, tempDir } from './support/process.js';

const DEPLOY = join(ROOT, 'deploy');
const read = (path: string): string => readFileSync(join(DEPLOY, path), 'utf8');
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** The daemon's reading of these settings; throws its ConfigError for one it would refuse. */
function daemonConfig(argv: string[], env: Record<string, string>) {
  const parsed = loadConfig(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected settings to run with, got ${parsed.kind}`);
  return parsed.config;
}

// The daemon checks that the peer secret file exists; on the target machine it does, here a
// stand-in does, and the settings under test name it in place of their own path.
const scratch = tempDir('cairn-deploy-');
const standInSecret = join(scratch, 'peer-secret');
writeFileSync(standInSecret, 'a'.repeat(64));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('deploy/docker/Dockerfile', () => {
  const text = read('docker/Dockerfile');
  const lines = text.split('\n');
  const final = lines.slice(lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0).at(-1));
  /** ENV settings of the final stage, continuation lines joined. */
  const env: Record<string, string> = {};
  for (const m of final.join('\n').replace(/\\\n\s*/g, ' ').matchAll(/^ENV (.+)$/gm)) {
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }

  it('passes the Dockerfile linter with no finding', () => {
    expect(lintDockerfile(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds in one stage and runs in another, as a non-root user, with the data in a volume', () => {
    expect(lines.filter((l) => l.startsWith('FROM ')).length).toBe(2);
    expect(final.find((l) => l.startsWith('USER '))).toBe('USER node');
    expect(final).toContain('VOLUME ["/var/lib/cairn"]');
    expect(env['CAIRN_DATA_DIR']!.startsWith('/var/lib/cairn/')).toBe(true);
    expect(final).toContain('EXPOSE 2379 2380');
    // The deployed copies are of the packages that hold the two bins.
    expect(text).toContain('--filter @cairn/daemon deploy');
    expect(text).toContain('--filter @cairn/ctl deploy');
    const daemon = JSON.parse(readFileSync(join(ROOT, 'apps/cairn/package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    const ctl = JSON.parse(readFileSync(join(ROOT, 'apps/cairnctl/package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    expect([daemon.name, ctl.name]).toEqual(['@cairn/daemon', '@cairn/ctl']);
    expect(text).toContain(`/opt/cairn/daemon/${daemon.bin['cairn']!.replace('./', '')} /usr/local/bin/cairn`);
    expect(text).toContain(`/opt/cairn/ctl/${ctl.bin['cairnctl']!.replace('./', '')} /usr/local/bin/cairnctl`);
    // Its build context leaves out what the build makes afresh.
    expect(read('docker/Dockerfile.dockerignore').split('\n')).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });

  it('hands the daemon settings it accepts: every interface, the data dir in the volume', () => {
    const config = daemonConfig([], env);
    expect(config.listenClientUrls).toEqual(['http://0.0.0.0:2379']);
    expect(config.listenPeerUrls).toEqual(['http://0.0.0.0:2380']);
    expect(config.dataDir).toBe('/var/lib/cairn/data');
  });

  describe('its health check', () => {
    const healthcheck = /^HEALTHCHECK .*\\\n\s*CMD (\[.*\])$/m.exec(text);
    const command = JSON.parse(healthcheck![1]!) as string[];
    let member: Awaited<ReturnType<typeof singleMember>>;
    beforeAll(async () => {
      member = await singleMember('health');
    });
    afterAll(async () => member?.cleanup());

    const probe = (url: string) =>
      spawnSync(process.execPath, command.slice(1), { env: { ...process.env, CAIRN_HEALTH_URL: url }, timeout: 10_000 }).status;

    it('asks GET /health of the member and passes while it is healthy', () => {
      expect(command[0]).toBe('node');
      expect(command.join(' ')).toContain("'http://127.0.0.1:2379/health'");
      expect(probe(`http://${member.member.endpoint}/health`)).toBe(0);
    });

    it('fails when the member answers 503 (no leader) or does not answer', async () => {
      expect(probe(`http://127.0.0.1:${await freePort()}/health`)).toBe(1);
      // One member of a three-member cluster whose other two never start: up, but no leader.
      const dir = tempDir();
      const [client, ...peers] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
      const cluster = peers.map((p, i) => `m${i}=http://127.0.0.1:${p}`).join(',');
      const alone = new Member({
        name: 'm0', dataDir: join(dir, 'm0.cairn'), clientPort: client, peerPort: peers[0]!,
        extraArgs: [`--initial-cluster=${cluster}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peers[0]}`],
      });
      try {
        await alone.start(30_000, 'listening');
        expect((await fetch(`http://${alone.endpoint}/health`)).status).toBe(503);
        expect(probe(`http://${alone.endpoint}/health`)).toBe(1);
      } finally {
        await alone.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('deploy/systemd', () => {
  const unit = read('systemd/cairn.service');
  const setting = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];

  it.skipIf(!has('systemd-analyze'))('cairn.service passes systemd-analyze verify with no finding', () => {
    // verify insists that the command exists: point it at this checkout's bin, as installed.
    const dir = tempDir('cairn-unit-');
    try {
      const copy = join(dir, 'cairn.service');
      writeFileSync(copy, unit.replace(/^ExecStart=cairn /m, `ExecStart=${CAIRN_BIN} `));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: r.status, output: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, output: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts the daemon on cairn.yaml, whose settings it accepts, with its data in the state directory', () => {
    expect(setting('ExecStart')).toBe('cairn --config-file=/etc/cairn/cairn.yaml');
    expect(setting('StateDirectory')).toBe('cairn');
    expect(setting('User')).toBe('cairn');
    expect(setting('KillSignal')).toBe('SIGTERM');
    const yaml = read('systemd/cairn.yaml');
    expect(yaml).toMatch(/^peer-secret-file: \/etc\/cairn\/peer-secret$/m);
    const copy = join(scratch, 'cairn.yaml');
    writeFileSync(copy, yaml.replace(/^peer-secret-file: .*$/m, `peer-secret-file: ${standInSecret}`));
    const config = daemonConfig([`--config-file=${copy}`], {});
    // ProtectSystem=strict leaves only /var/lib/cairn (StateDirectory) writable.
    expect(config.dataDir.startsWith('/var/lib/cairn/')).toBe(true);
    expect([...config.initialCluster.keys()]).toEqual(['node1', 'node2', 'node3']);
    expect(config.peerSecretFile).toBe(standInSecret);
  });
});

describe('deploy/kubernetes', () => {
  const kustomization = parseYaml(read('kubernetes/kustomization.yaml')) as { resources: string[] };
  const objects = kustomization.resources.flatMap((file) =>
    parseAllDocuments(read(`kubernetes/${file}`)).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string } };
    }),
  );
  const find = <T>(kind: string, name: string): T => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (o === undefined) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
    return o as T;
  };
  const sts = find<IStatefulSet>('StatefulSet', 'cairn');
  const container = sts.spec!.template.spec!.containers[0]!;

  it('holds objects that are valid against the Kubernetes API schemas', () => {
    const models: Record<string, (o: never) => { validate(): void }> = {
      'apps/v1/StatefulSet': (o) => new StatefulSet(o),
      'v1/Service': (o) => new Service(o),
      'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o),
    };
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['PodDisruptionBudget/cairn', 'Service/cairn', 'Service/cairn-client', 'StatefulSet/cairn']);
    for (const o of objects) {
      const model = models[`${o.apiVersion}/${o.kind}`];
      expect(model, `${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => model!(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('names its members by DNS under a headless Service that publishes members before they are ready', () => {
    const headless = find<IService>('Service', sts.spec!.serviceName!);
    expect(headless.spec!.clusterIP).toBe('None');
    expect(headless.spec!.publishNotReadyAddresses).toBe(true);
    expect(headless.spec!.selector).toEqual(sts.spec!.template.metadata!.labels);
    expect(headless.spec!.ports!.map((p) => [p.name, p.port])).toEqual([['client', 2379], ['peer', 2380]]);
    expect(sts.spec!.podManagementPolicy).toBe('Parallel');
    expect(find<IService>('Service', 'cairn-client').spec!.selector).toEqual(sts.spec!.template.metadata!.labels);
  });

  it('gives every replica settings the daemon accepts, naming all replicas by their DNS names', () => {
    const replicas = sts.spec!.replicas!;
    expect(replicas).toBe(3);
    const namespace = 'prod';
    const service = sts.spec!.serviceName!;
    for (let i = 0; i < replicas; i++) {
      const pod = `${sts.metadata!.name}-${i}`;
      // The environment as the kubelet builds it: field references, then $(VAR) from the ones before.
      const env: Record<string, string> = {};
      for (const e of container.env ?? []) {
        const field = e.valueFrom?.fieldRef?.fieldPath;
        const value = field === 'metadata.name' ? pod : field === 'metadata.namespace' ? namespace : e.value!;
        env[e.name] = value.replace(/\$\(([A-Z0-9_]+)\)/g, (whole, name: string) => env[name] ?? whole);
      }
      const secretMount = container.volumeMounts!.find((m) => m.name === 'peer-secret')!.mountPath;
      expect(env['CAIRN_PEER_SECRET_FILE']!.startsWith(`${secretMount}/`)).toBe(true);
      const config = daemonConfig([], { ...env, CAIRN_PEER_SECRET_FILE: standInSecret });
      expect(config.name).toBe(pod);
      expect([...config.initialCluster]).toEqual(
        Array.from({ length: replicas }, (_, j) => [`${sts.metadata!.name}-${j}`, [`http://${sts.metadata!.name}-${j}.${service}.${namespace}.svc:2380`]]),
      );
      expect(config.advertiseClientUrls).toEqual([`http://${pod}.${service}.${namespace}.svc:2379`]);
      expect(config.dataDir.startsWith(`${container.volumeMounts!.find((m) => m.name === 'data')!.mountPath}/`)).toBe(true);
    }
  });

  it('sends traffic only to members that see a leader, restarts only members that stop answering', () => {
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/health', port: 'client' });
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/version', port: 'client' });
    expect(sts.spec!.template.spec!.securityContext!.runAsNonRoot).toBe(true);
    const pdb = find<IPodDisruptionBudget>('PodDisruptionBudget', 'cairn');
    expect(pdb.spec!.selector!.matchLabels).toEqual(sts.spec!.template.metadata!.labels);
    // A voluntary disruption leaves a majority.
    expect(sts.spec!.replicas! - Number(pdb.spec!.maxUnavailable)).toBeGreaterThan(sts.spec!.replicas! / 2);
  });

  it.skipIf(!has('kubectl'))('renders with kubectl kustomize into the same objects', () => {
    const r = spawnSync('kubectl', ['kustomize', join(DEPLOY, 'kubernetes')], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rendered = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;
    expect(rendered.map(key).sort()).toEqual(objects.map(key).sort());
    for (const o of rendered) expect(o).toEqual(objects.find((x) => key(x) === key(o)));
  });
});
