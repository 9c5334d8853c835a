import { useState, type FormEvent } from 'react';
import { api, ApiError, type EventType, type ListPage } from '../api';
import { useResource, useSession } from '../hooks';
import { Badge, ConfirmDialog, Field, Icon, LoadError, Loading, Notice, PageHeader } from '../ui';

function newestSchema(eventType: EventType): Record<string, unknown> | undefined {
  const versions = Object.keys(eventType.schemas ?? {}).sort((a, b) => Number(a) - Number(b));
  const newest = versions[versions.length - 1];
  return newest === undefined ? undefined : eventType.schemas?.[newest];
}

function exampleOf(eventType: EventType): unknown {
  const examples = newestSchema(eventType)?.examples;
  return Array.isArray(examples) ? examples[0] : undefined;
}

/** Shows the example payload: the schema's own example, or else the one the server makes, loaded when the reader opens it. */
function ExamplePayload({ eventType }: { eventType: EventType }) {
  const session = useSession();
  const listed = exampleOf(eventType);
  const [loaded, setLoaded] = useState<unknown>();
  const [error, setError] = useState<string>();
  const load = () => {
    if (listed !== undefined || loaded !== undefined) {
      return;
    }
    api<{ payload: unknown }>(session, 'GET', `/event-type/${encodeURIComponent(eventType.name)}/example`)
      .then((example) => setLoaded(example.payload))
      .catch((caught: unknown) => setError(caught instanceof Error ? caught.message : String(caught)));
  };
  const payload = listed ?? loaded;
  return (
    <details onToggle={(event) => (event.currentTarget.open ? load() : undefined)}>
      <summary>{listed === undefined ? 'Example payload (made from the schema)' : 'Example payload'}</summary>
      {error ? <p className="field-error">{error}</p> : null}
      {payload === undefined ? null : <pre className="code">{JSON.stringify(payload, null, 2)}</pre>}
    </details>
  );
}

const schemaTemplate = JSON.stringify(
  { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], examples: [{ id: 'example-1' }] },
  null,
  2,
);

