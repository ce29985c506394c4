/**
 * ISO 20022 test files, written for these tests from the published message definitions (pain.001.001.09,
 * pacs.008.001.08, camt.054.001.08, pacs.004.001.09): only the elements the channel reads plus the mandatory ones
 * around them. Ids carry leading zeros on purpose; IBANs are the registry's published examples.
 */

const ns = (definition: string): string => `urn:iso:std:iso:20022:tech:xsd:${definition}`;

export const accounts = {
  de: 'DE89370400440532013000',
  fr: 'FR1420041010050500013M02606',
  nl: 'NL91ABNA0417164300',
  gb: 'GB29NWBK60161331926819',
  ch: 'CH9300762011623852957',
  be: 'BE68539007547034',
} as const;

export interface FileOptions {
  readonly messageId?: string;
  /** GrpHdr/CreDtTm; the e2e tests pass the current time (ingest refuses events older than 30 days). */
  readonly createdAt?: string;
}

const creditTransfer = (tx: {
  instrId: string;
  endToEndId: string;
  uetr?: string;
  amount: string;
  ccy?: string;
  creditorIban?: string;
  creditorOther?: string;
  remittance?: string;
}): string => `
      <CdtTrfTxInf>
        <PmtId>
          <InstrId>${tx.instrId}</InstrId>
          <EndToEndId>${tx.endToEndId}</EndToEndId>${tx.uetr ? `\n          <UETR>${tx.uetr}</UETR>` : ''}
        </PmtId>
        <Amt>
          <InstdAmt${tx.ccy === undefined ? '' : ` Ccy="${tx.ccy}"`}>${tx.amount}</InstdAmt>
        </Amt>
        <CdtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></CdtrAgt>
        <Cdtr><Nm>Creditor ${tx.instrId}</Nm></Cdtr>
        <CdtrAcct><Id>${tx.creditorIban ? `<IBAN>${tx.creditorIban}</IBAN>` : `<Othr><Id>${tx.creditorOther}</Id></Othr>`}</Id></CdtrAcct>${
          tx.remittance ? `\n        <RmtInf><Ustrd>${tx.remittance}</Ustrd></RmtInf>` : ''
        }
      </CdtTrfTxInf>`;

const paymentInformation = (info: {
  id: string;
  sepa: boolean;
  debtorIban: string;
  transactions: string[];
}): string => `
    <PmtInf>
      <PmtInfId>${info.id}</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      ${info.sepa ? '<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>' : ''}
      <ReqdExctnDt><Dt>2026-12-08</Dt></ReqdExctnDt>
      <Dbtr><Nm>Debtor Ltd</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>${info.debtorIban}</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>${info.transactions.join('')}
    </PmtInf>`;

const pain001 = (
  messageId: string,
  createdAt: string,
  count: number,
  body: string,
): string => `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="${ns('pain.001.001.09')}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>${messageId}</MsgId>
      <CreDtTm>${createdAt}</CreDtTm>
      <NbOfTxs>${count}</NbOfTxs>
      <InitgPty><Nm>Debtor Ltd</Nm></InitgPty>
    </GrpHdr>${body}
  </CstmrCdtTrfInitn>
</Document>
`;

/**
 * A multi-currency pain.001: a SEPA block of two EUR transfers from the DE account (one with a card number in its
 * remittance text) and a non-SEPA block from the GB account in USD, JPY (no minor unit) and BHD (three decimals).
 */
export function multiCurrencyPain001(options: FileOptions = {}): string {
  const { messageId = 'PAIN-000123', createdAt = '2026-12-07T09:30:00Z' } = options;
  return pain001(
    messageId,
    createdAt,
    5,
    paymentInformation({
      id: 'PMT-EUR-0001',
      sepa: true,
      debtorIban: accounts.de,
      transactions: [
        creditTransfer({
          instrId: 'INSTR-0001',
          endToEndId: 'E2E-0001',
          uetr: 'eb6305c9-1f7f-49de-aed0-16487c27b42d',
          amount: '1234.56',
          ccy: 'EUR',
          creditorIban: accounts.fr,
          remittance: 'Invoice 2026-001 &amp; 002',
        }),
        creditTransfer({
          instrId: 'INSTR-0002',
          endToEndId: 'E2E-0002',
          amount: '0.01',
          ccy: 'EUR',
          creditorIban: accounts.nl,
          remittance: 'card 4111 1111 1111 1111 refund',
        }),
      ],
    }) +
      paymentInformation({
        id: 'PMT-MULTI-0002',
        sepa: false,
        debtorIban: accounts.gb,
        transactions: [
          creditTransfer({
            instrId: 'INSTR-0003',
            endToEndId: 'E2E-0003',
            amount: '250000.00',
            ccy: 'USD',
            creditorOther: 'US-ACCT-000123',
          }),
          creditTransfer({
            instrId: 'INSTR-0004',
            endToEndId: 'E2E-0004',
            amount: '150000',
            ccy: 'JPY',
            creditorIban: accounts.ch,
          }),
          creditTransfer({
            instrId: 'INSTR-0005',
            endToEndId: 'E2E-0005',
            amount: '12.345',
            ccy: 'BHD',
            creditorIban: accounts.be,
          }),
        ],
      }),
  );
}

