import { describe, expect, it } from 'vitest';
import { envEpOptions, sessionOptions } from '../../runners/node/ort-ep.js';

describe('execution provider options (MINICACHE_EP_OPTIONS)', () => {
  it('parses key=value pairs and trims spaces', () => {
    expect(envEpOptions({ MINICACHE_EP_OPTIONS: 'validationMode=disabled, storageBufferCacheMode = bucket' })).toEqual({
      validationMode: 'disabled',
      storageBufferCacheMode: 'bucket',
    });
  });

  it('is absent when unset or blank', () => {
    expect(envEpOptions({})).toBeUndefined();
    expect(envEpOptions({ MINICACHE_EP_OPTIONS: '  ' })).toBeUndefined();
  });

  it('names the bad entry', () => {
    expect(() => envEpOptions({ MINICACHE_EP_OPTIONS: 'validationMode' })).toThrow(/"validationMode" is not key=value/);
  });

  it('passes explicit options to onnxruntime as an EP object, the bare name otherwise', () => {
    expect(sessionOptions('webgpu', { epOptions: { validationMode: 'disabled' } }).executionProviders).toEqual([{ name: 'webgpu', validationMode: 'disabled' }]);
    expect(sessionOptions('cpu', { epOptions: {} }).executionProviders).toEqual(['cpu']);
  });
});
