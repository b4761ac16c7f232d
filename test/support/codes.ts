import { CairnError } from '@cairn/client';

/** The error code a request failed with ('ok' if it succeeded); anything but a CairnError is rethrown. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof CairnError) return err.code;
    throw err;
  }
}
