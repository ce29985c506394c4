import { parseEndpointRequest } from './endpoints.js';
import { parseAllowedTargets } from './targets.js';

const allowed = parseAllowedTargets(['127.0.0.1:9000']).targets;

describe('webhook endpoint requests', () => {
  it('accepts url, events and an optional description', () => {
    expect(
      parseEndpointRequest({ url: 'http://127.0.0.1:9000/h', events: ['decision.made', 'alert.raised'] }, allowed),
    ).toEqual({
      request: { url: 'http://127.0.0.1:9000/h', events: ['decision.made', 'alert.raised'] },
      problems: [],
    });
    expect(
      parseEndpointRequest({ url: 'https://h.example.com/', events: ['alert.raised'], description: 'SOC' }, allowed)
        .request?.description,
    ).toBe('SOC');
  });

  it('reports every problem by path, unknown fields included', () => {
    expect(
      parseEndpointRequest(
        { url: 'http://10.0.0.1/', events: ['decision.made', 'nope', 'decision.made'], event: 'x', description: 7 },
        allowed,
      ).problems,
    ).toEqual([
      { path: '/event', message: 'is not a field of a webhook endpoint (url, events, description)' },
      { path: '/url', message: 'must use https (http only for targets on VIGIL_WEBHOOK_ALLOWED_TARGETS)' },
      {
        path: '/url',
        message: '10.0.0.1 is a private address; only public addresses unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it',
      },
      {
        path: '/events/1',
        message: 'must be one of decision.made, alert.raised, transaction.posted, transaction.reversed',
      },
      { path: '/events/2', message: 'is listed twice' },
      { path: '/description', message: 'must be a string of at most 200 characters' },
    ]);
    expect(parseEndpointRequest({ url: 'https://h.example.com/', events: [] }, allowed).problems).toEqual([
      {
        path: '/events',
        message: 'must be a non-empty array of decision.made, alert.raised, transaction.posted, transaction.reversed',
      },
    ]);
    expect(parseEndpointRequest([], allowed).problems).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });
});
