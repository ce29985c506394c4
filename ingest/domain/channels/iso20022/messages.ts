import type { FieldProblem } from '../../../../platform/errors.js';
import type { ContentHasher } from '../../../ports.js';
import {
  type ChannelFileReader,
  type ChannelFileVerdict,
  type ChannelItem,
  type ChannelParse,
  PAN_IN_REFERENCE,
  checkedReferences,
  readWhole,
} from '../channel.js';
import { serviceLevels, transferItem } from './fields.js';
import { type Element, type XmlHandler, type XmlHolding, type XmlLimits, XmlStream, defaultXmlLimits } from './xml.js';

/**
 * ISO 20022 messages → channel items. Each supported message definition is known by its namespace
 * (`urn:iso:std:iso:20022:tech:xsd:<definition>`); element names and multiplicities follow the published message
 * definitions of those versions. The mapping of each element is tabled in the README ("Channels").
 */

const NAMESPACE_PREFIX = 'urn:iso:std:iso:20022:tech:xsd:';

/** The message definitions this channel reads, by namespace, with the element under `Document` each one has. */
export const supportedMessages = {
  'pain.001.001.09': 'CstmrCdtTrfInitn',
  'pacs.008.001.08': 'FIToFICstmrCdtTrf',
  'camt.054.001.08': 'BkToCstmrDbtCdtNtfctn',
  'pacs.004.001.09': 'PmtRtr',
} as const;
export type MessageDefinition = keyof typeof supportedMessages;

export interface Iso20022Options {
  readonly hasher: ContentHasher;
  readonly xml?: XmlLimits;
  /** Read for the verdict alone: transactions are read and let go, never mapped (the channel routes' first read). */
  readonly verdictOnly?: boolean;
}

/**
 * Parses an ISO 20022 file held whole (tests, the simulator, the fuzzers): `Iso20022Reader` over one chunk. The
 * whole file is refused (with the line and column, or the element) when it is not safe, well-formed XML of a
 * supported message or has no `GrpHdr/MsgId`; otherwise every transaction in it becomes an item — a good one with
 * its request, a bad one with its problems at their element paths.
 */
export function parseIso20022(bytes: Uint8Array, options: Iso20022Options): ChannelParse {
  return readWhole(new Iso20022Reader(options), bytes);
}

/**
 * The elements each message definition repeats per transaction ('unit': `CdtTrfTxInf`, camt.054's `Ntry`,
 * pacs.004's `TxInf`) and the blocks that group them ('group': pain.001's `PmtInf`, camt.054's `Ntfctn`), by their
 * names under the message element. The message definitions put the group header and every block's own fields
 * before its transactions, so each transaction is mapped as it closes, with the header and its block at hand.
 */
const holdings: Record<MessageDefinition, Record<string, XmlHolding>> = {
  'pain.001.001.09': { PmtInf: 'group', 'PmtInf/CdtTrfTxInf': 'unit' },
  'pacs.008.001.08': { CdtTrfTxInf: 'unit' },
  'camt.054.001.08': { Ntfctn: 'group', 'Ntfctn/Ntry': 'unit' },
  'pacs.004.001.09': { TxInf: 'unit' },
};

/**
 * An ISO 20022 file read as it arrives (ChannelFileReader), holding its group header, the open block and one
 * transaction at a time: each transaction becomes an item when it closes. Refused as a whole, at the first
 * problem: unsafe or not well-formed XML, another message definition, no `GrpHdr/MsgId` before the first
 * transaction.
 */
export class Iso20022Reader implements ChannelFileReader, XmlHandler {
  private readonly xml: XmlStream;
  private format: MessageDefinition | undefined;
  private message: string | undefined;
  private context: MessageContext | undefined;
  private items: ChannelItem[] = [];

  constructor(private readonly options: Iso20022Options) {
    this.xml = new XmlStream(this, options.xml ?? defaultXmlLimits);
  }

  push(chunk: Uint8Array): ChannelItem[] {
    this.xml.write(chunk);
    return this.take();
  }

  end(): { items: ChannelItem[]; verdict: ChannelFileVerdict } {
    this.xml.end();
    const items = this.take();
    const problem = this.xml.problem ?? this.missing();
    if (problem !== undefined) return { items: [], verdict: { ok: false, problems: [problem] } };
    return { items, verdict: { ok: true, format: this.context!.format, messageId: this.context!.messageId } };
  }

