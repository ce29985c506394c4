import { createHash } from 'node:crypto';
import { canonicalJson } from '../../platform/canonical-json.js';
import { type RuleSet, compileRules } from '../domain/rules.js';
import { type JsonDocumentKind, loadJsonDocumentFile } from './json-document-file.js';

const RULES_FILE: JsonDocumentKind = { what: 'rules file', unreadableCode: 'RULES_UNREADABLE' };

/** A rules file as loaded: the compiled rules and the document to archive under their version. */
export interface LoadedRules {
  /** The compiled rules; `rules.version` is the content version (see {@link rulesContentVersion}). */
  readonly rules: RuleSet;
  /** The document's own `version` field: a human label, not what decisions record. */
  readonly label: string;
  /** The document as canonical JSON: what the content version hashes, and what the archive keeps. */
  readonly canonicalDocument: string;
}

/**
 * The version decisions record for a rules document: SHA-256 (hex) of its canonical JSON. Two files with the same
 * rules in another layout or key order get the same version; any change to a rule, list or label gets a new one,
 * so an edited file can never pass as the version an earlier decision names.
 */
export function rulesContentVersion(canonicalDocument: string): string {
  return createHash('sha256').update(canonicalDocument, 'utf8').digest('hex');
}

/**
 * Validates a parsed rules document whole and gives it its content version. Throws ValidationError (RULES_INVALID)
 * listing every problem with its JSON-pointer path; nothing is compiled unless the whole document is valid.
 */
export function prepareRules(document: unknown): LoadedRules {
  const labelled = compileRules(document);
  const canonicalDocument = canonicalJson(document);
  return {
    rules: compileRules(document, rulesContentVersion(canonicalDocument)),
    label: labelled.version,
    canonicalDocument,
  };
}

/**
 * A rules document validated whole, as a writer of Topics.rulesVersions needs it (dashboards' `PUT /v1/rules`, wired
 * by the composition roots): its content version, label and canonical JSON. Throws like {@link prepareRules}.
 */
export function preparedRulesOf(document: unknown): { version: string; label: string; canonicalDocument: string } {
  const { rules, label, canonicalDocument } = prepareRules(document);
  return { version: rules.version, label, canonicalDocument };
}

/** Reads and validates a rules file; throws ValidationError (RULES_INVALID / RULES_UNREADABLE) naming the file. */
export function loadRulesFile(path: string): Promise<LoadedRules> {
  return loadJsonDocumentFile(path, RULES_FILE, prepareRules);
}
