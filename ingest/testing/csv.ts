/** CSV uploads for tests, in the documented layout (README "Channels", ingest/domain/channels/csv/csv.ts). */

export const csvHeader =
  'transaction_id,channel,kind,amount,currency,payer_account,payee_account,event_time,scheme,end_to_end_id,remittance_info';

/**
 * Four rows: two good transfers (one with a quoted remittance holding a comma and a card number), one with three
 * decimals in EUR (line 3), one with a row too short (line 5); `eventTime` the rows' event time.
 */
export function transfersCsv(eventTime: string, prefix = 'csv'): string {
  return [
    csvHeader,
    `${prefix}-0001,sepa,transfer,1234.56,EUR,DE89370400440532013000,FR1420041010050500013M02606,${eventTime},SEPA_CT,E2E-CSV-1,"Invoice 1, card 4111 1111 1111 1111"`,
    `${prefix}-0002,sepa,transfer,10.001,EUR,DE89370400440532013000,FR1420041010050500013M02606,${eventTime},SEPA_CT,,`,
    `${prefix}-0003,wire,transfer,150000,JPY,GB29NWBK60161331926819,CH9300762011623852957,${eventTime},SWIFT,,`,
    `${prefix}-0004,sepa,transfer,5.00,EUR`,
    '',
  ].join('\n');
}
