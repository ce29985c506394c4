import { readFileSync } from 'node:fs';
import { consoleApiDocument, generatedApiPath, renderApiTypes } from './generate-api.js';

describe("the console's generated API types", () => {
  it('are up to date with the dashboards’ OpenAPI document (run `npm run console:generate` after changing it)', async () => {
    expect(readFileSync(generatedApiPath, 'utf8')).toBe(await renderApiTypes());
  }, 60_000);

  it('go stale when the document changes: a case summary member retyped no longer matches the committed file', async () => {
    const document = consoleApiDocument();
    const summary = document.components.schemas['CaseSummary'] as { properties: Record<string, unknown> };
    const planted = {
      ...document,
      components: {
        ...document.components,
        schemas: {
          ...document.components.schemas,
          CaseSummary: { ...summary, properties: { ...summary.properties, alertCount: { type: 'string' } } },
        },
      },
    };
    expect(readFileSync(generatedApiPath, 'utf8')).not.toBe(await renderApiTypes(planted));
  }, 60_000);
});
