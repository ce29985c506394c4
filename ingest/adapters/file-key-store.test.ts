import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../platform/errors.js';
import { FileTokenizationKeyStore } from './file-key-store.js';

describe('FileTokenizationKeyStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'vigil-keys-')), 'secrets');
  });
  afterEach(() => {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('makes v1 on first open, owner-only, and reads the same key again', () => {
    const first = FileTokenizationKeyStore.open(dir);
    expect(first.current().version).toBe('v1');
    expect(statSync(join(dir, 'tokenization.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(FileTokenizationKeyStore.open(dir).current().key.reveal()).toBe(first.current().key.reveal());
    expect(first.fingerprintKey().reveal()).toBe(first.current().key.reveal());
  });

  it('keeps a key file written before key versions existed as v1', () => {
    FileTokenizationKeyStore.open(dir);
    writeFileSync(join(dir, 'tokenization.key'), 'an-existing-tokenization-key-0123456789ab\n', { mode: 0o600 });
    expect(FileTokenizationKeyStore.open(dir).current()).toMatchObject({ version: 'v1' });
    expect(FileTokenizationKeyStore.open(dir).current().key.reveal()).toBe('an-existing-tokenization-key-0123456789ab');
  });

  it('rotates to a new current version, keeping the old one and the fingerprint key', () => {
    const v1 = FileTokenizationKeyStore.open(dir).current().key.reveal();
    expect(FileTokenizationKeyStore.rotate(dir)).toBe('v2');
    const after = FileTokenizationKeyStore.open(dir);
    expect(after.current().version).toBe('v2');
    expect(after.current().key.reveal()).not.toBe(v1);
    expect(after.byVersion('v1')?.key.reveal()).toBe(v1);
    expect(after.fingerprintKey().reveal()).toBe(v1);
    expect(after.versions()).toEqual(['v1', 'v2']);
    expect(statSync(join(dir, 'tokenization-v2.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'tokenization.current'), 'utf8').trim()).toBe('v2');
    expect(FileTokenizationKeyStore.rotate(dir)).toBe('v3');
  });

  it('refuses a key file others can read', () => {
    FileTokenizationKeyStore.open(dir);
    chmodSync(join(dir, 'tokenization.key'), 0o644);
    expect(() => FileTokenizationKeyStore.open(dir)).toThrow(ConfigError);
  });

  it('refuses a current version it does not hold', () => {
    FileTokenizationKeyStore.open(dir);
    writeFileSync(join(dir, 'tokenization.current'), 'v7\n', { mode: 0o600 });
    expect(() => FileTokenizationKeyStore.open(dir)).toThrow(/tokenization\.current/);
  });
});
