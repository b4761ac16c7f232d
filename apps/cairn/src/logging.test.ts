import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleLine, createLogger } from './logging.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-logging-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('daemon logs', () => {
  it('writes console lines for people: time, level, message, fields', () => {
    const json = JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 7, 12), pid: 1, hostname: 'h', member: 'node1', msg: 'became leader', component: 'raft', term: 2, voters: ['1', '2'], note: 'two words' });
    expect(consoleLine(json)).toBe('2026-12-07T12:00:00.000Z INFO  became leader member=node1 component=raft term=2 voters=["1","2"] note="two words"\n');
    expect(consoleLine('not json')).toBe('not json');
  });

  it('writes to the files of --log-outputs at the level asked, in the format asked', () => {
    const file = join(dir, 'member.log');
    const { logger, close } = createLogger({ name: 'n1', logLevel: 'warn', logFormat: 'json', logOutputs: [file] });
    logger.info('not written');
    logger.warn({ term: 3 }, 'written');
    close();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, member: 'n1', term: 3, msg: 'written' });
    const text = join(dir, 'console.log');
    const c = createLogger({ name: 'n2', logLevel: 'info', logFormat: 'console', logOutputs: [text] });
    c.logger.info({ password: 'secret' }, 'hello');
    c.close();
    expect(readFileSync(text, 'utf8')).toMatch(/^\S+Z INFO {2}hello member=n2 password=\[redacted\]\n$/);
    expect(() => createLogger({ name: 'x', logLevel: 'info', logFormat: 'json', logOutputs: [join(dir, 'no/such/dir/x.log')] })).toThrow(/--log-outputs: cannot open/);
  });
});