/**
 * A pain.001 whose items 2–5 are bad — an amount that is no number, three decimals in EUR, no Ccy, a card number in
 * an EndToEndId — between two good ones (1 and 6).
 */
export function pain001WithBadItems(options: FileOptions = {}): string {
  const { messageId = 'PAIN-BAD-0001', createdAt = '2026-12-07T09:30:00Z' } = options;
  const item = (n: number, amount: string, ccy: string | undefined, endToEndId = `E2E-BAD-${n}`): string =>
    creditTransfer({ instrId: `BAD-INSTR-${n}`, endToEndId, amount, ccy, creditorIban: accounts.fr });
  return pain001(
    messageId,
    createdAt,
    6,
    paymentInformation({
      id: 'PMT-BAD-0001',
      sepa: true,
      debtorIban: accounts.de,
      transactions: [
        item(1, '10.00', 'EUR'),
        item(2, '12,50', 'EUR'),
        item(3, '10.001', 'EUR'),
        item(4, '10.00', undefined),
        item(5, '10.00', 'EUR', 'E2E-4111111111111111'),
        item(6, '20.00', 'EUR'),
      ],
    }),
  );
}

/** The good pain.001 under a namespace this channel does not read (the 2009 version). */
export function pain001WrongNamespace(): string {
  return multiCurrencyPain001().replace(ns('pain.001.001.09'), ns('pain.001.001.03'));
}

/** A "billion laughs" entity bomb in front of a pain.001. */
export function entityBomb(): string {
  const entities = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join(
    '\n  ',
  );
  return `<?xml version="1.0"?>
<!DOCTYPE Document [
  <!ENTITY lol0 "lol">
  ${entities}
]>
${multiCurrencyPain001()
  .replace('<MsgId>PAIN-000123</MsgId>', '<MsgId>&lol9;</MsgId>')
  .replace(/^<\?xml[^>]*>\n/, '')}`;
}

/** A pacs.008 of two interbank transfers, ids with leading zeros. */
export function pacs008(options: FileOptions = {}): string {
  const { messageId = 'PACS8-000777', createdAt = '2026-12-07T09:30:00Z' } = options;
  const tx = (n: number, amount: string, ccy: string, debtor: string, creditor: string): string => `
    <CdtTrfTxInf>
      <PmtId>
        <InstrId>P8-INSTR-000${n}</InstrId>
        <EndToEndId>P8-E2E-000${n}</EndToEndId>
        <TxId>P8-TX-000${n}</TxId>
        <UETR>7a562c67-ca16-48ba-b074-65581be6f00${n}</UETR>
      </PmtId>
      <IntrBkSttlmAmt Ccy="${ccy}">${amount}</IntrBkSttlmAmt>
      <IntrBkSttlmDt>2026-12-07</IntrBkSttlmDt>
      <ChrgBr>SHAR</ChrgBr>
      <Dbtr><Nm>Debtor ${n}</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>${debtor}</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>
      <CdtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></CdtrAgt>
      <Cdtr><Nm>Creditor ${n}</Nm></Cdtr>
      <CdtrAcct><Id><IBAN>${creditor}</IBAN></Id></CdtrAcct>
    </CdtTrfTxInf>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="${ns('pacs.008.001.08')}">
  <FIToFICstmrCdtTrf>
    <GrpHdr>
      <MsgId>${messageId}</MsgId>
      <CreDtTm>${createdAt}</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf>
    </GrpHdr>${tx(1, '5000.00', 'EUR', accounts.de, accounts.fr)}${tx(2, '99.99', 'GBP', accounts.gb, accounts.be)}
  </FIToFICstmrCdtTrf>
</Document>
`;
}

/**
 * A camt.054 notification for the DE account: a booked credit entry of 300.00 EUR batching two transfers (100.00
 * from the FR account, 200.00 from the NL account), a booked debit of 75.50 EUR to the BE account whose single
 * detail carries no amount of its own, and a pending entry (not ingested).
 */
