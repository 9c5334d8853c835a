import assert from 'node:assert/strict';
import { test } from 'node:test';
import { examplePayload } from '../../src/core/example-messages.js';

test('examplePayload takes the first object of the newest schema version examples', () => {
  const schemas = {
    '1': { type: 'object', examples: [{ version: 1 }] },
    '2': { type: 'object', examples: ['not an object', { version: 2 }] },
  };
  assert.deepEqual(examplePayload('order.created', schemas), { version: 2 });
});

test('examplePayload fills properties by type, enum, const, default and nested examples', () => {
  const schemas = {
    '1': {
      type: 'object',
      properties: {
        id: { type: 'string' },
        count: { type: 'integer' },
        price: { type: 'number' },
        paid: { type: 'boolean' },
        state: { enum: ['open', 'closed'] },
        kind: { const: 'retail' },
        currency: { type: 'string', default: 'EUR' },
        at: { type: 'string', format: 'date-time' },
        note: { type: ['null', 'string'] },
        lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string', examples: ['SKU-1'] } } } },
      },
    },
  };
  assert.deepEqual(examplePayload('order.created', schemas), {
    id: 'example id',
    count: 1,
    price: 1.5,
    paid: true,
    state: 'open',
    kind: 'retail',
    currency: 'EUR',
    at: '2026-01-01T00:00:00.000Z',
    note: 'example note',
    lines: [{ sku: 'SKU-1' }],
  });
});

test('examplePayload names the event type when there is no schema to go by', () => {
  assert.deepEqual(examplePayload('order.created', null), { type: 'order.created', example: true });
  assert.deepEqual(examplePayload('order.created', { '1': { type: 'object' } }), { type: 'order.created', example: true });
});

test('examplePayload stops at a self-nesting schema', () => {
  const node: Record<string, unknown> = { type: 'object' };
  node.properties = { child: node };
  const payload = examplePayload('tree.grown', { '1': node }) as Record<string, unknown>;
  assert.equal(typeof payload.child, 'object');
});
