import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { OriginPolicy } from './origin.js';

const req = (headers: Record<string, string>, encrypted = false): IncomingMessage =>
  ({ headers, socket: { encrypted } }) as unknown as IncomingMessage;

describe('origin policy', () => {
  it('by default: no Origin and same-origin only', () => {
    const p = new OriginPolicy();
    expect(p.allows(req({ host: '127.0.0.1:2379' }))).toBe(true);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'http://127.0.0.1:2379' }))).toBe(true);
    expect(p.allows(req({ host: 'LOCALHOST:443', origin: 'https://localhost' }, true))).toBe(true);
    // Same host, other scheme or port: another origin.
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'https://127.0.0.1:2379' }))).toBe(false);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'http://127.0.0.1:8080' }))).toBe(false);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'http://evil.example.com' }))).toBe(false);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'null' }))).toBe(false);
    expect(p.allows(req({ origin: 'http://127.0.0.1:2379' }))).toBe(false);
  });

  it('a list allows exactly its origins; * allows any', () => {
    const p = new OriginPolicy(['https://Console.Example.com:443', 'http://localhost:3000']);
    expect(p.allows(req({ host: 'h:1', origin: 'https://console.example.com' }))).toBe(true);
    expect(p.allows(req({ host: 'h:1', origin: 'http://localhost:3000' }))).toBe(true);
    expect(p.allows(req({ host: 'h:1', origin: 'http://localhost:3001' }))).toBe(false);
    expect(new OriginPolicy(['*']).allows(req({ host: 'h:1', origin: 'null' }))).toBe(true);
  });

  it("the client URLs of the cluster's members are allowed (their consoles), nothing else", () => {
    const members = ['http://127.0.0.1:2379', 'http://10.0.0.2:2379/'];
    const p = new OriginPolicy([], () => members);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'http://10.0.0.2:2379' }))).toBe(true);
    expect(p.allows(req({ host: '10.0.0.2:2379', origin: 'http://127.0.0.1:2379' }))).toBe(true);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'http://10.0.0.2:2380' }))).toBe(false);
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'https://10.0.0.2:2379' }))).toBe(false);
    members.pop();
    expect(p.allows(req({ host: '127.0.0.1:2379', origin: 'http://10.0.0.2:2379' }))).toBe(false);
  });
});
