import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { settings } from '../../src/config/schema.js';
import { configurationDocPath, renderConfigurationDoc } from '../../scripts/config-docs.js';

test('configuration.md matches the settings table', () => {
  const committed = readFileSync(configurationDocPath, 'utf8');

  assert.equal(committed, renderConfigurationDoc(), 'docs/configuration.md is out of date: run `npm run docs:config`');
});

test('configuration.md has a section per variable', () => {
  const rendered = renderConfigurationDoc();

  for (const definition of Object.values(settings)) {
    assert.ok(rendered.includes(`\n## ${definition.name}\n`), `no section for ${definition.name}`);
  }
});
