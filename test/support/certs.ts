/**
 * A throwaway PKI for TLS tests, made with the openssl CLI in a temp dir: a CA, a server
 * certificate for 127.0.0.1/localhost, client certificates by common name, and a second,
 * unrelated CA with its own client certificate.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './process.js';

export interface Pki {
  readonly dir: string;
  /** Paths. */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly wrongCaCert: string;
  /** Makes (once) a client certificate for `cn` signed by the good CA (or the wrong one). */
  client(cn: string, wrongCa?: boolean): { cert: string; key: string };
  /** Makes (once) a peer certificate for 127.0.0.1: both server and client use. */
  peer(cn: string, wrongCa?: boolean): { cert: string; key: string };
  read(path: string): Buffer;
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
};

function keyAndCsr(dir: string, name: string, cn: string): void {
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
}

function sign(dir: string, name: string, ca: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

export function makePki(dir: string): Pki {
  makeCa(dir, 'ca');
  makeCa(dir, 'wrong-ca');
  keyAndCsr(dir, 'server', 'localhost');
  sign(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const made = new Map<string, { cert: string; key: string }>();
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    wrongCaCert: join(dir, 'wrong-ca.pem'),
    client(cn, wrongCa = false) {
      const name = `client-${cn}${wrongCa ? '-wrong' : ''}`;
      let c = made.get(name);
      if (c === undefined) {
        keyAndCsr(dir, name, cn);
        sign(dir, name, wrongCa ? 'wrong-ca' : 'ca', 'extendedKeyUsage=clientAuth\n');
        c = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
        made.set(name, c);
      }
      return c;
    },
    peer(cn, wrongCa = false) {
      const name = `peer-${cn}${wrongCa ? '-wrong' : ''}`;
      let c = made.get(name);
      if (c === undefined) {
        keyAndCsr(dir, name, cn);
        sign(dir, name, wrongCa ? 'wrong-ca' : 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
        c = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
        made.set(name, c);
      }
      return c;
    },
    read: (path) => readFileSync(path),
  };
}

/**
 * A PKI made before the test file's tests, in a temp dir of its own (theirs to write other
 * files in too), and removed after them. Read `.pki` inside the tests.
 */
export function pkiForTests(prefix: string): { readonly pki: Pki } {
  let made: Pki | undefined;
  beforeAll(() => {
    made = makePki(tempDir(prefix));
  });
  afterAll(() => {
    if (made !== undefined) rmSync(made.dir, { recursive: true, force: true });
  });
  return {
    get pki(): Pki {
      if (made === undefined) throw new Error('the PKI is made in beforeAll: read it inside a test');
      return made;
    },
  };
}