  root(name: string, namespace: string | undefined): FieldProblem | undefined {
    if (name !== 'Document') return { path: '/', message: 'the root element must be an ISO 20022 Document' };
    if (namespace === undefined)
      return { path: '/Document', message: 'the Document element must declare its namespace' };
    const definition = namespace.startsWith(NAMESPACE_PREFIX) ? namespace.slice(NAMESPACE_PREFIX.length) : undefined;
    if (definition === undefined || !Object.hasOwn(supportedMessages, definition))
      return {
        path: '/Document/@xmlns',
        message: `is not a supported message definition; supported: ${Object.keys(supportedMessages).join(', ')}`,
      };
    this.format = definition as MessageDefinition;
    this.message = supportedMessages[this.format];
    return undefined;
  }

  holding(names: readonly string[]): XmlHolding {
    if (names[1] !== this.message || this.format === undefined) return 'keep';
    return holdings[this.format][names.slice(2).join('/')] ?? 'keep';
  }

  closed(element: Element, names: readonly string[]): FieldProblem | undefined {
    if (names.length !== 3 || names[1] !== this.message || names[2] !== 'GrpHdr' || this.context !== undefined)
      return undefined;
    const messageId = element.textAt('MsgId');
    if (messageId === undefined) return { path: `${element.path}/MsgId`, message: 'is required' };
    // The message id is answered back and journalled: it is held to the rule of every reference.
    const idProblems = checkedReferences([['MsgId', messageId, `${element.path}/MsgId`]], []);
    if (idProblems.MsgId === undefined)
      return { path: `${element.path}/MsgId`, message: `${PAN_IN_REFERENCE}, or control characters` };
    this.context = { format: this.format!, messageId, header: element, hasher: this.options.hasher };
    return undefined;
  }

  unit(element: Element, ancestors: readonly Element[]): FieldProblem | undefined {
    const context = this.context;
    const message = ancestors[1]!;
    if (context === undefined) return { path: `${message.path}/GrpHdr/MsgId`, message: 'is required' };
    if (this.options.verdictOnly === true) return undefined;
    const block = ancestors[2];
    switch (context.format) {
      case 'pain.001.001.09':
        this.items.push(pain001Transfer(block!, element, context));
        break;
      case 'pacs.008.001.08':
        this.items.push(pacs008Transfer(element, context));
        break;
      case 'camt.054.001.08':
        this.items.push(...camt054Entry(block!, element, context));
        break;
      case 'pacs.004.001.09':
        this.items.push(pacs004Return(message, element, context));
        break;
    }
    return undefined;
  }

  /** What a file that read through without a problem may still lack. */
  private missing(): FieldProblem | undefined {
    if (this.format === undefined || this.message === undefined)
      return { path: '/', message: 'the root element must be an ISO 20022 Document' };
    if (this.context === undefined) return { path: `/Document/${this.message}/GrpHdr/MsgId`, message: 'is required' };
    return undefined;
  }

  private take(): ChannelItem[] {
    if (this.xml.problem !== undefined) return [];
    const items = this.items;
    this.items = [];
    return items;
  }
}

interface MessageContext {
  readonly format: MessageDefinition;
  readonly messageId: string;
  readonly header: Element;
  readonly hasher: ContentHasher;
}

/** The key a transfer of a pain.001 is known by (for its id, and a return naming it): MsgId + InstrId or EndToEndId. */
function pain001Key(messageId: string, instructionId: string | undefined, endToEndId: string | undefined): string[] {
  return ['pain.001', messageId, instructionId ?? endToEndId ?? ''];
}

/** The key of a pacs.008 transfer: MsgId + TxId, else InstrId, else EndToEndId. */
function pacs008Key(messageId: string, ids: { txId?: string; instrId?: string; endToEndId?: string }): string[] {
  return ['pacs.008', messageId, ids.txId ?? ids.instrId ?? ids.endToEndId ?? ''];
}