export function camt054(options: FileOptions = {}): string {
  const { messageId = 'CAMT54-000042', createdAt = '2026-12-07T09:30:00Z' } = options;
  const detail = (ref: string, amount: string | undefined, party: 'DbtrAcct' | 'CdtrAcct', iban: string): string => `
          <TxDtls>
            <Refs>
              <AcctSvcrRef>${ref}</AcctSvcrRef>
              <EndToEndId>${ref}-E2E</EndToEndId>
            </Refs>${amount === undefined ? '' : `\n            <Amt Ccy="EUR">${amount}</Amt>`}
            <RltdPties><${party}><Id><IBAN>${iban}</IBAN></Id></${party}></RltdPties>
            <RmtInf><Ustrd>${ref} remittance</Ustrd></RmtInf>
          </TxDtls>`;
  const entry = (
    ref: string,
    amount: string,
    indicator: string,
    status: string,
    batch: string,
    details: string,
  ): string => `
      <Ntry>
        <NtryRef>${ref}</NtryRef>
        <Amt Ccy="EUR">${amount}</Amt>
        <CdtDbtInd>${indicator}</CdtDbtInd>
        <Sts><Cd>${status}</Cd></Sts>
        <BookgDt><Dt>2026-12-07</Dt></BookgDt>
        <ValDt><Dt>2026-12-07</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>${batch}${details}
        </NtryDtls>
      </Ntry>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="${ns('camt.054.001.08')}">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr>
      <MsgId>${messageId}</MsgId>
      <CreDtTm>${createdAt}</CreDtTm>
    </GrpHdr>
    <Ntfctn>
      <Id>NTF-0001</Id>
      <CreDtTm>${createdAt}</CreDtTm>
      <Acct><Id><IBAN>${accounts.de}</IBAN></Id></Acct>${entry(
        'NTRY-0001',
        '300.00',
        'CRDT',
        'BOOK',
        '\n          <Btch><NbOfTxs>2</NbOfTxs></Btch>',
        detail('ASR-0001', '100.00', 'DbtrAcct', accounts.fr) + detail('ASR-0002', '200.00', 'DbtrAcct', accounts.nl),
      )}${entry('NTRY-0002', '75.50', 'DBIT', 'BOOK', '', detail('ASR-0003', undefined, 'CdtrAcct', accounts.be))}${entry(
        'NTRY-0003',
        '5.00',
        'CRDT',
        'PDNG',
        '',
        detail('ASR-0004', '5.00', 'DbtrAcct', accounts.fr),
      )}
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
`;
}

/**
 * A pacs.004 returning the first transfer of `multiCurrencyPain001` in part (1000.00 of 1234.56 EUR, reason AC04
 * "closed account"), the original found by its pain.001 MsgId and InstrId.
 */
export function pacs004(options: FileOptions & { originalMessageId?: string } = {}): string {
  const { messageId = 'PACS4-000009', createdAt = '2026-12-07T09:30:00Z', originalMessageId = 'PAIN-000123' } = options;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="${ns('pacs.004.001.09')}">
  <PmtRtr>
    <GrpHdr>
      <MsgId>${messageId}</MsgId>
      <CreDtTm>${createdAt}</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf>
    </GrpHdr>
    <TxInf>
      <RtrId>RTR-0001</RtrId>
      <OrgnlGrpInf>
        <OrgnlMsgId>${originalMessageId}</OrgnlMsgId>
        <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      </OrgnlGrpInf>
      <OrgnlInstrId>INSTR-0001</OrgnlInstrId>
      <OrgnlEndToEndId>E2E-0001</OrgnlEndToEndId>
      <OrgnlUETR>eb6305c9-1f7f-49de-aed0-16487c27b42d</OrgnlUETR>
      <RtrdIntrBkSttlmAmt Ccy="EUR">1000.00</RtrdIntrBkSttlmAmt>
      <IntrBkSttlmDt>2026-12-07</IntrBkSttlmDt>
      <RtrRsnInf><Rsn><Cd>AC04</Cd></Rsn></RtrRsnInf>
      <OrgnlTxRef>
        <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>
        <Dbtr><Pty><Nm>Debtor Ltd</Nm></Pty></Dbtr>
        <DbtrAcct><Id><IBAN>${accounts.de}</IBAN></Id></DbtrAcct>
        <Cdtr><Pty><Nm>Creditor INSTR-0001</Nm></Pty></Cdtr>
        <CdtrAcct><Id><IBAN>${accounts.fr}</IBAN></Id></CdtrAcct>
      </OrgnlTxRef>
    </TxInf>
  </PmtRtr>
</Document>
`;
}
