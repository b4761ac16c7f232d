// Acceptance: every verdict in /work/shared/data/linearizability/VERDICTS.tsv must be reproduced.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkHistory,
  kvModel,
  parseJepsenRegisterLog,
  parseKvEdnHistory,
  registerModel,
} from './index.js';
import type { CheckResult } from './index.js';

const dataDir = new URL('../../../../shared/data/linearizability/', import.meta.url);
const verdictsFile = new URL('VERDICTS.tsv', dataDir);
const present = existsSync(verdictsFile);

const rows = present
  ? readFileSync(verdictsFile, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const [file, verdict] = l.split('\t') as [string, string];
        return { file, verdict };
      })
  : [];

function check(file: string): CheckResult {
  const text = readFileSync(new URL(file, dataDir), 'utf8');
  const now = (): number => performance.now();
  // The budget is a safety net only: every history here is decided well inside it.
  if (file.startsWith('jepsen-etcd/'))
    return checkHistory(registerModel, parseJepsenRegisterLog(text), { timeoutMs: 20_000, now });
  if (file.startsWith('kv/'))
    return checkHistory(kvModel, parseKvEdnHistory(text), { timeoutMs: 20_000, now });
  throw new Error(`no parser for ${file}`);
}

describe.skipIf(!present)(
  present
    ? 'shared linearizability data'
    : `shared linearizability data (skipped: ${fileURLToPath(verdictsFile)} not found)`,
  () => {
    it('lists the histories', () => {
      expect(rows.length).toBeGreaterThanOrEqual(50);
      for (const { file, verdict } of rows) {
        expect(['linearizable', 'not-linearizable'], file).toContain(verdict);
      }
    });

    let total = 0;
    it.each(rows)('$file is $verdict', ({ file, verdict }) => {
      const result = check(file);
      total += result.elapsedMs ?? 0;
      expect(result.verdict, `${file}: ${JSON.stringify(result.failure ?? {})}`).toBe(verdict);
      if (verdict === 'not-linearizable') expect(result.failure?.longestPrefix).toBeDefined();
      expect(result.elapsedMs ?? 0).toBeLessThan(5_000);
    });

    it('reports the total time', () => {
      console.log(
        `linearizability: ${rows.length} shared histories checked in ${total.toFixed(0)} ms`,
      );
    });
  },
);

if (!present) {
  console.warn(
    `linearizability acceptance data not found at ${fileURLToPath(dataDir)}: the shared-data tests are skipped`,
  );
}
