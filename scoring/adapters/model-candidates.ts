import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type FieldProblem, UnavailableError, ValidationError, describeError } from '../../platform/errors.js';
import { type ModelMetadata, metadataProblems } from '../domain/model.js';
import { TfjsModelScorer } from './tfjs-model.js';

/**
 * Candidate models by version: the directory `npm run train -- --from-history` writes into
 * (VIGIL_MODEL_CANDIDATES_DIR, default `<data dir>/model-candidates`), one artefact directory per candidate. A
 * candidate is named by the version in its metadata.json, never by a path a caller gives, so a request can only
 * reach artefacts already in that directory.
 */

const refused = (message: string, problems: FieldProblem[]): ValidationError =>
  new ValidationError(message, problems, 'SHADOW_INVALID');

/**
 * The directory of the candidate whose metadata.json names `version`. Throws ValidationError (SHADOW_INVALID, path
 * `/modelVersion`) naming the candidates directory when none does, or the artefact's own problems (each as
 * `/modelVersion` with the file and its field) when its metadata does not fit this build's features.
 */
export async function findCandidate(candidatesDir: string, version: string): Promise<string> {
  let entries: string[];
  try {
    entries = (await readdir(candidatesDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (error) {
    throw refused(`cannot read the candidates directory ${candidatesDir}`, [
      { path: '/modelVersion', message: `no candidates directory ${candidatesDir}: ${describeError(error)}` },
    ]);
  }
  for (const name of entries.sort()) {
    const dir = join(candidatesDir, name);
    let metadata: ModelMetadata;
    try {
      metadata = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')) as ModelMetadata;
    } catch {
      continue; // not an artefact (a staging directory, notes): it names no version
    }
    if (metadata.version !== version) continue;
    const problems = metadataProblems(metadata);
    if (problems.length > 0)
      throw refused(
        `candidate ${version} in ${dir} does not fit this build`,
        problems.map((p) => ({ path: '/modelVersion', message: `${join(dir, 'metadata.json')}: ${p}` })),
      );
    return dir;
  }
  throw refused(`no candidate model has version ${version}`, [
    { path: '/modelVersion', message: `no artefact in ${candidatesDir} has metadata.json version ${version}` },
  ]);
}

/**
 * Loads the candidate named `version` as a scorer: found and checked by {@link findCandidate}, then loaded whole
 * (layers and weights), so an artefact that only looks right is refused too. Throws ValidationError (SHADOW_INVALID).
 */
export async function loadCandidate(candidatesDir: string, version: string): Promise<TfjsModelScorer> {
  const dir = await findCandidate(candidatesDir, version);
  try {
    return await TfjsModelScorer.load(dir);
  } catch (error) {
    // Whatever the artefact's fault (TF.js throws plain errors for weights that do not fit the topology), it is the
    // candidate that is refused, with its directory.
    throw refused(`candidate ${version} in ${dir} does not load`, [
      {
        path: '/modelVersion',
        message: `${dir}: ${error instanceof UnavailableError ? error.message : describeError(error)}`,
      },
    ]);
  }
}

/** Checks that the candidate named `version` loads in this build (then releases it); throws like {@link loadCandidate}. */
export async function checkCandidate(candidatesDir: string, version: string): Promise<void> {
  (await loadCandidate(candidatesDir, version)).close();
}
