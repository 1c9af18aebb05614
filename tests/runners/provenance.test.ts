/** The commit recorded in provenance: from git, or from MINICACHE_GIT_SHA where the checkout's metadata is stale. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { gitState, projectRoot } from '../../runners/node/provenance.js';

describe('gitState', () => {
  it('reads HEAD from the checkout when no override is set', () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    expect(gitState({}).sha).toBe(head);
  });

  it('takes MINICACHE_GIT_SHA (and MINICACHE_GIT_DIRTY) over the checkout', () => {
    expect(gitState({ MINICACHE_GIT_SHA: '569699c' })).toEqual({ sha: '569699c', dirty: false });
    expect(gitState({ MINICACHE_GIT_SHA: 'abcdef0123', MINICACHE_GIT_DIRTY: '1' })).toEqual({ sha: 'abcdef0123', dirty: true });
  });

  it('rejects an override that is not a commit id', () => {
    expect(() => gitState({ MINICACHE_GIT_SHA: 'main; rm -rf' })).toThrow(/not a git commit id/);
  });
});
