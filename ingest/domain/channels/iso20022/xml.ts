import sax from 'sax';
import type { FieldProblem } from '../../../../platform/errors.js';

/**
 * Safe reading of an ISO 20022 XML document as it arrives (sax, strict), into elements that know their path.
 * Refused outright: a DOCTYPE (and so every entity declaration — no entity expansion, no external entity, no
 * "billion laughs"; only XML's five predefined entities and character references are read), bytes that are not
 * UTF-8, XML that is not well-formed (reported with line and column), nesting deeper than the limit, more text held
 * at once than the limit, and a root that is not a `Document` in a namespace. Values stay strings: ids keep their
 * leading zeros and amounts are never read as numbers.
 *
 * Only part of a document is held: the reader's caller names the repeated elements that are its transactions
 * ('unit': handed out whole when they close, then let go) and the blocks that group them ('group': let go when they
 * close); everything else stays in its parent until that is let go.
 */

export interface XmlLimits {
  /** Deepest element nesting accepted; ISO 20022 messages need about 15 levels. */
  readonly maxDepth: number;
  /** Most characters of text and names held at once (open groups, the header, the unit being read). */
  readonly maxHeldChars: number;
}

export const defaultXmlLimits: XmlLimits = Object.freeze({ maxDepth: 32, maxHeldChars: 1024 * 1024 });

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

/** How the reader holds an element: in its parent ('keep'), handed out when it closes ('unit'), or let go ('group'). */
export type XmlHolding = 'keep' | 'unit' | 'group';

/** What a document's reader is told as the document streams by; a problem returned refuses the file. */
export interface XmlHandler {
  /** The root element opened: its local name and namespace (undefined when it declares none). */
  root(name: string, namespace: string | undefined): FieldProblem | undefined;
  /** How to hold the element at `names` (from the root's, local names). */
  holding(names: readonly string[]): XmlHolding;
  /** A 'keep' element closed at `names` (its parent still open). */
  closed(element: Element, names: readonly string[]): FieldProblem | undefined;
  /** A 'unit' closed: itself, and its open ancestors from the root, each holding what it has read so far. */
  unit(element: Element, ancestors: readonly Element[]): FieldProblem | undefined;
}

interface Frame {
  readonly name: string;
  readonly path: string;
  readonly holding: XmlHolding;
  readonly children: Record<string, unknown>;
  readonly counts: Map<string, number>;
  text: string;
  hasChildren: boolean;
  hasAttributes: boolean;
  /** Characters held when it opened: what is let go with it. */
  readonly heldAtOpen: number;
}

const refusal = (path: string, message: string): FieldProblem => ({ path, message });

/** A parser's message may quote names from the input; long digit runs (a card number, say) are cut out. */
const withoutDigitRuns = (message: string): string => message.replace(/[0-9][0-9 -]{4,}[0-9]/g, '…').slice(0, 200);

/**
 * Reads an XML document chunk by chunk (`write`, then `end`), telling `handler` what it holds. The first problem
 * refuses the file and stops the read (`problem`).
 */
export class XmlStream {
  private readonly parser = sax.parser(true, { xmlns: true, position: true });
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private readonly stack: Frame[] = [];
  private held = 0;
  private sawRoot = false;
  /** Why the file is refused; set once, and the read stops there. */
  problem: FieldProblem | undefined;

  constructor(
    private readonly handler: XmlHandler,
    private readonly limits: XmlLimits = defaultXmlLimits,
  ) {
    const p = this.parser;
    p.onerror = (error) => {
      this.refuse(
        refusal(
          `line ${p.line + 1}, column ${p.column + 1}`,
          withoutDigitRuns(`is not well-formed XML: ${error.message.split('\n')[0] ?? ''}`),
        ),
      );
    };
    p.ondoctype = () => this.refuse(refusal('', 'must not contain a DOCTYPE or entity declarations'));
    p.onopentag = (tag) => this.open(tag as sax.QualifiedTag);
    p.onclosetag = () => this.close();
    p.ontext = (text) => this.text(text);
    p.oncdata = (text) => this.text(text);
  }

