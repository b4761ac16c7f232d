/**
 * Reads a password from the terminal without echoing it (etcdctl uses speakeasy for the same).
 * Only for a TTY; the caller decides what to do without one. Input typed ahead (two passwords
 * at once) is kept for the next call.
 */
let typedAhead = '';

export function readHiddenLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    const wasRaw = stdin.isRaw;
    // Echo off before the prompt shows: a user (or a script) answering the prompt at once must
    // not have the terminal echo what is typed.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    let text = '';
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write('\n');
      if (err !== undefined) reject(err);
      else resolve(text);
    };
    const consume = (): boolean => {
      while (typedAhead !== '') {
        const ch = typedAhead[0]!;
        typedAhead = typedAhead.slice(1);
        if (ch === '\r' || ch === '\n') {
          // A CR LF pair is one line end.
          if (ch === '\r' && typedAhead[0] === '\n') typedAhead = typedAhead.slice(1);
          finish();
          return true;
        }
        if (ch === '\u0004') return finish(), true;
        if (ch === '\u0003') return finish(new Error('interrupted')), true;
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
      return false;
    };
    const onData = (chunk: string): void => {
      typedAhead += chunk;
      consume();
    };
    if (consume()) return;
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}
