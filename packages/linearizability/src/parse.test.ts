import { describe, expect, it } from 'vitest';
import { HistoryParseError, checkHistory, parseJepsenRegisterLog, parseKvEdnHistory, registerModel } from './index.js';

const U = Number.POSITIVE_INFINITY;
const jepsen = (lines: string[]): string =>
  lines.map((l) => `INFO  jepsen.util - ${l.replace(/ +/g, '\t')}`).join('\n') + '\n';

describe('parseJepsenRegisterLog', () => {
  it('pairs invocations with completions, by process', () => {
    const text = jepsen([
      '0 :invoke :read nil',
      '1 :invoke :write 3',
      '0 :ok :read nil',
      '2 :invoke :cas [3 4]',
      '1 :ok :write 3',
      '2 :ok :cas [3 4]',
      '0 :invoke :read nil',
      '0 :ok :read 4',
    ]);
    expect(parseJepsenRegisterLog(text)).toEqual([
      { client: 0, input: { kind: 'read' }, call: 0, ret: 2, output: null },
      { client: 1, input: { kind: 'write', value: 3 }, call: 1, ret: 4 },
      { client: 2, input: { kind: 'cas', from: 3, to: 4 }, call: 3, ret: 5, output: true },
      { client: 0, input: { kind: 'read' }, call: 6, ret: 7, output: 4 },
    ]);
  });

  it('drops :fail, makes :info and unfinished invocations unknown, and a failed read unknown', () => {
    const text = jepsen([
      '0 :invoke :cas [1 2]',
      '0 :fail :cas [1 2]',
      '1 :invoke :write 5',
      '1 :info :write :timed-out',
      '2 :invoke :read nil',
      '2 :fail :read :timed-out',
      '3 :invoke :write 7',
    ]);
    expect(parseJepsenRegisterLog(text)).toEqual([
      { client: 1, input: { kind: 'write', value: 5 }, call: 2, ret: U },
      { client: 2, input: { kind: 'read' }, call: 4, ret: U },
      { client: 3, input: { kind: 'write', value: 7 }, call: 6, ret: U },
    ]);
  });

  it('skips lines that are not jepsen.util events, and nemesis events', () => {
    const text = [
      '2015-01-01 INFO  jepsen.core - Running test',
      'INFO  jepsen.util - :nemesis\t:info\t:start\tnil',
      'INFO  jepsen.util - 0\t:invoke\t:write\t1',
      '',
      'some stack trace',
      'INFO  jepsen.util - 0\t:ok\t:write\t1\r',
    ].join('\n');
    expect(parseJepsenRegisterLog(text)).toEqual([
      { client: 0, input: { kind: 'write', value: 1 }, call: 0, ret: 1 },
    ]);
  });

  it('treats an invocation that is superseded by another one of the same process as unknown', () => {
    const ops = parseJepsenRegisterLog(
      jepsen(['0 :invoke :write 1', '0 :invoke :read nil', '0 :ok :read 1']),
    );
    expect(ops).toEqual([
      { client: 0, input: { kind: 'write', value: 1 }, call: 0, ret: U },
      { client: 0, input: { kind: 'read' }, call: 1, ret: 2, output: 1 },
    ]);
  });

  it('reports malformed events with their line', () => {
    expect(() => parseJepsenRegisterLog(jepsen(['0 :ok :read 1']))).toThrow(HistoryParseError);
    expect(() =>
      parseJepsenRegisterLog(jepsen(['0 :invoke :read nil', '0 :ok :read 1', '0 :ok :read 1'])),
    ).toThrow(/line 3/);
    expect(() => parseJepsenRegisterLog(jepsen(['0 :invoke :cas 3']))).toThrow(/cas needs/);
    expect(() => parseJepsenRegisterLog(jepsen(['0 :invoke :frob 3']))).toThrow(
      /unknown operation/,
    );
    expect(() => parseJepsenRegisterLog(jepsen(['0 :bogus :read 3']))).toThrow(
      /unknown event type/,
    );
  });
});

