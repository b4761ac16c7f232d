import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, exposedPeerListeners, resolveConfig } from './config.js';
import { peerKeyFingerprint, peerKeyFromToken } from '../transport/peerAuth.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('peer security settings', () => {
  it('derive the peer key from the token by default, from --peer-secret-file when given', () => {
    const dflt = resolveConfig({ initialClusterToken: 't1' });
    expect(dflt.peerKeySource).toBe('initial-cluster-token');
    expect(peerKeyFingerprint(dflt.peerKey)).toBe(peerKeyFingerprint(peerKeyFromToken('t1')));
    expect(peerKeyFingerprint(resolveConfig({ initialClusterToken: 't2' }).peerKey)).not.toBe(peerKeyFingerprint(dflt.peerKey));
    const file = join(dir, 'secret');
    writeFileSync(file, '  0123456789abcdef0123\n');
    const a = resolveConfig({ peerSecretFile: file, initialClusterToken: 't1' });
    const b = resolveConfig({ peerSecretFile: file, initialClusterToken: 'other' });
    expect(a.peerKeySource).toBe('peer-secret-file');
    // The secret, not the token, decides; white space around it does not count.
    expect(peerKeyFingerprint(a.peerKey)).toBe(peerKeyFingerprint(b.peerKey));
    writeFileSync(file, '0123456789abcdef0123');
    expect(peerKeyFingerprint(resolveConfig({ peerSecretFile: file }).peerKey)).toBe(peerKeyFingerprint(a.peerKey));
  });

  it('refuse a short secret, peer TLS with http:// peer URLs, and allowed-cn without client-cert-auth', () => {
    const file = join(dir, 'short');
    writeFileSync(file, 'short');
    expect(() => resolveConfig({ peerSecretFile: file })).toThrow(/needs at least 16 bytes/);
    expect(() => resolveConfig({ peerSecretFile: join(dir, 'absent') })).toThrow(ConfigError);
    const pem = join(dir, 'x.pem');
    writeFileSync(pem, 'not checked here');
    const peerTls = { certFile: pem, keyFile: pem };
    expect(() => resolveConfig({ peerTls })).toThrow(/listen-peer-urls: http:\/\/127.0.0.1:2380 is http:\/\/ but peer TLS is configured/);
    expect(() => resolveConfig({ peerTls, listenPeerUrls: ['https://127.0.0.1:2380'], initialCluster: 'default=https://127.0.0.1:2380,b=http://10.0.0.2:2380' })).toThrow(
      /initial-cluster: http:\/\/10.0.0.2:2380 is http:\/\//,
    );
    expect(() => resolveConfig({ peerTls: { ...peerTls, allowedCn: 'peer' }, listenPeerUrls: ['https://127.0.0.1:2380'] })).toThrow(/need peer-client-cert-auth/);
    expect(resolveConfig({ peerTls, listenPeerUrls: ['https://127.0.0.1:2380'] }).peerTls?.cert).toBeDefined();
  });

  it('name the peer listeners others can reach with only the weak default', () => {
    expect(exposedPeerListeners(resolveConfig({}))).toEqual([]);
    expect(exposedPeerListeners(resolveConfig({ listenPeerUrls: ['http://localhost:2380', 'http://[::1]:2381'] }))).toEqual([]);
    expect(exposedPeerListeners(resolveConfig({ listenPeerUrls: ['http://0.0.0.0:2380', 'http://127.0.0.1:2381'] }))).toEqual(['http://0.0.0.0:2380']);
    const file = join(dir, 'ok');
    writeFileSync(file, '0123456789abcdef0123');
    expect(exposedPeerListeners(resolveConfig({ listenPeerUrls: ['http://0.0.0.0:2380'], peerSecretFile: file }))).toEqual([]);
  });
});
