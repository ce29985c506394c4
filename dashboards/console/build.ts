/**
 * Bundles the console (`src/main.tsx`: TypeScript, Preact, chart.js, openapi-fetch) with esbuild into
 * `dist/app.js`, which the dashboards serve as `/assets/app.js`. Run by `npm install` (prepare) and `npm start`
 * (prestart), so a fresh clone needs no other step; the output is not committed. The bundle is one file loaded by
 * `<script src>`: the page's Content-Security-Policy allows no inline script and no eval.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const consoleDistDir = fileURLToPath(new URL('./dist/', import.meta.url));
const entry = fileURLToPath(new URL('./src/main.tsx', import.meta.url));

/**
 * Writes `dist/app.js` (and its source map) from the sources; resolves once the files are in place. The bundle is
 * written beside and renamed over the old one, so a server reading it meanwhile never serves half a file. Throws
 * esbuild's error (file, line and message) when the sources do not compile.
 */
export async function buildConsole(): Promise<void> {
  const result = await build({
    entryPoints: [entry],
    outfile: `${consoleDistDir}app.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(consoleDistDir, { recursive: true });
  for (const file of result.outputFiles) {
    writeFileSync(`${file.path}.partial`, file.contents);
    renameSync(`${file.path}.partial`, file.path);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole();
}