/** pain.001.001.09: each `PmtInf/CdtTrfTxInf` is a transfer from the payment information's debtor account. */
function pain001Transfer(info: Element, tx: Element, context: MessageContext): ChannelItem {
  const { messageId, header } = context;
  const infoLevels = serviceLevels(info.child('PmtTpInf'));
  const instrId = tx.textAt('PmtId/InstrId');
  const endToEndId = tx.textAt('PmtId/EndToEndId');
  const problems: FieldProblem[] = [];
  if (endToEndId === undefined) problems.push({ path: `${tx.path}/PmtId/EndToEndId`, message: 'is required' });
  const equivalent = tx.at('Amt/EqvtAmt');
  if (equivalent !== undefined)
    problems.push({ path: equivalent.path, message: 'is not supported; send the amount as InstdAmt' });
  return transferItem(
    {
      format: context.format,
      location: tx.path,
      key: pain001Key(messageId, instrId, endToEndId),
      kind: 'transfer',
      amount: { element: tx.at('Amt/InstdAmt'), expectedPath: `${tx.path}/Amt/InstdAmt` },
      payerAccount: { element: info.child('DbtrAcct'), expectedPath: `${info.path}/DbtrAcct` },
      payeeAccount: { element: tx.child('CdtrAcct'), expectedPath: `${tx.path}/CdtrAcct` },
      sepa: [...infoLevels, ...serviceLevels(tx.child('PmtTpInf'))].includes('SEPA'),
      endToEndId: tx.at('PmtId/EndToEndId'),
      uetr: tx.at('PmtId/UETR'),
      remittance: tx.child('RmtInf'),
      createdAt: header.child('CreDtTm'),
      problems,
      references: [
        ['MsgId', messageId, `${header.path}/MsgId`],
        ['PmtInfId', info.textAt('PmtInfId'), `${info.path}/PmtInfId`],
        ['InstrId', instrId, `${tx.path}/PmtId/InstrId`],
        ['EndToEndId', endToEndId, `${tx.path}/PmtId/EndToEndId`],
        ['UETR', tx.textAt('PmtId/UETR'), `${tx.path}/PmtId/UETR`],
        ['ReqdExctnDt', info.textAt('ReqdExctnDt/Dt') ?? info.textAt('ReqdExctnDt/DtTm'), `${info.path}/ReqdExctnDt`],
        ['DbtrAgtBIC', info.textAt('DbtrAgt/FinInstnId/BICFI'), `${info.path}/DbtrAgt/FinInstnId/BICFI`],
        ['CdtrAgtBIC', tx.textAt('CdtrAgt/FinInstnId/BICFI'), `${tx.path}/CdtrAgt/FinInstnId/BICFI`],
      ],
    },
    context.hasher,
  );
}

/** pacs.008.001.08: each `CdtTrfTxInf` is an interbank transfer of its `IntrBkSttlmAmt`. */
function pacs008Transfer(tx: Element, context: MessageContext): ChannelItem {
  const { messageId, header } = context;
  const headerLevels = serviceLevels(header.child('PmtTpInf'));
  const ids = {
    instrId: tx.textAt('PmtId/InstrId'),
    endToEndId: tx.textAt('PmtId/EndToEndId'),
    txId: tx.textAt('PmtId/TxId'),
  };
  const problems: FieldProblem[] = [];
  if (ids.endToEndId === undefined) problems.push({ path: `${tx.path}/PmtId/EndToEndId`, message: 'is required' });
  return transferItem(
    {
      format: context.format,
      location: tx.path,
      key: pacs008Key(messageId, ids),
      kind: 'transfer',
      amount: { element: tx.child('IntrBkSttlmAmt'), expectedPath: `${tx.path}/IntrBkSttlmAmt` },
      payerAccount: { element: tx.child('DbtrAcct'), expectedPath: `${tx.path}/DbtrAcct` },
      payeeAccount: { element: tx.child('CdtrAcct'), expectedPath: `${tx.path}/CdtrAcct` },
      sepa: [...headerLevels, ...serviceLevels(tx.child('PmtTpInf'))].includes('SEPA'),
      endToEndId: tx.at('PmtId/EndToEndId'),
      uetr: tx.at('PmtId/UETR'),
      remittance: tx.child('RmtInf'),
      createdAt: header.child('CreDtTm'),
      problems,
      references: [
        ['MsgId', messageId, `${header.path}/MsgId`],
        ['InstrId', ids.instrId, `${tx.path}/PmtId/InstrId`],
        ['EndToEndId', ids.endToEndId, `${tx.path}/PmtId/EndToEndId`],
        ['TxId', ids.txId, `${tx.path}/PmtId/TxId`],
        ['UETR', tx.textAt('PmtId/UETR'), `${tx.path}/PmtId/UETR`],
        ['IntrBkSttlmDt', tx.textAt('IntrBkSttlmDt') ?? header.textAt('IntrBkSttlmDt'), `${tx.path}/IntrBkSttlmDt`],
        ['DbtrAgtBIC', tx.textAt('DbtrAgt/FinInstnId/BICFI'), `${tx.path}/DbtrAgt/FinInstnId/BICFI`],
        ['CdtrAgtBIC', tx.textAt('CdtrAgt/FinInstnId/BICFI'), `${tx.path}/CdtrAgt/FinInstnId/BICFI`],
      ],
    },
    context.hasher,
  );
}