describe('parseJepsenRegisterLog on whitespace', () => {
  const events = [
    '0 :invoke :write 1',
    '0 :ok :write 1',
    '1 :invoke :read nil',
    '1 :ok :read 2',
    '2 :invoke :cas [1 3]',
    '2 :ok :cas [1 3]',
  ];
  const withSeparator = (sep: (i: number) => string): string =>
    events.map((l, n) => `INFO  jepsen.util - ${l.split(' ').join(sep(n))}`).join('\n');

  it('reads space-separated, tab-separated and mixed lines alike', () => {
    const tabs = parseJepsenRegisterLog(withSeparator(() => '\t'));
    expect(tabs).toHaveLength(3);
    expect(parseJepsenRegisterLog(withSeparator(() => ' '))).toEqual(tabs);
    expect(parseJepsenRegisterLog(withSeparator((n) => (n % 2 === 0 ? '   ' : ' \t ')))).toEqual(tabs);
    expect(tabs[2]).toEqual({ client: 2, input: { kind: 'cas', from: 1, to: 3 }, call: 4, ret: 5, output: true });
  });

  it('finds a space-separated history that is not linearizable not linearizable', () => {
    // The read of 2 comes after the write of 1 returned, and nothing wrote 2.
    const ops = parseJepsenRegisterLog(withSeparator(() => ' '));
    expect(checkHistory(registerModel, ops).verdict).toBe('not-linearizable');
  });

  it('refuses a jepsen.util line it cannot read, naming the line, instead of dropping it', () => {
    const text = ['INFO  jepsen.core - Running test', 'INFO  jepsen.util - 0 :invoke :write 1', 'INFO  jepsen.util - 0 :ok'].join('\n');
    expect(() => parseJepsenRegisterLog(text)).toThrow(HistoryParseError);
    expect(() => parseJepsenRegisterLog(text)).toThrow(/^line 3: expected "<process> :<type> :<f> <value>", got "0 :ok"$/);
    const badProcess = 'INFO  jepsen.util - 0 :invoke :write 1\nINFO  jepsen.util - worker-1 :ok :write 1';
    expect(() => parseJepsenRegisterLog(badProcess)).toThrow(/^line 2: the process must be a number or a keyword/);
    try {
      parseJepsenRegisterLog(text);
    } catch (err) {
      expect((err as HistoryParseError).line).toBe(3);
    }
  });

  it('refuses an input with content that holds no operation, and returns nothing for an empty one', () => {
    expect(() => parseJepsenRegisterLog('just some text\nand more')).toThrow(/^no operations found: no jepsen.util event of a client process/);
    expect(() => parseJepsenRegisterLog('INFO  jepsen.util - :nemesis :info :start nil')).toThrow(/no operations found/);
    expect(() => parseJepsenRegisterLog(jepsen(['0 :invoke :write 1', '0 :fail :write 1']))).toThrow(/every one of the 2 events was a failed operation/);
    expect(parseJepsenRegisterLog('')).toEqual([]);
    expect(parseJepsenRegisterLog('\n  \n')).toEqual([]);
  });
});

