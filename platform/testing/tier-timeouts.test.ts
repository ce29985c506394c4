import { readFileSync } from 'node:fs';

/**
 * The int and e2e tiers take their default timeout from one setup file each, not from every file (jest's 5 s
 * default made main red on a slower machine). Planting a project without its setup file, or a setup file that no
 * longer sets the timeout, fails here.
 */
type Project = { displayName: string; setupFilesAfterEnv?: string[] };

const configUrl = new URL('../../jest.config.js', import.meta.url).href;
const { projects } = ((await import(configUrl)) as { default: { projects: Project[] } }).default;
const setupOf = (name: string): string[] => projects.find((p) => p.displayName === name)?.setupFilesAfterEnv ?? [];
const timeoutSetIn = (rootRelative: string): number | undefined => {
  const text = readFileSync(new URL(`../../${rootRelative.replace('<rootDir>/', '')}`, import.meta.url), 'utf8');
  const match = /^jest\.setTimeout\(([\d_]+)\);$/m.exec(text);
  return match ? Number(match[1]!.replaceAll('_', '')) : undefined;
};

describe('tier timeouts', () => {
  it('gives every int test 120 s and every e2e test 300 s unless a file asks for more', () => {
    expect(setupOf('integration').map(timeoutSetIn)).toEqual([120_000]);
    expect(setupOf('e2e').map(timeoutSetIn)).toEqual([300_000]);
    expect(setupOf('unit')).toEqual([]);
  });
});
