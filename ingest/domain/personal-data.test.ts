import { sampleTransaction } from '../../schemas/fixtures.js';
import { coarseCoordinate, dataSubjectOf, sealableFields, withSealedFields } from './personal-data.js';

describe('personal data minimisation at ingest', () => {
  it('rounds coordinates to 0.01° without binary tails, keeping null', () => {
    expect([48.856613, 2.352222, -33.868819, 151.209295].map(coarseCoordinate)).toEqual([48.86, 2.35, -33.87, 151.21]);
    expect(coarseCoordinate(48.855)).toBe(48.86);
    expect(coarseCoordinate(null)).toBeNull();
  });

  it('puts sealed values in place of the free text and the pseudonym in place of the device id', () => {
    const tx = {
      ...sampleTransaction(),
      customerId: 'cust-9',
      deviceId: 'device-raw',
      ipAddress: '198.51.100.4',
      description: 'rent',
      latitude: 48.856613,
      longitude: 2.352222,
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'e2e', remittanceInfo: 'invoice 7' },
    };
    expect(sealableFields(tx)).toEqual(['198.51.100.4', 'rent', 'invoice 7']);
    expect(dataSubjectOf(tx)).toBe('cust-9');
    expect(dataSubjectOf({ customerId: null, payerAccountId: 'acct-1' })).toBe('acct-1');
    const written = withSealedFields(tx, ['s-ip', 's-desc', 's-rem'], 'dev_x');
    expect(written).toEqual({
      ...tx,
      deviceId: 'dev_x',
      ipAddress: 's-ip',
      description: 's-desc',
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'e2e', remittanceInfo: 's-rem' },
      latitude: 48.86,
      longitude: 2.35,
    });
    expect(withSealedFields({ ...tx, bankTransfer: null }, [null, null, null], null)).toMatchObject({
      bankTransfer: null,
      ipAddress: null,
      description: null,
      deviceId: null,
    });
  });
});
