import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode, errorTraits, traitsOf, type ErrorTraits } from './errors.js';

const codesWith = (trait: keyof ErrorTraits): string[] =>
  Object.values(ErrorCode)
    .filter((c) => errorTraits[c][trait])
    .sort();

describe('the error-code traits table', () => {
  it('has an entry for every code', () => {
    expect(Object.keys(errorTraits).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('calls retryable only what is about the member or the moment', () => {
    expect(codesWith('retryable')).toEqual(['connection_closed', 'leader_changed', 'no_leader', 'not_leader', 'stopped', 'timeout', 'unavailable']);
  });

  it('retries on the same connection only while the cluster is between leaders or the member is stopping', () => {
    expect(codesWith('transient')).toEqual(['leader_changed', 'no_leader', 'stopped', 'unavailable']);
    for (const c of codesWith('transient')) expect(traitsOf(c).retryable, c).toBe(true);
  });

  it('never claims "not applied" for a failure whose outcome is unknown', () => {
    for (const c of ['timeout', 'connection_closed', 'stopped', 'canceled', 'internal', 'session_expired']) {
      expect(traitsOf(c).notApplied, c).toBe(false);
    }
    // Refusals before raft: a write that failed with one of these is safe to send again.
    for (const c of ['no_leader', 'leader_changed', 'unavailable', 'not_leader', 'invalid_argument', 'permission_denied']) {
      expect(traitsOf(c).notApplied, c).toBe(true);
    }
  });

  it('resumes a stream after a lost member or an election, never after a refusal', () => {
    expect(codesWith('resumable')).toEqual(['connection_closed', 'leader_changed', 'no_leader', 'stopped', 'timeout', 'unavailable']);
    expect(traitsOf('compacted').resumable).toBe(false);
    expect(traitsOf('permission_denied').resumable).toBe(false);
  });

  it('dials the next endpoint after a dead one or one that is not a member of this cluster', () => {
    expect(codesWith('tryNextEndpoint')).toEqual(['cluster_id_mismatch', 'connection_closed', 'malformed_frame', 'stopped', 'timeout', 'unavailable']);
  });

  it('gives a code it does not know no traits at all', () => {
    expect(traitsOf('a_code_from_a_newer_member')).toEqual({ retryable: false, transient: false, notApplied: false, resumable: false, tryNextEndpoint: false });
  });

  it('is what CairnError.retryable answers', () => {
    for (const c of Object.values(ErrorCode)) expect(new CairnError(c).retryable, c).toBe(errorTraits[c].retryable);
  });
});