/**
 * camt.054.001.08: each booked entry's `NtryDtls/TxDtls` is a movement on the notified account — a credit
 * (`CdtDbtInd` CRDT) from the related debtor's account, a debit (DBIT) to the related creditor's. Entries that are
 * not booked (`Sts/Cd` other than BOOK), reversal entries and entries without transaction details are reported,
 * not ingested.
 */
function camt054Entry(notification: Element, entry: Element, context: MessageContext): ChannelItem[] {
  const { messageId, header } = context;
  const notifiedAccount = notification.child('Acct');
  const notificationId = notification.textAt('Id');
  const details = entry.children('NtryDtls').flatMap((d) => d.children('TxDtls'));
  const status = entry.textAt('Sts/Cd') ?? entry.textAt('Sts');
  const entryProblems: FieldProblem[] = [];
  if (status !== 'BOOK')
    entryProblems.push({ path: `${entry.path}/Sts`, message: 'only booked entries (BOOK) are ingested' });
  if (entry.textAt('RvslInd') === 'true')
    entryProblems.push({
      path: `${entry.path}/RvslInd`,
      message: 'reversal entries are not ingested; send the return as pacs.004',
    });
  if (details.length === 0)
    return [
      {
        location: entry.path,
        sourceDocument: { format: context.format, references: { MsgId: messageId }, location: entry.path },
        problems: [
          ...entryProblems,
          { path: `${entry.path}/NtryDtls/TxDtls`, message: 'is required: it names the counterparty' },
        ],
        fieldLocations: {},
      },
    ];
  return details.map((tx, index) => {
    const problems = [...entryProblems];
    const indicator = tx.textAt('CdtDbtInd') ?? entry.textAt('CdtDbtInd');
    if (indicator !== 'CRDT' && indicator !== 'DBIT')
      problems.push({ path: `${entry.path}/CdtDbtInd`, message: 'must be CRDT or DBIT' });
    const credit = indicator === 'CRDT';
    const counterparty = credit ? tx.at('RltdPties/DbtrAcct') : tx.at('RltdPties/CdtrAcct');
    const counterpartyPath = `${tx.path}/RltdPties/${credit ? 'DbtrAcct' : 'CdtrAcct'}`;
    const notified = { element: notifiedAccount, expectedPath: `${notification.path}/Acct` };
    const other = { element: counterparty, expectedPath: counterpartyPath };
    // One detail may carry the entry's amount alone; with several, each must carry its own.
    const amount = tx.child('Amt') ?? (details.length === 1 ? entry.child('Amt') : undefined);
    return transferItem(
      {
        format: context.format,
        location: tx.path,
        key: ['camt.054', messageId, notificationId ?? '', entry.path, String(index + 1)],
        kind: 'transfer',
        amount: { element: amount, expectedPath: `${tx.path}/Amt` },
        payerAccount: credit ? other : notified,
        payeeAccount: credit ? notified : other,
        sepa: false,
        endToEndId: tx.at('Refs/EndToEndId'),
        uetr: tx.at('Refs/UETR'),
        remittance: tx.child('RmtInf'),
        createdAt: header.child('CreDtTm'),
        problems,
        references: [
          ['MsgId', messageId, `${header.path}/MsgId`],
          ['NtfctnId', notificationId, `${notification.path}/Id`],
          ['NtryRef', entry.textAt('NtryRef'), `${entry.path}/NtryRef`],
          ['CdtDbtInd', indicator, `${entry.path}/CdtDbtInd`],
          ['BookgDt', entry.textAt('BookgDt/Dt') ?? entry.textAt('BookgDt/DtTm'), `${entry.path}/BookgDt`],
          ['ValDt', entry.textAt('ValDt/Dt') ?? entry.textAt('ValDt/DtTm'), `${entry.path}/ValDt`],
          ['AcctSvcrRef', tx.textAt('Refs/AcctSvcrRef'), `${tx.path}/Refs/AcctSvcrRef`],
          ['RefsMsgId', tx.textAt('Refs/MsgId'), `${tx.path}/Refs/MsgId`],
          ['PmtInfId', tx.textAt('Refs/PmtInfId'), `${tx.path}/Refs/PmtInfId`],
          ['InstrId', tx.textAt('Refs/InstrId'), `${tx.path}/Refs/InstrId`],
          ['EndToEndId', tx.textAt('Refs/EndToEndId'), `${tx.path}/Refs/EndToEndId`],
          ['TxId', tx.textAt('Refs/TxId'), `${tx.path}/Refs/TxId`],
          ['UETR', tx.textAt('Refs/UETR'), `${tx.path}/Refs/UETR`],
        ],
      },
      context.hasher,
    );
  });
}