describe('parseKvEdnHistory', () => {
  it('parses get / put / append events', () => {
    const text = [
      '{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}',
      '{:process 1, :type :invoke, :f :get, :key "4", :value nil}',
      '{:process 0, :type :ok, :f :append, :key "4", :value "x 0 1 y"}',
      '{:process 1, :type :ok, :f :get, :key "4", :value "x 0 1 y"}',
      '{:process 1, :type :invoke, :f :put, :key "5", :value "v"}',
      '{:process 1, :type :ok, :f :put, :key "5", :value "v"}',
      '{:process 2, :type :invoke, :f :get, :key "5", :value nil}',
      '{:process 2, :type :ok, :f :get, :key "5", :value nil}',
    ].join('\n');
    expect(parseKvEdnHistory(text)).toEqual([
      { client: 0, input: { kind: 'append', key: '4', value: 'x 0 1 y' }, call: 0, ret: 2 },
      { client: 1, input: { kind: 'get', key: '4' }, call: 1, ret: 3, output: 'x 0 1 y' },
      { client: 1, input: { kind: 'put', key: '5', value: 'v' }, call: 4, ret: 5 },
      { client: 2, input: { kind: 'get', key: '5' }, call: 6, ret: 7, output: '' },
    ]);
  });

  it('drops :fail, makes :info unknown, and reads cas, delete, numeric keys, escapes and comments', () => {
    const text = `
      ; a comment
      {:process 0 :type :invoke :f :put :key 7 :value "a \\"quoted\\" \\u00e9"}
      {:process 0 :type :fail :f :put :key 7 :value "a"}
      {:process 1, :type :invoke, :f :cas, :key "k", :value ["" "z"]} #_ {:ignored true}
      {:process 1, :type :info, :f :cas, :key "k", :value ["" "z"]}
      {:process :nemesis, :type :info, :f :start, :value nil}
      {:process 2, :type :invoke, :f :delete, :key "k"}
      {:process 2, :type :ok, :f :delete, :key "k"}
      {:process 3, :type :invoke, :f :cas, :key "k", :value ["a" "b"]}
      {:process 3, :type :ok, :f :cas, :key "k", :value ["a" "b"]}
    `;
    expect(parseKvEdnHistory(text)).toEqual([
      { client: 1, input: { kind: 'cas', key: 'k', from: '', to: 'z' }, call: 2, ret: U },
      { client: 2, input: { kind: 'delete', key: 'k' }, call: 4, ret: 5 },
      {
        client: 3,
        input: { kind: 'cas', key: 'k', from: 'a', to: 'b' },
        call: 6,
        ret: 7,
        output: true,
      },
    ]);
    const put = parseKvEdnHistory(
      '{:process 0 :type :invoke :f :put :key 7 :value "a \\"q\\" \\u00e9\\n"}\n{:process 0 :type :ok :f :put :key 7}',
    );
    expect(put).toEqual([
      { client: 0, input: { kind: 'put', key: '7', value: 'a "q" é\n' }, call: 0, ret: 1 },
    ]);
  });

  it('reports malformed input with its line', () => {
    expect(() =>
      parseKvEdnHistory('{:process 0, :type :invoke, :f :get, :key "a"}\n{:process 0 :type'),
    ).toThrow(/line 2/);
    expect(() => parseKvEdnHistory('{:process 0, :type :ok, :f :get, :key "a"}')).toThrow(
      HistoryParseError,
    );
    expect(() => parseKvEdnHistory('[1 2]')).toThrow(/expected a map/);
    expect(() => parseKvEdnHistory('{:process 0, :type :invoke, :f :frob, :key "a"}')).toThrow(
      /unknown operation/,
    );
    expect(() => parseKvEdnHistory('{:process 0, :type :invoke, :f :get, :key "a" "b"}')).toThrow(
      /odd number/,
    );
    expect(() => parseKvEdnHistory('{:process 0, :type :invoke, :f :get, :key "a}')).toThrow(
      /unterminated string/,
    );
  });

  it('refuses an event without a usable :process instead of dropping it', () => {
    const text = '{:process 0, :type :invoke, :f :get, :key "a"}\n{:type :ok, :f :get, :key "a", :value "x"}';
    expect(() => parseKvEdnHistory(text)).toThrow(/^line 2: :process must be a whole number or a keyword/);
    expect(() => parseKvEdnHistory('{:process "0", :type :invoke, :f :get, :key "a"}')).toThrow(/^line 1: :process/);
    expect(() => parseKvEdnHistory('{:process 1.5, :type :invoke, :f :get, :key "a"}')).toThrow(/^line 1: :process/);
  });

  it('refuses an input with content that holds no operation, and returns nothing for an empty one', () => {
    expect(() => parseKvEdnHistory('; only a comment')).toThrow(/^no operations found: no event map of a client process$/);
    expect(() => parseKvEdnHistory('{:process :nemesis, :type :info, :f :start}')).toThrow(/no operations found/);
    expect(() =>
      parseKvEdnHistory('{:process 0, :type :invoke, :f :put, :key "a", :value "1"}\n{:process 0, :type :fail, :f :put, :key "a", :value "1"}'),
    ).toThrow(/every one of the 2 events was a failed operation/);
    expect(parseKvEdnHistory('')).toEqual([]);
  });
});
