import { spawnSync } from 'node:child_process';

/**
 * Cross-checks against scikit-learn (integration tier): python3 with scikit-learn, installed when missing
 * (`python3 -m pip install --quiet scikit-learn`, as `.ci/run` does).
 */
export function ensureScikitLearn(): void {
  if (spawnSync('python3', ['-c', 'import sklearn'], { encoding: 'utf8' }).status === 0) return;
  const install = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', 'scikit-learn'], {
    encoding: 'utf8',
    stdio: 'inherit',
  });
  if (install.status !== 0)
    throw new Error('could not install scikit-learn (python3 -m pip install --quiet scikit-learn)');
}

/** Runs `script` with `input` as JSON on its standard input and parses what it prints as JSON. */
export function runPython<T>(script: string, input: unknown): T {
  const run = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) throw new Error(`python reference failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