/**
 * pacs.004.001.09: each `TxInf` returns (part of) an earlier transfer, booked as a refund of it: the original is
 * found by `OrgnlGrpInf` (message id and definition, on the TxInf or for the whole message) and the original
 * transaction's ids, giving the same id the original got here; payer and payee are the original's debtor and
 * creditor accounts (`OrgnlTxRef`), so the ledger books the money back from creditor to debtor.
 */
function pacs004Return(message: Element, tx: Element, context: MessageContext): ChannelItem {
  const { messageId, header } = context;
  const messageGroup = message.child('OrgnlGrpInf');
  const group = tx.child('OrgnlGrpInf') ?? messageGroup;
  const original = {
    messageId: group?.textAt('OrgnlMsgId'),
    definition: group?.textAt('OrgnlMsgNmId'),
    instrId: tx.textAt('OrgnlInstrId'),
    endToEndId: tx.textAt('OrgnlEndToEndId'),
    txId: tx.textAt('OrgnlTxId'),
  };
  const problems: FieldProblem[] = [];
  let originalKey: string[] | undefined;
  if (original.messageId === undefined || original.definition === undefined)
    problems.push({ path: `${tx.path}/OrgnlGrpInf`, message: 'is required (here or for the message)' });
  else if (original.definition.startsWith('pain.001'))
    originalKey = pain001Key(original.messageId, original.instrId, original.endToEndId);
  else if (original.definition.startsWith('pacs.008')) originalKey = pacs008Key(original.messageId, original);
  else
    problems.push({
      path: `${group!.path}/OrgnlMsgNmId`,
      message: 'must name a pain.001 or pacs.008 message (the transfers this channel ingests)',
    });
  if (original.instrId === undefined && original.endToEndId === undefined && original.txId === undefined)
    problems.push({ path: `${tx.path}/OrgnlEndToEndId`, message: 'is required to find the original transfer' });
  const returnId = tx.textAt('RtrId') ?? original.txId ?? original.instrId ?? original.endToEndId ?? '';
  const reference = tx.child('OrgnlTxRef');
  return transferItem(
    {
      format: context.format,
      location: tx.path,
      key: ['pacs.004', messageId, returnId],
      ...(originalKey === undefined ? {} : { originalKey }),
      kind: 'refund',
      amount: { element: tx.child('RtrdIntrBkSttlmAmt'), expectedPath: `${tx.path}/RtrdIntrBkSttlmAmt` },
      payerAccount: { element: reference?.child('DbtrAcct'), expectedPath: `${tx.path}/OrgnlTxRef/DbtrAcct` },
      payeeAccount: { element: reference?.child('CdtrAcct'), expectedPath: `${tx.path}/OrgnlTxRef/CdtrAcct` },
      sepa: serviceLevels(reference?.child('PmtTpInf')).includes('SEPA'),
      endToEndId: tx.at('OrgnlEndToEndId'),
      // A return has no UETR of its own in this version; the original's stays in the references.
      uetr: undefined,
      remittance: reference?.child('RmtInf'),
      createdAt: header.child('CreDtTm'),
      problems,
      references: [
        ['MsgId', messageId, `${header.path}/MsgId`],
        ['RtrId', tx.textAt('RtrId'), `${tx.path}/RtrId`],
        ['OrgnlMsgId', original.messageId, `${group?.path ?? tx.path}/OrgnlMsgId`],
        ['OrgnlMsgNmId', original.definition, `${group?.path ?? tx.path}/OrgnlMsgNmId`],
        ['OrgnlInstrId', original.instrId, `${tx.path}/OrgnlInstrId`],
        ['OrgnlEndToEndId', original.endToEndId, `${tx.path}/OrgnlEndToEndId`],
        ['OrgnlTxId', original.txId, `${tx.path}/OrgnlTxId`],
        ['OrgnlUETR', tx.textAt('OrgnlUETR'), `${tx.path}/OrgnlUETR`],
        ['RtrRsn', tx.textAt('RtrRsnInf/Rsn/Cd'), `${tx.path}/RtrRsnInf/Rsn/Cd`],
        ['IntrBkSttlmDt', tx.textAt('IntrBkSttlmDt'), `${tx.path}/IntrBkSttlmDt`],
      ],
    },
    context.hasher,
  );
}
