import { Role } from './auth.js';
import { parseRoleMap, readClockToleranceS, readOidcConfig } from './oidc.js';

describe('OpenID Connect settings', () => {
  it('is off without an issuer, and needs an audience with one', () => {
    expect(readOidcConfig({})).toBeUndefined();
    expect(() => readOidcConfig({ VIGIL_OIDC_ISSUER: 'https://idp.bank.example' })).toThrow(/VIGIL_OIDC_AUDIENCE/);
    expect(() => readOidcConfig({ VIGIL_OIDC_ISSUER: 'idp.bank.example', VIGIL_OIDC_AUDIENCE: 'vigil' })).toThrow(
      /VIGIL_OIDC_ISSUER="idp.bank.example"/,
    );
  });

  it('maps claim values to roles, by default one to one with the role names', () => {
    const config = readOidcConfig({ VIGIL_OIDC_ISSUER: 'https://idp.bank.example', VIGIL_OIDC_AUDIENCE: 'vigil' })!;
    expect(config.roleClaim).toBe('roles');
    expect(config.clockToleranceS).toBe(30);
    expect(readClockToleranceS({ VIGIL_OIDC_CLOCK_TOLERANCE_S: '10' })).toBe(10);
    expect(() => readClockToleranceS({ VIGIL_OIDC_CLOCK_TOLERANCE_S: '301' })).toThrow(/VIGIL_OIDC_CLOCK_TOLERANCE_S/);
    expect([...config.roleMap]).toEqual(Object.values(Role).map((r) => [r, r]));
    const mapped = readOidcConfig({
      VIGIL_OIDC_ISSUER: 'https://idp.bank.example',
      VIGIL_OIDC_AUDIENCE: 'vigil',
      VIGIL_OIDC_ROLE_CLAIM: 'groups',
      VIGIL_OIDC_ROLE_MAP: 'fraud-analysts:analyst, urn:bank:compliance:compliance',
    })!;
    expect(mapped.roleClaim).toBe('groups');
    expect([...mapped.roleMap]).toEqual([
      ['fraud-analysts', Role.analyst],
      ['urn:bank:compliance', Role.compliance],
    ]);
  });

  it('refuses a role map entry without a Vigil role, naming it', () => {
    expect(() => parseRoleMap('fraud-analysts:analyst,auditors:auditor')).toThrow(
      /VIGIL_OIDC_ROLE_MAP\[1\]="auditors:auditor"/,
    );
    expect(() => parseRoleMap('analyst')).toThrow(/VIGIL_OIDC_ROLE_MAP\[0\]/);
    expect(() => parseRoleMap(' , ')).toThrow(/at least one/);
  });
});