  /** Reads the next chunk of the document's bytes. */
  write(chunk: Uint8Array): void {
    if (this.problem !== undefined) return;
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      this.refuse(refusal('', 'is not valid UTF-8'));
      return;
    }
    this.parser.write(text);
  }

  /** The document's end: whatever is not closed by now makes it not well-formed. */
  end(): void {
    if (this.problem !== undefined) return;
    try {
      this.parser.write(this.decoder.decode());
    } catch {
      this.refuse(refusal('', 'is not valid UTF-8'));
      return;
    }
    if (this.problem === undefined) this.parser.close();
    if (this.problem === undefined && !this.sawRoot)
      this.refuse(refusal('/', 'the root element must be an ISO 20022 Document'));
  }

  private refuse(problem: FieldProblem | undefined): void {
    if (problem === undefined || this.problem !== undefined) return;
    this.problem = problem;
    // Later events of the same chunk are ignored; sax wants an error acknowledged before it reads on.
    this.parser.onerror = () => {
      this.parser.resume();
    };
    this.parser.resume();
  }

  private hold(chars: number, path: string): void {
    this.held += chars;
    if (this.held > this.limits.maxHeldChars)
      this.refuse(refusal(path, `holds more than ${this.limits.maxHeldChars} characters at once; split the file`));
  }

  private open(tag: sax.QualifiedTag): void {
    if (this.problem !== undefined) return;
    const parent = this.stack[this.stack.length - 1];
    if (this.stack.length >= this.limits.maxDepth) {
      this.refuse(refusal(parent?.path ?? '', `nests elements deeper than ${this.limits.maxDepth} levels`));
      return;
    }
    const name = tag.local;
    let path: string;
    let holding: XmlHolding = 'keep';
    if (parent === undefined) {
      this.sawRoot = true;
      path = `/${name}`;
      this.refuse(this.handler.root(name, tag.uri === '' ? undefined : tag.uri));
      if (this.problem !== undefined) return;
    } else {
      parent.hasChildren = true;
      const count = (parent.counts.get(name) ?? 0) + 1;
      parent.counts.set(name, count);
      holding = this.handler.holding([...this.stack.map((f) => f.name), name]);
      // Repeated blocks are known by their position, as Element.children names them.
      path = holding === 'keep' ? `${parent.path}/${name}` : `${parent.path}/${name}[${count}]`;
    }
    // No prototype: an element named __proto__ or constructor is a key like any other.
    const children = Object.create(null) as Record<string, unknown>;
    let hasAttributes = false;
    for (const attribute of Object.values(tag.attributes)) {
      if (attribute.prefix === 'xmlns' || attribute.name === 'xmlns') continue;
      children[`@${attribute.local}`] = attribute.value;
      hasAttributes = true;
      this.hold(attribute.local.length + attribute.value.length, path);
    }
    this.stack.push({
      name,
      path,
      holding,
      children,
      counts: new Map(),
      text: '',
      hasChildren: false,
      hasAttributes,
      heldAtOpen: this.held,
    });
    this.hold(name.length, path);
  }

  private text(text: string): void {
    if (this.problem !== undefined) return;
    const frame = this.stack[this.stack.length - 1];
    // Text outside the root is whitespace; sax refuses anything else there.
    if (frame === undefined) return;
    frame.text += text;
    this.hold(text.length, frame.path);
  }

  private close(): void {
    if (this.problem !== undefined) return;
    const frame = this.stack.pop();
    if (frame === undefined) return;
    const text = frame.text.trim();
    let value: unknown;
    if (!frame.hasChildren && !frame.hasAttributes) value = text;
    else {
      value = frame.children;
      if (text !== '') frame.children['#text'] = text;
    }
    const parent = this.stack[this.stack.length - 1];
    const names = [...this.stack.map((f) => f.name), frame.name];
    if (frame.holding === 'keep') {
      if (parent !== undefined) {
        const siblings = parent.children[frame.name];
        if (siblings === undefined) parent.children[frame.name] = value;
        else if (Array.isArray(siblings)) siblings.push(value);
        else parent.children[frame.name] = [siblings, value];
      }
      this.refuse(this.handler.closed(new Element(value, frame.path), names));
      return;
    }
    this.held = frame.heldAtOpen;
    if (frame.holding === 'unit')
      this.refuse(
        this.handler.unit(
          new Element(value, frame.path),
          this.stack.map((f) => new Element(f.children, f.path)),
        ),
      );
  }
}