function EventTypeForm({ initial, onDone }: { initial?: EventType; onDone: () => void }) {
  const session = useSession();
  const [name, setName] = useState(initial?.name ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [schema, setSchema] = useState(() => {
    const current = initial ? newestSchema(initial) : undefined;
    return current ? JSON.stringify(current, null, 2) : initial ? '' : schemaTemplate;
  });
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError(undefined);
    let schemas: Record<string, unknown> | null = null;
    if (schema.trim() !== '') {
      try {
        schemas = { '1': JSON.parse(schema) as unknown };
      } catch (caught) {
        setFields({ schemas: `This is not valid JSON: ${caught instanceof Error ? caught.message : String(caught)}` });
        return;
      }
    }
    try {
      if (initial) {
        await api(session, 'PATCH', `/event-type/${encodeURIComponent(initial.name)}`, { body: { description, schemas } });
      } else {
        await api(session, 'POST', '/event-type', { body: { name: name.trim(), description, schemas } });
      }
      onDone();
    } catch (caught) {
      if (caught instanceof ApiError && caught.problems.length > 0) {
        const byField: Record<string, string> = {};
        for (const [key, message] of Object.entries(caught.fields)) {
          byField[key.split('.')[0] ?? key] = message;
        }
        setFields(byField);
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
    }
  };

  return (
    <form className="card form" onSubmit={(event) => void submit(event)} noValidate>
      <h2>{initial ? `Edit ${initial.name}` : 'New event type'}</h2>
      {error ? <Notice tone="error">{error}</Notice> : null}
      {initial ? null : (
        <Field label="Name" error={fields.name} hint="Letters, digits, dots, dashes and underscores, such as invoice.paid.">
          {(props) => <input {...props} type="text" value={name} onChange={(event) => setName(event.target.value)} />}
        </Field>
      )}
      <Field label="Description" error={fields.description}>
        {(props) => <input {...props} type="text" value={description} onChange={(event) => setDescription(event.target.value)} />}
      </Field>
      <Field label="JSON Schema of the payload" error={fields.schemas} hint="Its examples list gives the payload of test events. Leave empty for no schema.">
        {(props) => <textarea {...props} rows={10} className="mono" spellCheck={false} value={schema} onChange={(event) => setSchema(event.target.value)} />}
      </Field>
      <div className="form-actions">
        <button type="button" className="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="button button-primary">
          {initial ? 'Save event type' : 'Create event type'}
        </button>
      </div>
    </form>
  );
}

export function CatalogPage() {
  const session = useSession();
  const admin = session.kind === 'admin';
  const [showArchived, setShowArchived] = useState(false);
  const [search, setSearch] = useState('');
  const [editing, setEditing] = useState<EventType | 'new' | null>(null);
  const [archiving, setArchiving] = useState<EventType | null>(null);
  const catalog = useResource(
    (signal) => api<ListPage<EventType>>(session, 'GET', '/event-type', { query: { limit: 250, include_archived: showArchived || undefined }, signal }),
    [showArchived],
  );
  const shown = (catalog.data?.data ?? []).filter((eventType) => `${eventType.name} ${eventType.description}`.toLowerCase().includes(search.trim().toLowerCase()));
  const done = () => {
    setEditing(null);
    catalog.reload();
  };

  return (
    <section className="page">
      <PageHeader
        title="Event catalog"
        subtitle="The kinds of events that can be sent, with the shape of their payloads."
        actions={
          admin ? (
            <button type="button" className="button button-primary" onClick={() => setEditing('new')}>
              <Icon name="plus" /> New event type
            </button>
          ) : undefined
        }
      />
      {editing ? <EventTypeForm initial={editing === 'new' ? undefined : editing} onDone={done} /> : null}
      <div className="filters">
        <label htmlFor="catalog-search" className="visually-hidden">
          Search event types
        </label>
        <input id="catalog-search" type="search" placeholder="Search event types" value={search} onChange={(event) => setSearch(event.target.value)} />
        {admin ? (
          <label className="checkbox">
            <input type="checkbox" checked={showArchived} onChange={(event) => setShowArchived(event.target.checked)} /> Show archived
          </label>
        ) : null}
      </div>
      <LoadError error={catalog.error} what="Event catalog" />
      {catalog.loading && !catalog.data ? <Loading what="event types" /> : null}
      {catalog.data && shown.length === 0 ? <p className="muted">No event type {search ? `matches “${search}”` : 'yet'}.</p> : null}
      <ul className="catalog">
        {shown.map((eventType) => {
          const schema = newestSchema(eventType);
          return (
            <li key={eventType.name} className="card">
              <div className="card-header">
                <h2 className="mono">{eventType.name}</h2>
                <div className="actions">
                  {eventType.archived ? <Badge tone="muted">Archived</Badge> : null}
                  {eventType.deprecated ? <Badge tone="warn">Deprecated</Badge> : null}
                  {admin ? (
                    <>
                      <button type="button" className="button button-small" onClick={() => setEditing(eventType)}>
                        Edit<span className="visually-hidden"> {eventType.name}</span>
                      </button>
                      {eventType.archived ? (
                        <button
                          type="button"
                          className="button button-small"
                          onClick={() => void api(session, 'PATCH', `/event-type/${encodeURIComponent(eventType.name)}`, { body: { archived: false } }).then(catalog.reload)}
                        >
                          Restore<span className="visually-hidden"> {eventType.name}</span>
                        </button>
                      ) : (
                        <button type="button" className="button button-small" onClick={() => setArchiving(eventType)}>
                          Archive<span className="visually-hidden"> {eventType.name}</span>
                        </button>
                      )}
                    </>
                  ) : null}
                </div>
              </div>
              <p>{eventType.description || <span className="muted">No description.</span>}</p>
              <ExamplePayload eventType={eventType} />
              {schema ? (
                <details>
                  <summary>JSON Schema</summary>
                  <pre className="code">{JSON.stringify(schema, null, 2)}</pre>
                </details>
              ) : null}
            </li>
          );
        })}
      </ul>
      {archiving ? (
        <ConfirmDialog
          title={`Archive ${archiving.name}?`}
          confirmLabel="Archive"
          danger
          onClose={() => setArchiving(null)}
          onConfirm={async () => {
            await api(session, 'DELETE', `/event-type/${encodeURIComponent(archiving.name)}`);
            catalog.reload();
          }}
        >
          <p>Archived event types are hidden from the catalog and cannot be chosen for new endpoints. Messages of this type are still delivered. You can restore it later.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
