import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/** The .proto files of etcd's API that Cairn serves (packages/server/proto/). */
export const PROTO_FILES = ['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'] as const;

/**
 * The proto directory: `proto/` at the package root, found upward from this module (it is
 * src/grpc/ in the sources and dist/ once bundled).
 */
export function protoDir(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, PROTO_FILES[0]))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find etcd's .proto files (proto/${PROTO_FILES[0]}) above ${from}`);
}

/**
 * etcd's services as proto-loader objects. Field names as in the .proto files (snake_case and
 * etcd's own `ID`, `TTL`, `peerURLs`), 64-bit integers as decimal strings (never rounded through
 * a double), enums as their names, absent scalars as their proto3 defaults.
 */
export function loadEtcdProtos(): PackageDefinition {
  const dir = protoDir();
  return loadSync(
    PROTO_FILES.map((f) => join(dir, f)),
    { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true, includeDirs: [dir] },
  );
}
