import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { FieldProblem } from '../../../../platform/errors.js';

/**
 * Safe reading of an ISO 20022 XML document into elements that know their path. Refused outright: a DOCTYPE (and
 * so every entity declaration — no entity expansion, no external entity, no "billion laughs"), bytes that are not
 * UTF-8, XML that is not well-formed (reported with line and column), nesting deeper than the limit, and a root
 * that is not a `Document` in a namespace. Values stay strings: ids keep their leading zeros and amounts are never
 * read as numbers.
 */

export interface XmlLimits {
  /** Deepest element nesting accepted; ISO 20022 messages need about 15 levels. */
  readonly maxDepth: number;
}

export const defaultXmlLimits: XmlLimits = Object.freeze({ maxDepth: 32 });

/** A parsed element and its path (`/Document/CstmrCdtTrfInitn/PmtInf[2]`); attributes live under `@name`. */
export class Element {
  constructor(
    private readonly value: unknown,
    readonly path: string,
  ) {}

  /** The single child `name`, or undefined when absent (a repeated child gives its first occurrence). */
  child(name: string): Element | undefined {
    const value = this.field(name);
    if (value === undefined) return undefined;
    return new Element(Array.isArray(value) ? value[0] : value, `${this.path}/${name}`);
  }

  /** Every child `name` in document order, each path indexed from 1 (`…/CdtTrfTxInf[3]`). */
  children(name: string): Element[] {
    const value = this.field(name);
    if (value === undefined) return [];
    const all: unknown[] = Array.isArray(value) ? value : [value];
    return all.map((v, i) => new Element(v, `${this.path}/${name}[${i + 1}]`));
  }

  /** The element at a `/`-separated relative path of single children (`PmtId/EndToEndId`). */
  at(relative: string): Element | undefined {
    return relative.split('/').reduce<Element | undefined>((element, name) => element?.child(name), this);
  }

  /** The text of this element (trimmed by the parser); undefined for an element with child elements only. */
  text(): string | undefined {
    if (typeof this.value === 'string') return this.value;
    if (this.value !== null && typeof this.value === 'object') {
      const text = (this.value as Record<string, unknown>)['#text'];
      return typeof text === 'string' ? text : undefined;
    }
    return undefined;
  }

  /** The text at a relative path, or undefined when the element is absent or empty. */
  textAt(relative: string): string | undefined {
    const text = this.at(relative)?.text();
    return text === '' ? undefined : text;
  }

  /** An attribute's value. */
  attribute(name: string): string | undefined {
    if (this.value === null || typeof this.value !== 'object') return undefined;
    const value = (this.value as Record<string, unknown>)[`@${name}`];
    return typeof value === 'string' ? value : undefined;
  }

  private field(name: string): unknown {
    if (this.value === null || typeof this.value !== 'object' || !Object.hasOwn(this.value, name)) return undefined;
    return (this.value as Record<string, unknown>)[name];
  }
}

export type XmlRead =
  | { readonly ok: true; readonly namespace: string; readonly document: Element }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

const refuse = (path: string, message: string): XmlRead => ({ ok: false, problems: [{ path, message }] });

/** A parser's message may quote names from the input; long digit runs (a card number, say) are cut out. */
const withoutDigitRuns = (message: string): string => message.replace(/[0-9][0-9 -]{4,}[0-9]/g, '…').slice(0, 200);

/** The first start tag that is not a declaration, processing instruction or comment: the root. */
const rootTag = /<(?![?!])([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/;

/**
 * Reads `bytes` as an ISO 20022 document. The namespace is the one the root `Document` element is in (its
 * default or prefixed `xmlns`); element names are read without their prefix.
 */
export function readXmlDocument(bytes: Uint8Array, limits: XmlLimits = defaultXmlLimits): XmlRead {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return refuse('', 'is not valid UTF-8');
  }
  // Refused before any parser sees it: a DTD is how entity expansion and external entities get in (OWASP XXE).
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text))
    return refuse('', 'must not contain a DOCTYPE or entity declarations');
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    return refuse(
      `line ${valid.err.line}, column ${valid.err.col}`,
      withoutDigitRuns(`is not well-formed XML: ${valid.err.code} ${valid.err.msg}`),
    );
  const root = rootTag.exec(text);
  if (!root || root[2] !== 'Document') return refuse('/', 'the root element must be an ISO 20022 Document');
  const prefix = root[1] === undefined ? '' : `:${root[1].slice(0, -1)}`;
  const declaration = new RegExp(`\\sxmlns${prefix.replace('.', '\\.')}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(
    root[3] ?? '',
  );
  const namespace = declaration?.[1] ?? declaration?.[2];
  if (namespace === undefined) return refuse('/Document', 'the Document element must declare its namespace');

  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    // Ids and amounts stay text: "000123" is not 123 and "10.10" is not a float.
    parseTagValue: false,
    parseAttributeValue: false,
    // Only XML's predefined entities (&amp; …) remain possible: a DOCTYPE was refused above.
    processEntities: true,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
    maxNestedTags: limits.maxDepth,
  });
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch (error) {
    // The parser's own limits (depth) and guards (names such as __proto__).
    return refuse('', withoutDigitRuns(`could not be read: ${error instanceof Error ? error.message : 'unreadable'}`));
  }
  return { ok: true, namespace, document: new Element((parsed as Record<string, unknown>)['Document'], '/Document') };
}
